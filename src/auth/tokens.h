// auth: API tokens — minting, hashing, verification and project scopes.
//
// A token string is "kpd_" + 16 hex characters of public id + "_" + 64 hex characters
// of secret (256 bits from the OpenSSL CSPRNG). Only SHA-256(secret) is stored; the
// secret itself exists in the process only while a token is being minted or checked,
// and is never logged. The id lets a request find its record in one indexed lookup;
// the hash is then compared in constant time.
//
// Authenticator reads the store on every call, so a token revoked on one node stops working
// on every node at once; given a TokenCache (auth/token_cache.h), a request that reads
// through one snapshot reads the credentials' generation there instead of the token, when
// the cache holds the token's record of that generation (as exact: see there).
// Thread-safe if the store is.
#ifndef KEYPAIRD_AUTH_TOKENS_H_
#define KEYPAIRD_AUTH_TOKENS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/token_cache.h"
#include "common/clock.h"
#include "common/secret.h"
#include "common/status.h"
#include "store/key_store.h"

namespace keypaird::auth {

// What a caller may do in one project (docs/people.md, "Roles"): a viewer reads what a
// read-only token reads; an editor does what a project token does (its own keys, and
// certificates for them with its own principals); an admin also every key of the project.
enum class Role { kNone = 0, kViewer = 1, kEditor = 2, kAdmin = 3 };

// "viewer", "editor", "admin" (store::TokenRole's words); kNone for anything else.
Role RoleNamed(std::string_view name);
const char* RoleName(Role role);  // "" for kNone

// Who is calling: what a verified token or session says, and where the request came from
// (for the audit trail).
struct Principal {
  std::string token_id;
  int64_t user_id = 0;
  bool admin = false;
  std::vector<int64_t> projects;        // ignored for admins; a session's: those of `roles`
  bool read_only = false;               // may only read (GET); a session's: viewer everywhere
  std::vector<std::string> principals;  // SSH certificate principals it may be issued
  std::string source_ip;                // "" when not known
  std::string user_agent;               // "" when not sent
  bool session = false;                 // a person's browser session (a cookie)
  // The rights come from a person's grants (a session, or an access token the device flow
  // gave): `roles`, per project, ascending. Otherwise a token's: the fields above.
  bool granted = false;
  std::vector<store::TokenRole> roles;
  // An enrolled host's token (docs/ssh-access.md "Hosts"): the host's id; a viewer of its
  // project, and only on the routes a host uses (the HTTP layer refuses the others).
  std::string host_id;

