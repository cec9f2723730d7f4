#include "common/base64.h"

#include <gtest/gtest.h>

#include <string>

namespace keypaird {
namespace {

TEST(Base64Test, StandardIsRfc4648AndStrict) {
  // RFC 4648 §10's vectors.
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    std::string back;
    ASSERT_TRUE(Base64DecodeStrict(encoded, &back)) << encoded;
    EXPECT_EQ(back, plain);
  }
  std::string out;
  EXPECT_STREQ(Base64DecodeProblem("Zm9v\nYmFy", &out), "it contains whitespace");
  EXPECT_FALSE(Base64DecodeStrict("Zm9", &out));       // no padding
  EXPECT_FALSE(Base64DecodeStrict("Zg=a", &out));      // '=' inside
  EXPECT_FALSE(Base64DecodeStrict("Zh==", &out));      // unused bits not zero
  EXPECT_FALSE(Base64DecodeStrict("Zm9-", &out));      // URL alphabet
}

TEST(Base64Test, UrlIsUnpaddedAndRoundTrips) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  for (size_t n = 0; n <= bytes.size(); n += 7) {
    const std::string encoded = Base64UrlEncode(bytes.substr(0, n));
    EXPECT_EQ(encoded.find_first_of("+/="), std::string::npos);
    std::string back;
    ASSERT_TRUE(Base64UrlDecode(encoded, &back));
    EXPECT_EQ(back, bytes.substr(0, n));
  }
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  std::string out;
  EXPECT_FALSE(Base64UrlDecode("ab+c", &out));
}

}  // namespace
}  // namespace keypaird
