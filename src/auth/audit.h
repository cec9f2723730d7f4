// Events of the audit trail (docs/audit.md) as the callers of the store make them: who
// (the verified caller, or the command line), when, from where; the caller fills in the
// action's project, resource and details. The store writes one with its change.
#ifndef KEYPAIRD_AUTH_AUDIT_H_
#define KEYPAIRD_AUTH_AUDIT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auth/tokens.h"
#include "store/key_store.h"

namespace keypaird::auth {

// The actions (docs/audit.md).
inline constexpr std::string_view kKeyCreate = "key.create";
inline constexpr std::string_view kKeyUpdate = "key.update";
inline constexpr std::string_view kKeyDelete = "key.delete";
inline constexpr std::string_view kCertificateIssue = "certificate.issue";
inline constexpr std::string_view kCertificateRevoke = "certificate.revoke";
inline constexpr std::string_view kCaCreate = "ca.create";
inline constexpr std::string_view kCaRotate = "ca.rotate";
inline constexpr std::string_view kCaKeyDelete = "ca.key_delete";
inline constexpr std::string_view kTokenCreate = "token.create";
inline constexpr std::string_view kTokenRevoke = "token.revoke";
inline constexpr std::string_view kUserCreate = "user.create";  // a token user's, by the CLI
inline constexpr std::string_view kUserSignIn = "user.sign_in";
inline constexpr std::string_view kUserSignInRefused = "user.sign_in_refused";
inline constexpr std::string_view kUserSignOut = "user.sign_out";
inline constexpr std::string_view kUserDisable = "user.disable";
inline constexpr std::string_view kUserEnable = "user.enable";
inline constexpr std::string_view kGrantCreate = "grant.create";
inline constexpr std::string_view kGrantDelete = "grant.delete";
inline constexpr std::string_view kJoinTokenCreate = "host_join_token.create";
inline constexpr std::string_view kJoinTokenDelete = "host_join_token.delete";
inline constexpr std::string_view kHostCaCreate = "host_ca.create";
inline constexpr std::string_view kHostCaRotate = "host_ca.rotate";
inline constexpr std::string_view kHostCaKeyDelete = "host_ca.key_delete";
inline constexpr std::string_view kHostEnroll = "host.enroll";
inline constexpr std::string_view kHostRenew = "host.renew";
inline constexpr std::string_view kHostDelete = "host.delete";

// An event of `action` by `caller` at `now_us` (a new id; via "token").
store::EventRecord NewEvent(const Principal& caller, std::string_view action, int64_t now_us);
// An event of `action` made on the server's command line (via "cli"; no actor known).
store::EventRecord NewCliEvent(std::string_view action, int64_t now_us);

// `event` about `key` (project, resource "ssh_key", its id and name).
void AboutKey(const store::KeyRecord& key, store::EventRecord* event);
// `event` about the token `id` (resource "token"; no project: a token may have several);
// with `token`, its scope in the details (never its secret or hash).
void AboutToken(std::string_view id, const store::TokenRecord* token, store::EventRecord* event);
// `event` about the user `id` (resource "user").
void AboutUser(int64_t id, store::EventRecord* event);
// `event` about `grant` (resource "grant"): what it gives in the details, its first project as
// the event's project.
void AboutGrant(const store::GrantRecord& grant, store::EventRecord* event);
// `event` about the join token `token` (its project, resource "host_join_token", its id):
// hostnames, uses and expiry in the details, never its secret or hash.
void AboutJoinToken(const store::JoinTokenRecord& token, store::EventRecord* event);
// `event` about `host` (its project, resource "host", its id, its first name): its names, and
// with `certificates`, their serials and expiry in the details (never its token or hash).
void AboutHost(const store::HostRecord& host,
               const std::vector<store::HostCertificateRecord>& certificates,
               store::EventRecord* event);

}  // namespace keypaird::auth

#endif  // KEYPAIRD_AUTH_AUDIT_H_