  Role RoleIn(int64_t project_id) const;
  bool MayUseProject(int64_t project_id) const { return RoleIn(project_id) != Role::kNone; }
  // Creates, changes and deletes (its own keys, unless an admin of the project).
  bool MayChange(int64_t project_id) const { return RoleIn(project_id) >= Role::kEditor; }
  bool Administers(int64_t project_id) const { return RoleIn(project_id) == Role::kAdmin; }
  // An administrator's token, or a person who administers at least one project.
  bool AdministersAnyProject() const;
  // The SSH principals it may be issued certificates for in the project.
  const std::vector<std::string>& PrincipalsIn(int64_t project_id) const;
};

// 403: the caller has no role in the project.
Status ProjectDenied(int64_t project_id);
// 403 for a change the caller may not make in the project: no role there (ProjectDenied),
// or only a viewer's.
Status ChangeDenied(const Principal& caller, int64_t project_id);

// What a token may do besides its projects.
struct TokenScope {
  bool read_only = false;
  // SSH certificate principals: each [A-Za-z0-9._@-], 1..255 characters, at most 64.
  std::vector<std::string> principals;
};

struct MintedToken {
  store::TokenRecord record;  // what to store (hash only)
  SecretString token;         // the full token string, shown to the operator once
};

// Makes a new token for `user_id`: admin, or scoped to `projects` (non-empty, each >= 1),
// and `scope`. kInvalidArgument for a bad scope.
StatusOr<MintedToken> MintToken(int64_t user_id, bool admin, std::vector<int64_t> projects,
                                int64_t now_us, TokenScope scope = {});

// A person's session: a token of kind "session" for `user_id`, with `roles` (any order,
// project ids >= 1, each once), ending at `expires_at_us`. Its secret goes into a cookie.
StatusOr<MintedToken> MintSession(int64_t user_id, std::vector<store::TokenRole> roles,
                                  int64_t now_us, int64_t expires_at_us);

// A person's bearer token from the device flow (`keypaird login`): the rights of `session`
// (a verified session's record), kind "access", revoked with it (parent_id), ending at the
// session's end or `max_ttl_us` from now, whichever comes first.
StatusOr<MintedToken> MintAccess(const store::TokenRecord& session, int64_t now_us,
                                 int64_t max_ttl_us);

// OK if `principal` may be a certificate principal; kInvalidArgument saying why not.
Status ValidatePrincipal(std::string_view principal);

// SHA-256 of the secret part, 32 raw bytes.
std::string HashSecret(std::string_view secret);

// Whether `secret` is the one whose HashSecret is `stored_hash`, compared in constant time
// (a token's, a host token's, a join token's).
bool SecretMatches(std::string_view stored_hash, std::string_view secret);

// Splits "kpd_<id>_<secret>"; false if the shape is wrong.
bool SplitToken(std::string_view token, std::string_view* id, std::string_view* secret);

// A host join token (docs/ssh-access.md "Hosts"): "kpj_<id>_<secret>", a shape no API token
// has, so one is never taken for the other.
struct JoinSecret {
  std::string id;           // 16 lowercase hex digits
  std::string secret_hash;  // HashSecret of the secret part: what is stored
  SecretString token;       // the whole string, shown to its maker once
};
StatusOr<JoinSecret> NewJoinSecret();
// Splits "kpj_<id>_<secret>"; false if the shape is wrong.
bool SplitJoinToken(std::string_view token, std::string_view* id, std::string_view* secret);

// A host token: "kph_<id>_<secret>", the id being the host's. Made at its enrolment, shown
// to it once; only the secret's hash is stored.
StatusOr<JoinSecret> NewHostSecret();
// Splits "kph_<id>_<secret>"; false if the shape is wrong.
bool SplitHostToken(std::string_view token, std::string_view* id, std::string_view* secret);

// The token of an `Authorization` header value ("APIKey <token>" or "Bearer <token>", the
// scheme word in any case, blanks around the token dropped); nullopt for another shape.
std::optional<std::string_view> TokenOfHeader(std::string_view header);

class Authenticator {
 public:
  // `cache` (not owned, may be null: every call reads the store) must outlive it.
  explicit Authenticator(store::KeyStore* store, Clock now_us = SystemNowMicros,
                         TokenCache* cache = nullptr)
      : store_(store), now_us_(std::move(now_us)), cache_(cache) {}

  // Verifies an `Authorization` header value ("APIKey <token>" or "Bearer <token>",
  // scheme word case-insensitive): an API token, or a host token (read from the store, not
  // `reads`). kUnauthenticated for a missing, malformed, unknown or revoked token (a
  // deleted host's); kUnavailable/kInternal if the store fails. Reads the token through `reads`
  // when given (a snapshot the request goes on reading from), else through the store.
  // A session's secret is refused here: it is only ever a cookie's value.
  StatusOr<Principal> Authenticate(std::string_view authorization_header,
                                   store::KeyReader* reads = nullptr) const;

  // Verifies a session cookie's value (the session's "kpd_<id>_<secret>"): as Authenticate,
  // and only a session, not ended (expires_at, revoked at sign-out, its user disabled).
  StatusOr<Principal> AuthenticateSession(std::string_view cookie_value,
                                          store::KeyReader* reads = nullptr) const;

 private:
  StatusOr<Principal> Verify(std::string_view token, bool session, store::KeyReader* reads) const;
  StatusOr<Principal> VerifyHost(std::string_view token) const;
  // A token's record: the cache's (shared), or read for one request (owned: no allocation
  // beyond the record's own).
  struct TokenRead {
    std::shared_ptr<const store::TokenRecord> kept;
    std::optional<store::TokenRecord> own;
    const store::TokenRecord& record() const { return kept != nullptr ? *kept : *own; }
  };
  // The token's record, read through `reads` when given (else the store); through the
  // cache when there is one and `reads` is a snapshot.
  StatusOr<TokenRead> ReadToken(std::string_view id, store::KeyReader* reads) const;

  store::KeyStore* store_;  // not owned
  Clock now_us_;
  TokenCache* cache_;  // not owned; may be null
};

}  // namespace keypaird::auth

#endif  // KEYPAIRD_AUTH_TOKENS_H_
