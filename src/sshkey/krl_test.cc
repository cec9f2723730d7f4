// Unit tests of the KRL encoder and reader. ssh-keygen and sshd read the same output in
// certificate_crosscheck_test.cc.
#include "sshkey/krl.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <limits>
#include <ostream>
#include <random>
#include <set>
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

// The data of a bitmap subsection: `offset`, then `mpint` as a string.
std::string Bitmap(uint64_t offset, std::string_view mpint) {
  std::string out = U64s({offset});
  AppendString(&out, mpint);
  return out;
}

std::string Hashes(std::initializer_list<std::string> hashes) {
  std::string out;
  for (const std::string& h : hashes) AppendString(&out, h);
  return out;
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
          .certificates = {{ca, {{1000, 1000}, {2000, 2099}, {1, 1}, {1, 1}}}},
          .revoked_key_sha256 = {h2, h1, h2}};

  std::string list;  // 1 and 1000 alone, too far apart for a bitmap; 2000..2099 is a run
  AppendU64(&list, 1);
  AppendU64(&list, 1000);
  std::string range;
  AppendU64(&range, 2000);
  AppendU64(&range, 2099);
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

// The subsections of the first certificate section of `encoded`: type and data.
std::vector<std::pair<uint8_t, std::string>> Subsections(std::string_view encoded) {
  std::vector<std::pair<uint8_t, std::string>> out;
  WireReader r(encoded.substr(8 + 4 + 3 * 8));
  uint8_t type = 0;
  std::string_view section, ca, reserved, comment;
  EXPECT_TRUE(r.ReadString(&reserved) && r.ReadString(&comment));
  EXPECT_TRUE(r.ReadU8(&type) && type == 1 && r.ReadString(&section));
  WireReader s(section);
  EXPECT_TRUE(s.ReadString(&ca) && s.ReadString(&reserved));
  while (!s.empty()) {
    std::string_view data;
    if (!s.ReadU8(&type) || !s.ReadString(&data)) {
      ADD_FAILURE() << "truncated subsection";
      break;
    }
    out.emplace_back(type, std::string(data));
  }
  return out;
}

// The size of the encoding keypaird wrote before bitmaps, for `krl` normalised: per CA, one
// list subsection of the runs shorter than kKrlMinRangeRun and a range subsection per
// longer run.
size_t ListAndRangeSize(const Krl& krl) {
  const Krl n = NormalizeKrl(krl);
  size_t size = ExpectedHeader().size() - 4 - 1 + 4 + n.comment.size();
  if (!n.revoked_key_sha256.empty()) size += 1 + 4 + 36 * n.revoked_key_sha256.size();
  for (const KrlCaSerials& ca : n.certificates) {
    size_t listed = 0;
    size += 1 + 4 + 4 + ca.ca_key_blob.size() + 4;
    for (const SerialRange& r : ca.serials) {
      if (r.last - r.first + 1 >= kKrlMinRangeRun) {
        size += 21;
      } else {
        listed += r.last - r.first + 1;
      }
    }
    if (listed > 0) size += 5 + 8 * listed;
  }
  return size;
}

TEST(KrlTest, ListAndRangeSizeMatchesTheEncodingOfSerialsFarApart) {
  // The reference the tests below compare with: exact where no bitmap is smaller.
  Krl krl{
      .comment = "xyz",
      .certificates = {{CaBlob(), {{10, 11}, {500, 500}, {1000, 1099}}}, {"", SerialRangesOf({7})}},
      .revoked_key_sha256 = {KeySha256("k")}};
  EXPECT_EQ(Encode(krl).size(), ListAndRangeSize(krl));
}

TEST(KrlTest, RunsShorterThanThreeStayInTheListBesideOtherListedSerials) {
  Krl krl{.certificates = {{CaBlob(), {{10, 11}, {500, 500}, {1000, 1099}}}}};
  StatusOr<Krl> parsed = ParseKrl(Encode(krl));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->certificates[0].serials,
            (std::vector<SerialRange>{{10, 11}, {500, 500}, {1000, 1099}}));
  // 10 and 11 as 16 bytes of list (a bitmap of them would take 18), 1000..1099 as one
  // 21-byte range subsection (a bitmap would take 30).
  Krl single{.certificates = {{CaBlob(), SerialRangesOf({500})}}};
  EXPECT_EQ(Encode(krl).size() - Encode(single).size(), 8u + 8u + 21u);
  const auto subsections = Subsections(Encode(krl));
  ASSERT_EQ(subsections.size(), 2u);
  EXPECT_EQ(subsections[0].first, 0x20);
  EXPECT_EQ(Hex(subsections[0].second), Hex(U64s({10, 11, 500})));
  EXPECT_EQ(subsections[1].first, 0x21);
  EXPECT_EQ(Hex(subsections[1].second), Hex(U64s({1000, 1099})));
}

