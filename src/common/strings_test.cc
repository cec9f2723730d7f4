// The shared string helpers (common/strings.h) and ids (common/uuid.h).
#include <gtest/gtest.h>

#include <string>

#include "common/strings.h"
#include "common/uuid.h"

namespace keypaird {
namespace {

TEST(StringsTest, AsciiCaseFoldingLeavesOtherBytesAlone) {
  EXPECT_EQ(AsciiLowered("APIKey Ü-Z"), "apikey Ü-z");
  EXPECT_TRUE(EqualsIgnoreAsciiCase("APIKey", "apikey"));
  EXPECT_FALSE(EqualsIgnoreAsciiCase("APIKey", "apikey "));
  EXPECT_FALSE(EqualsIgnoreAsciiCase("\xc3\x9c", "\xc3\xbc"));  // Ü, ü: not ASCII
  EXPECT_TRUE(ContainsIgnoreAsciiCase("My-Key", "y-k"));
  EXPECT_TRUE(ContainsIgnoreAsciiCase("abc", ""));
  EXPECT_FALSE(ContainsIgnoreAsciiCase("abc", "abcd"));
}

TEST(StringsTest, Hex) {
  EXPECT_EQ(HexDigitValue('0'), 0);
  EXPECT_EQ(HexDigitValue('f'), 15);
  EXPECT_EQ(HexDigitValue('F'), 15);
  EXPECT_EQ(HexDigitValue('g'), -1);
  EXPECT_TRUE(IsLowerHex("09af"));
  EXPECT_FALSE(IsLowerHex("09aF"));
  std::string out = "x";
  const unsigned char bytes[] = {0x00, 0xff, 0x1a};
  AppendHex(&out, bytes, sizeof(bytes));
  EXPECT_EQ(out, "x00ff1a");
}

TEST(StringsTest, Utf8AcceptsShortestFormsOnly) {
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x91"));  // é € 🔑
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));                              // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));                          // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));                          // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));                      // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));                              // truncated
  EXPECT_EQ(ValidUtf8("a\xffz\xc3\xa9"), "a\xEF\xBF\xBDz\xc3\xa9");
  uint32_t cp = 0;
  EXPECT_EQ(Utf8SequenceAt("\xe2\x82\xac", 0, &cp), 3u);
  EXPECT_EQ(cp, 0x20acu);
}

TEST(UuidTest, Shape) {
  for (int i = 0; i < 100; ++i) {
    const std::string u = NewUuid4();
    ASSERT_TRUE(IsUuid(u)) << u;
    EXPECT_EQ(u[14], '4');
    EXPECT_NE(std::string("89ab").find(u[19]), std::string::npos);
  }
  EXPECT_TRUE(IsUuid("36A7A97A-0672-4911-8F2B-92CD4E5B0D91"));
  EXPECT_FALSE(IsUuid("36a7a97a-0672-4911-8f2b-92cd4e5b0d9"));
  EXPECT_FALSE(IsUuid("36a7a97a+0672-4911-8f2b-92cd4e5b0d91"));
  EXPECT_FALSE(IsUuid("36a7a97a-0672-4911-8f2b-92cd4e5b0d9g"));
}

TEST(UuidTest, Version7StartsWithItsMillisecondsAndSortsByThem) {
  // 2026-12-06T00:00:00Z = 1796515200000 ms = 0x01a2_48a6_7c00.
  const std::string u = NewUuid7(1796515200000);
  ASSERT_TRUE(IsUuid(u)) << u;
  EXPECT_EQ(u.substr(0, 13), "01a248a6-7c00") << u;
  EXPECT_EQ(u[14], '7');
  EXPECT_NE(std::string("89ab").find(u[19]), std::string::npos);
  EXPECT_NE(NewUuid7(1796515200000), u);  // the rest is random
  std::string previous;
  for (int64_t ms = 1; ms < (int64_t{1} << 48); ms *= 3) {
    const std::string next = NewUuid7(ms);
    EXPECT_LT(previous, next) << ms;
    previous = next;
  }
}


TEST(CanonicalIpTest, WritesAddressesAsInetNtopAndRefusesTheRest) {
  EXPECT_EQ(CanonicalIp("192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(CanonicalIp("2001:DB8:0::1"), "2001:db8::1");
  EXPECT_EQ(CanonicalIp("::ffff:192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(CanonicalIp("::1"), "::1");
  for (const char* bad : {"", " 192.0.2.1", "192.0.2.1 ", "192.0.2", "256.0.0.1", "example.com",
                          "192.0.2.1:80", "[::1]", "unknown", "1.2.3.4, 5.6.7.8"}) {
    EXPECT_EQ(CanonicalIp(bad), "") << bad;
  }
}

}  // namespace
}  // namespace keypaird
