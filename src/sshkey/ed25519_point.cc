#include "sshkey/ed25519_point.h"

namespace keypaird::sshkey {
namespace {

__extension__ using u128 = unsigned __int128;  // GCC and Clang on 64-bit targets
constexpr uint64_t kMask = (uint64_t{1} << 51) - 1;

// An element of GF(p), p = 2^255 - 19, as sum v[i] * 2^(51 i). Limbs may exceed 51 bits
// a little between operations; Canonical() gives the unique representative below p.
struct Fe {
  std::array<uint64_t, 5> v{};
};

Fe FromInt(uint64_t x) {
  Fe r;
  r.v[0] = x & kMask;
  r.v[1] = x >> 51;
  return r;
}

// The low 255 bits of a little-endian byte string.
Fe FromBytes(const std::array<uint8_t, 32>& b) {
  auto load = [&](int bit) {  // 64 bits starting at `bit` (bytes past 31 read as 0)
    uint64_t x = 0;
    const int first = bit / 8;
    for (int i = 0; i < 8 && first + i < 32; ++i) x |= uint64_t{b[first + i]} << (8 * i);
    return x >> (bit % 8);
  };
  Fe r;
  for (int i = 0; i < 5; ++i) r.v[i] = load(51 * i) & kMask;
  return r;
}

// Carries so that every limb is below 2^51 (the value stays the same mod p).
void Carry(Fe& a) {
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 4; ++i) {
      a.v[i + 1] += a.v[i] >> 51;
      a.v[i] &= kMask;
    }
    a.v[0] += 19 * (a.v[4] >> 51);  // 2^255 = 19 (mod p)
    a.v[4] &= kMask;
  }
  a.v[1] += a.v[0] >> 51;
  a.v[0] &= kMask;
}

Fe Canonical(Fe a) {
  Carry(a);
  // Now a < 2^255 (limbs below 2^51), so a >= p only for p <= a < 2^255.
  const bool ge_p = a.v[0] >= kMask - 18 && a.v[1] == kMask && a.v[2] == kMask &&
                    a.v[3] == kMask && a.v[4] == kMask;
  if (ge_p) {
    a.v[0] -= kMask - 18;
    a.v[1] = a.v[2] = a.v[3] = a.v[4] = 0;
  }
  return a;
}

bool IsZero(const Fe& a) { return Canonical(a).v == Fe{}.v; }

Fe Add(const Fe& a, const Fe& b) {
  Fe r;
  for (int i = 0; i < 5; ++i) r.v[i] = a.v[i] + b.v[i];
  Carry(r);
  return r;
}

// a - b as a + 4p - b: limbs stay non-negative for inputs with limbs below 2^53.
Fe Sub(const Fe& a, const Fe& b) {
  constexpr uint64_t kFourP0 = 4 * (kMask - 18), kFourPi = 4 * kMask;
  Fe r;
  r.v[0] = a.v[0] + kFourP0 - b.v[0];
  for (int i = 1; i < 5; ++i) r.v[i] = a.v[i] + kFourPi - b.v[i];
  Carry(r);
  return r;
}

