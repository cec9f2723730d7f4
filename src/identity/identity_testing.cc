#include "identity/identity_testing.h"

#include <cjose/header.h>
#include <cjose/jws.h>

#include <cstdlib>
#include <stdexcept>

#include "common/base64.h"

namespace keypaird::identity::testing {
namespace {

// The tests cannot go on without their keys: a failure here throws, and gtest reports it.
void Require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(what);
}

nlohmann::json PublicJwkOf(const cjose_jwk_t* jwk) {
  cjose_err err{};
  char* json = cjose_jwk_to_json(jwk, /*priv=*/false, &err);
  Require(json != nullptr, "cjose_jwk_to_json");
  nlohmann::json out = nlohmann::json::parse(json);
  free(json);  // NOLINT(cppcoreguidelines-no-malloc): cjose's default allocator is malloc
  return out;
}

TestKey WithCjoseKey(const std::string& kid, const std::string& alg, cjose_jwk_t* jwk) {
  Require(jwk != nullptr, "making a cjose key");
  TestKey key{kid, alg, CjoseJwkPtr(jwk), nullptr, PublicJwkOf(jwk)};
  key.public_jwk["kid"] = kid;
  key.public_jwk["alg"] = alg;
  key.public_jwk["use"] = "sig";
  return key;
}

}  // namespace

std::string B64(std::string_view bytes) { return Base64UrlEncode(bytes); }

nlohmann::json WithMember(nlohmann::json object, const std::string& name,
                          const nlohmann::json& value) {
  if (value.is_null()) {
    object.erase(name);
  } else {
    object[name] = value;
  }
  return object;
}

TestKey MakeRsaKey(const std::string& kid, size_t bits) {
  static const uint8_t kE[] = {0x01, 0x00, 0x01};
  cjose_err err{};
  return WithCjoseKey(kid, "RS256", cjose_jwk_create_RSA_random(bits, kE, sizeof(kE), &err));
}

TestKey MakeP256Key(const std::string& kid) {
  cjose_err err{};
  return WithCjoseKey(kid, "ES256", cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &err));
}

TestKey MakeEd25519Key(const std::string& kid) {
  TestKey key;
  key.kid = kid;
  key.alg = "EdDSA";
  key.ed25519.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  Require(key.ed25519 != nullptr, "EVP_PKEY_Q_keygen(ED25519)");
  unsigned char raw[32];
  size_t raw_len = sizeof(raw);
  Require(EVP_PKEY_get_raw_public_key(key.ed25519.get(), raw, &raw_len) == 1,
          "EVP_PKEY_get_raw_public_key");
  key.public_jwk = {{"kty", "OKP"},
                    {"crv", "Ed25519"},
                    {"x", B64(std::string_view(reinterpret_cast<char*>(raw), raw_len))},
                    {"kid", kid},
                    {"alg", "EdDSA"},
                    {"use", "sig"}};
  return key;
}

TestKey MakeHmacKey(const std::string& kid, std::string_view secret) {
  cjose_err err{};
  cjose_jwk_t* jwk = cjose_jwk_create_oct_spec(reinterpret_cast<const uint8_t*>(secret.data()),
                                               secret.size(), &err);
  Require(jwk != nullptr, "cjose_jwk_create_oct_spec");
  return TestKey{kid, "HS256", CjoseJwkPtr(jwk), nullptr, nlohmann::json::object()};
}

std::string JwksOf(std::initializer_list<const TestKey*> keys) {
  nlohmann::json set = {{"keys", nlohmann::json::array()}};
  for (const TestKey* key : keys) set["keys"].push_back(key->public_jwk);
  return set.dump();
}

std::string Sign(const TestKey& key, const nlohmann::json& header, const nlohmann::json& payload) {
  const std::string body = payload.dump();
  if (header.value("alg", "") == "EdDSA") {
    // RFC 8037 §3.1, by hand: cjose 0.6.2 cannot sign EdDSA (nor verify it).
    const std::string input = B64(header.dump()) + "." + B64(body);
    OpenSslPtr<EVP_MD_CTX, EVP_MD_CTX_free> ctx(EVP_MD_CTX_new());
    unsigned char sig[64];
    size_t sig_len = sizeof(sig);
    Require(
        ctx != nullptr &&
            EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.ed25519.get()) == 1 &&
            EVP_DigestSign(ctx.get(), sig, &sig_len,
                           reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1,
        "Ed25519 signing");
    return input + "." + B64(std::string_view(reinterpret_cast<char*>(sig), sig_len));
  }
  cjose_err err{};
  cjose_header_t* h = cjose_header_new(&err);
  Require(h != nullptr, "cjose_header_new");
  for (const auto& [name, value] : header.items()) {
    const bool set = value.is_string()
                         ? cjose_header_set(h, name.c_str(), value.get<std::string>().c_str(), &err)
                         : cjose_header_set_raw(h, name.c_str(), value.dump().c_str(), &err);
    Require(set, "cjose_header_set");
  }
  cjose_jws_t* jws = cjose_jws_sign(
      key.cjose.get(), h, reinterpret_cast<const uint8_t*>(body.data()), body.size(), &err);
  cjose_header_release(h);
  Require(jws != nullptr, "cjose_jws_sign");
  const char* compact = nullptr;
  const bool exported = cjose_jws_export(jws, &compact, &err);
  std::string out = exported ? compact : "";
  cjose_jws_release(jws);
  Require(exported, "cjose_jws_export");
  return out;
}

std::string Sign(const TestKey& key, const nlohmann::json& payload) {
  return Sign(key, {{"alg", key.alg}, {"kid", key.kid}}, payload);
}

}  // namespace keypaird::identity::testing
