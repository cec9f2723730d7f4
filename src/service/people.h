// People: the users keypaird knows and the grants that give them roles in projects
// (docs/people.md). Users are made by their first sign-in (OpenID Connect) or by `token create
// --user N`; grants map a group, a user or an e-mail address to a role in projects, with SSH
// principals. Every change is an event in the audit trail, written by the store with it.
//
// Who manages them: administrators' tokens (every project), on the command line or the API;
// grants also the administrator (by grant) of every project a grant names.
#ifndef KEYPAIRD_SERVICE_PEOPLE_H_
#define KEYPAIRD_SERVICE_PEOPLE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/tokens.h"
#include "common/clock.h"
#include "common/status.h"
#include "store/key_store.h"

namespace keypaird::service {

inline constexpr std::string_view kRoles[] = {"viewer", "editor", "admin"};

// A grant as asked for: exactly one of group, user_id and user_email.
struct GrantRequest {
  std::string group;
  int64_t user_id = 0;
  std::string user_email;
  std::vector<int64_t> projects;
  std::string role;
  std::vector<std::string> principals;
};

// The grant to store for `request` (a new UUIDv7 id; projects sorted, repeats dropped), or
// kInvalidArgument naming the field: not exactly one of group / user_id / user_email, a
// group of 1..255 bytes of printable UTF-8, an e-mail address name@domain of at most 254
// bytes, projects 1..1000 ids >= 1, a role of kRoles, at most 64 valid principals.
StatusOr<store::GrantRecord> NewGrant(const GrantRequest& request, int64_t now_us);

class People {
 public:
  People(store::KeyStore* store, Clock now) : store_(store), now_(std::move(now)) {}

  // `caller`: the verified caller of the API (an event "via token"), or nullptr for the
  // server's command line (an operator of the server; an event "via cli").
  //
  // Grants: kPermissionDenied unless the caller is an administrator's token or administers
  // a project (by grant). Such a project administrator sees the grants that name one of
  // their projects, and makes or deletes only grants whose every project they administer.

  // The grant made (NewGrant's errors; kInvalidArgument if user_id names no user).
  StatusOr<store::GrantRecord> CreateGrant(const auth::Principal* caller,
                                           const GrantRequest& request) const;
  StatusOr<std::vector<store::GrantRecord>> ListGrants(const auth::Principal* caller) const;
  // OK; kNotFound (also for a grant of none of the caller's projects).
  Status DeleteGrant(const auth::Principal* caller, std::string_view id) const;

  // Users: kPermissionDenied unless the caller is an administrator's token.
  StatusOr<std::vector<store::UserRecord>> ListUsers(const auth::Principal* caller) const;
  // Disables the user (their API tokens, sessions and access tokens stop at once, on every
  // node) or enables it again, and returns it. OK, also when it already was; kNotFound.
  StatusOr<store::UserRecord> SetDisabled(const auth::Principal* caller, int64_t id,
                                          bool disabled) const;

 private:
  store::EventRecord NewEvent(const auth::Principal* caller, std::string_view action) const;

  store::KeyStore* store_;  // not owned
  Clock now_;
};

}  // namespace keypaird::service

#endif  // KEYPAIRD_SERVICE_PEOPLE_H_
