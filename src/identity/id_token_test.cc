// ID-token verification (identity/id_token.h): each rule of OpenID Connect Core §3.1.3.7 that
// keypaird applies, and the forgeries a JWS verifier is known to fall for. Every refusal is
// asserted by code and exact message, so that a test fails when its rule is taken out (the
// token would then be accepted, or refused later for another reason).
#include "identity/id_token.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/base64.h"
#include "identity/identity_testing.h"

namespace keypaird::identity {
namespace {

using testing::B64;
using testing::JwksOf;
using testing::MakeEd25519Key;
using testing::MakeP256Key;
using testing::MakeRsaKey;
using testing::Sign;
using testing::TestKey;

constexpr int64_t kNow = 1'800'000'000;
constexpr char kIssuer[] = "https://idp.example.com/realms/staff";
constexpr char kClientId[] = "keypaird";
constexpr char kNonce[] = "n-0S6_WzA2Mj";

// Made once: RSA key generation takes a while.
const TestKey& Rsa() {
  static const TestKey key = MakeRsaKey("rsa-1");
  return key;
}
const TestKey& Ec() {
  static const TestKey key = MakeP256Key("ec-1");
  return key;
}
const TestKey& Ed() {
  static const TestKey key = MakeEd25519Key("ed-1");
  return key;
}

const TestKey& KeyFor(const std::string& alg) {
  if (alg == "RS256") return Rsa();
  if (alg == "ES256") return Ec();
  return Ed();
}

nlohmann::json GoodClaims() {
  return {{"iss", kIssuer},
          {"sub", "248289761001"},
          {"aud", kClientId},
          {"nonce", kNonce},
          {"iat", kNow - 10},
          {"exp", kNow + 300},
          {"auth_time", kNow - 20},
          {"email", "jane@example.com"},
          {"email_verified", true},
          {"name", "Jane Doe"},
          {"groups", {"ops", "db-admins"}}};
}

// The provider: a JWK set the tests may change, a fetch counter and a clock they move.
class IdTokenTest : public ::testing::Test {
 protected:
  IdTokenTest()
      : jwks_(JwksOf({&Rsa(), &Ec(), &Ed()})),
        cache_(
            [this]() -> StatusOr<std::string> {
              ++fetches_;
              return jwks_;
            },
            [this] { return now_; }) {}

  IdTokenExpectations Want() const {
    IdTokenExpectations want;
    want.issuer = kIssuer;
    want.client_id = kClientId;
    want.nonce = kNonce;
    want.now_s = now_;
    return want;
  }

  StatusOr<IdTokenClaims> Verify(const std::string& token) {
    return VerifyIdToken(token, cache_, Want());
  }

  // The status of verifying a token, as "code: message" for one-line assertions.
  std::string Outcome(const std::string& token) {
    StatusOr<IdTokenClaims> claims = Verify(token);
    if (claims.ok()) return "accepted";
    return std::to_string(static_cast<int>(claims.status().code())) + ": " +
           claims.status().message();
  }

  static std::string Refused(const std::string& message) {
    return std::to_string(static_cast<int>(StatusCode::kUnauthenticated)) + ": " + message;
  }
  static std::string Malformed(const std::string& message) {
    return std::to_string(static_cast<int>(StatusCode::kInvalidArgument)) + ": " + message;
  }

  // A token of the RSA key with one claim changed (or removed, for null).
  static std::string WithClaim(const std::string& name, const nlohmann::json& value) {
    return Sign(Rsa(), testing::WithMember(GoodClaims(), name, value));
  }

