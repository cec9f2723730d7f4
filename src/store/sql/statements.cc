#include "store/sql/statements.h"

#include <string_view>

#include "store/sql/rows.h"

namespace keypaird::store::sql {
namespace {

// "#1, #2, ..., #n".
std::string ParamList(int n) {
  std::string out;
  for (int i = 1; i <= n; ++i) out += (i > 1 ? ", #" : "#") + std::to_string(i);
  return out;
}

std::string Insert(std::string_view table, std::string_view columns, int count) {
  return std::string("INSERT INTO ").append(table) + " (" + std::string(columns) + ") VALUES (" +
         ParamList(count) + ")";
}

std::string Select(std::string_view columns, std::string_view rest) {
  return std::string("SELECT ").append(columns).append(" ").append(rest);
}

Statements Make(Dialect dialect) {
  const auto p = [dialect](const std::string& sql) { return WithParams(sql, dialect); };
  Statements s;
  s.insert_key = p(Insert("keys", kKeyColumns, kKeyColumnCount));
  s.insert_label = p(std::string(kInsertLabel) + "(" + ParamList(5) + ")");
  s.delete_labels = p("DELETE FROM key_labels WHERE key_id = #1");
  s.get_key = p(Select(kKeyColumns, "FROM keys WHERE id = #1"));
  s.get_key_by_name = p(Select(kKeyColumns, "FROM keys WHERE project_id = #1 AND name = #2"));

  s.insert_token = p(Insert("tokens", kTokenColumns, kTokenColumnCount));
  // With the token, whether its user is disabled (TokenRecord::user_disabled, ReadToken).
  const std::string token_and_user =
      std::string(kTokenColumns) +
      ", EXISTS (SELECT 1 FROM users WHERE users.id = tokens.user_id AND users.disabled)";
  s.get_token = p(Select(token_and_user, "FROM tokens WHERE id = #1"));
  s.list_tokens = Select(token_and_user, "FROM tokens ORDER BY created_at_us, id");
  // The token, and the access tokens of a session (parent_id).
  s.revoke_token =
      p("UPDATE tokens SET revoked_at_us = #2 "
        "WHERE (id = #1 OR parent_id = #1) AND revoked_at_us IS NULL");
  s.auth_generation = "SELECT value FROM auth_generation WHERE id = 1";
  // Row 0 holds what moves every project's revocations (a user's changes), which moves its
  // keys too (a disabled owner's keys are left out of authorized_keys: ListQuery::
  // owner_enabled). PostgreSQL keeps no keys generation (ProjectGenerations::keys).
  s.project_generations =
      dialect == Dialect::kPostgres
          ? p("SELECT COALESCE(SUM(revocations), 0)::BIGINT, NULL FROM project_generations "
              "WHERE project_id IN (0, #1)")
          : p("SELECT COALESCE(SUM(revocations), 0), "
              "COALESCE(SUM(CASE WHEN project_id = 0 THEN revocations ELSE keys END), 0) "
              "FROM project_generations WHERE project_id IN (0, #1)");

  s.insert_login = p(
      "INSERT INTO logins (state_hash, return_to, created_at_us, expires_at_us) "
      "VALUES (#1, #2, #3, #4)");
  s.prune_logins = p("DELETE FROM logins WHERE expires_at_us < #1");
  s.finish_login =
      p("DELETE FROM logins WHERE state_hash = #1 "
        "RETURNING state_hash, return_to, created_at_us, expires_at_us");

  s.insert_device = p(Insert("device_codes", kDeviceColumns, kDeviceColumnCount));
  s.prune_devices = p("DELETE FROM device_codes WHERE expires_at_us < #1");
  s.decide_device =
      p("UPDATE device_codes SET state = #2, user_id = #3, session_id = #4 "
        "WHERE user_code = #1 AND state = 'pending' AND expires_at_us > #5");
  s.get_device = p(Select(kDeviceColumns, "FROM device_codes WHERE code_hash = #1"));
  s.poll_device = p("UPDATE device_codes SET last_poll_us = #2 WHERE code_hash = #1");
  s.take_device = p("DELETE FROM device_codes WHERE code_hash = #1");

  s.get_user = p(Select(kUserColumns, "FROM users WHERE id = #1"));
  s.get_user_by_identity = p(Select(kUserColumns, "FROM users WHERE issuer = #1 AND subject = #2"));
  s.list_users = Select(kUserColumns, "FROM users ORDER BY id");
  // The id as a scalar subquery in VALUES: each parameter then takes its column's type.
  // Atomic on SQLite (one writer); PostgreSQL's caller holds the users' advisory lock.
  s.insert_person =
      p("INSERT INTO users (id, issuer, subject, email, name, groups, disabled, created_at_us, "
        "last_sign_in_at_us) VALUES ((SELECT coalesce(max(id), 0) + 1 FROM users), "
        "#1, #2, #3, #4, #5, FALSE, #6, #6) RETURNING " +
        std::string(kUserColumns));
  s.sign_in =
      p("UPDATE users SET email = #2, name = #3, groups = #4, last_sign_in_at_us = #5 "
        "WHERE id = #1 RETURNING " +
        std::string(kUserColumns));
  s.insert_token_user =
      p("INSERT INTO users (id, created_at_us) VALUES (#1, #2) ON CONFLICT (id) DO NOTHING");
  s.set_user_disabled = p("UPDATE users SET disabled = #2 WHERE id = #1 AND disabled <> #2");
  s.insert_grant = p(Insert("grants", kGrantColumns, kGrantColumnCount));
  s.list_grants = Select(kGrantColumns, "FROM grants ORDER BY created_at_us, id");
  s.delete_grant = p("DELETE FROM grants WHERE id = #1");
  s.insert_join_token =
      p(Insert("host_join_tokens", kJoinTokenColumns, kJoinTokenColumnCount));
  s.list_join_tokens = p(Select(kJoinTokenColumns,
                                "FROM host_join_tokens WHERE project_id = #1 "
                                "ORDER BY created_at_us, id"));
  s.get_join_token = p(Select(kJoinTokenColumns, "FROM host_join_tokens WHERE id = #1"));
  s.delete_join_token = p("DELETE FROM host_join_tokens WHERE project_id = #1 AND id = #2");
  s.use_join_token =
      p("UPDATE host_join_tokens SET uses_left = uses_left - 1 WHERE id = #1 AND "
        "secret_hash = #2 AND uses_left > 0 AND expires_at_us > #3 AND project_id = #4");
  s.insert_host = p(Insert("hosts", kHostColumns, kHostColumnCount));
  s.get_host = p(Select(kHostColumns, "FROM hosts WHERE id = #1"));
  s.list_hosts =
      p(Select(kHostColumns, "FROM hosts WHERE project_id = #1 ORDER BY enrolled_at_us, id"));
  s.renew_host =
      p("UPDATE hosts SET public_keys = #2, renewed_at_us = #3, valid_before_s = #4 "
        "WHERE id = #1");
  s.delete_host = p("DELETE FROM hosts WHERE project_id = #1 AND id = #2");
  s.insert_host_certificate =
      p(Insert("host_certificates", kHostCertificateColumns, kHostCertificateColumnCount));
  s.revoke_host_certificates =
      p("UPDATE host_certificates SET revoked_at_us = #2 "
        "WHERE host_id = #1 AND revoked_at_us IS NULL");
  s.revoked_host_serials = p(kRevokedHostSerialsSql);

  s.insert_ca =
      p(Insert("ssh_cas", kCaColumns, kCaColumnCount) + " ON CONFLICT (project_id, kind) DO NOTHING");
  s.get_ca = p(Select(kCaColumns, "FROM ssh_cas WHERE project_id = #1 AND kind = #2"));
  // On PostgreSQL this row-locks the CA: signers on every node take serials one at a time.
  s.next_serial =
      p("UPDATE ssh_cas SET next_serial = next_serial + 1 WHERE project_id = #1 AND kind = #2 "
        "RETURNING next_serial - 1");
  // A rotation: in one transaction, the CA row locked first (PostgreSQL: rotations take
  // turns; a signer's next serial waits for the rotation to commit).
  s.lock_ca = p(std::string("SELECT generation FROM ssh_cas WHERE project_id = #1 AND kind = #2") +
                (dialect == Dialect::kPostgres ? " FOR UPDATE" : ""));
  s.keep_old_ca_key =
      p("INSERT INTO ssh_ca_old_keys (project_id, kind, generation, public_key, created_at_us, "
        "rotated_at_us) SELECT project_id, kind, generation, public_key, created_at_us, #3 "
        "FROM ssh_cas WHERE project_id = #1 AND kind = #2");
  s.rotate_ca =
      p("UPDATE ssh_cas SET public_key = #3, sealed_seed = #4, created_at_us = #5, "
        "generation = generation + 1 WHERE project_id = #1 AND kind = #2 RETURNING " +
        std::string(kCaColumns));
  s.ca_keys = p(kCaKeysSql);
  s.delete_ca_key =
      p("UPDATE ssh_ca_old_keys SET deleted_at_us = #4 WHERE project_id = #1 AND kind = #2 "
        "AND generation = #3 AND deleted_at_us IS NULL");
  s.revoke_ca_key_certificates =
      p("UPDATE certificates SET revoked_at_us = #3 "
        "WHERE project_id = #1 AND ca_generation = #2 AND revoked_at_us IS NULL");
  s.revoke_host_ca_key_certificates =
      p("UPDATE host_certificates SET revoked_at_us = #3 "
        "WHERE project_id = #1 AND ca_generation = #2 AND revoked_at_us IS NULL");
  s.insert_certificate = p(Insert("certificates", kCertificateColumns, kCertificateColumnCount));
  s.get_certificate =
      p(Select(kCertificateColumns, "FROM certificates WHERE project_id = #1 AND serial = #2"));
  s.revoke_certificate =
      p("UPDATE certificates SET revoked_at_us = #3 "
        "WHERE project_id = #1 AND serial = #2 AND revoked_at_us IS NULL");
  s.revoked_serials = p(kRevokedSerialsSql);

  s.insert_event = p(Insert("events", kEventColumns, kEventColumnCount));
  s.prune_events =
      p("DELETE FROM events WHERE (time_us, id) IN (SELECT time_us, id FROM events "
        "WHERE time_us < #1 ORDER BY time_us, id LIMIT #2)");

  s.undescribed_keys = "SELECT id, public_key FROM keys WHERE type = ''";
  s.describe_key =
      p("UPDATE keys SET type = #2, bits = #3, comment = #4, fingerprint_sha256 = #5 "
        "WHERE id = #1");
  return s;
}

}  // namespace

const Statements& StatementsFor(Dialect dialect) {
  static const Statements kSqlite = Make(Dialect::kSqlite);
  static const Statements kPostgres = Make(Dialect::kPostgres);
  return dialect == Dialect::kSqlite ? kSqlite : kPostgres;
}

}  // namespace keypaird::store::sql
