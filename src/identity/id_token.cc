#include "identity/id_token.h"

#include <cjose/header.h>
#include <cjose/jws.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cmath>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <utility>

#include "common/base64.h"
#include "common/openssl_ptr.h"
#include "identity/jwks_internal.h"

namespace keypaird::identity {
namespace {

constexpr size_t kMaxSubjectBytes = 255;  // Core §2: "MUST NOT exceed 255 ASCII characters"
constexpr size_t kEd25519SignatureBytes = 64;

struct CjoseJwsRelease {
  void operator()(cjose_jws_t* jws) const { cjose_jws_release(jws); }
};
using CjoseJwsPtr = std::unique_ptr<cjose_jws_t, CjoseJwsRelease>;

Status Malformed(const char* what) { return InvalidArgument(std::string("the ID token ") + what); }
Status Refused(const char* why) { return Unauthenticated(std::string("the ID token ") + why); }

// The three base64url parts of a compact JWS (RFC 7515 §7.1), still encoded.
struct CompactParts {
  std::string_view header;
  std::string_view payload;
  std::string_view signature;
  std::string_view signing_input;  // header '.' payload
};

bool SplitCompact(std::string_view token, CompactParts* parts) {
  const size_t dot1 = token.find('.');
  if (dot1 == std::string_view::npos) return false;
  const size_t dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return false;  // a JWE has four dots; a JWS with a detached payload is no ID token either
  }
  parts->header = token.substr(0, dot1);
  parts->payload = token.substr(dot1 + 1, dot2 - dot1 - 1);
  parts->signature = token.substr(dot2 + 1);
  parts->signing_input = token.substr(0, dot2);
  return !parts->header.empty() && !parts->payload.empty() && !parts->signature.empty();
}

// base64url-encoded JSON that must be an object.
bool DecodeJsonObject(std::string_view b64, nlohmann::json* out) {
  std::string text;
  if (!Base64UrlDecode(b64, &text)) return false;
  *out = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  return !out->is_discarded() && out->is_object();
}

// The header members this verifier reads. The rest (typ, and jku, x5u, jwk: keys named by the
// token itself) are ignored: the only keys trusted are the provider's set.
struct JoseHeader {
  std::string alg;
  std::string kid;
};

StatusOr<JoseHeader> ReadHeader(std::string_view b64) {
  nlohmann::json header;
  if (!DecodeJsonObject(b64, &header)) {
    return Malformed("has a header that is not a base64url-encoded JSON object");
  }
  JoseHeader out;
  const auto alg = header.find("alg");
  const auto kid = header.find("kid");
  if (alg == header.end() || !alg->is_string()) return Malformed("has no algorithm in its header");
  if (kid != header.end() && !kid->is_string()) return Malformed("has a kid that is not a string");
  out.alg = alg->get<std::string>();
  if (kid != header.end()) out.kid = kid->get<std::string>();
  // RFC 7515 §4.1.11: an extension marked critical that the recipient does not know (and this
  // verifier knows none) makes the JWS invalid.
  if (header.contains("crit")) return Refused("has critical header extensions keypaird ignores");
  return out;
}

// The key to verify with: the one the header's kid names, or, without a kid, the set's only key
// that fits the algorithm (several would leave the choice to whoever made the token).
StatusOr<Jwk> ChooseKey(const JoseHeader& header, JwksCache& keys) {
  if (header.kid.empty()) {
    StatusOr<std::shared_ptr<const Jwks>> set = keys.Current();
    if (!set.ok()) return set.status();
    const Jwk* sole = nullptr;
    for (const Jwk& key : (*set)->keys()) {
      if (!KeyFitsAlg(key, header.alg)) continue;
      if (sole != nullptr) {
        return Refused("names no key (kid) and the identity provider has several that fit");
      }
      sole = &key;
    }
    if (sole == nullptr)
      return Refused("names no key (kid) and the identity provider has none that fits");
    return *sole;
  }
  StatusOr<Jwk> key = keys.Lookup(header.kid);
  if (!key.ok() && key.status().code() == StatusCode::kNotFound) {
    return Refused("is signed with a key (kid) the identity provider does not list");
  }
  return key;
}

// cjose 0.6.2 (Debian bookworm) has neither OKP keys nor the EdDSA algorithm: its
// cjose_jws_import refuses a header with "alg":"EdDSA". So an EdDSA token is taken apart by
// SplitCompact above and its signature checked by OpenSSL (RFC 8037 §3.1: Ed25519 over the
// ASCII signing input, a 64-byte signature); everything else about it is checked by the same
// code as RS256 and ES256. With a cjose that knows EdDSA this branch can go.
StatusOr<std::string> VerifyEd25519(const CompactParts& parts, EVP_PKEY* key) {
  std::string signature;
  if (!Base64UrlDecode(parts.signature, &signature)) {
    return Malformed("has a signature that is not base64url");
  }
  if (signature.size() != kEd25519SignatureBytes) return Refused("has a bad signature");
  OpenSslPtr<EVP_MD_CTX, EVP_MD_CTX_free> ctx(EVP_MD_CTX_new());
  if (ctx == nullptr || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key) != 1) {
    return Internal("could not set up an Ed25519 verification");
  }
  if (EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(),
                       reinterpret_cast<const unsigned char*>(parts.signing_input.data()),
                       parts.signing_input.size()) != 1) {
    return Refused("has a bad signature");
  }
  std::string payload;
  if (!Base64UrlDecode(parts.payload, &payload)) {
    return Malformed("has a payload that is not base64url");
  }
  return payload;
}

