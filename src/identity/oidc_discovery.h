// identity: an OpenID provider's metadata, from its /.well-known/openid-configuration
// (OpenID Connect Discovery 1.0 §3), checked before keypaird sends a person or a secret to any
// of the URLs it names.
//
// Pure functions, safe from any thread; fetching the document is the caller's business.
#ifndef KEYPAIRD_IDENTITY_OIDC_DISCOVERY_H_
#define KEYPAIRD_IDENTITY_OIDC_DISCOVERY_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace keypaird::identity {

struct OidcProviderMetadata {
  std::string issuer;
  std::string authorization_endpoint;
  std::string token_endpoint;
  std::string jwks_uri;
  std::optional<std::string> end_session_endpoint;
  // As the provider lists them; empty when it lists none. Those keypaird accepts are a subset.
  std::vector<std::string> id_token_signing_alg_values_supported;
};

// Parses the discovery document of the provider configured as `configured_issuer`.
// kInvalidArgument, with a message naming the field, when: it is not a JSON object; "issuer"
// is not exactly `configured_issuer` (§4.3: no normalising, no trailing-slash leniency); the
// issuer is not an https:// URL without query or fragment; authorization_endpoint,
// token_endpoint or jwks_uri is missing, or is not an https:// URL (http:// only to a loopback
// host, for a provider on this machine) — a query is allowed (RFC 6749 §3.1), a fragment or
// user info is not; an optional field has the wrong type; or
// id_token_signing_alg_values_supported is given and names none of RS256, ES256 and EdDSA.
StatusOr<OidcProviderMetadata> ParseOidcDiscovery(std::string_view json,
                                                  std::string_view configured_issuer);

}  // namespace keypaird::identity

#endif  // KEYPAIRD_IDENTITY_OIDC_DISCOVERY_H_
