// Unit tests of the KRL encoder and reader. ssh-keygen and sshd read the same output in
// certificate_crosscheck_test.cc.
#include "sshkey/krl.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sshkey/certificate.h"
#include "sshkey/certificate_test_keys.h"
#include "sshkey/wire.h"
#include "sshkey/sshkey.h"

namespace keypaird::sshkey {

// For readable failures (found by argument-dependent lookup).
void PrintTo(const SerialRange& r, std::ostream* os) { *os << r.first << ".." << r.last; }

namespace {

using testkeys::BlobOf;
using testkeys::Hex;
using testkeys::kTestKeys;

std::string CaBlob() { return BlobOf(kTestKeys[0].line); }       // an Ed25519 key
std::string OtherCaBlob() { return BlobOf(kTestKeys[1].line); }  // a P-256 key

std::string Encode(const Krl& krl) {
  StatusOr<std::string> out = EncodeKrl(krl);
  EXPECT_TRUE(out.ok()) << out.status().message();
  return out.ok() ? *out : "";
}

// The header for version 7, date 1700000000, comment "c", written out field by field.
std::string ExpectedHeader() {
  std::string h("SSHKRL\n\0", 8);
  AppendU32(&h, 1);
  AppendU64(&h, 7);
  AppendU64(&h, 1'700'000'000);
  AppendU64(&h, 0);
  AppendString(&h, "");
  AppendString(&h, "c");
  return h;
}

TEST(KrlTest, EmptyKrlIsJustTheHeader) {
  Krl krl{.krl_version = 7, .generated_date = 1'700'000'000, .comment = "c"};
  EXPECT_EQ(Hex(Encode(krl)), Hex(ExpectedHeader()));
  EXPECT_EQ(Hex(std::string_view(Encode(krl)).substr(0, 8)), "5353484b524c0a00");
}

TEST(KrlTest, LayoutOfBothSections) {
  const std::string ca = CaBlob();
  const std::string h1(32, '\x01'), h2(32, '\x02');
  Krl krl{.krl_version = 7,
          .generated_date = 1'700'000'000,
          .comment = "c",
          .certificates = {{ca, SerialRangesOf({9, 3, 4, 5, 6, 1, 1})}},
          .revoked_key_sha256 = {h2, h1, h2}};

  std::string list;  // 1 and 9 alone; 3..6 is a run
  AppendU64(&list, 1);
  AppendU64(&list, 9);
  std::string range;
  AppendU64(&range, 3);
  AppendU64(&range, 6);
  std::string certs;
  AppendString(&certs, ca);
  AppendString(&certs, "");
  AppendU8(&certs, 0x20);
  AppendString(&certs, list);
  AppendU8(&certs, 0x21);
  AppendString(&certs, range);
  std::string hashes;
  AppendString(&hashes, h1);
  AppendString(&hashes, h2);
  std::string expected = ExpectedHeader();
  AppendU8(&expected, 1);
  AppendString(&expected, certs);
  AppendU8(&expected, 5);
  AppendString(&expected, hashes);

  EXPECT_EQ(Hex(Encode(krl)), Hex(expected));
}

TEST(KrlTest, RunsShorterThanThreeStayInTheList) {
  Krl krl{.certificates = {{CaBlob(), SerialRangesOf({10, 11, 20, 21, 22})}}};
  StatusOr<Krl> parsed = ParseKrl(Encode(krl));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->certificates[0].serials, (std::vector<SerialRange>{{10, 11}, {20, 22}}));
  // 10 and 11 as 16 bytes of list, 20..22 as one 21-byte range subsection.
  Krl single{.certificates = {{CaBlob(), SerialRangesOf({10})}}};
  EXPECT_EQ(Encode(krl).size() - Encode(single).size(), 8u + 21u);
}

TEST(KrlTest, SizeGrowsByEightBytesPerSerialAndThirtySixPerKey) {
  std::vector<uint64_t> serials;
  std::vector<std::string> hashes;
  Krl base{.certificates = {{CaBlob(), SerialRangesOf({1})}},
           .revoked_key_sha256 = {KeySha256("k0")}};
  const size_t base_size = Encode(base).size();
  for (uint64_t i = 0; i < 1000; ++i) serials.push_back(1 + 2 * i);  // no two consecutive
  for (int i = 0; i < 1000; ++i) hashes.push_back(KeySha256("k" + std::to_string(i)));
  Krl big{.certificates = {{CaBlob(), SerialRangesOf(serials)}}, .revoked_key_sha256 = hashes};
  EXPECT_EQ(Encode(big).size(), base_size + 999 * 8 + 999 * 36);
}

TEST(KrlTest, RoundTripsThroughTheReader) {
  std::mt19937_64 rng(1234);
  for (int round = 0; round < 50; ++round) {
    SCOPED_TRACE(round);
    Krl krl{
        .krl_version = rng(), .generated_date = rng(), .comment = "round " + std::to_string(round)};
    for (const std::string& ca : {CaBlob(), OtherCaBlob()}) {
      std::vector<uint64_t> serials;
      const int n = static_cast<int>(rng() % 40);
      for (int i = 0; i < n; ++i) serials.push_back(1 + rng() % 100);
      krl.certificates.push_back({ca, SerialRangesOf(serials)});
    }
    for (int i = 0; i < static_cast<int>(rng() % 10); ++i) {
      krl.revoked_key_sha256.push_back(KeySha256(std::to_string(rng() % 20)));
    }
    const std::string encoded = Encode(krl);
    StatusOr<Krl> parsed = ParseKrl(encoded);
    ASSERT_TRUE(parsed.ok()) << parsed.status().message();
    EXPECT_EQ(*parsed, NormalizeKrl(krl));
    EXPECT_EQ(Encode(*parsed), encoded);  // canonical: the same bytes again
  }
}

TEST(KrlTest, NormalizeMergesCasAndRanges) {
  const std::string ca = CaBlob();
  Krl krl{.certificates = {
              {ca, {{5, 9}, {1, 2}}}, {OtherCaBlob(), {}}, {ca, {{3, 3}, {8, 20}, {30, 30}}}}};
  Krl n = NormalizeKrl(krl);
  ASSERT_EQ(n.certificates.size(), 1u);
  EXPECT_EQ(n.certificates[0].ca_key_blob, ca);
  EXPECT_EQ(n.certificates[0].serials, (std::vector<SerialRange>{{1, 3}, {5, 20}, {30, 30}}));
}

TEST(KrlTest, LargestSerialsDoNotOverflow) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  Krl krl{.certificates = {{CaBlob(), {{kMax - 1, kMax}, {kMax, kMax}, {1, kMax - 5}}}}};
  StatusOr<Krl> parsed = ParseKrl(Encode(krl));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->certificates[0].serials,
            (std::vector<SerialRange>{{1, kMax - 5}, {kMax - 1, kMax}}));
  EXPECT_TRUE(KrlRevokesCertificate(*parsed, CaBlob(), kMax));
  EXPECT_FALSE(KrlRevokesCertificate(*parsed, CaBlob(), kMax - 2));
}

TEST(KrlTest, RevocationQueries) {
  const std::string ca = CaBlob();
  const std::string key = BlobOf(kTestKeys[4].line);
  Krl krl{.certificates = {{ca, SerialRangesOf({7, 8, 9, 100})}},
          .revoked_key_sha256 = {KeySha256(key)}};
  EXPECT_TRUE(KrlRevokesCertificate(krl, ca, 8));
  EXPECT_TRUE(KrlRevokesCertificate(krl, ca, 100));
  EXPECT_FALSE(KrlRevokesCertificate(krl, ca, 10));
  EXPECT_FALSE(KrlRevokesCertificate(krl, ca, 0));
  EXPECT_FALSE(KrlRevokesCertificate(krl, OtherCaBlob(), 8));
  EXPECT_TRUE(KrlRevokesKey(krl, key));
  EXPECT_FALSE(KrlRevokesKey(krl, ca));
  Krl any_ca{.certificates = {{"", SerialRangesOf({8})}}};
  EXPECT_TRUE(KrlRevokesCertificate(any_ca, OtherCaBlob(), 8));
  StatusOr<Krl> parsed = ParseKrl(Encode(any_ca));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(*parsed, any_ca);
}

TEST(KrlTest, KeySha256IsTheDigestOfTheBlob) {
  // SHA-256("abc"), FIPS 180-2 appendix B.1.
  EXPECT_EQ(Hex(KeySha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// ---------------------------------------------------------------------------------------
// The encoder refuses what the format cannot say.

TEST(KrlTest, EncoderRefusesInvalidInput) {
  const std::vector<std::pair<Krl, std::string>> cases = {
      {Krl{.certificates = {{CaBlob(), {{0, 5}}}}},
       "a revoked serial range is empty or includes serial 0 (certificates without a serial "
       "cannot be revoked by serial)"},
      {Krl{.certificates = {{CaBlob(), {{6, 5}}}}},
       "a revoked serial range is empty or includes serial 0 (certificates without a serial "
       "cannot be revoked by serial)"},
      {Krl{.certificates = {{"not a key", {{1, 1}}}}},
       "a KRL CA key is not a valid public key blob"},
      {Krl{.revoked_key_sha256 = {std::string(20, 'x')}},
       "a revoked key hash is not a 32-byte SHA-256 digest"},
      {Krl{.comment = std::string("a\0b", 3)}, "the KRL comment must not contain NUL bytes"},
  };
  for (const auto& [krl, message] : cases) {
    StatusOr<std::string> out = EncodeKrl(krl);
    ASSERT_FALSE(out.ok()) << message;
    EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(out.status().message(), message);
  }
}

// ---------------------------------------------------------------------------------------
// The reader on hostile input.

// A header followed by `sections`.
std::string WithSections(std::string_view sections) {
  return ExpectedHeader() + std::string(sections);
}

std::string Section(uint8_t type, std::string_view data) {
  std::string out;
  AppendU8(&out, type);
  AppendString(&out, data);
  return out;
}

std::string CertSection(std::string_view subsections) {
  std::string data;
  AppendString(&data, CaBlob());
  AppendString(&data, "");
  data.append(subsections);
  return Section(1, data);
}

std::string U64s(std::initializer_list<uint64_t> values) {
  std::string out;
  for (uint64_t v : values) AppendU64(&out, v);
  return out;
}

std::string Hashes(std::initializer_list<std::string> hashes) {
  std::string out;
  for (const std::string& h : hashes) AppendString(&out, h);
  return out;
}

TEST(ParseKrlTest, MalformedInputIsInvalidArgumentWithItsReason) {
  std::string header_v2 = ExpectedHeader();
  header_v2[11] = 2;
  std::string flags = ExpectedHeader();
  flags[35] = 1;
  const std::string a(32, 'a'), b(32, 'b');
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "not an OpenSSH KRL: the magic is missing"},
      {"SSHKRL\n", "not an OpenSSH KRL: the magic is missing"},
      {std::string("SSHKRL\n\0", 8), "the KRL is malformed: its header is truncated"},
      {header_v2, "unsupported KRL format version 2"},
      {flags, "the KRL sets flags, none of which are defined"},
      {WithSections("\x01"), "the KRL is malformed: a section is truncated"},
      {WithSections(Section(4, "")), "signed KRLs are not supported"},
      {WithSections(Section(2, "")), "explicit key sections are not supported"},
      {WithSections(Section(3, "")), "SHA-1 fingerprint sections are not supported"},
      {WithSections(Section(255, "")), "KRL extension sections are not supported"},
      {WithSections(Section(9, "")), "KRL section type 9 are not supported"},
      {WithSections(Section(5, "")), "the KRL has a SHA-256 section with no hash in it"},
      {WithSections(Section(5, Hashes({std::string(20, 'a')}))),
       "the KRL is malformed: a SHA-256 hash is not 32 bytes"},
      {WithSections(Section(5, Hashes({b, a}))),
       "the KRL's SHA-256 hashes are not in ascending order without repeats"},
      {WithSections(Section(5, Hashes({a, a}))),
       "the KRL's SHA-256 hashes are not in ascending order without repeats"},
      {WithSections(Section(1, "")), "the KRL is malformed: a certificate section is truncated"},
      {WithSections(CertSection("")), "the KRL has a certificate section with nothing in it"},
      {WithSections(CertSection(Section(0x20, U64s({1}) + "x"))),
       "the KRL is malformed: a certificate section is truncated"},
      {WithSections(CertSection(Section(0x20, U64s({5, 0})))),
       "the KRL revokes serial 0, which is not a serial"},
      {WithSections(CertSection(Section(0x21, U64s({5})))),
       "the KRL is malformed: a serial range is not two serials"},
      {WithSections(CertSection(Section(0x21, U64s({6, 5})))),
       "the KRL has an empty serial range or one that includes serial 0"},
      {WithSections(CertSection(Section(0x21, U64s({0, 5})))),
       "the KRL has an empty serial range or one that includes serial 0"},
      {WithSections(CertSection(Section(0x22, U64s({1}) + std::string("\0\0\0\x01\x01", 5)))),
       "certificate serial bitmaps are not supported"},
      {WithSections(CertSection(Section(0x23, Hashes({"id"})))),
       "revocation by key id are not supported"},
      {WithSections(CertSection(Section(0x39, ""))),
       "certificate section extensions are not supported"},
  };
  for (const auto& [input, message] : cases) {
    StatusOr<Krl> krl = ParseKrl(input);
    ASSERT_FALSE(krl.ok()) << message;
    EXPECT_EQ(krl.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(krl.status().message(), message);
  }
}

TEST(ParseKrlTest, SectionsOfOneCaAreMergedAndListsMayBeUnsorted) {
  const std::string input =
      WithSections(CertSection(Section(0x20, U64s({9, 2, 2, 3}))) +
                   CertSection(Section(0x21, U64s({4, 8}))) + CertSection(Section(0x20, "")));
  StatusOr<Krl> krl = ParseKrl(input);
  ASSERT_TRUE(krl.ok()) << krl.status().message();
  ASSERT_EQ(krl->certificates.size(), 1u);
  EXPECT_EQ(krl->certificates[0].serials, (std::vector<SerialRange>{{2, 9}}));
}

TEST(ParseKrlTest, EveryTruncationIsRejectedUnlessItEndsAtASection) {
  const std::string h1(32, '\x01');
  Krl krl{.krl_version = 7,
          .generated_date = 1'700'000'000,
          .comment = "c",
          .certificates = {{CaBlob(), SerialRangesOf({1, 5, 6, 7})},
                           {OtherCaBlob(), SerialRangesOf({2})}},
          .revoked_key_sha256 = {h1}};
  const std::string encoded = Encode(krl);
  // The header, then the two certificate sections and the SHA-256 section.
  const size_t header = ExpectedHeader().size();
  std::vector<size_t> boundaries = {header};
  for (size_t at = header; at < encoded.size();) {
    WireReader r(std::string_view(encoded).substr(at + 1));
    std::string_view section;
    ASSERT_TRUE(r.ReadString(&section));
    at += 1 + 4 + section.size();
    boundaries.push_back(at);
  }
  ASSERT_EQ(boundaries.size(), 4u);
  for (size_t n = 0; n <= encoded.size(); ++n) {
    StatusOr<Krl> parsed = ParseKrl(encoded.substr(0, n));
    const bool boundary = std::find(boundaries.begin(), boundaries.end(), n) != boundaries.end();
    EXPECT_EQ(parsed.ok(), boundary) << n;
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST(ParseKrlTest, RandomBytesAfterTheMagicNeverCrash) {
  std::mt19937 rng(99);
  for (int i = 0; i < 2000; ++i) {
    std::string input("SSHKRL\n\0\0\0\0\x01", 12);
    const size_t n = rng() % 200;
    for (size_t k = 0; k < n; ++k) input.push_back(static_cast<char>(rng() % 8 == 0 ? rng() : 0));
    StatusOr<Krl> parsed = ParseKrl(input);
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

}  // namespace
}  // namespace keypaird::sshkey
