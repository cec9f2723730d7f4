// Shared by the KeyStore backends only (not part of the store/ interface): the status
// messages every backend returns, so that callers and the contract test see the same
// text whichever backend is in use, and the ListQuery argument check.
#ifndef KEYPAIRD_STORE_STORE_INTERNAL_H_
#define KEYPAIRD_STORE_STORE_INTERNAL_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/key_store.h"

namespace keypaird::store {

inline constexpr std::string_view kKeyIdTaken = "a key with this id already exists";
inline constexpr std::string_view kKeyNameTaken =
    "a key with this name already exists in the project";
inline constexpr std::string_view kKeyNotFound = "key not found";
inline constexpr std::string_view kKeyChanged = "the key has changed (another revision)";
inline constexpr std::string_view kTokenIdTaken = "a token with this id already exists";
inline constexpr std::string_view kTokenNotFound = "token not found";

inline constexpr std::string_view kUserNotFound = "user not found";
inline constexpr std::string_view kGrantIdTaken = "a grant with this id already exists";
inline constexpr std::string_view kGrantNotFound = "grant not found";
inline constexpr std::string_view kLoginTaken = "a sign-in with this state already exists";
inline constexpr std::string_view kLoginNotFound = "no such sign-in under way";
inline constexpr std::string_view kDeviceTaken = "a device authorization with this code exists";
inline constexpr std::string_view kDeviceNotFound = "no such device authorization";
inline constexpr std::string_view kJoinTokenIdTaken = "a join token with this id already exists";
inline constexpr std::string_view kJoinTokenNotFound = "join token not found";
inline constexpr std::string_view kJoinTokenNotUsable =
    "no usable join token (unknown, used up or expired)";
inline constexpr std::string_view kHostIdTaken = "a host with this id already exists";
inline constexpr std::string_view kHostNotFound = "host not found";
inline constexpr std::string_view kNoEventAction = "an event needs an action";

// SignIn's argument check: kInvalidArgument unless issuer and subject are set.
Status ValidateClaims(const UserRecord& claims);
// EnsureUser's: kInvalidArgument if id < 1.
Status ValidateUserId(int64_t id);
// InsertGrant's argument check (KeyStore::InsertGrant lists the rules).
Status ValidateGrant(const GrantRecord& grant);
// InsertJoinToken's (KeyStore::InsertJoinToken lists the rules).
Status ValidateJoinToken(const JoinTokenRecord& token);
// EnrollHost's and RenewHost's (KeyStore::EnrollHost lists the rules).
Status ValidateHost(const HostRecord& host);

// The groups SignIn keeps: `groups` without "" names.
std::vector<std::string> KeptGroups(const std::vector<std::string>& groups);
// Groups in one column: joined by ',', with ',' and '\' escaped by a '\' (group names
// may hold commas: an LDAP DN does). Names are never "", so "" is the empty list.
std::string EncodeGroups(const std::vector<std::string>& groups);
StatusOr<std::vector<std::string>> DecodeGroups(std::string_view text);

// SignIn's event: resource_id = the user's id, and "created" added to the details object.
EventRecord SignInEvent(const EventRecord& event, int64_t user_id, bool created);

// kInvalidArgument unless offset >= 0 and limit >= -1.
inline Status ValidateListQuery(const ListQuery& query) {
  if (query.offset < 0) return InvalidArgument("list offset must not be negative");
  if (query.limit < -1) return InvalidArgument("list limit must be -1 (no limit) or >= 0");
  return Status::Ok();
}

// kInvalidArgument unless offset >= 0 and limit >= 0.
inline Status ValidateEventQuery(const EventQuery& query) {
  if (query.offset < 0) return InvalidArgument("event offset must not be negative");
  if (query.limit < 0) return InvalidArgument("event limit must not be negative");
  return Status::Ok();
}

// Labels in one column: "k1=v1,k2=v2", keys ascending. Neither keys nor values may hold
// ',' or '=' (their syntax excludes them), so the encoding is unambiguous.
std::string EncodeLabels(const std::map<std::string, std::string>& labels);
StatusOr<std::map<std::string, std::string>> DecodeLabels(std::string_view text);

// `key` with `update` applied (not revision or updated_at).
void ApplyUpdate(const KeyUpdate& update, KeyRecord* key);

// Revocations::first_expiry_s with a serial valid until `valid_before_s` listed too.
inline void NoteExpiry(Revocations* out, int64_t valid_before_s) {
  if (out->first_expiry_s == 0 || valid_before_s < out->first_expiry_s) {
    out->first_expiry_s = valid_before_s;
  }
}

}  // namespace keypaird::store

#endif  // KEYPAIRD_STORE_STORE_INTERNAL_H_
