// Test-only: signing keys and signed tokens made on the spot, the way an OpenID provider makes
// them (RSA 2048 and P-256 with cjose, Ed25519 with OpenSSL), for the identity tests.
#ifndef KEYPAIRD_IDENTITY_IDENTITY_TESTING_H_
#define KEYPAIRD_IDENTITY_IDENTITY_TESTING_H_

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "identity/jwks_internal.h"

namespace keypaird::identity::testing {

// A private key and its public JWK (with kid, alg and "use": "sig").
struct TestKey {
  std::string kid;
  std::string alg;
  CjoseJwkPtr cjose;                            // RSA, EC and oct keys
  OpenSslPtr<EVP_PKEY, EVP_PKEY_free> ed25519;  // Ed25519 keys
  nlohmann::json public_jwk = nlohmann::json::object();
};

TestKey MakeRsaKey(const std::string& kid, size_t bits = 2048);
TestKey MakeP256Key(const std::string& kid);
TestKey MakeEd25519Key(const std::string& kid);
// An HMAC key whose secret is `secret` (for the algorithm-confusion forgeries).
TestKey MakeHmacKey(const std::string& kid, std::string_view secret);

// {"keys": [public JWKs]}.
std::string JwksOf(std::initializer_list<const TestKey*> keys);

// A compact JWS of `payload` under `header` (its "alg" chooses the algorithm: EdDSA through
// OpenSSL, the others through cjose_jws_sign), signed with `key`.
std::string Sign(const TestKey& key, const nlohmann::json& header, const nlohmann::json& payload);
// With the header {"alg": key.alg, "kid": key.kid}.
std::string Sign(const TestKey& key, const nlohmann::json& payload);

std::string B64(std::string_view bytes);

// `object` with its member `name` set to `value`, or removed when `value` is null.
nlohmann::json WithMember(nlohmann::json object, const std::string& name,
                          const nlohmann::json& value);

}  // namespace keypaird::identity::testing

#endif  // KEYPAIRD_IDENTITY_IDENTITY_TESTING_H_
