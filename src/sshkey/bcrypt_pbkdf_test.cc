// Blowfish and bcrypt_pbkdf against published test vectors.
#include "sshkey/bcrypt_pbkdf.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sshkey/blowfish.h"
#include "sshkey/blowfish_pi.h"

namespace keypaird::sshkey {
namespace {

using namespace std::string_literals;  // NOLINT(google-build-using-namespace)

std::vector<uint8_t> FromHex(std::string_view hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string ToHex(const std::vector<uint8_t>& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

TEST(BlowfishPiTest, StartsAndEndsWithTheDigitsOfPi) {
  // pi = 3.243f6a8885a308d313198a2e... in hexadecimal; the last S-box entry is the
  // 1042nd word of its fraction.
  EXPECT_EQ(blowfish_pi::kP[0], 0x243f6a88u);
  EXPECT_EQ(blowfish_pi::kP[1], 0x85a308d3u);
  EXPECT_EQ(blowfish_pi::kP[17], 0x8979fb1bu);
  EXPECT_EQ(blowfish_pi::kS[0][0], 0xd1310ba6u);
  EXPECT_EQ(blowfish_pi::kS[3][255], 0x3ac372e6u);
}

struct BlowfishVector {
  const char* key;
  const char* plaintext;
  const char* ciphertext;
};

// Eric Young's test vectors for Blowfish (ECB, 8-byte keys), as published with the
// algorithm's reference material.
TEST(BlowfishTest, MatchesPublishedVectors) {
  const BlowfishVector kVectors[] = {
      {"0000000000000000", "0000000000000000", "4ef997456198dd78"},
      {"ffffffffffffffff", "ffffffffffffffff", "51866fd5b85ecb8a"},
      {"3000000000000000", "1000000000000001", "7d856f9a613063f2"},
      {"1111111111111111", "1111111111111111", "2466dd878b963c9d"},
      {"0123456789abcdef", "1111111111111111", "61f9c3802281b096"},
      {"fedcba9876543210", "0123456789abcdef", "0aceab0fc6a0a28d"},
  };
  for (const BlowfishVector& v : kVectors) {
    SCOPED_TRACE(std::string("key ") + v.key + " plaintext " + v.plaintext);
    Blowfish bf;
    bf.SetKey(FromHex(v.key));
    std::vector<uint8_t> block = FromHex(v.plaintext);
    uint32_t left = (uint32_t{block[0]} << 24) | (uint32_t{block[1]} << 16) |
                    (uint32_t{block[2]} << 8) | block[3];
    uint32_t right = (uint32_t{block[4]} << 24) | (uint32_t{block[5]} << 16) |
                     (uint32_t{block[6]} << 8) | block[7];
    bf.Encrypt(&left, &right);
    std::vector<uint8_t> out;
    for (uint32_t word : {left, right}) {
      for (int shift = 24; shift >= 0; shift -= 8)
        out.push_back(static_cast<uint8_t>(word >> shift));
    }
    EXPECT_EQ(ToHex(out), v.ciphertext);
  }
}

struct PbkdfVector {
  std::string passphrase;
  std::string salt;
  uint32_t rounds;
  const char* key;
};

// The vectors of OpenBSD's bcrypt_pbkdf regression test (also used by other
// implementations to check against it).
TEST(BcryptPbkdfTest, MatchesOpenBsdVectors) {
  const PbkdfVector kVectors[] = {
      {"password", "salt", 4, "5bbf0cc293587f1c3635555c27796598d47e579071bf427e9d8fbe842aba34d9"},
      {"password", "\0"s, 4, "c12b566235eee04c212598970a579a67"},
      {"\0"s, "salt", 4, "6051be18c2f4f82cbf0efee5471b4bb9"},
      {"password\0"s, "salt\0"s, 4,
       "7410e44cf4fa07bfaac8a928b1727fac001375e7bf7384370f48efd121743050"},
      {"pass\0wor"s, "sa\0l"s, 4, "c2bffd9db38f6569efef4372f4de83c0"},
      {"pass\0word"s, "sa\0lt"s, 4, "4ba4ac3925c0e8d7f0cdb6bb1684a56f"},
      {"password", "salt", 8,
       "e1367ec5151a33faac4cc1c144cd23fa15d5548493ecc99b9b5d9c0d3b27bec76227ea66088b849b20ab7aa"
       "478010246e74bba51723fefa9f9474d6508845e8d"},
      {"password", "salt", 42, "833cf0dcf56db65608e8f0dc0ce882bd"},
      {"Lorem ipsum dolor sit amet, consectetur adipisicing elit, sed do eiusmod tempor "
       "incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud "
       "exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure "
       "dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur. "
       "Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt "
       "mollit anim id est laborum.",
       "salis\0"s, 8, "10978b07253df57f71a162eb0e8ad30a"},
  };
  for (const PbkdfVector& v : kVectors) {
    SCOPED_TRACE("rounds " + std::to_string(v.rounds) + " key " + v.key);
    std::vector<uint8_t> out(std::string_view(v.key).size() / 2);
    ASSERT_TRUE(BcryptPbkdf(v.passphrase, v.salt, v.rounds, out));
    EXPECT_EQ(ToHex(out), v.key);
  }
}

TEST(BcryptPbkdfTest, RefusesArgumentsOutsideItsDomain) {
  std::vector<uint8_t> out(48, 0xaa);
  EXPECT_FALSE(BcryptPbkdf("", "salt", 16, out));
  EXPECT_EQ(out, std::vector<uint8_t>(48, 0));
  EXPECT_FALSE(BcryptPbkdf("pass", "", 16, out));
  EXPECT_FALSE(BcryptPbkdf("pass", "salt", 0, out));
  std::vector<uint8_t> none;
  EXPECT_FALSE(BcryptPbkdf("pass", "salt", 16, none));
  std::vector<uint8_t> too_long(kBcryptPbkdfMaxOutput + 1);
  EXPECT_FALSE(BcryptPbkdf("pass", "salt", 1, too_long));
}

}  // namespace
}  // namespace keypaird::sshkey
