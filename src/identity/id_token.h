// identity: verifying an OpenID Connect ID token (OpenID Connect Core 1.0 §3.1.3.7) before
// anyone is signed in with it.
//
// VerifyIdToken checks, in this order: the size (16 KiB at most, before any parsing); the
// compact JWS shape; the header's algorithm (RS256, ES256 or EdDSA — never "none", never an
// HMAC); the provider's key named by the header's kid (or its only fitting key when there is
// no kid), whose type must be the algorithm's; the signature; then the claims: iss, aud (and
// azp), exp, iat, nbf, nonce, sub, and the profile claims returned. Nothing of the payload is
// looked at before the signature holds.
//
// Every failure is a Status whose message may be shown to the person signing in: it says which
// check failed and never repeats the token or a claim's value. kInvalidArgument: the token is
// too large or malformed (not a JWS, not base64url, not JSON objects). kUnauthenticated: it is
// well-formed but not acceptable (algorithm, key, signature or a claim). kUnavailable: the
// provider's keys could not be fetched. Thread-safe if `keys` is (JwksCache is).
#ifndef KEYPAIRD_IDENTITY_ID_TOKEN_H_
#define KEYPAIRD_IDENTITY_ID_TOKEN_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "identity/jwks.h"

namespace keypaird::identity {

inline constexpr size_t kMaxIdTokenBytes = 16 * 1024;

struct IdTokenExpectations {
  std::string issuer;     // exactly the configured issuer (and the discovery document's)
  std::string client_id;  // keypaird's client id at the provider
  std::string nonce;      // the one sent with this sign-in's authorization request; never ""
  int64_t now_s = 0;      // seconds since the Unix epoch
  int64_t max_skew_s = 300;
  std::string groups_claim = "groups";  // --oidc-groups-claim
};

struct IdTokenClaims {
  std::string issuer;
  std::string subject;  // 1..255 bytes; with issuer, who this person is
  std::string email;    // "" when absent
  bool email_verified = false;
  std::string name;                 // "" when absent
  std::vector<std::string> groups;  // from IdTokenExpectations::groups_claim; empty when absent
  int64_t iat = 0;
  int64_t exp = 0;
  std::optional<int64_t> auth_time;
};

// Verifies `compact_jws` against `keys` (which may fetch the provider's key set: see
// JwksCache) and `want`. The errors are described above.
StatusOr<IdTokenClaims> VerifyIdToken(std::string_view compact_jws, JwksCache& keys,
                                      const IdTokenExpectations& want);

}  // namespace keypaird::identity

#endif  // KEYPAIRD_IDENTITY_ID_TOKEN_H_