TEST(KrlTest, SizeGrowsByEightBytesPerSerialFarApartAndThirtySixPerKey) {
  std::vector<uint64_t> serials;
  std::vector<std::string> hashes;
  Krl base{.certificates = {{CaBlob(), SerialRangesOf({1})}},
           .revoked_key_sha256 = {KeySha256("k0")}};
  const size_t base_size = Encode(base).size();
  // 64 serials apart and more, a bitmap costs more than 8 bytes per serial.
  for (uint64_t i = 0; i < 1000; ++i) serials.push_back(1 + 64 * i);
  for (int i = 0; i < 1000; ++i) hashes.push_back(KeySha256("k" + std::to_string(i)));
  Krl big{.certificates = {{CaBlob(), SerialRangesOf(serials)}}, .revoked_key_sha256 = hashes};
  EXPECT_EQ(Encode(big).size(), base_size + 999 * 8 + 999 * 36);
  EXPECT_EQ(Encode(big).size(), ListAndRangeSize(big));
}

TEST(KrlTest, LayoutOfSmallBitmaps) {
  const std::string ca = CaBlob();
  const auto section = [&](std::string_view subsections) {
    std::string certs;
    AppendString(&certs, ca);
    AppendString(&certs, "");
    certs.append(subsections);
    std::string out = ExpectedHeader();
    AppendU8(&out, 1);
    AppendString(&out, certs);
    return out;
  };
  const auto krl = [&](std::vector<uint64_t> serials) {
    return Krl{.krl_version = 7,
               .generated_date = 1'700'000'000,
               .comment = "c",
               .certificates = {{ca, SerialRangesOf(std::move(serials))}}};
  };
  // 1, 3..6 and 9: bits 0, 2..5 and 8 from serial 1, 0x013d; 19 bytes, where a list of 1
  // and 9 and a range 3..6 would take 21 + 21.
  EXPECT_EQ(Hex(Encode(krl({9, 3, 4, 5, 6, 1, 1}))),
            Hex(section(Section(0x22, Bitmap(1, "\x01\x3d")))));
  // 10 and 17: bits 0 and 7, 0x81, whose top bit needs a zero byte before it (19 bytes,
  // 21 as a list).
  EXPECT_EQ(Hex(Encode(krl({10, 17}))),
            Hex(section(Section(0x22, Bitmap(10, std::string("\x00\x81", 2))))));
  // 10 and 16: bits 0 and 6, 0x41, one byte.
  EXPECT_EQ(Hex(Encode(krl({10, 16}))), Hex(section(Section(0x22, Bitmap(10, "\x41")))));
  // A run of 8: 19 bytes as a bitmap 0x00ff, smaller than a 21-byte range.
  EXPECT_EQ(Hex(Encode(krl({5, 6, 7, 8, 9, 10, 11, 12}))),
            Hex(section(Section(0x22, Bitmap(5, std::string("\x00\xff", 2))))));
  // A run of 24 ties (21 bytes either way): the range; from 32 on, the range is smaller.
  std::vector<uint64_t> run;
  for (uint64_t s = 100; s < 124; ++s) run.push_back(s);
  EXPECT_EQ(Hex(Encode(krl(run))), Hex(section(Section(0x21, U64s({100, 123})))));
  // The list comes first, then bitmaps and ranges by serial.
  std::vector<uint64_t> mixed = {1, 3, 5, 1000, 2000, 2002, 2004};
  for (uint64_t s = 3000; s < 3100; ++s) mixed.push_back(s);
  EXPECT_EQ(Hex(Encode(krl(mixed))),
            Hex(section(Section(0x20, U64s({1000})) + Section(0x22, Bitmap(1, "\x15")) +
                        Section(0x22, Bitmap(2000, "\x15")) + Section(0x21, U64s({3000, 3099})))));
}

