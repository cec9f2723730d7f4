// The statements both SQL backends run the same way, written once with #n parameters
// (WithParams, rows.h) and handed to each backend in its own style: ?n for SQLite, $n
// for PostgreSQL. Internal to store/. Built once per dialect on first use; immutable
// and safe to read from any thread afterwards.
#ifndef KEYPAIRD_STORE_SQL_STATEMENTS_H_
#define KEYPAIRD_STORE_SQL_STATEMENTS_H_

#include <string>

#include "store/sql/schema.h"

namespace keypaird::store::sql {

struct Statements {
  // ---- keys (columns: kKeyColumns, rows.h)
  std::string insert_key;       // KeyValues
  std::string insert_label;     // one row of LabelRows
  std::string delete_labels;    // key_id
  std::string get_key;          // id
  std::string get_key_by_name;  // project_id, name
  // ---- tokens (columns: kTokenColumns)
  std::string insert_token;  // TokenValues
  std::string get_token;     // id
  std::string list_tokens;   // none
  // id, at_us; only a token not revoked yet (no row changed: revoked already, or none)
  std::string revoke_token;
  std::string auth_generation;  // the credentials' generation (migration 14)
  std::string project_generations;  // a project's generations (migration 15), #1 the project
  // ---- sign-ins under way (LoginRecord)
  std::string insert_login;  // state_hash, return_to, created_at_us, expires_at_us
  std::string prune_logins;  // now_us: the expired ones
  std::string finish_login;  // state_hash; deletes it and returns its row
  // ---- device authorizations (columns: kDeviceColumns)
  std::string insert_device;  // DeviceValues
  std::string prune_devices;  // now_us: the expired ones
  // user_code, state, user_id, session_id, now_us: only a pending, unexpired one
  std::string decide_device;
  std::string get_device;   // code_hash
  std::string poll_device;  // code_hash, now_us
  std::string take_device;  // code_hash
  // ---- users (columns: kUserColumns) and grants (kGrantColumns)
  std::string get_user;              // id
  std::string get_user_by_identity;  // issuer, subject
  std::string list_users;            // none
  // issuer, subject, email, name, groups, now_us: a person with the next free id, returned
  std::string insert_person;
  // id, email, name, groups, now_us: a sign-in's changes, the user returned
  std::string sign_in;
  std::string insert_token_user;  // id, now_us; no-op if the id is a user's
  // id, disabled; only a user whose flag differs (no row changed: as it was, or none)
  std::string set_user_disabled;
  std::string insert_grant;  // GrantValues
  std::string list_grants;   // none
  std::string delete_grant;  // id
  // ---- host join tokens (columns: kJoinTokenColumns)
  std::string insert_join_token;  // JoinTokenValues
  std::string list_join_tokens;   // project_id
  std::string get_join_token;     // id
  std::string delete_join_token;  // project_id, id
  // id, secret_hash, now_us, project_id: spends a use of a usable token (one row changed)
  std::string use_join_token;
  // ---- hosts (columns: kHostColumns, kHostCertificateColumns)
  std::string insert_host;               // HostValues
  std::string get_host;                  // id
  std::string list_hosts;                // project_id
  std::string renew_host;                // id, public_keys, renewed_at_us, valid_before_s
  std::string delete_host;               // project_id, id
  std::string insert_host_certificate;   // HostCertificateValues
  std::string revoke_host_certificates;  // host_id, at_us; those not revoked yet
  std::string revoked_host_serials;      // project_id, now_s (kRevokedHostSerialsSql)
  // ---- the SSH CA (columns: kCaColumns, kCertificateColumns)
  std::string insert_ca;           // CaValues; no-op if the project has one of that kind
  std::string get_ca;              // project_id, kind
  std::string next_serial;         // project_id, kind; returns the serial taken
  // A rotation's three steps: lock_ca (project_id, kind; returns the generation, and locks
  // the row on PostgreSQL), keep_old_ca_key (project_id, kind, rotated_at_us: the signing
  // key kept without its seed), rotate_ca (project_id, kind, public_key, sealed_seed,
  // created_at_us: the new key in its place, of the next generation; returns the row)
  std::string lock_ca;
  std::string keep_old_ca_key;
  std::string rotate_ca;
  std::string ca_keys;             // project_id, kind (kCaKeysSql)
  // project_id, kind, generation, at_us: a key rotated out, not deleted yet
  std::string delete_ca_key;
  // project_id, generation, at_us: that key's certificates not revoked yet
  std::string revoke_ca_key_certificates;
  std::string revoke_host_ca_key_certificates;
  std::string insert_certificate;  // CertificateValues
  std::string get_certificate;     // project_id, serial
  // project_id, serial, at_us; only a certificate not revoked yet (as revoke_token)
  std::string revoke_certificate;
  std::string revoked_serials;     // project_id, now_s (kRevokedSerialsSql)
  // ---- the audit trail (columns: kEventColumns)
  std::string insert_event;  // EventValues
  std::string prune_events;  // before_us, max_rows: the oldest first
  // ---- migration 4's backfill (MigrationSession::DescribeKeys)
  std::string undescribed_keys;  // none; returns id, public_key
  std::string describe_key;      // id, type, bits, comment, fingerprint_sha256
};

const Statements& StatementsFor(Dialect dialect);

}  // namespace keypaird::store::sql

#endif  // KEYPAIRD_STORE_SQL_STATEMENTS_H_
