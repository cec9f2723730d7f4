// auth: API tokens — minting, hashing, verification and project scopes.
//
// A token string is "kpd_" + 16 hex characters of public id + "_" + 64 hex characters
// of secret (256 bits from the OpenSSL CSPRNG). Only SHA-256(secret) is stored; the
// secret itself exists in the process only while a token is being minted or checked,
// and is never logged. The id lets a request find its record in one indexed lookup;
// the hash is then compared in constant time.
//
// Authenticator reads the store on every call (no cache), so a token revoked on one
// node stops working on every node at once. Thread-safe if the store is.
#ifndef KEYPAIRD_AUTH_TOKENS_H_
#define KEYPAIRD_AUTH_TOKENS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/secret.h"
#include "common/status.h"
#include "store/key_store.h"

namespace keypaird::auth {

// Who is calling: what a verified token says, and where the request came from (for the
// audit trail).
struct Principal {
  std::string token_id;
  int64_t user_id = 0;
  bool admin = false;
  std::vector<int64_t> projects;        // ignored for admins
  bool read_only = false;               // may only read (GET)
  std::vector<std::string> principals;  // SSH certificate principals it may be issued
  std::string source_ip;                // "" when not known
  std::string user_agent;               // "" when not sent

  bool MayUseProject(int64_t project_id) const;
};

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

// OK if `principal` may be a certificate principal; kInvalidArgument saying why not.
Status ValidatePrincipal(std::string_view principal);

// SHA-256 of the secret part, 32 raw bytes.
std::string HashSecret(std::string_view secret);

// Splits "kpd_<id>_<secret>"; false if the shape is wrong.
bool SplitToken(std::string_view token, std::string_view* id, std::string_view* secret);

class Authenticator {
 public:
  explicit Authenticator(store::KeyStore* store) : store_(store) {}

  // Verifies an `Authorization` header value ("APIKey <token>" or "Bearer <token>",
  // scheme word case-insensitive). kUnauthenticated for a missing, malformed, unknown or revoked
  // token; kUnavailable/kInternal if the store fails. Reads the token through `reads`
  // when given (a snapshot the request goes on reading from), else through the store.
  StatusOr<Principal> Authenticate(std::string_view authorization_header,
                                   store::KeyReader* reads = nullptr) const;

 private:
  store::KeyStore* store_;  // not owned
};

}  // namespace keypaird::auth

#endif  // KEYPAIRD_AUTH_TOKENS_H_