// RS256 and ES256: cjose parses the JWS, verifies it with the key and hands back the payload.
StatusOr<std::string> VerifyWithCjose(std::string_view token, const JoseHeader& header,
                                      cjose_jwk_t* key) {
  cjose_err err{};
  CjoseJwsPtr jws(cjose_jws_import(token.data(), token.size(), &err));
  if (jws == nullptr) return Malformed("is not a well-formed JWS");
  // The header was read twice, by nlohmann::json above and by jansson inside cjose; both must
  // have seen the same alg and kid (duplicate members, for one, are read differently by some
  // parsers), or the key was chosen for another token than the one cjose verifies.
  cjose_header_t* protected_header = cjose_jws_get_protected(jws.get());
  const char* alg = cjose_header_get(protected_header, CJOSE_HDR_ALG, &err);
  const char* kid = cjose_header_get(protected_header, CJOSE_HDR_KID, &err);
  if (alg == nullptr || header.alg != alg || header.kid != (kid == nullptr ? "" : kid)) {
    return Malformed("has a header that reads two ways");
  }
  if (!cjose_jws_verify(jws.get(), key, &err)) return Refused("has a bad signature");
  uint8_t* plaintext = nullptr;
  size_t plaintext_len = 0;
  if (!cjose_jws_get_plaintext(jws.get(), &plaintext, &plaintext_len, &err)) {
    return Malformed("has a payload that is not base64url");
  }
  return std::string(reinterpret_cast<const char*>(plaintext), plaintext_len);
}

// A NumericDate (RFC 7519 §2): seconds, possibly with a fraction (dropped), within int64.
bool ReadNumericDate(const nlohmann::json& claims, const char* name, int64_t* out) {
  const auto it = claims.find(name);
  if (it == claims.end()) return false;
  if (it->is_number_integer() && !it->is_number_unsigned()) {
    *out = it->get<int64_t>();
    return true;
  }
  if (it->is_number_unsigned()) {
    const uint64_t v = it->get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
    *out = static_cast<int64_t>(v);
    return true;
  }
  if (it->is_number_float()) {
    const double v = std::floor(it->get<double>());
    // 1e15 s (some 30 million years) is beyond any date, and well inside int64.
    if (!std::isfinite(v) || std::fabs(v) > 1e15) return false;
    *out = static_cast<int64_t>(v);
    return true;
  }
  return false;
}

// An optional string claim into *out; false when present but not a string.
bool ReadOptionalString(const nlohmann::json& claims, const char* name, std::string* out) {
  const auto it = claims.find(name);
  if (it == claims.end()) return true;
  if (!it->is_string()) return false;
  *out = it->get<std::string>();
  return true;
}

bool SameSecret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// Core §3.1.3.7 steps 3 and 4: aud holds our client id; with several audiences, azp is us; and
// whenever azp is present, it is us.
Status CheckAudience(const nlohmann::json& claims, const std::string& client_id) {
  const auto aud = claims.find("aud");
  if (aud == claims.end()) return Refused("has no audience (aud)");
  size_t audiences = 0;
  bool ours = false;
  if (aud->is_string()) {
    audiences = 1;
    ours = aud->get<std::string>() == client_id;
  } else if (aud->is_array()) {
    for (const nlohmann::json& one : *aud) {
      if (!one.is_string()) return Refused("has an audience (aud) that is not a string");
      ++audiences;
      ours = ours || one.get<std::string>() == client_id;
    }
  } else {
    return Refused("has an audience (aud) that is neither a string nor an array");
  }
  if (!ours) return Refused("is meant for another client (aud)");
  std::string azp;
  const bool has_azp = claims.contains("azp");
  if (!ReadOptionalString(claims, "azp", &azp)) return Refused("has an azp that is not a string");
  if (audiences > 1 && !has_azp) return Refused("has several audiences and no azp");
  if (has_azp && azp != client_id) return Refused("was issued to another client (azp)");
  return Status::Ok();
}

Status CheckTimes(const nlohmann::json& claims, const IdTokenExpectations& want,
                  IdTokenClaims* out) {
  if (!ReadNumericDate(claims, "exp", &out->exp)) return Refused("has no valid expiry (exp)");
  if (!ReadNumericDate(claims, "iat", &out->iat)) return Refused("has no valid issue time (iat)");
  if (out->exp <= want.now_s - want.max_skew_s) return Refused("has expired");
  if (out->iat > want.now_s + want.max_skew_s) return Refused("was issued in the future (iat)");
  if (claims.contains("nbf")) {
    int64_t nbf = 0;
    if (!ReadNumericDate(claims, "nbf", &nbf)) return Refused("has a nbf that is not a time");
    if (nbf > want.now_s + want.max_skew_s) return Refused("is not valid yet (nbf)");
  }
  if (claims.contains("auth_time")) {
    int64_t auth_time = 0;
    if (!ReadNumericDate(claims, "auth_time", &auth_time)) {
      return Refused("has an auth_time that is not a time");
    }
    out->auth_time = auth_time;
  }
  return Status::Ok();
}

