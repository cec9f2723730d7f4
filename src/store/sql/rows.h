// What the SQL backends share about rows: the column lists, a key or token as statement
// parameters, reading one back from a result row, and the SQL of a ListKeys query.
// Internal to store/; each backend only binds SqlValues and offers a Row (below) in its
// driver's terms.
//
// A Row is any type with, for a 0-based column:
//   std::string Text(int) const;  int64_t Int64(int) const;  bool Bool(int) const;
//   bool IsNull(int) const;       StatusOr<std::string> Blob(int) const;
#ifndef KEYPAIRD_STORE_SQL_ROWS_H_
#define KEYPAIRD_STORE_SQL_ROWS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/status.h"
#include "store/key_store.h"
#include "store/sql/schema.h"
#include "store/store_internal.h"

namespace keypaird::store::sql {

struct SqlNull {};
struct SqlBlob {
  std::string bytes;
};
// A statement parameter.
using SqlValue = std::variant<SqlNull, int64_t, bool, std::string, SqlBlob>;

// Parameter n (1-based) as the dialect writes it: ?n (SQLite) or $n (PostgreSQL).
std::string Param(Dialect dialect, size_t n);

// ---- keys

// The columns of a key, in the order of KeyValues and ReadKey; kKeyColumnsOf("k.") with
// a table alias.
inline constexpr char kKeyColumns[] =
    "id, project_id, user_id, name, public_key, fingerprint, shared_in_project, created_at_us, "
    "type, bits, comment, fingerprint_sha256, labels, disabled, expires_at_us, updated_at_us, "
    "revision";
inline constexpr int kKeyColumnCount = 17;
std::string KeyColumnsOf(std::string_view alias);

// The values of kKeyColumns, in order.
std::vector<SqlValue> KeyValues(const KeyRecord& key);

template <typename Row>
StatusOr<KeyRecord> ReadKey(const Row& row) {
  KeyRecord key;
  key.id = row.Text(0);
  key.project_id = row.Int64(1);
  key.user_id = row.Int64(2);
  key.name = row.Text(3);
  key.public_key = row.Text(4);
  key.fingerprint = row.Text(5);
  key.shared_in_project = row.Bool(6);
  key.created_at_us = row.Int64(7);
  key.type = row.Text(8);
  key.bits = static_cast<int>(row.Int64(9));
  key.comment = row.Text(10);
  key.fingerprint_sha256 = row.Text(11);
  StatusOr<std::map<std::string, std::string>> labels = DecodeLabels(row.Text(12));
  if (!labels.ok()) return labels.status();
  key.labels = std::move(*labels);
  key.disabled = row.Bool(13);
  if (!row.IsNull(14)) key.expires_at_us = row.Int64(14);
  key.updated_at_us = row.Int64(15);
  key.revision = row.Int64(16);
  return key;
}

// The key_labels rows of a key: (key_id, project_id, created_at_us, name, value) each.
inline constexpr char kInsertLabel[] =
    "INSERT INTO key_labels (key_id, project_id, created_at_us, name, value) VALUES ";
std::vector<std::vector<SqlValue>> LabelRows(const KeyRecord& key);

// UpdateKey's statement: every mutable column from `key` (revision +1), where the id and
// (if `check_revision`) the revision match; the parameters are UpdateValues'.
std::string UpdateKeySql(Dialect dialect, bool check_revision);
std::vector<SqlValue> UpdateValues(const KeyRecord& key, std::optional<int64_t> expected_revision);

// ---- tokens

inline constexpr char kTokenColumns[] =
    "id, user_id, admin, projects, secret_hash, created_at_us, revoked_at_us, read_only, "
    "principals, kind, expires_at_us, roles, parent_id";
inline constexpr int kTokenColumnCount = 13;

// The values of kTokenColumns, in order.
std::vector<SqlValue> TokenValues(const TokenRecord& token, Dialect dialect);

// A projects column's value: "1,2" (SQLite) or "{1,2}" (PostgreSQL's array).
std::string JoinProjects(const std::vector<int64_t>& projects, Dialect dialect);
// A principals column's value: "a,b".
std::string JoinPrincipals(const std::vector<std::string>& principals);

// The projects column as either backend stores it ("1,2" or "{1,2}"); kInternal if it
// is neither.
StatusOr<std::vector<int64_t>> ParseProjects(std::string_view text);
// The principals column: "a,b" (principals hold no commas).
std::vector<std::string> ParsePrincipals(std::string_view text);
// A session's roles column: "1:editor:root,deploy;2:viewer:" (project ids ascending;
// principals hold no ':' or ';'). Parse: kInternal if the text is not that.
std::string EncodeRoles(const std::vector<TokenRole>& roles);
StatusOr<std::vector<TokenRole>> ParseRoles(std::string_view text);

template <typename Row>
StatusOr<TokenRecord> ReadToken(const Row& row) {
  TokenRecord token;
  token.id = row.Text(0);
  token.user_id = row.Int64(1);
  token.admin = row.Bool(2);
  StatusOr<std::vector<int64_t>> projects = ParseProjects(row.Text(3));
  if (!projects.ok()) return projects.status();
  token.projects = std::move(*projects);
  StatusOr<std::string> hash = row.Blob(4);
  if (!hash.ok()) return hash.status();
  token.secret_hash = std::move(*hash);
  token.created_at_us = row.Int64(5);
  if (!row.IsNull(6)) token.revoked_at_us = row.Int64(6);
  token.read_only = row.Bool(7);
  token.principals = ParsePrincipals(row.Text(8));
  token.kind = row.Text(9);
  if (!row.IsNull(10)) token.expires_at_us = row.Int64(10);
  StatusOr<std::vector<TokenRole>> roles = ParseRoles(row.Text(11));
  if (!roles.ok()) return roles.status();
  token.roles = std::move(*roles);
  if (!row.IsNull(12)) token.parent_id = row.Text(12);
  // get_token and list_tokens add it after kTokenColumns.
  token.user_disabled = row.Bool(kTokenColumnCount);
  return token;
}

// ---- users and grants

inline constexpr char kUserColumns[] =
    "id, issuer, subject, email, name, groups, disabled, created_at_us, last_sign_in_at_us";

// A token user's issuer and subject are NULL in the table (migration 8): read as "".
template <typename Row>
StatusOr<UserRecord> ReadUser(const Row& row) {
  UserRecord user;
  user.id = row.Int64(0);
  if (!row.IsNull(1)) user.issuer = row.Text(1);
  if (!row.IsNull(2)) user.subject = row.Text(2);
  user.email = row.Text(3);
  user.name = row.Text(4);
  StatusOr<std::vector<std::string>> groups = DecodeGroups(row.Text(5));
  if (!groups.ok()) return groups.status();
  user.groups = std::move(*groups);
  user.disabled = row.Bool(6);
  user.created_at_us = row.Int64(7);
  if (!row.IsNull(8)) user.last_sign_in_at_us = row.Int64(8);
  return user;
}

// SignIn's write once the person of (issuer, subject) is looked up (`found`; locked, where
// the backend locks). A disabled user is returned as found: nothing written, no event.
// Otherwise `write(made, values)` runs Statements::insert_person (made) or sign_in with
// `values` and returns the stored user, and `record(event)` writes SignIn's event.
template <typename WriteFn, typename RecordFn>
Status WriteSignIn(std::optional<UserRecord> found, const UserRecord& claims, int64_t now_us,
                   const EventRecord& event, WriteFn write, RecordFn record, UserRecord* user) {
  const bool made = !found.has_value();
  if (!made && found->disabled) {
    *user = std::move(*found);
    return Status::Ok();  // the caller refuses
  }
  std::string groups = EncodeGroups(KeptGroups(claims.groups));
  StatusOr<UserRecord> stored =
      made ? write(true, std::vector<SqlValue>{claims.issuer, claims.subject, claims.email,
                                               claims.name, std::move(groups), now_us})
           : write(false, std::vector<SqlValue>{found->id, claims.email, claims.name,
                                                std::move(groups), now_us});
  if (!stored.ok()) return stored.status();
  *user = std::move(*stored);
  return record(SignInEvent(event, user->id, made));
}

inline constexpr char kGrantColumns[] =
    "id, group_name, user_id, user_email, projects, role, principals, created_at_us";
inline constexpr int kGrantColumnCount = 8;

// The values of kGrantColumns, in order.
std::vector<SqlValue> GrantValues(const GrantRecord& grant, Dialect dialect);

inline constexpr char kJoinTokenColumns[] =
    "id, project_id, secret_hash, hostnames, uses, uses_left, expires_at_us, created_at_us, "
    "created_by";
inline constexpr int kJoinTokenColumnCount = 9;

// The values of kJoinTokenColumns, in order.
std::vector<SqlValue> JoinTokenValues(const JoinTokenRecord& token);

template <typename Row>
StatusOr<JoinTokenRecord> ReadJoinToken(const Row& row) {
  JoinTokenRecord t;
  t.id = row.Text(0);
  t.project_id = row.Int64(1);
  StatusOr<std::string> hash = row.Blob(2);
  if (!hash.ok()) return hash.status();
  t.secret_hash = std::move(*hash);
  t.hostnames = ParsePrincipals(row.Text(3));
  t.uses = row.Int64(4);
  t.uses_left = row.Int64(5);
  t.expires_at_us = row.Int64(6);
  t.created_at_us = row.Int64(7);
  t.created_by = row.Text(8);
  return t;
}

// A row of finish_login: state_hash, return_to, created_at_us, expires_at_us.
template <typename Row>
StatusOr<LoginRecord> ReadLogin(const Row& row) {
  LoginRecord login;
  StatusOr<std::string> hash = row.Blob(0);
  if (!hash.ok()) return hash.status();
  login.state_hash = std::move(*hash);
  login.return_to = row.Text(1);
  login.created_at_us = row.Int64(2);
  login.expires_at_us = row.Int64(3);
  return login;
}

// ---- device authorizations

inline constexpr char kDeviceColumns[] =
    "code_hash, user_code, created_at_us, expires_at_us, interval_s, last_poll_us, state, "
    "user_id, session_id";
inline constexpr int kDeviceColumnCount = 9;
std::vector<SqlValue> DeviceValues(const DeviceRecord& device);

template <typename Row>
StatusOr<DeviceRecord> ReadDevice(const Row& row) {
  DeviceRecord d;
  StatusOr<std::string> hash = row.Blob(0);
  if (!hash.ok()) return hash.status();
  d.code_hash = std::move(*hash);
  d.user_code = row.Text(1);
  d.created_at_us = row.Int64(2);
  d.expires_at_us = row.Int64(3);
  d.interval_s = row.Int64(4);
  if (!row.IsNull(5)) d.last_poll_us = row.Int64(5);
  d.state = row.Text(6);
  d.user_id = row.Int64(7);
  d.session_id = row.Text(8);
  return d;
}

template <typename Row>
StatusOr<GrantRecord> ReadGrant(const Row& row) {
  GrantRecord grant;
  grant.id = row.Text(0);
  grant.group = row.Text(1);
  grant.user_id = row.Int64(2);
  grant.user_email = row.Text(3);
  StatusOr<std::vector<int64_t>> projects = ParseProjects(row.Text(4));
  if (!projects.ok()) return projects.status();
  grant.projects = std::move(*projects);
  grant.role = row.Text(5);
  grant.principals = ParsePrincipals(row.Text(6));
  grant.created_at_us = row.Int64(7);
  return grant;
}

// ---- the SSH CA

inline constexpr char kCaColumns[] =
    "project_id, kind, public_key, sealed_seed, created_at_us, generation";
inline constexpr int kCaColumnCount = 6;
std::vector<SqlValue> CaValues(const CaRecord& ca);

template <typename Row>
StatusOr<CaRecord> ReadCa(const Row& row) {
  CaRecord ca;
  ca.project_id = row.Int64(0);
  const std::string kind = row.Text(1);
  if (kind != "user" && kind != "host") return Internal("corrupt CA record in the database");
  ca.kind = kind == "host" ? CaKind::kHost : CaKind::kUser;
  ca.public_key = row.Text(2);
  StatusOr<std::string> sealed = row.Blob(3);
  if (!sealed.ok()) return sealed.status();
  ca.sealed_seed = std::move(*sealed);
  ca.created_at_us = row.Int64(4);
  ca.generation = row.Int64(5);
  return ca;
}

// CaKeysOf's query, one snapshot: the signing key (rotated_at 0), then the keys rotated
// out, newest first, each with the latest expiry of the certificates it signed (an index
// walk per key). Parameters: project_id, kind.
inline constexpr char kCaKeysSql[] =
    "SELECT generation, public_key, created_at_us, 0 AS rotated_at_us, NULL AS deleted_at_us, "
    "NULL AS signed_until_s FROM ssh_cas WHERE project_id = #1 AND kind = #2 "
    "UNION ALL "
    "SELECT o.generation, o.public_key, o.created_at_us, o.rotated_at_us, o.deleted_at_us, "
    "CASE WHEN o.kind = 'user' THEN (SELECT max(c.valid_before_s) FROM certificates c "
    "WHERE c.project_id = o.project_id AND c.ca_generation = o.generation) "
    "ELSE (SELECT max(h.valid_before_s) FROM host_certificates h "
    "WHERE h.project_id = o.project_id AND h.ca_generation = o.generation) END "
    "FROM ssh_ca_old_keys o WHERE o.project_id = #1 AND o.kind = #2 "
    "ORDER BY generation DESC";

// One row of kCaKeysSql.
template <typename Row>
CaKeyRecord ReadCaKey(const Row& row, int64_t project_id, CaKind kind) {
  CaKeyRecord k;
  k.project_id = project_id;
  k.kind = kind;
  k.generation = row.Int64(0);
  k.public_key = row.Text(1);
  k.created_at_us = row.Int64(2);
  k.rotated_at_us = row.Int64(3);
  if (!row.IsNull(4)) k.deleted_at_us = row.Int64(4);
  if (!row.IsNull(5)) k.signed_until_s = row.Int64(5);
  return k;
}

inline constexpr char kCertificateColumns[] =
    "project_id, serial, key_id, key_owner_id, key_sha256, principals, valid_after_s, "
    "valid_before_s, issued_at_us, issued_by, revoked_at_us, ca_generation";
inline constexpr int kCertificateColumnCount = 12;
std::vector<SqlValue> CertificateValues(const CertificateRecord& c);

template <typename Row>
StatusOr<CertificateRecord> ReadCertificate(const Row& row) {
  CertificateRecord c;
  c.project_id = row.Int64(0);
  c.serial = row.Int64(1);
  if (!row.IsNull(2)) c.key_id = row.Text(2);  // NULL: a key not stored
  c.key_owner_id = row.Int64(3);
  StatusOr<std::string> sha = row.Blob(4);
  if (!sha.ok()) return sha.status();
  c.key_sha256 = std::move(*sha);
  c.principals = ParsePrincipals(row.Text(5));
  c.valid_after_s = row.Int64(6);
  c.valid_before_s = row.Int64(7);
  c.issued_at_us = row.Int64(8);
  c.issued_by = row.Text(9);
  if (!row.IsNull(10)) c.revoked_at_us = row.Int64(10);
  c.ca_generation = row.Int64(11);
  return c;
}

// ---- hosts

inline constexpr char kHostColumns[] =
    "id, project_id, token_hash, hostnames, public_keys, enrolled_at_us, renewed_at_us, "
    "valid_before_s, join_token_id";
inline constexpr int kHostColumnCount = 9;
std::vector<SqlValue> HostValues(const HostRecord& host);

template <typename Row>
StatusOr<HostRecord> ReadHost(const Row& row) {
  HostRecord h;
  h.id = row.Text(0);
  h.project_id = row.Int64(1);
  StatusOr<std::string> hash = row.Blob(2);
  if (!hash.ok()) return hash.status();
  h.token_hash = std::move(*hash);
  h.hostnames = ParsePrincipals(row.Text(3));
  h.public_keys = ParsePrincipals(row.Text(4));  // joined by commas too: base64 has none
  h.enrolled_at_us = row.Int64(5);
  h.renewed_at_us = row.Int64(6);
  h.valid_before_s = row.Int64(7);
  h.join_token_id = row.Text(8);
  return h;
}

inline constexpr char kHostCertificateColumns[] =
    "project_id, serial, host_id, key_sha256, principals, valid_after_s, valid_before_s, "
    "issued_at_us, revoked_at_us, ca_generation";
inline constexpr int kHostCertificateColumnCount = 10;
std::vector<SqlValue> HostCertificateValues(const HostCertificateRecord& c);

// RevocationsOf's host part; parameters: project_id, now_s.
inline constexpr char kRevokedHostSerialsSql[] =
    "SELECT serial, ca_generation, valid_before_s FROM host_certificates WHERE project_id = #1 "
    "AND valid_before_s > #2 "
    "AND revoked_at_us IS NOT NULL ORDER BY serial";

// ---- the audit trail

inline constexpr char kEventColumns[] =
    "id, time_us, action, project_id, actor_user_id, actor_token_id, via, source_ip, "
    "user_agent, resource_type, resource_id, resource_name, details";
inline constexpr int kEventColumnCount = 13;
std::vector<SqlValue> EventValues(const EventRecord& e);

template <typename Row>
EventRecord ReadEvent(const Row& row) {
  EventRecord e;
  e.id = row.Text(0);
  e.time_us = row.Int64(1);
  e.action = row.Text(2);
  e.project_id = row.Int64(3);
  e.actor_user_id = row.Int64(4);
  e.actor_token_id = row.Text(5);
  e.via = row.Text(6);
  e.source_ip = row.Text(7);
  e.user_agent = row.Text(8);
  e.resource_type = row.Text(9);
  e.resource_id = row.Text(10);
  e.resource_name = row.Text(11);
  e.details = row.Text(12);
  return e;
}

// A ListEvents query in a dialect: the page's SQL and its parameters, and the count's.
struct EventListSql {
  std::string page;
  std::vector<SqlValue> page_params;
  std::string count;
  std::vector<SqlValue> count_params;
};
EventListSql BuildEventListSql(const EventQuery& query, Dialect dialect);

// RevocationsOf's query; parameters: project_id, now_s. It walks the project's
// certificates in serial order (the primary key) and looks each one's key and owner up by
// id. A certificate of a key not stored (key_id NULL) joins no key too, but was never a
// stored key's, so only its revocation or its owner's disabling lists it.
inline constexpr char kRevokedSerialsSql[] =
    "SELECT c.serial, c.ca_generation, c.valid_before_s FROM certificates c "
    "LEFT JOIN keys k ON k.id = c.key_id "
    "LEFT JOIN users u ON u.id = c.key_owner_id "
    "WHERE c.project_id = #1 AND c.valid_before_s > #2 "
    "AND (c.revoked_at_us IS NOT NULL OR u.disabled = TRUE "
    "OR (c.key_id IS NOT NULL AND (k.id IS NULL OR k.disabled = TRUE))) ORDER BY c.serial";
// `sql` with each #n written as the dialect's parameter n.
std::string WithParams(std::string_view sql, Dialect dialect);

// ---- ListKeys

// The parts of a ListKeys statement for one ListQuery. Filter parameters are numbered
// from 1; a backend appends its own (limit, offset) after them.
struct ListSql {
  // " FROM keys k", or driven by the label index for a selector with an equality term:
  // " FROM key_labels d JOIN keys k ON k.id = d.key_id". Columns: KeyColumnsOf("k.").
  std::string from;
  std::string where;  // " WHERE ..." or ""
  std::string order;  // " ORDER BY ..."
  std::vector<SqlValue> params;
  // Which filters are set and which order: one prepared statement per shape.
  std::string shape;
  // Every filter is on (project, owner, shared) and the FROM is plain: a total can come
  // from key_counts (whose alias is then k as well).
  bool counted_columns_only = true;
};

ListSql BuildListSql(const ListQuery& query, Dialect dialect);

}  // namespace keypaird::store::sql

#endif  // KEYPAIRD_STORE_SQL_ROWS_H_
