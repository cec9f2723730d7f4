// SignIn: people sign in with the organisation's OpenID provider (docs/people.md).
//
// keypaird is a confidential client using the authorization code flow with PKCE (S256),
// `state` and `nonce`. Start makes a random state, stores only its hash (the store's
// LoginRecord, single-use, ten minutes), and derives the PKCE verifier and the nonce from
// the state and a key derived from the client secret: nothing secret is stored, and a
// replayed, forged or expired state finds nothing. Finish exchanges the code at the
// provider's token endpoint, verifies the ID token (identity/id_token.h), finds or makes
// the user by (issuer, subject), computes the session's roles from the grants that match
// the person now, and mints a session: a token of kind "session" whose secret only the
// browser's cookie holds. Every refusal after the provider answered is an audit event
// ("user.sign_in_refused"), and leaves no session.
//
// The provider's discovery document is fetched on the first sign-in (the service starts
// while the provider is down) and kept once it was read; its signing keys are cached by
// identity::JwksCache. Thread-safe.
#ifndef KEYPAIRD_SERVICE_SIGN_IN_H_
#define KEYPAIRD_SERVICE_SIGN_IN_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/tokens.h"
#include "common/clock.h"
#include "common/secret.h"
#include "common/status.h"
#include "identity/jwks.h"
#include "identity/oidc_discovery.h"
#include "store/key_store.h"

namespace keypaird::service {

struct SignInOptions {
  std::string issuer;     // --oidc-issuer, exactly as the provider writes it
  std::string client_id;  // --oidc-client-id
  SecretString client_secret;  // the contents of --oidc-client-secret-file
  // --public-url: the origin browsers reach this service at ("https://keys.example.com", no
  // path: config refuses one); the redirect URI is this + "/auth/callback".
  std::string public_url;
  std::string groups_claim = "groups";                   // --oidc-groups-claim
  std::string scopes = "openid email profile groups";  // --oidc-scopes
  int64_t session_ttl_s = 12 * 3600;                     // --session-ttl
  std::string ca_file;  // extra trust anchors for the provider's https:// URLs
  int64_t http_timeout_ms = 5000;
};

// Where a request came from, for the audit trail.
struct RequestOrigin {
  std::string source_ip;
  std::string user_agent;
};

// What the browser is sent to the provider with.
struct LoginStarted {
  std::string redirect_url;  // the provider's authorization endpoint with the request
  std::string state;         // also the login cookie's value (binds the sign-in to the browser)
};

struct SessionStarted {
  SecretString cookie_value;  // the session's token: only ever in the cookie
  std::string return_to;      // the local path to go to
  int64_t expires_at_us = 0;
  store::UserRecord user;
};

// The session's rights, from the grants that match the person (docs/people.md, "Grants"):
// a group grant when `groups` has its group, a user grant for the user's id, an e-mail
// grant when the provider says the e-mail address is verified and it is the grant's (ASCII
// case aside). Per project the highest role counts and the principals are the union; the
// result is ascending by project.
std::vector<store::TokenRole> RolesFromGrants(const std::vector<store::GrantRecord>& grants,
                                              const store::UserRecord& user,
                                              bool email_verified);

// A return_to that is a path on this origin ("/console/keys?x=1"), else "/console/". A
// scheme, "//host", a backslash, a control character or anything not starting with '/' is
// someone else's address: an open redirect is a bug.
std::string LocalReturnTo(std::string_view return_to);

// POST /auth/device: what `keypaird login` shows and polls with (RFC 8628 3.2).
struct DeviceStarted {
  SecretString device_code;  // the client's secret: only its hash is stored
  std::string user_code;     // "BCDF-GHJK": what the person confirms in the browser
  std::string verification_uri;
  std::string verification_uri_complete;
  int64_t expires_in_s = 0;
  int64_t interval_s = 0;
};

// POST /auth/device/token: an access token, or the RFC 8628 3.5 error name.
struct DevicePolled {
  std::string error;  // "authorization_pending", "slow_down", "access_denied",
                      // "expired_token", "invalid_grant"; "" with a token
  std::string error_description;
  SecretString access_token;
  int64_t expires_in_s = 0;
};

// "BCDF-GHJK" for what a person typed ("bcdfghjk", "BCDF GHJK"); "" if it cannot be one.
std::string NormalUserCode(std::string_view typed);

class SignIn {
 public:
  static constexpr int64_t kDeviceTtlS = 600;
  static constexpr int64_t kDeviceIntervalS = 5;
  static constexpr int64_t kAccessTtlS = 3600;  // a device flow's access token, at most
  // The provider's HTTP: GET url, or POST `form` with basic `credentials` when form is not
  // empty. Tests may give their own; the default is client::HttpCall.
  using Fetch = std::function<StatusOr<std::string>(const std::string& url, std::string_view form,
                                                    std::string_view credentials, int* status)>;

