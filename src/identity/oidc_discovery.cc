#include "identity/oidc_discovery.h"

#include <cstring>
#include <nlohmann/json.hpp>
#include <utility>

#include "common/url.h"
#include "identity/jwks.h"

namespace keypaird::identity {
namespace {

// RFC 3986 query characters.
bool IsQueryChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (c != '\0' && std::strchr("-._~!$&'()*+,;=:@/?%", c) != nullptr);
}

// `url` is where keypaird may send a browser or a client secret: https://, or http:// to a
// loopback host (a provider run on this machine, as the tests do). The issuer may not have a
// query (Discovery §3); endpoints may.
Status CheckProviderUrl(const std::string& field, std::string_view url, bool query_allowed) {
  // RFC 6749 §3.1, §3.1.2: endpoint URIs may have a query, never a fragment.
  if (url.find('#') != std::string_view::npos) {
    return InvalidArgument("the provider's " + field + " must not have a fragment");
  }
  std::string_view before_query = url;
  std::string_view query;
  if (const size_t q = url.find('?'); q != std::string_view::npos && query_allowed) {
    before_query = url.substr(0, q);
    query = url.substr(q + 1);
  }
  for (char c : query) {
    if (!IsQueryChar(c)) {
      return InvalidArgument("the provider's " + field + " has a character a query may not hold");
    }
  }
  StatusOr<HttpUrl> parsed = ParseHttpUrl(before_query);
  if (!parsed.ok()) {
    return InvalidArgument("the provider's " + field + " " + parsed.status().message());
  }
  if (!parsed->tls && !IsLoopbackHost(parsed->host)) {
    return InvalidArgument("the provider's " + field +
                           " must be https:// (http:// only to a loopback address), not " +
                           std::string(url));
  }
  return Status::Ok();
}

// A required URL member: present, a string, and a URL keypaird may use.
Status RequiredUrl(const nlohmann::json& doc, const std::string& field, bool query_allowed,
                   std::string* out) {
  const auto it = doc.find(field);
  if (it == doc.end() || !it->is_string()) {
    return InvalidArgument("the provider's discovery document has no " + field);
  }
  *out = it->get<std::string>();
  return CheckProviderUrl(field, *out, query_allowed);
}

}  // namespace

StatusOr<OidcProviderMetadata> ParseOidcDiscovery(std::string_view json,
                                                  std::string_view configured_issuer) {
  const nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return InvalidArgument("the provider's discovery document is not a JSON object");
  }
  OidcProviderMetadata meta;
  // Discovery §4.3: the issuer in the document is exactly the one configured, or an attacker
  // who controls some other issuer's document could have its tokens accepted as this one's.
  const auto issuer = doc.find("issuer");
  if (issuer == doc.end() || !issuer->is_string() ||
      issuer->get<std::string>() != configured_issuer) {
    return InvalidArgument("the provider's discovery document names another issuer than " +
                           std::string(configured_issuer));
  }
  meta.issuer = issuer->get<std::string>();
  if (Status s = CheckProviderUrl("issuer", meta.issuer, /*query_allowed=*/false); !s.ok()) {
    return s;
  }
  for (auto [field, out] :
       {std::pair{"authorization_endpoint", &meta.authorization_endpoint},
        std::pair{"token_endpoint", &meta.token_endpoint}, std::pair{"jwks_uri", &meta.jwks_uri}}) {
    if (Status s = RequiredUrl(doc, field, /*query_allowed=*/true, out); !s.ok()) return s;
  }
  if (const auto it = doc.find("end_session_endpoint"); it != doc.end()) {
    if (!it->is_string()) {
      return InvalidArgument("the provider's end_session_endpoint is not a string");
    }
    meta.end_session_endpoint = it->get<std::string>();
    Status s = CheckProviderUrl("end_session_endpoint", *meta.end_session_endpoint,
                                /*query_allowed=*/true);
    if (!s.ok()) return s;
  }
  if (const auto it = doc.find("id_token_signing_alg_values_supported"); it != doc.end()) {
    const Status not_strings = InvalidArgument(
        "the provider's id_token_signing_alg_values_supported is not an array of strings");
    if (!it->is_array()) return not_strings;
    bool one_accepted = false;
    for (const nlohmann::json& alg : *it) {
      if (!alg.is_string()) return not_strings;
      meta.id_token_signing_alg_values_supported.push_back(alg.get<std::string>());
      one_accepted = one_accepted || IsAcceptedSigningAlg(alg.get<std::string>());
    }
    if (!one_accepted) {
      return InvalidArgument(
          "the provider signs ID tokens with none of the algorithms keypaird accepts (RS256, "
          "ES256, EdDSA): see its id_token_signing_alg_values_supported");
    }
  }
  return meta;
}

}  // namespace keypaird::identity
