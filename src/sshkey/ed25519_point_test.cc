// The 51-bit-limb point check against a straightforward BIGNUM reference (the earlier
// implementation): the same answer for random and edge-case encodings, and for real keys.
#include "sshkey/ed25519_point.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <memory>

namespace keypaird::sshkey {
namespace {

using Bytes = std::array<uint8_t, 32>;

struct Bn {
  BIGNUM* b = BN_new();
  Bn() = default;
  Bn(const Bn&) = delete;
  Bn& operator=(const Bn&) = delete;
  ~Bn() { BN_free(b); }
};

struct Reference {
  BN_CTX* ctx = BN_CTX_new();
  Bn p, d;
  Reference() {
    Bn t;
    BN_set_bit(p.b, 255);
    BN_sub_word(p.b, 19);
    BN_set_word(t.b, 121666);
    BN_mod_inverse(d.b, t.b, p.b, ctx);
    BN_set_word(t.b, 121665);
    BN_mod_mul(d.b, d.b, t.b, p.b, ctx);
    BN_sub(d.b, p.b, d.b);
  }
  ~Reference() { BN_CTX_free(ctx); }

  void Load(const Bytes& le, BIGNUM* out, bool* sign) const {
    Bytes be;
    std::reverse_copy(le.begin(), le.end(), be.begin());
    if (sign != nullptr) *sign = (be[0] & 0x80) != 0;
    be[0] &= 0x7f;
    BN_bin2bn(be.data(), 32, out);
  }

  int Legendre(const Bytes& a) const {
    Bn x;
    Load(a, x.b, nullptr);
    return BN_kronecker(x.b, p.b, ctx);
  }

  bool IsPoint(const Bytes& enc) const {
    bool sign = false;
    Bn y, y2, u, v, w;
    Load(enc, y.b, &sign);
    if (BN_cmp(y.b, p.b) >= 0) return false;
    BN_mod_sqr(y2.b, y.b, p.b, ctx);
    BN_mod_sub(u.b, y2.b, BN_value_one(), p.b, ctx);
    BN_mod_mul(v.b, d.b, y2.b, p.b, ctx);
    BN_mod_add(v.b, v.b, BN_value_one(), p.b, ctx);
    BN_mod_mul(w.b, u.b, v.b, p.b, ctx);
    if (BN_is_zero(u.b)) return !sign;
    return BN_kronecker(w.b, p.b, ctx) == 1;
  }
};

Bytes Random() {
  Bytes b;
  EXPECT_EQ(RAND_bytes(b.data(), 32), 1);
  return b;
}

// p - k for small k, little-endian, with the top bit optionally set (the sign of x).
Bytes PMinus(int k, bool sign = false) {
  Bytes b;
  b.fill(0xff);
  b[31] = sign ? 0xff : 0x7f;
  b[0] = static_cast<uint8_t>(0xed - k);
  return b;
}

Bytes Small(uint8_t v, bool sign = false) {
  Bytes b{};
  b[0] = v;
  if (sign) b[31] = 0x80;
  return b;
}

TEST(Ed25519PointTest, LegendreMatchesBignumKronecker) {
  const Reference ref;
  for (int i = 0; i < 2000; ++i) {
    Bytes a = Random();
    a[31] &= 0x7f;
    if (a == PMinus(0) || std::lexicographical_compare(PMinus(0).rbegin(), PMinus(0).rend(),
                                                       a.rbegin(), a.rend())) {
      continue;  // a >= p: outside the function's domain
    }
    ASSERT_EQ(Legendre25519(a), ref.Legendre(a)) << i;
  }
  for (const Bytes& a : {Small(0), Small(1), Small(2), Small(4), PMinus(1), PMinus(2)}) {
    EXPECT_EQ(Legendre25519(a), ref.Legendre(a));
  }
  EXPECT_EQ(Legendre25519(Small(0)), 0);
  EXPECT_EQ(Legendre25519(Small(4)), 1);
  EXPECT_EQ(Legendre25519(Small(2)), -1);  // 2 is not a square mod p (p = 5 mod 8)
}

TEST(Ed25519PointTest, SameVerdictAsTheReferenceOnRandomEncodings) {
  const Reference ref;
  int valid = 0;
  for (int i = 0; i < 4000; ++i) {
    const Bytes enc = Random();
    const bool expected = ref.IsPoint(enc);
    ASSERT_EQ(IsEd25519Point(enc), expected) << i;
    valid += expected;
  }
  // About half of all y have a root: both verdicts are exercised.
  EXPECT_GT(valid, 1500);
  EXPECT_LT(valid, 2500);
}

TEST(Ed25519PointTest, EdgeCases) {
  const Reference ref;
  const Bytes cases[] = {
      Small(0),       Small(0, true),  Small(1),     Small(1, true), Small(2),
      PMinus(1),      PMinus(1, true), PMinus(0),    PMinus(-1),     PMinus(-18),
      PMinus(0, true), PMinus(-18, true),
  };
  for (const Bytes& enc : cases) EXPECT_EQ(IsEd25519Point(enc), ref.IsPoint(enc));
  EXPECT_TRUE(IsEd25519Point(Small(1)));         // y = 1: the neutral point, x = 0
  EXPECT_FALSE(IsEd25519Point(Small(1, true)));  // x = 0 with the sign bit set
  EXPECT_TRUE(IsEd25519Point(PMinus(1)));        // y = -1: x = 0 as well
  EXPECT_FALSE(IsEd25519Point(PMinus(0)));       // y = p: not canonical
  EXPECT_FALSE(IsEd25519Point(PMinus(-18)));     // y = 2^255 - 1
  Bytes base;  // the base point: y = 4/5
  base.fill(0x66);
  base[0] = 0x58;
  EXPECT_TRUE(IsEd25519Point(base));
}

TEST(Ed25519PointTest, KeysMadeByOpenSslAreAllPoints) {
  for (int i = 0; i < 200; ++i) {
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"),
                                                            &EVP_PKEY_free);
    ASSERT_NE(key, nullptr);
    Bytes pub;
    size_t len = pub.size();
    ASSERT_EQ(EVP_PKEY_get_raw_public_key(key.get(), pub.data(), &len), 1);
    ASSERT_TRUE(IsEd25519Point(pub)) << i;
  }
}

}  // namespace
}  // namespace keypaird::sshkey