  std::string jwks_;
  int fetches_ = 0;
  int64_t now_ = kNow;
  JwksCache cache_;
};

class IdTokenAlgTest : public IdTokenTest, public ::testing::WithParamInterface<std::string> {};

INSTANTIATE_TEST_SUITE_P(Algs, IdTokenAlgTest, ::testing::Values("RS256", "ES256", "EdDSA"));

TEST_P(IdTokenAlgTest, AcceptsAValidTokenAndReturnsItsClaims) {
  StatusOr<IdTokenClaims> claims = Verify(Sign(KeyFor(GetParam()), GoodClaims()));
  ASSERT_TRUE(claims.ok()) << claims.status().message();
  EXPECT_EQ(claims->issuer, kIssuer);
  EXPECT_EQ(claims->subject, "248289761001");
  EXPECT_EQ(claims->email, "jane@example.com");
  EXPECT_TRUE(claims->email_verified);
  EXPECT_EQ(claims->name, "Jane Doe");
  EXPECT_EQ(claims->groups, (std::vector<std::string>{"ops", "db-admins"}));
  EXPECT_EQ(claims->iat, kNow - 10);
  EXPECT_EQ(claims->exp, kNow + 300);
  EXPECT_EQ(claims->auth_time, kNow - 20);
}

TEST_P(IdTokenAlgTest, RefusesATamperedPayload) {
  const std::string token = Sign(KeyFor(GetParam()), GoodClaims());
  nlohmann::json forged = GoodClaims();
  forged["sub"] = "admin";
  const size_t dot1 = token.find('.');
  const size_t dot2 = token.find('.', dot1 + 1);
  const std::string tampered = token.substr(0, dot1 + 1) + B64(forged.dump()) + token.substr(dot2);
  EXPECT_EQ(Outcome(tampered), Refused("the ID token has a bad signature"));
}

TEST_P(IdTokenAlgTest, RefusesATamperedSignature) {
  std::string token = Sign(KeyFor(GetParam()), GoodClaims());
  // Flip bits in the middle of the signature (the last character may carry padding bits).
  char& c = token[token.rfind('.') + 10];
  c = c == 'A' ? 'B' : 'A';
  EXPECT_EQ(Outcome(token), Refused("the ID token has a bad signature"));
}

TEST_P(IdTokenAlgTest, RefusesATokenSignedByAnotherKeyUnderAKnownKid) {
  const std::string alg = GetParam();
  const TestKey other = alg == "RS256"   ? MakeRsaKey(KeyFor(alg).kid)
                        : alg == "ES256" ? MakeP256Key(KeyFor(alg).kid)
                                         : MakeEd25519Key(KeyFor(alg).kid);
  EXPECT_EQ(Outcome(Sign(other, GoodClaims())), Refused("the ID token has a bad signature"));
}

TEST_F(IdTokenTest, RefusesAKidTheProviderDoesNotList) {
  TestKey stranger = MakeP256Key("not-listed");
  EXPECT_EQ(Outcome(Sign(stranger, GoodClaims())),
            Refused("the ID token is signed with a key (kid) the identity provider does not list"));
}

TEST_F(IdTokenTest, UnknownKidsRefetchTheKeysAtMostOnceAMinute) {
  ASSERT_EQ(Outcome(Sign(Rsa(), GoodClaims())), "accepted");
  EXPECT_EQ(fetches_, 1);  // the first token fetches the set
  EXPECT_EQ(Outcome(Sign(Rsa(), GoodClaims())), "accepted");
  EXPECT_EQ(fetches_, 1);  // a known kid never fetches

  now_ += 100;
  EXPECT_EQ(Outcome(Sign(MakeP256Key("random-1"), GoodClaims())),
            Refused("the ID token is signed with a key (kid) the identity provider does not list"));
  EXPECT_EQ(fetches_, 2);  // an unknown kid fetches once...
  now_ += 30;
  EXPECT_EQ(Outcome(Sign(MakeP256Key("random-2"), GoodClaims())),
            Refused("the ID token is signed with a key (kid) the identity provider does not list"));
  EXPECT_EQ(fetches_, 2);  // ...and another one within the minute does not
  now_ += 31;              // 61 s after the last fetch
  EXPECT_EQ(Outcome(Sign(MakeP256Key("random-3"), GoodClaims())),
            Refused("the ID token is signed with a key (kid) the identity provider does not list"));
  EXPECT_EQ(fetches_, 3);
}

TEST_F(IdTokenTest, PicksUpAKeyRolloverAtTheProvider) {
  ASSERT_EQ(Outcome(Sign(Rsa(), GoodClaims())), "accepted");
  const TestKey next = MakeP256Key("ec-2026");
  jwks_ = JwksOf({&Ec(), &next});  // the provider rolls its keys over
  now_ += 120;
  EXPECT_EQ(Outcome(Sign(next, GoodClaims())), "accepted");
  EXPECT_EQ(fetches_, 2);
}

// A provider with a single key may leave kid out of its tokens (and its key).
const TestKey& Lone() {
  static const TestKey key = MakeRsaKey("");
  return key;
}

nlohmann::json LonePublicJwk() {
  nlohmann::json jwk = Lone().public_jwk;
  jwk.erase("kid");
  return jwk;
}

TEST_F(IdTokenTest, WithoutAKidUsesTheSetsOnlyKeyThatFits) {
  // One RSA key; the EC and Ed25519 keys do not fit RS256 and do not count.
  jwks_ = nlohmann::json{{"keys", {LonePublicJwk(), Ec().public_jwk, Ed().public_jwk}}}.dump();
  EXPECT_EQ(Outcome(Sign(Lone(), {{"alg", "RS256"}}, GoodClaims())), "accepted");
}

TEST_F(IdTokenTest, WithoutAKidRefusesWhenSeveralKeysFit) {
  jwks_ = nlohmann::json{{"keys", {LonePublicJwk(), Rsa().public_jwk}}}.dump();
  EXPECT_EQ(Outcome(Sign(Lone(), {{"alg", "RS256"}}, GoodClaims())),
            Refused("the ID token names no key (kid) and the identity provider has several that "
                    "fit"));
}

TEST_F(IdTokenTest, WithoutAKidRefusesWhenNoKeyFits) {
  jwks_ = JwksOf({&Ec(), &Ed()});
  EXPECT_EQ(Outcome(Sign(Lone(), {{"alg", "RS256"}}, GoodClaims())),
            Refused("the ID token names no key (kid) and the identity provider has none that "
                    "fits"));
}

TEST_F(IdTokenTest, RefusesAnExpiredTokenBeyondTheSkew) {
  EXPECT_EQ(Outcome(WithClaim("exp", kNow - 301)), Refused("the ID token has expired"));
  EXPECT_EQ(Outcome(WithClaim("exp", kNow - 299)), "accepted");  // within 5 min of skew
  EXPECT_EQ(Outcome(WithClaim("exp", kNow + 0.5)), "accepted");  // NumericDate may have a fraction
  EXPECT_EQ(Outcome(WithClaim("exp", nullptr)), Refused("the ID token has no valid expiry (exp)"));
  EXPECT_EQ(Outcome(WithClaim("exp", std::to_string(kNow + 300))),
            Refused("the ID token has no valid expiry (exp)"));
}

TEST_F(IdTokenTest, RefusesATokenIssuedInTheFutureBeyondTheSkew) {
  EXPECT_EQ(Outcome(WithClaim("iat", kNow + 301)),
            Refused("the ID token was issued in the future (iat)"));
  EXPECT_EQ(Outcome(WithClaim("iat", kNow + 299)), "accepted");
  EXPECT_EQ(Outcome(WithClaim("iat", nullptr)),
            Refused("the ID token has no valid issue time (iat)"));
}

TEST_F(IdTokenTest, RefusesATokenNotValidYet) {
  EXPECT_EQ(Outcome(WithClaim("nbf", kNow + 301)), Refused("the ID token is not valid yet (nbf)"));
  EXPECT_EQ(Outcome(WithClaim("nbf", kNow)), "accepted");
}

TEST_F(IdTokenTest, RefusesAnotherIssuer) {
  EXPECT_EQ(
      Outcome(WithClaim("iss", "https://idp.example.com/realms/staff/")),
      Refused("the ID token was issued by another issuer than the configured provider (iss)"));
  EXPECT_EQ(
      Outcome(WithClaim("iss", nullptr)),
      Refused("the ID token was issued by another issuer than the configured provider (iss)"));
}

TEST_F(IdTokenTest, RefusesATokenForAnotherAudience) {
  EXPECT_EQ(Outcome(WithClaim("aud", "other-app")),
            Refused("the ID token is meant for another client (aud)"));
  EXPECT_EQ(Outcome(WithClaim("aud", nlohmann::json::array({"other-app"}))),
            Refused("the ID token is meant for another client (aud)"));
  EXPECT_EQ(Outcome(WithClaim("aud", nullptr)), Refused("the ID token has no audience (aud)"));
  EXPECT_EQ(Outcome(WithClaim("aud", 7)),
            Refused("the ID token has an audience (aud) that is neither a string nor an array"));
  EXPECT_EQ(Outcome(WithClaim("aud", nlohmann::json::array({kClientId}))), "accepted");
}

TEST_F(IdTokenTest, SeveralAudiencesNeedAnAzpThatIsThisClient) {
  nlohmann::json claims = GoodClaims();
  claims["aud"] = nlohmann::json::array({kClientId, "other-app"});
  EXPECT_EQ(Outcome(Sign(Rsa(), claims)), Refused("the ID token has several audiences and no azp"));
  claims["azp"] = "other-app";
  EXPECT_EQ(Outcome(Sign(Rsa(), claims)),
            Refused("the ID token was issued to another client (azp)"));
  claims["azp"] = kClientId;
  EXPECT_EQ(Outcome(Sign(Rsa(), claims)), "accepted");
  // An azp is checked even beside a single audience.
  EXPECT_EQ(Outcome(WithClaim("azp", "other-app")),
            Refused("the ID token was issued to another client (azp)"));
}

TEST_F(IdTokenTest, RefusesAWrongOrMissingNonce) {
  const std::string refused = Refused("the ID token does not carry this sign-in's nonce");
  EXPECT_EQ(Outcome(WithClaim("nonce", "n-0S6_WzA2Mk")), refused);
  EXPECT_EQ(Outcome(WithClaim("nonce", "n-0S6_WzA2Mj ")), refused);
  EXPECT_EQ(Outcome(WithClaim("nonce", nullptr)), refused);
  EXPECT_EQ(Outcome(WithClaim("nonce", 1)), refused);
  IdTokenExpectations want = Want();
  want.nonce.clear();  // a caller that lost its nonce accepts nothing, not everything
  nlohmann::json claims = GoodClaims();
  claims["nonce"] = "";
  EXPECT_EQ(VerifyIdToken(Sign(Rsa(), claims), cache_, want).status().message(),
            "the ID token does not carry this sign-in's nonce");
}

TEST_F(IdTokenTest, NeedsASubjectOfAtMost255Bytes) {
  EXPECT_EQ(Outcome(WithClaim("sub", nullptr)), Refused("the ID token has no subject (sub)"));
  EXPECT_EQ(Outcome(WithClaim("sub", "")), Refused("the ID token has no subject (sub)"));
  EXPECT_EQ(Outcome(WithClaim("sub", 42)), Refused("the ID token has no subject (sub)"));
  EXPECT_EQ(Outcome(WithClaim("sub", std::string(256, 's'))),
            Refused("the ID token has a subject over 255 bytes"));
  EXPECT_EQ(Outcome(WithClaim("sub", std::string(255, 's'))), "accepted");
}

TEST_F(IdTokenTest, GroupsAreAnArrayOfStringsOrAbsent) {
  StatusOr<IdTokenClaims> none = Verify(WithClaim("groups", nullptr));
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_TRUE(none->groups.empty());
  const std::string refused =
      Refused("the ID token has a groups claim that is not an array of strings");
  EXPECT_EQ(Outcome(WithClaim("groups", "ops")), refused);
  EXPECT_EQ(Outcome(WithClaim("groups", {"ops", 3})), refused);
  EXPECT_EQ(Outcome(WithClaim("groups", {{"name", "ops"}})), refused);

  IdTokenExpectations want = Want();
  want.groups_claim = "roles";
  StatusOr<IdTokenClaims> roles =
      VerifyIdToken(WithClaim("roles", nlohmann::json::array({"admin"})), cache_, want);
  ASSERT_TRUE(roles.ok()) << roles.status().message();
  EXPECT_EQ(roles->groups, std::vector<std::string>{"admin"});
}

TEST_F(IdTokenTest, ProfileClaimsHaveTheirTypes) {
  EXPECT_EQ(Outcome(WithClaim("email", 5)),
            Refused("the ID token has an email that is not a string"));
  EXPECT_EQ(Outcome(WithClaim("name", nlohmann::json::array({"Jane"}))),
            Refused("the ID token has a name that is not a string"));
  StatusOr<IdTokenClaims> claims = Verify(WithClaim("email_verified", "true"));
  ASSERT_TRUE(claims.ok()) << claims.status().message();
  EXPECT_FALSE(claims->email_verified);  // only JSON true is true
  EXPECT_EQ(Outcome(WithClaim("auth_time", "yesterday")),
            Refused("the ID token has an auth_time that is not a time"));
}

// --- Algorithms and keys: the forgeries. ---

TEST_F(IdTokenTest, RefusesAlgNone) {
  const std::string token = Sign(Rsa(), GoodClaims());
  const std::string rest = token.substr(token.find('.'));  // ".payload.signature"
  for (const nlohmann::json& header :
       {nlohmann::json{{"alg", "none"}, {"kid", "rsa-1"}}, nlohmann::json{{"alg", "none"}}}) {
    // With the RSA signature left on, and with none at all (the usual shape).
    EXPECT_EQ(Outcome(B64(header.dump()) + rest),
              Refused("the ID token is signed with an algorithm keypaird does not accept (RS256, "
                      "ES256, EdDSA)"));
    EXPECT_EQ(Outcome(B64(header.dump()) + rest.substr(0, rest.rfind('.') + 1)),
              Malformed("the ID token is not a signed JWT (header.payload.signature)"));
  }
}

TEST_F(IdTokenTest, RefusesHs256MadeWithTheRsaPublicKeyAsItsSecret) {
  // The classic: a verifier that takes "alg" from the token runs HMAC with whatever bytes the
  // "key" has, and the public key is public. Tried with the JWK's text and with the modulus.
  const std::string refused = Refused(
      "the ID token is signed with an algorithm keypaird does not accept (RS256, ES256, EdDSA)");
  std::string modulus;
  ASSERT_TRUE(Base64UrlDecode(Rsa().public_jwk["n"].get<std::string>(), &modulus));
  for (const std::string& secret : {Rsa().public_jwk.dump(), modulus}) {
    const TestKey forged = testing::MakeHmacKey("rsa-1", secret);
    EXPECT_EQ(Outcome(Sign(forged, {{"alg", "HS256"}, {"kid", "rsa-1"}}, GoodClaims())), refused);
  }
  const TestKey forged = testing::MakeHmacKey("rsa-1", modulus);
  EXPECT_EQ(Outcome(Sign(forged, {{"alg", "HS512"}, {"kid", "rsa-1"}}, GoodClaims())), refused);
  EXPECT_EQ(Outcome(Sign(Rsa(), {{"alg", "PS256"}, {"kid", "rsa-1"}}, GoodClaims())), refused);
}

TEST_F(IdTokenTest, RefusesAnAlgorithmThatDoesNotFitTheNamedKey) {
  const std::string refused =
      Refused("the ID token names a key (kid) whose type does not fit its algorithm");
  // RS256 naming the EC key; ES256 naming the RSA key; EdDSA naming the EC key; ES256 naming the
  // Ed25519 key.
  EXPECT_EQ(Outcome(Sign(Rsa(), {{"alg", "RS256"}, {"kid", "ec-1"}}, GoodClaims())), refused);
  EXPECT_EQ(Outcome(Sign(Ec(), {{"alg", "ES256"}, {"kid", "rsa-1"}}, GoodClaims())), refused);
  EXPECT_EQ(Outcome(Sign(Ed(), {{"alg", "EdDSA"}, {"kid", "ec-1"}}, GoodClaims())), refused);
  EXPECT_EQ(Outcome(Sign(Ec(), {{"alg", "ES256"}, {"kid", "ed-1"}}, GoodClaims())), refused);
}

TEST_F(IdTokenTest, RefusesCriticalHeaderExtensions) {
  EXPECT_EQ(
      Outcome(Sign(Rsa(), {{"alg", "RS256"}, {"kid", "rsa-1"}, {"crit", {"x-ext"}}, {"x-ext", "v"}},
                   GoodClaims())),
      Refused("the ID token has critical header extensions keypaird ignores"));
}

// --- Size and shape. ---

TEST_F(IdTokenTest, RefusesATokenOver16KiBBeforeParsingIt) {
  // A validly signed token, only too large: without the size rule it would be accepted.
  nlohmann::json claims = GoodClaims();
  claims["groups"] = std::vector<std::string>(1200, "group-name");
  const std::string token = Sign(Rsa(), claims);
  ASSERT_GT(token.size(), kMaxIdTokenBytes);
  EXPECT_EQ(Outcome(token), Malformed("the ID token is larger than 16 KiB"));
  EXPECT_EQ(fetches_, 0);

  claims["groups"] = std::vector<std::string>(800, "group-name");
  const std::string fits = Sign(Rsa(), claims);
  ASSERT_LE(fits.size(), kMaxIdTokenBytes);
  EXPECT_EQ(Outcome(fits), "accepted");
}

TEST_F(IdTokenTest, GarbageIsACleanErrorNeverACrash) {
  const std::string good = Sign(Rsa(), GoodClaims());
  const std::string rest = good.substr(good.find('.'));
  const std::string sig = good.substr(good.rfind('.'));
  const std::string rs256 = B64(R"({"alg":"RS256","kid":"rsa-1"})");
  const std::string not_jwt =
      Malformed("the ID token is not a signed JWT (header.payload.signature)");
  const std::string bad_header =
      Malformed("the ID token has a header that is not a base64url-encoded JSON object");
  struct Case {
    std::string token;
    std::string outcome;
  };
  const std::vector<Case> cases = {
      {"", not_jwt},
      {"eyJhbGciOiJSUzI1NiJ9", not_jwt},
      {".", not_jwt},
      {"..", not_jwt},
      {"a.b", not_jwt},
      {"a.b.c.d.e", not_jwt},  // a JWE's shape
      {good + ".", not_jwt},
      {"." + good.substr(good.find('.') + 1), not_jwt},
      {"!!!" + rest, bad_header},
      {B64("[1,2]") + rest, bad_header},
      {B64("{\"alg\":") + rest, bad_header},
      {B64("\"RS256\"") + rest, bad_header},
      {"eyJhbGciOiJSUzI1NiJ9=" + rest, bad_header},  // padding is not base64url
      {B64("{}") + rest, Malformed("the ID token has no algorithm in its header")},
      {B64(R"({"alg":["RS256"]})") + rest,
       Malformed("the ID token has no algorithm in its header")},
      {B64(R"({"alg":"RS256","kid":7})") + rest,
       Malformed("the ID token has a kid that is not a string")},
      {rs256 + ".@@@" + sig, Malformed("the ID token is not a well-formed JWS")},
      {rs256 + "." + B64("{}") + ".%%%", Malformed("the ID token is not a well-formed JWS")},
      {B64(R"({"alg":"EdDSA","kid":"ed-1"})") + "." + B64("{}") + ".%%%",
       Malformed("the ID token has a signature that is not base64url")},
      {B64(R"({"alg":"EdDSA","kid":"ed-1"})") + "." + B64("{}") + "." + B64("short"),
       Refused("the ID token has a bad signature")},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Outcome(c.token), c.outcome) << "token: " << c.token;
  }
}

TEST_F(IdTokenTest, ASignedPayloadThatIsNotAnObjectIsMalformed) {
  for (const nlohmann::json& payload :
       {nlohmann::json::array({GoodClaims()}), nlohmann::json("claims"), nlohmann::json(nullptr)}) {
    EXPECT_EQ(Outcome(Sign(Rsa(), payload)),
              Malformed("the ID token has a payload that is not a JSON object"));
    EXPECT_EQ(Outcome(Sign(Ed(), payload)),
              Malformed("the ID token has a payload that is not a JSON object"));
  }
}

TEST_F(IdTokenTest, ErrorsNeverRepeatTheToken) {
  const std::string token = WithClaim("aud", "other-app");
  StatusOr<IdTokenClaims> claims = Verify(token);
  ASSERT_FALSE(claims.ok());
  const std::string payload = token.substr(token.find('.') + 1, 20);
  EXPECT_EQ(claims.status().message().find(payload), std::string::npos);
  EXPECT_EQ(claims.status().message().find("other-app"), std::string::npos);
}

TEST_F(IdTokenTest, AProviderWhoseKeysCannotBeFetchedIsUnavailable) {
  JwksCache down([]() -> StatusOr<std::string> { return Unavailable("connection refused"); },
                 [this] { return now_; });
  StatusOr<IdTokenClaims> claims = VerifyIdToken(Sign(Rsa(), GoodClaims()), down, Want());
  EXPECT_EQ(claims.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(claims.status().message(),
            "the identity provider's signing keys could not be fetched: connection refused");
}

}  // namespace
}  // namespace keypaird::identity
