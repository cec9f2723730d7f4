// A provider's discovery document (identity/oidc_discovery.h): what is read, and what makes
// keypaird refuse the provider before sending anyone there.
#include "identity/oidc_discovery.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "identity/identity_testing.h"

namespace keypaird::identity {
namespace {

constexpr char kIssuer[] = "https://idp.example.com/realms/staff";

// Shaped like Keycloak's.
nlohmann::json Document() {
  return {{"issuer", kIssuer},
          {"authorization_endpoint",
           "https://idp.example.com/realms/staff/protocol/openid-connect/auth"},
          {"token_endpoint", "https://idp.example.com/realms/staff/protocol/openid-connect/token"},
          {"jwks_uri", "https://idp.example.com/realms/staff/protocol/openid-connect/certs"},
          {"end_session_endpoint",
           "https://idp.example.com/realms/staff/protocol/openid-connect/logout"},
          {"userinfo_endpoint",
           "https://idp.example.com/realms/staff/protocol/openid-connect/userinfo"},
          {"id_token_signing_alg_values_supported", {"PS384", "RS256", "EdDSA"}},
          {"response_types_supported", {"code"}}};
}

std::string Why(const nlohmann::json& doc, const std::string& issuer = kIssuer) {
  StatusOr<OidcProviderMetadata> meta = ParseOidcDiscovery(doc.dump(), issuer);
  if (meta.ok()) return "accepted";
  EXPECT_EQ(meta.status().code(), StatusCode::kInvalidArgument);
  return meta.status().message();
}

nlohmann::json With(const std::string& field, const nlohmann::json& value) {
  return testing::WithMember(Document(), field, value);
}

TEST(OidcDiscoveryTest, ReadsTheEndpointsAndAlgorithms) {
  StatusOr<OidcProviderMetadata> meta = ParseOidcDiscovery(Document().dump(), kIssuer);
  ASSERT_TRUE(meta.ok()) << meta.status().message();
  EXPECT_EQ(meta->issuer, kIssuer);
  EXPECT_EQ(meta->authorization_endpoint,
            "https://idp.example.com/realms/staff/protocol/openid-connect/auth");
  EXPECT_EQ(meta->token_endpoint,
            "https://idp.example.com/realms/staff/protocol/openid-connect/token");
  EXPECT_EQ(meta->jwks_uri, "https://idp.example.com/realms/staff/protocol/openid-connect/certs");
  EXPECT_EQ(meta->end_session_endpoint,
            "https://idp.example.com/realms/staff/protocol/openid-connect/logout");
  EXPECT_EQ(meta->id_token_signing_alg_values_supported,
            (std::vector<std::string>{"PS384", "RS256", "EdDSA"}));
}

TEST(OidcDiscoveryTest, EndSessionAndAlgorithmsAreOptional) {
  nlohmann::json doc = Document();
  doc.erase("end_session_endpoint");
  doc.erase("id_token_signing_alg_values_supported");
  StatusOr<OidcProviderMetadata> meta = ParseOidcDiscovery(doc.dump(), kIssuer);
  ASSERT_TRUE(meta.ok()) << meta.status().message();
  EXPECT_FALSE(meta->end_session_endpoint.has_value());
  EXPECT_TRUE(meta->id_token_signing_alg_values_supported.empty());
}

TEST(OidcDiscoveryTest, TheIssuerMustBeExactlyTheConfiguredOne) {
  const std::string refused =
      "the provider's discovery document names another issuer than " + std::string(kIssuer);
  EXPECT_EQ(Why(With("issuer", std::string(kIssuer) + "/")), refused);
  EXPECT_EQ(Why(With("issuer", "https://IDP.example.com/realms/staff")), refused);
  EXPECT_EQ(Why(With("issuer", nullptr)), refused);
  EXPECT_EQ(Why(With("issuer", 1)), refused);
  EXPECT_EQ(Why(With("issuer", "http://idp.example.com/realms/staff"),
                "http://idp.example.com/realms/staff"),
            "the provider's issuer must be https:// (http:// only to a loopback address), not "
            "http://idp.example.com/realms/staff");
  EXPECT_EQ(
      Why(With("issuer", "https://idp.example.com/?tenant=1"), "https://idp.example.com/?tenant=1"),
      "the provider's issuer must not have a query or fragment (only a path prefix)");
}

TEST(OidcDiscoveryTest, EndpointsAreHttpsOrPlainHttpOnlyToLoopback) {
  EXPECT_EQ(Why(With("token_endpoint", "http://idp.example.com/token")),
            "the provider's token_endpoint must be https:// (http:// only to a loopback address), "
            "not http://idp.example.com/token");
  EXPECT_EQ(Why(With("jwks_uri", "ftp://idp.example.com/certs")),
            "the provider's jwks_uri must start with https:// (or http:// to a loopback address)");
  EXPECT_EQ(Why(With("end_session_endpoint", "http://10.0.0.1/logout")),
            "the provider's end_session_endpoint must be https:// (http:// only to a loopback "
            "address), not http://10.0.0.1/logout");
  // A provider on this machine (the tests' oidc-provider) may use plain http.
  const std::string local = "http://127.0.0.1:3000";
  nlohmann::json doc = {{"issuer", local},
                        {"authorization_endpoint", local + "/auth"},
                        {"token_endpoint", "http://localhost:3000/token"},
                        {"jwks_uri", "http://[::1]:3000/jwks"}};
  EXPECT_EQ(Why(doc, local), "accepted");
}

TEST(OidcDiscoveryTest, EndpointsMayHaveAQueryButNoFragment) {
  // Azure AD B2C names its policy in the query.
  EXPECT_EQ(Why(With("jwks_uri",
                     "https://t.b2clogin.com/t.onmicrosoft.com/discovery/v2.0/"
                     "keys?p=b2c_1_sign_in")),
            "accepted");
  EXPECT_EQ(Why(With("jwks_uri", "https://idp.example.com/certs#frag")),
            "the provider's jwks_uri must not have a fragment");
  EXPECT_EQ(Why(With("jwks_uri", "https://idp.example.com/certs?a=b#frag")),
            "the provider's jwks_uri must not have a fragment");
  EXPECT_EQ(Why(With("jwks_uri", "https://idp.example.com/certs?a=b c")),
            "the provider's jwks_uri has a character a query may not hold");
}

TEST(OidcDiscoveryTest, RequiresTheEndpointsItUses) {
  for (const char* field : {"authorization_endpoint", "token_endpoint", "jwks_uri"}) {
    EXPECT_EQ(Why(With(field, nullptr)),
              "the provider's discovery document has no " + std::string(field));
    EXPECT_EQ(Why(With(field, 42)),
              "the provider's discovery document has no " + std::string(field));
  }
  EXPECT_EQ(Why(With("end_session_endpoint", 42)),
            "the provider's end_session_endpoint is not a string");
}

TEST(OidcDiscoveryTest, NeedsOneSigningAlgorithmKeypairdAccepts) {
  const std::string none_accepted =
      "the provider signs ID tokens with none of the algorithms keypaird accepts (RS256, ES256, "
      "EdDSA): see its id_token_signing_alg_values_supported";
  EXPECT_EQ(Why(With("id_token_signing_alg_values_supported", {"HS256", "none", "PS256"})),
            none_accepted);
  EXPECT_EQ(Why(With("id_token_signing_alg_values_supported", nlohmann::json::array())),
            none_accepted);
  EXPECT_EQ(Why(With("id_token_signing_alg_values_supported", "RS256")),
            "the provider's id_token_signing_alg_values_supported is not an array of strings");
  EXPECT_EQ(Why(With("id_token_signing_alg_values_supported", {"RS256", 1})),
            "the provider's id_token_signing_alg_values_supported is not an array of strings");
  EXPECT_EQ(Why(With("id_token_signing_alg_values_supported", nlohmann::json::array({"ES256"}))),
            "accepted");
  EXPECT_EQ(Why(With("id_token_signing_alg_values_supported", nullptr)), "accepted");
}

TEST(OidcDiscoveryTest, RefusesWhatIsNotAJsonObject) {
  for (const char* text : {"", "[]", "{", "\"issuer\"", "<html></html>"}) {
    StatusOr<OidcProviderMetadata> meta = ParseOidcDiscovery(text, kIssuer);
    EXPECT_EQ(meta.status().message(), "the provider's discovery document is not a JSON object")
        << text;
  }
}

}  // namespace
}  // namespace keypaird::identity