// Who the person is and what the provider says about them.
Status ReadProfile(const nlohmann::json& claims, const IdTokenExpectations& want,
                   IdTokenClaims* out) {
  const auto sub = claims.find("sub");
  if (sub == claims.end() || !sub->is_string() || sub->get<std::string>().empty()) {
    return Refused("has no subject (sub)");
  }
  out->subject = sub->get<std::string>();
  if (out->subject.size() > kMaxSubjectBytes) return Refused("has a subject over 255 bytes");
  // Grants may name people by email: a provider that sends a non-string there is refused,
  // rather than its claim being guessed at.
  if (!ReadOptionalString(claims, "email", &out->email)) {
    return Refused("has an email that is not a string");
  }
  if (!ReadOptionalString(claims, "name", &out->name)) {
    return Refused("has a name that is not a string");
  }
  // Anything but JSON true (a string "true" included) is "not verified": the safe reading.
  const auto verified = claims.find("email_verified");
  out->email_verified = verified != claims.end() && verified->is_boolean() && verified->get<bool>();
  if (const auto groups = claims.find(want.groups_claim); groups != claims.end()) {
    if (!groups->is_array()) return Refused("has a groups claim that is not an array of strings");
    for (const nlohmann::json& group : *groups) {
      if (!group.is_string()) {
        return Refused("has a groups claim that is not an array of strings");
      }
      out->groups.push_back(group.get<std::string>());
    }
  }
  return Status::Ok();
}

StatusOr<IdTokenClaims> CheckClaims(std::string_view payload, const IdTokenExpectations& want) {
  const nlohmann::json claims = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (claims.is_discarded() || !claims.is_object()) {
    return Malformed("has a payload that is not a JSON object");
  }
  IdTokenClaims out;
  const auto iss = claims.find("iss");
  if (iss == claims.end() || !iss->is_string() || iss->get<std::string>() != want.issuer) {
    return Refused("was issued by another issuer than the configured provider (iss)");
  }
  out.issuer = want.issuer;
  if (Status s = CheckAudience(claims, want.client_id); !s.ok()) return s;
  if (Status s = CheckTimes(claims, want, &out); !s.ok()) return s;
  // The nonce ties the token to this browser's sign-in (Core §3.1.3.7 step 11): without it a
  // token captured elsewhere could be replayed. An empty expected nonce matches nothing.
  std::string nonce;
  if (!ReadOptionalString(claims, "nonce", &nonce) || want.nonce.empty() ||
      !SameSecret(nonce, want.nonce)) {
    return Refused("does not carry this sign-in's nonce");
  }
  if (Status s = ReadProfile(claims, want, &out); !s.ok()) return s;
  return out;
}

}  // namespace

StatusOr<IdTokenClaims> VerifyIdToken(std::string_view compact_jws, JwksCache& keys,
                                      const IdTokenExpectations& want) {
  // Before any parsing: a token is a browser's query parameter or a provider's answer, and
  // 16 KiB is several times what the largest real ones (many groups) reach.
  if (compact_jws.size() > kMaxIdTokenBytes) return Malformed("is larger than 16 KiB");
  CompactParts parts;
  if (!SplitCompact(compact_jws, &parts)) {
    return Malformed("is not a signed JWT (header.payload.signature)");
  }
  StatusOr<JoseHeader> header = ReadHeader(parts.header);
  if (!header.ok()) return header.status();
  // The allow-list comes first, before any key is looked at: "none" has no signature to check,
  // and an HMAC "verified" with a public key is the classic forgery (anyone holds the key).
  if (!IsAcceptedSigningAlg(header->alg)) {
    return Refused("is signed with an algorithm keypaird does not accept (RS256, ES256, EdDSA)");
  }
  StatusOr<Jwk> key = ChooseKey(*header, keys);
  if (!key.ok()) return key.status();
  if (!KeyFitsAlg(*key, header->alg) || key->material == nullptr) {
    return Refused("names a key (kid) whose type does not fit its algorithm");
  }
  // KeyFitsAlg held, so the key was imported by the library that verifies this algorithm.
  StatusOr<std::string> payload = Internal("the provider's key has no key material");
  if (header->alg == "EdDSA") {
    if (key->material->ed25519 != nullptr) {
      payload = VerifyEd25519(parts, key->material->ed25519.get());
    }
  } else if (key->material->cjose != nullptr) {
    payload = VerifyWithCjose(compact_jws, *header, key->material->cjose.get());
  }
  if (!payload.ok()) return payload.status();
  return CheckClaims(*payload, want);
}

}  // namespace keypaird::identity
