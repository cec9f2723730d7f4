// The provider's key set (identity/jwks.h): which keys are kept, which algorithm fits which
// key, and the cache's refetch rules.
#include "identity/jwks.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "identity/identity_testing.h"

namespace keypaird::identity {
namespace {

using testing::JwksOf;
using testing::MakeEd25519Key;
using testing::MakeP256Key;
using testing::MakeRsaKey;
using testing::TestKey;

TEST(JwksTest, KeepsRsaEcAndEd25519SigningKeysAndCountsTheRest) {
  const TestKey rsa = MakeRsaKey("rsa");
  const TestKey ec = MakeP256Key("ec");
  const TestKey ed = MakeEd25519Key("ed");
  nlohmann::json enc = MakeP256Key("enc").public_jwk;
  enc["use"] = "enc";
  nlohmann::json no_use = MakeP256Key("no-use").public_jwk;
  no_use.erase("use");
  nlohmann::json bad_n = rsa.public_jwk;
  bad_n["kid"] = "bad-n";
  bad_n["n"] = "!!!";
  nlohmann::json short_x = ed.public_jwk;
  short_x["kid"] = "short-x";
  short_x["x"] = "AAAA";
  nlohmann::json ed448 = ed.public_jwk;
  ed448["kid"] = "ed448";
  ed448["crv"] = "Ed448";
  const nlohmann::json set = {
      {"keys",
       {rsa.public_jwk,
        ec.public_jwk,
        ed.public_jwk,
        no_use,
        enc,
        bad_n,
        short_x,
        ed448,
        MakeRsaKey("rsa-1024", 1024).public_jwk,
        {{"kty", "oct"}, {"kid", "hmac"}, {"k", "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"}},
        {{"kty", "XYZ"}, {"kid", "unknown"}},
        {{"kty", "EC"}, {"kid", 7}},
        MakeP256Key("rsa").public_jwk,  // a kid seen before
        "not an object"}}};
  StatusOr<Jwks> jwks = ParseJwks(set.dump());
  ASSERT_TRUE(jwks.ok()) << jwks.status().message();
  std::vector<std::string> kept;
  for (const Jwk& key : jwks->keys()) kept.push_back(key.kid + " " + key.kty + " " + key.crv);
  EXPECT_EQ(kept, (std::vector<std::string>{"rsa RSA ", "ec EC P-256", "ed OKP Ed25519",
                                            "no-use EC P-256"}));
  EXPECT_EQ(jwks->skipped_not_for_signing(), 1);
  EXPECT_EQ(jwks->skipped_unusable(), 9);
  ASSERT_NE(jwks->Find("ec"), nullptr);
  EXPECT_EQ(jwks->Find("ec")->alg, "ES256");
  EXPECT_EQ(jwks->Find("enc"), nullptr);
  EXPECT_EQ(jwks->Find(""), nullptr);
}

TEST(JwksTest, RefusesADocumentWithoutAKeysArray) {
  EXPECT_EQ(ParseJwks("").status().message(),
            "the provider's key set (jwks_uri) is not a JSON object");
  EXPECT_EQ(ParseJwks("[]").status().message(),
            "the provider's key set (jwks_uri) is not a JSON object");
  EXPECT_EQ(ParseJwks(R"({"keys": {}})").status().message(),
            "the provider's key set (jwks_uri) has no \"keys\" array");
  StatusOr<Jwks> empty = ParseJwks(R"({"keys": []})");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->keys().empty());
}

TEST(JwksTest, EachAlgorithmFitsOnlyItsKeyType) {
  const auto fits = [](const char* kty, const char* crv, const char* key_alg, const char* alg) {
    return KeyFitsAlg(Jwk{"kid", kty, crv, key_alg, "sig", nullptr}, alg);
  };
  EXPECT_TRUE(fits("RSA", "", "", "RS256"));
  EXPECT_TRUE(fits("RSA", "", "RS256", "RS256"));
  EXPECT_TRUE(fits("EC", "P-256", "", "ES256"));
  EXPECT_TRUE(fits("OKP", "Ed25519", "", "EdDSA"));
  EXPECT_FALSE(fits("RSA", "", "RS512", "RS256"));  // the key says which algorithm it is for
  EXPECT_FALSE(fits("EC", "P-256", "", "RS256"));
  EXPECT_FALSE(fits("EC", "P-384", "", "ES256"));
  EXPECT_FALSE(fits("RSA", "", "", "ES256"));
  EXPECT_FALSE(fits("OKP", "Ed25519", "", "ES256"));
  EXPECT_FALSE(fits("EC", "P-256", "", "EdDSA"));
  EXPECT_FALSE(fits("RSA", "", "", "PS256"));
  EXPECT_FALSE(fits("oct", "", "", "HS256"));
  EXPECT_FALSE(fits("RSA", "", "none", "none"));
}

// A provider whose answers the test sets, with a clock the test moves.
class JwksCacheTest : public ::testing::Test {
 protected:
  JwksCacheTest()
      : cache_(
            [this]() -> StatusOr<std::string> {
              ++fetches_;
              return answer_;
            },
            [this] { return now_; }) {}