  SignIn(store::KeyStore* store, SignInOptions options, Clock now_us, Fetch fetch = nullptr);
  SignIn(const SignIn&) = delete;
  SignIn& operator=(const SignIn&) = delete;

  // GET /auth/login. kUnavailable when the provider's discovery document cannot be read.
  StatusOr<LoginStarted> Start(std::string_view return_to);

  // GET /auth/callback with the provider's `code` and `state`, and the login cookie's value
  // (`browser_state`, "" when the browser sent none). kInvalidArgument: the request is not
  // a sign-in's answer, or its state is unknown, used, expired or not this browser's;
  // kUnauthenticated: the provider refused the code or the ID token is not acceptable;
  // kPermissionDenied: the user is disabled; kUnavailable: the provider cannot be reached.
  StatusOr<SessionStarted> Finish(std::string_view code, std::string_view state,
                                  std::string_view browser_state, const RequestOrigin& from);

  // Records a refusal the HTTP layer saw before Finish (the provider's error answer).
  void Refused(std::string_view why, const RequestOrigin& from);

  // POST /auth/logout: ends the caller's session (and the access tokens it gave). OK if it
  // had ended already.
  Status SignOut(const auth::Principal& caller);

  // The device flow (`keypaird login`; docs/people.md). Start: a new authorization, ten
  // minutes to decide. Decide: the signed-in person (a session, kPermissionDenied
  // otherwise) approves or denies the authorization shown as `user_code` (kNotFound when
  // there is no such pending one). Poll: what the client gets for `device_code`; an
  // approved authorization gives one access token of the approving session's rights, ending
  // with it and within kAccessTtlS, and is used up.
  StatusOr<DeviceStarted> StartDevice();
  Status DecideDevice(const auth::Principal& caller, std::string_view user_code, bool approve);
  StatusOr<DevicePolled> PollDevice(std::string_view device_code, const RequestOrigin& from);

  // The CSRF token of a session (X-CSRF-Token): derived from its id, never stored.
  std::string CsrfToken(std::string_view session_id) const;
  // Whether `presented` is that token (compared in constant time).
  bool CsrfMatches(std::string_view session_id, std::string_view presented) const;

  const SignInOptions& options() const { return options_; }
  // "https://host[:port]" of --public-url: the Origin a same-origin request carries.
  const std::string& origin() const { return origin_; }
  bool secure_cookies() const { return origin_.starts_with("https://"); }

 private:
  StatusOr<identity::OidcProviderMetadata> Provider();
  std::string Derived(std::string_view label, std::string_view state) const;
  Status Refuse(Status status, std::string_view why, const RequestOrigin& from,
                int64_t user_id = 0);

  store::KeyStore* store_;  // not owned
  const SignInOptions options_;
  const Clock now_us_;
  Fetch fetch_;
  std::string origin_;
  SecretString key_;  // HMAC key derived from the client secret

  std::mutex mu_;
  std::optional<identity::OidcProviderMetadata> provider_;  // once read
  std::unique_ptr<identity::JwksCache> jwks_;               // with provider_
};

}  // namespace keypaird::service

#endif  // KEYPAIRD_SERVICE_SIGN_IN_H_
