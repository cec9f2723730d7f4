// Hosts: servers that enrol themselves into a project and carry host certificates
// (docs/ssh-access.md "Hosts"). This part: the join tokens a project's administrator makes
// for them. A join token names the hostnames a server may enrol as (a name, or "*.name"
// for exactly one more label), how many servers may use it and until when; its secret is
// shown once and only its SHA-256 is stored. Every change is an event.
#ifndef KEYPAIRD_SERVICE_HOSTS_H_
#define KEYPAIRD_SERVICE_HOSTS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/tokens.h"
#include "common/clock.h"
#include "common/secret.h"
#include "common/status.h"
#include "store/key_store.h"

namespace keypaird::service {

inline constexpr int64_t kMaxJoinTokenUses = 1000;
inline constexpr int64_t kMinJoinTokenTtlS = 60;
inline constexpr int64_t kMaxJoinTokenTtlS = 30 * 24 * 3600;

struct JoinTokenRequest {
  std::vector<std::string> hostnames;
  int64_t uses = 1;
  int64_t expires_in_s = 3600;
};

struct MadeJoinToken {
  store::JoinTokenRecord record;
  SecretString token;  // "kpj_<id>_<secret>", shown once
};

// OK if `hostname` is a host name a join token may name: DNS labels of letters, digits and
// '-' (1..63 each, no '-' first or last), 253 bytes at most, optionally "*." first; else
// kInvalidArgument saying why. Names are compared in lower case: `*lowered` gets it.
Status CheckHostnamePattern(std::string_view hostname, std::string* lowered);

// Whether `hostname` (a plain name) matches `pattern` (a name, or "*.rest": exactly one
// label before rest), both in lower case.
bool HostnameMatches(std::string_view pattern, std::string_view hostname);

class Hosts {
 public:
  Hosts(store::KeyStore* store, Clock now) : store_(store), now_(std::move(now)) {}

  // Each: kPermissionDenied unless the caller administers the project.

  // kInvalidArgument naming the field: hostnames 1..64 valid patterns (repeats dropped),
  // uses 1..1000, expires_in 60 s .. 30 days.
  StatusOr<MadeJoinToken> CreateJoinToken(const auth::Principal& caller, int64_t project_id,
                                          const JoinTokenRequest& request) const;
  StatusOr<std::vector<store::JoinTokenRecord>> ListJoinTokens(const auth::Principal& caller,
                                                               int64_t project_id) const;
  // OK; kNotFound.
  Status DeleteJoinToken(const auth::Principal& caller, int64_t project_id,
                         std::string_view id) const;

 private:
  store::KeyStore* store_;  // not owned
  Clock now_;
};

}  // namespace keypaird::service

#endif  // KEYPAIRD_SERVICE_HOSTS_H_