TEST(KrlTest, EveryOtherSerialIsABitmapOfAboutABitEach) {
  std::vector<uint64_t> serials;
  for (uint64_t s = 1; s <= 20'000; s += 2) serials.push_back(s);
  Krl krl{.comment = "c", .certificates = {{CaBlob(), SerialRangesOf(serials)}}};
  const std::string encoded = Encode(krl);
  // 20 000 bits are 2 500 bytes; three bitmaps of at most 8 192 bits, 18 bytes each besides.
  EXPECT_LT(encoded.size(), 2'700u);
  EXPECT_EQ(ListAndRangeSize(krl), ExpectedHeader().size() + 1 + 4 + 4 + CaBlob().size() + 4 + 5 +
                                       8 * 10'000);  // 80 KB before
  const auto subsections = Subsections(encoded);
  ASSERT_EQ(subsections.size(), 3u);
  uint64_t next = 1;
  for (const auto& [type, data] : subsections) {
    EXPECT_EQ(type, 0x22);
    WireReader r(data);
    uint64_t offset = 0;
    std::string_view mpint;
    ASSERT_TRUE(r.ReadU64(&offset) && r.ReadString(&mpint) && r.empty());
    EXPECT_EQ(offset, next);
    EXPECT_LE(mpint.size(), kKrlMaxBitmapSerials / 8 + 1);
    ASSERT_FALSE(mpint.empty());
    EXPECT_EQ(mpint[0] & 0x80, 0);
    const uint64_t top_bit =  // the magnitude is 0x0155.. or 0x55..: no zero byte needed
        (mpint.size() - 1) * 8 + std::bit_width(static_cast<uint8_t>(mpint[0])) - 1;
    next = offset + top_bit + 2;  // the next odd serial
  }
  StatusOr<Krl> parsed = ParseKrl(encoded);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(*parsed, NormalizeKrl(krl));
  EXPECT_EQ(parsed->certificates[0].serials.size(), 10'000u);
  EXPECT_EQ(Encode(*parsed), encoded);
}

TEST(KrlTest, ALongRunIsOneRange) {
  Krl krl{.certificates = {{CaBlob(), {{5, 10'004}}}}};
  const auto subsections = Subsections(Encode(krl));
  ASSERT_EQ(subsections.size(), 1u);
  EXPECT_EQ(subsections[0].first, 0x21);
  EXPECT_EQ(Encode(krl).size(), ListAndRangeSize(krl));
}

TEST(KrlTest, RandomSerialsOfEveryDensityRoundTripAndAreNeverLarger) {
  std::mt19937_64 rng(20261207);
  // Serials per span and a chance of runs: sparse to dense, isolated to clustered.
  const std::vector<std::pair<uint64_t, uint64_t>> shapes = {
      {1'000'000, 0}, {100'000, 0}, {20'000, 0}, {5'000, 0}, {1'000, 0},   {600, 3},
      {300, 0},       {64, 1},      {40, 0},     {16, 2},    {9, 0},       {3, 0},
      {2, 0},         {2, 5},       {1, 1},      {1, 30},    {1'000, 100}, {50, 40}};
  for (const auto& [per_serial, run_chance] : shapes) {
    for (int round = 0; round < 4; ++round) {
      SCOPED_TRACE(std::to_string(per_serial) + "/" + std::to_string(run_chance) + " round " +
                   std::to_string(round));
      const size_t count = 1 + rng() % 3'000;
      std::vector<uint64_t> serials;
      uint64_t s = 1 + rng() % 1'000'000;
      for (size_t i = 0; i < count; ++i) {
        s += 1 + rng() % (2 * per_serial);
        serials.push_back(s);
        if (run_chance > 0 && rng() % 100 < run_chance) {
          for (uint64_t k = rng() % 60; k > 0; --k) serials.push_back(++s);
        }
      }
      Krl krl{.certificates = {{CaBlob(), SerialRangesOf(serials)}}};
      const std::string encoded = Encode(krl);
      EXPECT_LE(encoded.size(), ListAndRangeSize(krl));
      StatusOr<Krl> parsed = ParseKrl(encoded);
      ASSERT_TRUE(parsed.ok()) << parsed.status().message();
      EXPECT_EQ(*parsed, NormalizeKrl(krl));
      EXPECT_EQ(Encode(*parsed), encoded);
      EXPECT_EQ(Encode(krl), encoded);  // deterministic
    }
  }
}

// The smallest size of the subsections for `ranges` (sorted, disjoint, not touching), and
// how many bitmaps it has, by trying every split (quadratic: for small inputs only).
std::pair<size_t, size_t> SmallestSubsections(const std::vector<SerialRange>& ranges) {
  constexpr size_t kNone = std::numeric_limits<size_t>::max();
  struct Best {
    size_t size = kNone;
    size_t bitmaps = 0;
  };
  const size_t n = ranges.size();
  // best[listed][j]: ranges[0, j) with (listed = 1) or without a list subsection.
  std::vector<Best> best[2] = {std::vector<Best>(n + 1), std::vector<Best>(n + 1)};
  best[0][0] = {0, 0};
  const auto offer = [](Best& b, size_t size, size_t bitmaps) {
    if (size < b.size) b = {size, bitmaps};
  };
  for (size_t j = 1; j <= n; ++j) {
    const uint64_t count = ranges[j - 1].last - ranges[j - 1].first + 1;
    for (int listed = 0; listed < 2; ++listed) {
      const Best& before = best[listed][j - 1];
      if (before.size == kNone) continue;
      offer(best[listed][j], before.size + 21, before.bitmaps);
      if (count < 1000)
        offer(best[1][j], before.size + (listed ? 0 : 5) + 8 * count, before.bitmaps);
    }
    for (size_t i = j; i-- > 0;) {
      const uint64_t bits = ranges[j - 1].last - ranges[i].first + 1;
      if (bits > kKrlMaxBitmapSerials) break;
      for (int listed = 0; listed < 2; ++listed) {
        const Best& before = best[listed][i];
        if (before.size == kNone) continue;
        offer(best[listed][j], before.size + 5 + 8 + 4 + bits / 8 + 1, before.bitmaps + 1);
      }
    }
  }
  const Best& b = best[1][n].size < best[0][n].size ? best[1][n] : best[0][n];
  return {b.size, b.bitmaps};
}

TEST(KrlTest, EncodingIsWithinABytePerBitmapOfTheSmallest) {
  // The encoder costs a bitmap at up to 7/8 of a byte more than it takes (it counts bits);
  // so it is never more than a byte per bitmap above the smallest split.
  std::mt19937_64 rng(5);
  for (int round = 0; round < 200; ++round) {
    SCOPED_TRACE(round);
    std::vector<uint64_t> serials;
    const uint64_t spread = 1 + rng() % 200;
    uint64_t s = 1 + rng() % 100;
    for (int i = static_cast<int>(rng() % 150); i >= 0; --i) {
      s += 1 + rng() % spread;
      serials.push_back(s);
      if (rng() % 8 == 0) s += rng() % 40;
      if (rng() % 8 == 0) serials.push_back(s);
    }
    const std::vector<SerialRange> ranges = SerialRangesOf(serials);
    size_t size = 0;
    for (const auto& [type, data] : Subsections(Encode({.certificates = {{CaBlob(), ranges}}}))) {
      size += 5 + data.size();
    }
    const auto [smallest, bitmaps] = SmallestSubsections(ranges);
    EXPECT_GE(size, smallest);
    EXPECT_LE(size, smallest + bitmaps);
  }
}

TEST(KrlTest, SizesOfThreeShapes) {
  // Recorded for the change that introduced bitmaps; bounds near the ideal.
  std::mt19937_64 rng(7);
  std::set<uint64_t> distinct;
  while (distinct.size() < 10'000) distinct.insert(1 + rng() % 1'000'000);
  const std::vector<uint64_t> random(distinct.begin(), distinct.end());
  Krl sparse{.certificates = {{CaBlob(), SerialRangesOf(random)}}};
  std::vector<uint64_t> every_other;
  for (uint64_t s = 1; s <= 20'000; s += 2) every_other.push_back(s);
  Krl dense{.certificates = {{CaBlob(), SerialRangesOf(every_other)}}};
  Krl run{.certificates = {{CaBlob(), {{1, 10'000}}}}};
  const size_t sparse_size = Encode(sparse).size(), dense_size = Encode(dense).size(),
               run_size = Encode(run).size();
  std::printf("every other of 20000: %zu bytes (list/range %zu)\n", dense_size,
              ListAndRangeSize(dense));
  std::printf("%zu random of 1000000: %zu bytes (list/range %zu)\n", random.size(), sparse_size,
              ListAndRangeSize(sparse));
  std::printf("a run of 10000: %zu bytes (list/range %zu)\n", run_size, ListAndRangeSize(run));
  EXPECT_LT(dense_size, 2'700u);
  EXPECT_LE(sparse_size, ListAndRangeSize(sparse));
  EXPECT_EQ(run_size, ListAndRangeSize(run));
}

TEST(KrlTest, ManySerialsEncodeQuickly) {
  // 300 000 ranges of mixed density: the encoder is linear in them.
  std::mt19937_64 rng(11);
  std::vector<SerialRange> ranges;
  uint64_t s = 1;
  for (int i = 0; i < 300'000; ++i) {
    s += 2 + rng() % (i % 1000 < 500 ? 4 : 400);
    ranges.push_back({s, s + rng() % 3});
    s = ranges.back().last;
  }
  Krl krl{.certificates = {{CaBlob(), ranges}}};
  const std::string encoded = Encode(krl);
  EXPECT_LE(encoded.size(), ListAndRangeSize(krl));
  StatusOr<Krl> parsed = ParseKrl(encoded);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(*parsed, NormalizeKrl(krl));
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

TEST(ParseKrlTest, MalformedInputIsInvalidArgumentWithItsReason) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
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
      {WithSections(CertSection(Section(0x22, U64s({1})))),
       "the KRL is malformed: a serial bitmap is not a serial and a bitmap"},
      {WithSections(CertSection(Section(0x22, Bitmap(1, "\x01") + "x"))),
       "the KRL is malformed: a serial bitmap is not a serial and a bitmap"},
      {WithSections(CertSection(Section(0x22, Bitmap(1, "\x80")))),
       "the KRL has a serial bitmap that is a negative number"},
      {WithSections(CertSection(Section(0x22, Bitmap(1, std::string("\x00", 1))))),
       "the KRL has a serial bitmap with a needless leading zero byte"},
      {WithSections(CertSection(Section(0x22, Bitmap(1, std::string("\x00\x7f", 2))))),
       "the KRL has a serial bitmap with a needless leading zero byte"},
      {WithSections(CertSection(Section(0x22, Bitmap(1, "\x01" + std::string(2048, '\0'))))),
       "the KRL has a serial bitmap of more than 2048 bytes"},
      {WithSections(CertSection(Section(0x22, Bitmap(kMax, "\x02")))),
       "the KRL has a serial bitmap that runs past the largest serial"},
      {WithSections(CertSection(Section(0x22, Bitmap(kMax - 7, std::string("\x01\x00", 2))))),
       "the KRL has a serial bitmap that runs past the largest serial"},
      {WithSections(CertSection(Section(0x22, Bitmap(0, "\x03")))),
       "the KRL revokes serial 0, which is not a serial"},
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

TEST(ParseKrlTest, BitmapsReadAsRanges) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  const auto serials_of = [](std::string_view subsections) {
    StatusOr<Krl> krl = ParseKrl(WithSections(CertSection(subsections)));
    EXPECT_TRUE(krl.ok()) << krl.status().message();
    if (!krl.ok() || krl->certificates.empty()) return std::vector<SerialRange>{};
    return krl->certificates[0].serials;
  };
  using Ranges = std::vector<SerialRange>;
  // 0x013d from 1: 1, 3..6, 9.
  EXPECT_EQ(serials_of(Section(0x22, Bitmap(1, "\x01\x3d"))), (Ranges{{1, 1}, {3, 6}, {9, 9}}));
  // A zero byte before a top bit; bit 0 need not be set; offset 0 is fine without it.
  EXPECT_EQ(serials_of(Section(0x22, Bitmap(0, std::string("\x00\x86", 2)))),
            (Ranges{{1, 2}, {7, 7}}));
  // The largest serial, and a run up to it.
  EXPECT_EQ(serials_of(Section(0x22, Bitmap(kMax, "\x01"))), (Ranges{{kMax, kMax}}));
  EXPECT_EQ(serials_of(Section(0x22, Bitmap(kMax - 8, std::string("\x01\xfe", 2)))),
            (Ranges{{kMax - 7, kMax}}));
  // An empty bitmap (zero) revokes nothing, as in OpenSSH.
  EXPECT_EQ(serials_of(Section(0x22, Bitmap(5, ""))), Ranges{});
  // The largest OpenSSH reads: 2048 bytes after a zero byte, 16 384 serials.
  EXPECT_EQ(serials_of(Section(0x22, Bitmap(1, std::string(1, '\0') + std::string(2048, '\xff')))),
            (Ranges{{1, 16'384}}));
  // Mixed with lists and ranges, overlapping: merged.
  EXPECT_EQ(serials_of(Section(0x21, U64s({20, 30})) + Section(0x22, Bitmap(28, "\x0b")) +
                       Section(0x20, U64s({32}))),
            (Ranges{{20, 32}}));
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