Fe Mul(const Fe& a, const Fe& b) {
  const uint64_t a0 = a.v[0], a1 = a.v[1], a2 = a.v[2], a3 = a.v[3], a4 = a.v[4];
  const uint64_t b0 = b.v[0], b1 = b.v[1], b2 = b.v[2], b3 = b.v[3], b4 = b.v[4];
  // Terms with i + j >= 5 wrap around with a factor 19 (2^255 = 19 mod p).
  const uint64_t b1_19 = 19 * b1, b2_19 = 19 * b2, b3_19 = 19 * b3, b4_19 = 19 * b4;
  u128 t0 = u128{a0} * b0 + u128{a1} * b4_19 + u128{a2} * b3_19 + u128{a3} * b2_19 +
            u128{a4} * b1_19;
  u128 t1 = u128{a0} * b1 + u128{a1} * b0 + u128{a2} * b4_19 + u128{a3} * b3_19 +
            u128{a4} * b2_19;
  u128 t2 =
      u128{a0} * b2 + u128{a1} * b1 + u128{a2} * b0 + u128{a3} * b4_19 + u128{a4} * b3_19;
  u128 t3 = u128{a0} * b3 + u128{a1} * b2 + u128{a2} * b1 + u128{a3} * b0 + u128{a4} * b4_19;
  u128 t4 = u128{a0} * b4 + u128{a1} * b3 + u128{a2} * b2 + u128{a3} * b1 + u128{a4} * b0;
  t1 += static_cast<uint64_t>(t0 >> 51);
  t2 += static_cast<uint64_t>(t1 >> 51);
  t3 += static_cast<uint64_t>(t2 >> 51);
  t4 += static_cast<uint64_t>(t3 >> 51);
  Fe r;
  r.v[0] = (static_cast<uint64_t>(t0) & kMask) + 19 * static_cast<uint64_t>(t4 >> 51);
  r.v[1] = static_cast<uint64_t>(t1) & kMask;
  r.v[2] = static_cast<uint64_t>(t2) & kMask;
  r.v[3] = static_cast<uint64_t>(t3) & kMask;
  r.v[4] = static_cast<uint64_t>(t4) & kMask;
  r.v[1] += r.v[0] >> 51;
  r.v[0] &= kMask;
  return r;
}

// a^e for a little-endian exponent, 4-bit fixed window.
Fe Pow(const Fe& a, const std::array<uint8_t, 32>& e) {
  std::array<Fe, 16> table;
  table[0] = FromInt(1);
  for (int i = 1; i < 16; ++i) table[i] = Mul(table[i - 1], a);
  Fe r = FromInt(1);
  for (int nibble = 63; nibble >= 0; --nibble) {
    for (int k = 0; k < 4; ++k) r = Mul(r, r);
    const int w = (e[nibble / 2] >> (4 * (nibble % 2))) & 0xf;
    if (w != 0) r = Mul(r, table[w]);
  }
  return r;
}

// p - 2 and (p - 1) / 2, little-endian.
constexpr std::array<uint8_t, 32> ExponentPMinus(int minus, bool halve) {
  std::array<uint8_t, 32> e{};
  for (auto& byte : e) byte = 0xff;
  e[31] = 0x7f;            // 2^255 - 1
  e[0] = static_cast<uint8_t>(0xff - 18 - minus);  // 2^255 - 19 - minus (no borrow)
  if (halve) {
    for (int i = 0; i < 32; ++i) {
      e[i] = static_cast<uint8_t>((e[i] >> 1) | (i + 1 < 32 ? (e[i + 1] & 1) << 7 : 0));
    }
  }
  return e;
}
constexpr std::array<uint8_t, 32> kPMinus2 = ExponentPMinus(2, false);
constexpr std::array<uint8_t, 32> kPMinus1Half = ExponentPMinus(1, true);

int LegendreOf(const Fe& a) {
  const Fe r = Canonical(Pow(a, kPMinus1Half));
  if (r.v == Fe{}.v) return 0;
  return r.v == FromInt(1).v ? 1 : -1;
}

// d = -121665 / 121666, computed once.
const Fe& D() {
  static const Fe d = Sub(Fe{}, Mul(FromInt(121665), Pow(FromInt(121666), kPMinus2)));
  return d;
}

}  // namespace

int Legendre25519(const std::array<uint8_t, 32>& a) { return LegendreOf(FromBytes(a)); }

bool IsEd25519Point(const std::array<uint8_t, 32>& encoding) {
  const bool sign = (encoding[31] & 0x80) != 0;
  const Fe y = FromBytes(encoding);
  if (Canonical(y).v != y.v) return false;  // y >= p: not a canonical encoding
  const Fe y2 = Mul(y, y);
  const Fe u = Sub(y2, FromInt(1));
  const Fe v = Add(Mul(D(), y2), FromInt(1));
  if (IsZero(u)) return !sign;  // x = 0
  // v is never 0 (d is not a square), and u / v is a square exactly when
  // u v = (u / v) v^2 is: one Legendre symbol decides, no inversion.
  return LegendreOf(Mul(u, v)) == 1;
}

}  // namespace keypaird::sshkey