  StatusOr<std::string> answer_ = JwksOf({&Key1()});
  int fetches_ = 0;
  int64_t now_ = 1'000'000;
  JwksCache cache_;

  static const TestKey& Key1() {
    static const TestKey key = MakeP256Key("k1");
    return key;
  }
  static const TestKey& Key2() {
    static const TestKey key = MakeP256Key("k2");
    return key;
  }
};

TEST_F(JwksCacheTest, FetchesOnFirstUseOnlyAndFindsKnownKidsWithoutFetching) {
  EXPECT_EQ(cache_.fetches(), 0);
  ASSERT_TRUE(cache_.Lookup("k1").ok());
  now_ += 3600;
  ASSERT_TRUE(cache_.Lookup("k1").ok());
  EXPECT_EQ(fetches_, 1);
  EXPECT_EQ(cache_.fetches(), 1);
}

TEST_F(JwksCacheTest, AFailedFetchKeepsTheSetItHad) {
  ASSERT_TRUE(cache_.Lookup("k1").ok());
  answer_ = Unavailable("connection refused");
  now_ += 60;
  EXPECT_EQ(cache_.Lookup("k2").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(fetches_, 2);
  EXPECT_TRUE(cache_.Lookup("k1").ok());  // still there
  answer_ = std::string("<html>Bad gateway</html>");
  now_ += 60;
  EXPECT_EQ(cache_.Lookup("k2").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(fetches_, 3);
  EXPECT_TRUE(cache_.Lookup("k1").ok());
}

TEST_F(JwksCacheTest, AFailedFirstFetchIsUnavailableAndRetriedAfterAMinute) {
  answer_ = Unavailable("connection refused");
  StatusOr<Jwk> key = cache_.Lookup("k1");
  EXPECT_EQ(key.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(key.status().message(),
            "the identity provider's signing keys could not be fetched: connection refused");
  answer_ = JwksOf({&Key1()});
  now_ += 59;
  EXPECT_EQ(cache_.Current().status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(fetches_, 1);
  now_ += 1;
  EXPECT_TRUE(cache_.Lookup("k1").ok());
  EXPECT_EQ(fetches_, 2);
}

TEST_F(JwksCacheTest, AClockSteppedBackDoesNotHoldFetchesOff) {
  ASSERT_TRUE(cache_.Lookup("k1").ok());
  answer_ = JwksOf({&Key2()});
  now_ -= 3600;
  EXPECT_TRUE(cache_.Lookup("k2").ok());
  EXPECT_EQ(fetches_, 2);
}

TEST_F(JwksCacheTest, ConcurrentLookupsOfANewKidShareOneFetch) {
  // A slow provider that has rolled over to k2: every thread wants k2 at once.
  std::atomic<int> slow_fetches{0};
  JwksCache slow(
      [&]() -> StatusOr<std::string> {
        ++slow_fetches;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        return JwksOf({&Key1(), &Key2()});
      },
      [this] { return now_; });
  std::atomic<int> found{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      if (slow.Lookup("k2").ok()) ++found;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(slow_fetches.load(), 1);
  EXPECT_EQ(found.load(), 8);  // those that came while it fetched waited for its outcome
}

}  // namespace
}  // namespace keypaird::identity
