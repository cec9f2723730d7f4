// The PostgreSQL KeyStore: the store's operations over the libpq driver (driver.h) and
// the migrations (migrations.h). Schema, rows and SQL are shared with SQLite
// (store/sql/).
//
// Every call leases one pooled connection, checks that it is still alive (an idle
// connection whose socket has become readable was closed or is being closed by the
// server: it is reopened, so a restarted server costs no failed request), runs its
// prepared statements and returns the connection. A connection that failed, timed out or
// lost its server is reopened on its next use; after a failed connect every call fails
// at once for a short back-off instead of queueing behind connect attempts. Nothing is
// cached above the database. libpq's own message of a failed connect is logged (it names
// host, port, user and database, never the password), once per outage.
//
// Threading: every KeyStore method may be called from any thread; each runs on the
// caller's thread with a connection leased to it alone.

#include "store/postgres/postgres_store.h"

#include <chrono>
#include <cstdint>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/log.h"
#include "store/key_store.h"
#include "store/postgres/driver.h"
#include "store/postgres/migrations.h"
#include "store/sql/diagnostics.h"
#include "store/sql/pool.h"
#include "store/sql/rows.h"
#include "store/sql/schema.h"
#include "store/store_internal.h"

namespace keypaird::store {
namespace pg {
namespace {

// Waiting for a free pooled connection.
constexpr std::chrono::seconds kAcquireTimeout{3};
// After a failed connect, calls that need a new connection fail at once for this long.
constexpr std::chrono::milliseconds kReconnectBackoff{250};

// ---------------------------------------------------------------------------------------
// Statements.

const Statement kInsertKey{"insert_key", Sql().insert_key};
const Statement kInsertLabel{"insert_label", Sql().insert_label};
const Statement kDeleteLabels{"delete_labels", Sql().delete_labels};
const Statement kGetKeyForUpdate{"get_key_for_update", Sql().get_key + " FOR UPDATE"};
const Statement kUpdateKey{"update_key", sql::UpdateKeySql(sql::Dialect::kPostgres, true)};
const Statement kGetKey{"get_key", Sql().get_key};
const Statement kGetKeyByName{"get_key_by_name", Sql().get_key_by_name};
// Labels go with the key (ON DELETE CASCADE).
const Statement kDeleteKey{
    "delete_key", "DELETE FROM keys WHERE id = $1 AND ($2::BIGINT IS NULL OR revision = $2)"};
const Statement kInsertToken{"insert_token", Sql().insert_token};
const Statement kGetToken{"get_token", Sql().get_token};
const Statement kListTokens{"list_tokens", Sql().list_tokens};
const Statement kRevokeToken{"revoke_token", Sql().revoke_token};
const Statement kPing{"ping", "SELECT 1"};
const Statement kAuthGeneration{"auth_generation", Sql().auth_generation};
const Statement kProjectGenerations{"project_generations", Sql().project_generations};
const Statement kInsertCa{"insert_ca", Sql().insert_ca};
const Statement kGetCa{"get_ca", Sql().get_ca};
const Statement kNextSerial{"next_serial", Sql().next_serial};
const Statement kLockCa{"lock_ca", Sql().lock_ca};
const Statement kKeepOldCaKey{"keep_old_ca_key", Sql().keep_old_ca_key};
const Statement kRotateCa{"rotate_ca", Sql().rotate_ca};
const Statement kCaKeys{"ca_keys", Sql().ca_keys};
const Statement kDeleteCaKey{"delete_ca_key", Sql().delete_ca_key};
const Statement kRevokeCaKeyCertificates{"revoke_ca_key_certificates",
                                         Sql().revoke_ca_key_certificates};
const Statement kRevokeHostCaKeyCertificates{"revoke_host_ca_key_certificates",
                                             Sql().revoke_host_ca_key_certificates};
const Statement kInsertCertificate{"insert_certificate", Sql().insert_certificate};
const Statement kGetCertificate{"get_certificate", Sql().get_certificate};
const Statement kRevokeCertificate{"revoke_certificate", Sql().revoke_certificate};
const Statement kRevokedSerials{"revoked_serials", Sql().revoked_serials};
const Statement kGetUser{"get_user", Sql().get_user};
// Row-locked: a sign-in and a concurrent SetUserDisabled of the user go one after the other.
const Statement kGetPersonForUpdate{"get_person_for_update",
                                    Sql().get_user_by_identity + " FOR UPDATE"};
const Statement kListUsers{"list_users", Sql().list_users};
const Statement kInsertPerson{"insert_person", Sql().insert_person};
const Statement kSignIn{"sign_in", Sql().sign_in};
const Statement kInsertTokenUser{"insert_token_user", Sql().insert_token_user};
const Statement kSetUserDisabled{"set_user_disabled", Sql().set_user_disabled};
// pg_advisory_xact_lock key of the transactions that make users ("kpd_user"): a new
// person's id is max(id) + 1, so the makers, on every node, take turns. A statement after
// the lock reads what the previous holder committed (READ COMMITTED: a snapshot per
// statement). Sign-ins of existing users do not take it.
constexpr int64_t kUsersLockKey = 0x6b70645f75736572;
const Statement kLockUsers{"lock_users",
                           "SELECT pg_advisory_xact_lock(" + std::to_string(kUsersLockKey) + ")"};
const Statement kInsertGrant{"insert_grant", Sql().insert_grant};
const Statement kListGrants{"list_grants", Sql().list_grants};
const Statement kDeleteGrant{"delete_grant", Sql().delete_grant};
const Statement kInsertJoinToken{"insert_join_token", Sql().insert_join_token};
const Statement kListJoinTokens{"list_join_tokens", Sql().list_join_tokens};
const Statement kDeleteJoinToken{"delete_join_token", Sql().delete_join_token};
const Statement kGetJoinToken{"get_join_token", Sql().get_join_token};
const Statement kUseJoinToken{"use_join_token", Sql().use_join_token};
const Statement kInsertHost{"insert_host", Sql().insert_host};
const Statement kGetHost{"get_host", Sql().get_host};
const Statement kListHosts{"list_hosts", Sql().list_hosts};
const Statement kRenewHost{"renew_host", Sql().renew_host};
const Statement kDeleteHost{"delete_host", Sql().delete_host};
const Statement kInsertHostCertificate{"insert_host_certificate", Sql().insert_host_certificate};
const Statement kRevokeHostCertificates{"revoke_host_certificates",
                                        Sql().revoke_host_certificates};
const Statement kRevokedHostSerials{"revoked_host_serials", Sql().revoked_host_serials};
const Statement kInsertEvent{"insert_event", Sql().insert_event};
// The expired sign-ins go with each new one: one statement, one round trip.
const Statement kStartLogin{
    "start_login", "WITH pruned AS (DELETE FROM logins WHERE expires_at_us < $3) " +
                       Sql().insert_login};
const Statement kFinishLogin{"finish_login", Sql().finish_login};
const Statement kStartDevice{
    "start_device", "WITH pruned AS (DELETE FROM device_codes WHERE expires_at_us < $3) " +
                        Sql().insert_device};
const Statement kDecideDevice{"decide_device", Sql().decide_device};
// Row-locked: two polls of one code go one after the other, so a decision is taken once.
const Statement kGetDeviceForUpdate{"get_device_for_update", Sql().get_device + " FOR UPDATE"};
const Statement kPollDevice{"poll_device", Sql().poll_device};
const Statement kTakeDevice{"take_device", Sql().take_device};
const Statement kPruneEvents{"prune_events", Sql().prune_events};
// A key without labels and its event in one statement, which is its own transaction: one
// round trip instead of four (BEGIN, two INSERTs, COMMIT). The event row is made from the
// key's, so a key refused (taken name or id) leaves no event, and an event refused undoes
// the key. Its parameters: KeyValues, then EventValues.
const Statement kInsertKeyWithEvent{"insert_key_with_event", [] {
  std::string event_params;
  for (int i = 1; i <= sql::kEventColumnCount; ++i) {
    event_params += (i > 1 ? ", $" : "$") + std::to_string(sql::kKeyColumnCount + i);
  }
  return "WITH k AS (" + Sql().insert_key + " RETURNING 1) INSERT INTO events (" +
         std::string(sql::kEventColumns) + ") SELECT " + event_params + " FROM k";
}()};

// The statements of one ListQuery shape and its parameters. The page statement carries
// the total in every row (an InitPlan: one snapshot, one round trip); limit and offset
// are its last two parameters.
struct ListStatements {
  Statement page;
  Statement count;  // the total alone
  Params filters;
  Params page_params;
};

ListStatements MakeListStatements(const ListQuery& q) {
  const sql::ListSql list = sql::BuildListSql(q, sql::Dialect::kPostgres);
  ListStatements out;
  const size_t n = list.params.size();
  out.page.name = "list_" + list.shape + (q.with_total ? "" : "_nt");
  out.page.sql = "SELECT " + sql::KeyColumnsOf("k.") +
                 (q.with_total ? ", (SELECT count(*)" + list.from + list.where + ")" : "") +
                 list.from + list.where + list.order + " LIMIT " +
                 sql::Param(sql::Dialect::kPostgres, n + 1) + " OFFSET " +
                 sql::Param(sql::Dialect::kPostgres, n + 2);
  out.count.name = "count_" + list.shape;
  out.count.sql = "SELECT count(*)" + list.from + list.where;
  out.filters = ToParams(list.params);
  out.page_params = out.filters;
  // LIMIT NULL is no limit.
  out.page_params.push_back(q.limit < 0 ? std::nullopt : ToText(q.limit));
  out.page_params.push_back(ToText(q.offset));
  return out;
}

// ---------------------------------------------------------------------------------------

class PostgresStore final : public KeyStore, public sql::Diagnostics {
 public:
  static StatusOr<std::unique_ptr<PostgresStore>> Open(const std::string& url,
                                                       const StoreOptions& options) {
    if (options.pool_size < 1) return InvalidArgument("the connection pool size must be >= 1");
    auto settings = MakeConnectSettings(url);
    if (!settings.ok()) return settings.status();
    auto store =
        std::unique_ptr<PostgresStore>(new PostgresStore(std::move(*settings), options.pool_size));
    // The first connection now: fail at start, with a clear message, rather than on the
    // first request. The others open on first use.
    auto lease = store->pool_.Acquire(Clock::now() + kAcquireTimeout);
    if (!lease.ok()) return lease.status();
    if (Status s = (*lease)->Open(store->settings_); !s.ok()) {
      LogLine(LogLevel::kError, "cannot connect to the database")
          .Str("error", OneLine((*lease)->last_error()));
      return Unavailable("cannot connect to the database");
    }
    if (Status s = sql::Migrate(*MigrationSessionOn(**lease), sql::Dialect::kPostgres,
                                options.apply_migrations, options.describe_key);
        !s.ok()) {
      return s;
    }
    return store;
  }

  Status InsertKey(const KeyRecord& key, const EventRecord& event) override {
    return Call(/*retry=*/false, [&](Connection& conn, Deadline deadline) -> Status {
      if (key.labels.empty() && !event.action.empty()) {  // what every Gcore create is
        std::vector<sql::SqlValue> values = sql::KeyValues(key);
        std::vector<sql::SqlValue> event_values = sql::EventValues(event);
        values.insert(values.end(), std::make_move_iterator(event_values.begin()),
                      std::make_move_iterator(event_values.end()));
        auto r = conn.Run(kInsertKeyWithEvent, ToParams(values), deadline);
        return r.ok() ? Status::Ok() : KeyInsertError(conn, r.status());
      }
      // A key with labels or an event is several statements: one transaction.
      const bool several = !key.labels.empty() || !event.action.empty();
      return InTransaction(conn, deadline, several, [&]() -> Status {
        auto r = conn.Run(kInsertKey, ToParams(sql::KeyValues(key)), deadline);
        if (!r.ok()) return KeyInsertError(conn, r.status());
        if (Status s = InsertLabels(conn, key, deadline); !s.ok()) return s;
        return InsertEvent(conn, event, deadline);
      });
    });
  }

  StatusOr<KeyRecord> GetKey(std::string_view id) override {
    return ReadOneKey(kGetKey, {std::string(id)});
  }

  StatusOr<KeyRecord> GetKeyByName(int64_t project_id, std::string_view name) override {
    return ReadOneKey(kGetKeyByName, {std::to_string(project_id), std::string(name)});
  }

  StatusOr<KeyPage> ListKeys(const ListQuery& query) override {
    if (Status s = ValidateListQuery(query); !s.ok()) return s;
    const ListStatements statements = MakeListStatements(query);
    return Call(/*retry=*/true, [&](Connection& conn, Deadline deadline) -> StatusOr<KeyPage> {
      KeyPage page;
      if (query.limit == 0 && query.with_total) {  // only the total
        auto count = conn.Run(statements.count, statements.filters, deadline);
        if (!count.ok()) return count.status();
        page.total = count->Int64(0, 0);
        return page;
      }
      auto r = conn.Run(statements.page, statements.page_params, deadline);
      if (!r.ok()) return r.status();
      if (r->rows() > 0 || !query.with_total) return PageOf(*r, query.with_total);
      if (query.offset == 0) return page;  // nothing matched (total 0, same snapshot)
      // Past the end: an empty page carries no total. Read both again from one snapshot:
      // the total must agree with the emptiness (clients page while offset < total).
      if (auto b = conn.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", deadline);
          !b.ok()) {
        return b.status();
      }
      StatusOr<KeyPage> snapshot = ReadPageInTransaction(conn, statements, deadline);
      if (!snapshot.ok()) {
        conn.Rollback(deadline);
        return snapshot;
      }
      if (auto c = conn.Exec("COMMIT", deadline); !c.ok()) {
        conn.Rollback(deadline);
        return StatusOr<KeyPage>(c.status());
      }
      return snapshot;
    });
  }

  Status DeleteKey(std::string_view id, std::optional<int64_t> expected_revision,
                   const EventRecord& event) override {
    return Call(false, [&](Connection& conn, Deadline deadline) -> Status {
      return InTransaction(conn, deadline, !event.action.empty(), [&]() -> Status {
        auto r = conn.Run(
            kDeleteKey,
            {std::string(id), expected_revision ? ToText(*expected_revision) : std::nullopt},
            deadline);
        if (!r.ok()) return r.status();
        if (r->Affected() > 0) return InsertEvent(conn, event, deadline);
        auto exists = conn.Run(kGetKey, {std::string(id)}, deadline);
        if (!exists.ok()) return exists.status();
        return exists->rows() > 0 ? FailedPrecondition(std::string(kKeyChanged))
                                  : NotFound(std::string(kKeyNotFound));
      });
    });
  }

  StatusOr<KeyRecord> UpdateKey(std::string_view id, const KeyUpdate& update,
                                std::optional<int64_t> expected_revision,
                                const EventRecord& event) override {
    KeyRecord updated;
    Status status = Call(false, [&](Connection& conn, Deadline deadline) -> Status {
      return InTransaction(conn, deadline, true, [&]() -> Status {
        auto current_row = conn.Run(kGetKeyForUpdate, {std::string(id)}, deadline);
        if (!current_row.ok()) return current_row.status();
        if (current_row->rows() == 0) return NotFound(std::string(kKeyNotFound));
        StatusOr<KeyRecord> current = sql::ReadKey(Row(*current_row, 0));
        if (!current.ok()) return current.status();
        if (expected_revision && current->revision != *expected_revision) {
          return FailedPrecondition(std::string(kKeyChanged));
        }
        KeyRecord next = *current;
        ApplyUpdate(update, &next);
        next.updated_at_us = update.updated_at_us;
        auto r =
            conn.Run(kUpdateKey, ToParams(sql::UpdateValues(next, current->revision)), deadline);
        if (!r.ok()) {
          return r.status().code() == StatusCode::kAlreadyExists
                     ? AlreadyExists(std::string(kKeyNameTaken))
                     : r.status();
        }
        if (r->rows() == 0) return FailedPrecondition(std::string(kKeyChanged));
        StatusOr<KeyRecord> row = sql::ReadKey(Row(*r, 0));
        if (!row.ok()) return row.status();
        updated = std::move(*row);
        if (update.labels && *update.labels != current->labels) {
          auto d = conn.Run(kDeleteLabels, {updated.id}, deadline);
          if (!d.ok()) return d.status();
          if (Status s = InsertLabels(conn, updated, deadline); !s.ok()) return s;
        }
        return InsertEvent(conn, event, deadline);
      });
    });
    if (!status.ok()) return status;
    return updated;
  }

  Status InsertToken(const TokenRecord& token, const EventRecord& event) override {
    return Call(false, [&](Connection& conn, Deadline deadline) -> Status {
      const bool several = token.user_id >= 1 || !event.action.empty();
      return InTransaction(conn, deadline, several, [&]() -> Status {
        auto r = conn.Run(kInsertToken,
                          ToParams(sql::TokenValues(token, sql::Dialect::kPostgres)), deadline);
        if (!r.ok()) {
          return r.status().code() == StatusCode::kAlreadyExists
                     ? AlreadyExists(std::string(kTokenIdTaken))
                     : r.status();
        }
        if (token.user_id >= 1) {
          auto made = MakeTokenUser(conn, token.user_id, token.created_at_us, deadline);
          if (!made.ok()) return made.status();
        }
        return InsertEvent(conn, event, deadline);
      });
    });
  }

  StatusOr<TokenRecord> GetToken(std::string_view id) override {
    return Call(true, [&](Connection& conn, Deadline deadline) -> StatusOr<TokenRecord> {
      auto r = conn.Run(kGetToken, {std::string(id)}, deadline);
      if (!r.ok()) return r.status();
      if (r->rows() == 0) return NotFound(std::string(kTokenNotFound));
      return sql::ReadToken(Row(*r, 0));
    });
  }

  StatusOr<std::vector<TokenRecord>> ListTokens() override {
    return ReadAll<TokenRecord>(kListTokens, [](const Row& row) { return sql::ReadToken(row); });
  }

  Status RevokeToken(std::string_view id, int64_t at_us, const EventRecord& event) override {
    // Idempotent in effect (only a token not revoked yet changes, and only that change
    // is an event), so a retry after a lost connection is safe.
    return Call(true, [&](Connection& conn, Deadline deadline) -> Status {
      return InTransaction(conn, deadline, !event.action.empty(), [&]() -> Status {
        auto r = conn.Run(kRevokeToken, {std::string(id), std::to_string(at_us)}, deadline);
        if (!r.ok()) return r.status();
        if (r->Affected() > 0) return InsertEvent(conn, event, deadline);
        auto exists = conn.Run(kGetToken, {std::string(id)}, deadline);
        if (!exists.ok()) return exists.status();
        return exists->rows() > 0 ? Status::Ok() : NotFound(std::string(kTokenNotFound));
      });
    });
  }

  // --- users and grants

  StatusOr<UserRecord> SignIn(const UserRecord& claims, int64_t now_us,
                              const EventRecord& event) override {
    if (Status s = ValidateClaims(claims); !s.ok()) return s;
    UserRecord user;
    Status status = Call(false, [&](Connection& conn, Deadline deadline) -> Status {
      return InTransaction(conn, deadline, true, [&]() -> Status {
        StatusOr<std::optional<UserRecord>> found = FindPerson(conn, claims, deadline);
        if (found.ok() && !found->has_value()) {
          // A first sign-in: take the makers' lock, then look again (the same person's
          // concurrent first sign-in may have made the user meanwhile).
          if (auto r = conn.Run(kLockUsers, {}, deadline); !r.ok()) return r.status();
          found = FindPerson(conn, claims, deadline);
        }
        if (!found.ok()) return found.status();
        return sql::WriteSignIn(
            std::move(*found), claims, now_us, event,
            [&](bool made, const std::vector<sql::SqlValue>& values) {
              return UserReturnedBy(conn, made ? kInsertPerson : kSignIn, values, deadline);
            },
            [&](const EventRecord& e) { return InsertEvent(conn, e, deadline); }, &user);
      });
    });
    if (!status.ok()) return status;
    return user;
  }

  Status EnsureUser(int64_t id, int64_t now_us, const EventRecord& event) override {
    if (Status s = ValidateUserId(id); !s.ok()) return s;
    // Idempotent (ON CONFLICT DO NOTHING; the event only with the row that was made): safe
    // to repeat after a lost connection.
    return Call(true, [&](Connection& conn, Deadline deadline) -> Status {
      return InTransaction(conn, deadline, true, [&]() -> Status {
        StatusOr<bool> made = MakeTokenUser(conn, id, now_us, deadline);
        if (!made.ok()) return made.status();
        return *made ? InsertEvent(conn, event, deadline) : Status::Ok();
      });
    });
  }

  StatusOr<UserRecord> GetUser(int64_t id) override {
    return Call(true, [&](Connection& conn, Deadline deadline) -> StatusOr<UserRecord> {
      auto r = conn.Run(kGetUser, {ToText(id)}, deadline);
      if (!r.ok()) return r.status();
      if (r->rows() == 0) return NotFound(std::string(kUserNotFound));
      return sql::ReadUser(Row(*r, 0));
    });
  }

  StatusOr<std::vector<UserRecord>> ListUsers() override {
    return ReadAll<UserRecord>(kListUsers, [](const Row& row) { return sql::ReadUser(row); });
  }

  Status SetUserDisabled(int64_t id, bool disabled, int64_t /*now_us*/,
                         const EventRecord& event) override {
    // Idempotent in effect (only a change is made, and only it is an event).
    return Call(true, [&](Connection& conn, Deadline deadline) -> Status {
      return InTransaction(conn, deadline, !event.action.empty(), [&]() -> Status {
        auto r = conn.Run(kSetUserDisabled, {ToText(id), ToText(disabled)}, deadline);
        if (!r.ok()) return r.status();
        if (r->Affected() > 0) return InsertEvent(conn, event, deadline);
        auto exists = conn.Run(kGetUser, {ToText(id)}, deadline);
        if (!exists.ok()) return exists.status();
        return exists->rows() > 0 ? Status::Ok() : NotFound(std::string(kUserNotFound));
      });
    });
  }

  Status InsertGrant(const GrantRecord& grant, const EventRecord& event) override {
    if (Status s = ValidateGrant(grant); !s.ok()) return s;
    return Call(false, [&](Connection& conn, Deadline deadline) -> Status {
      const bool several = grant.user_id != 0 || !event.action.empty();
      return InTransaction(conn, deadline, several, [&]() -> Status {
        // Users are never deleted: the check holds until the commit.
        if (grant.user_id != 0) {
          auto user = conn.Run(kGetUser, {ToText(grant.user_id)}, deadline);
          if (!user.ok()) return user.status();
          if (user->rows() == 0) return NotFound(std::string(kUserNotFound));
        }
        auto r = conn.Run(kInsertGrant, ToParams(sql::GrantValues(grant, sql::Dialect::kPostgres)),
                          deadline);
        if (r.ok()) return InsertEvent(conn, event, deadline);
        if (r.status().code() == StatusCode::kAlreadyExists) {
          return AlreadyExists(std::string(kGrantIdTaken));
        }
        return r.status();
      });
    });
  }

  StatusOr<std::vector<GrantRecord>> ListGrants() override {
    return ReadAll<GrantRecord>(kListGrants, [](const Row& row) { return sql::ReadGrant(row); });
  }

  Status DeleteGrant(std::string_view id, const EventRecord& event) override {
    return Call(false, [&](Connection& conn, Deadline deadline) -> Status {
      return InTransaction(conn, deadline, !event.action.empty(), [&]() -> Status {
        auto r = conn.Run(kDeleteGrant, {std::string(id)}, deadline);
        if (!r.ok()) return r.status();
        if (r->Affected() == 0) return NotFound(std::string(kGrantNotFound));
        return InsertEvent(conn, event, deadline);
      });
    });
  }

  Status InsertJoinToken(const JoinTokenRecord& token, const EventRecord& event) override {
    if (Status s = ValidateJoinToken(token); !s.ok()) return s;
    return Call(false, [&](Connection& conn, Deadline deadline) -> Status {
      return InTransaction(conn, deadline, !event.action.empty(), [&]() -> Status {
        auto r = conn.Run(kInsertJoinToken, ToParams(sql::JoinTokenValues(token)), deadline);
        if (r.ok()) return InsertEvent(conn, event, deadline);
        if (r.status().code() == StatusCode::kAlreadyExists) {
          return AlreadyExists(std::string(kJoinTokenIdTaken));
        }
        return r.status();
      });
    });
  }

  StatusOr<std::vector<JoinTokenRecord>> ListJoinTokens(int64_t project_id) override {
    return ReadAll<JoinTokenRecord>(
        kListJoinTokens, [](const Row& row) { return sql::ReadJoinToken(row); },
        {ToText(project_id)});
  }

  StatusOr<JoinTokenRecord> GetJoinToken(std::string_view id) override {
    return Call(true, [&](Connection& conn, Deadline deadline) -> StatusOr<JoinTokenRecord> {
      auto r = conn.Run(kGetJoinToken, {std::string(id)}, deadline);
      if (!r.ok()) return r.status();
      if (r->rows() == 0) return NotFound(std::string(kJoinTokenNotFound));
      return sql::ReadJoinToken(Row(*r, 0));
    });
  }

  Status DeleteJoinToken(int64_t project_id, std::string_view id,
                         const EventRecord& event) override {
    return Call(false, [&](Connection& conn, Deadline deadline) -> Status {
      return InTransaction(conn, deadline, !event.action.empty(), [&]() -> Status {
        auto r = conn.Run(kDeleteJoinToken, {ToText(project_id), std::string(id)}, deadline);
        if (!r.ok()) return r.status();
        if (r->Affected() == 0) return NotFound(std::string(kJoinTokenNotFound));
        return InsertEvent(conn, event, deadline);
      });
    });
  }

  Status EnrollHost(std::string_view join_token_id, std::string_view join_secret_hash,
                    int64_t now_us, const HostRecord& host,
                    const std::vector<HostCertificateRecord>& certificates,
                    const EventRecord& event) override {
    if (Status s = ValidateHost(host); !s.ok()) return s;
    // Not retried: the first attempt may have spent the use.
    return Call(false, [&](Connection& conn, Deadline deadline) -> Status {
      return InTransaction(conn, deadline, true, [&]() -> Status {
        auto spent = conn.Run(kUseJoinToken,
                              ToParams({std::string(join_token_id),
                                        sql::SqlBlob{std::string(join_secret_hash)}, now_us,
                                        host.project_id}),
                              deadline);
        if (!spent.ok()) return spent.status();
        if (spent->Affected() == 0) return NotFound(std::string(kJoinTokenNotUsable));
        auto r = conn.Run(kInsertHost, ToParams(sql::HostValues(host)), deadline);
        if (!r.ok()) {
          if (r.status().code() == StatusCode::kAlreadyExists) {
            return AlreadyExists(std::string(kHostIdTaken));
          }
          return r.status();
        }
        if (Status c = InsertHostCertificates(conn, certificates, deadline); !c.ok()) return c;
        return InsertEvent(conn, event, deadline);
      });
    });
  }

  StatusOr<HostRecord> GetHost(std::string_view id) override {
    return Call(true, [&](Connection& conn, Deadline deadline) -> StatusOr<HostRecord> {
      auto r = conn.Run(kGetHost, {std::string(id)}, deadline);
      if (!r.ok()) return r.status();
      if (r->rows() == 0) return NotFound(std::string(kHostNotFound));
      return sql::ReadHost(Row(*r, 0));
    });
  }

  StatusOr<std::vector<HostRecord>> ListHosts(int64_t project_id) override {
    return ReadAll<HostRecord>(
        kListHosts, [](const Row& row) { return sql::ReadHost(row); }, {ToText(project_id)});
  }

  Status RenewHost(const HostRecord& host, const std::vector<HostCertificateRecord>& certificates,
                   const EventRecord& event) override {
    if (Status s = ValidateHost(host); !s.ok()) return s;
    return Call(false, [&](Connection& conn, Deadline deadline) -> Status {
      return InTransaction(conn, deadline, true, [&]() -> Status {
        auto r = conn.Run(kRenewHost,
                          {host.id, sql::JoinPrincipals(host.public_keys),
                           ToText(host.renewed_at_us), ToText(host.valid_before_s)},
                          deadline);
        if (!r.ok()) return r.status();
        if (r->Affected() == 0) return NotFound(std::string(kHostNotFound));
        if (Status c = InsertHostCertificates(conn, certificates, deadline); !c.ok()) return c;
        return InsertEvent(conn, event, deadline);
      });
    });
  }

  Status DeleteHost(int64_t project_id, std::string_view id, int64_t at_us,
                    const EventRecord& event) override {
    return Call(false, [&](Connection& conn, Deadline deadline) -> Status {
      return InTransaction(conn, deadline, true, [&]() -> Status {
        auto r = conn.Run(kDeleteHost, {ToText(project_id), std::string(id)}, deadline);
        if (!r.ok()) return r.status();
        if (r->Affected() == 0) return NotFound(std::string(kHostNotFound));
        auto revoked =
            conn.Run(kRevokeHostCertificates, {std::string(id), ToText(at_us)}, deadline);
        if (!revoked.ok()) return revoked.status();
        return InsertEvent(conn, event, deadline);
      });
    });
  }

  Status Ping() override {
    Status s = Call(true, [&](Connection& conn, Deadline deadline) -> Status {
      return conn.Run(kPing, {}, deadline).status();
    });
    return s.ok() || s.code() == StatusCode::kUnavailable ? s : Unavailable(std::string(kDown));
  }

  StatusOr<int64_t> AuthGeneration() override {
    return Call(true, [&](Connection& conn, Deadline deadline) -> StatusOr<int64_t> {
      auto r = conn.Run(kAuthGeneration, {}, deadline);
      if (!r.ok()) return r.status();
      if (r->rows() == 0) return Internal("the auth_generation row is missing");
      return Row(*r, 0).Int64(0);
    });
  }

  StatusOr<ProjectGenerations> GenerationsOf(int64_t project_id) override {
    return Call(true, [&](Connection& conn, Deadline deadline) -> StatusOr<ProjectGenerations> {
      auto r = conn.Run(kProjectGenerations, {ToText(project_id)}, deadline);
      if (!r.ok()) return r.status();
      if (r->rows() == 0) return Internal("no answer to the project's generations");
      return ProjectGenerations{.revocations = r->Int64(0, 0), .keys = std::nullopt};
    });
  }

  // --- sign-in

  Status StartLogin(const LoginRecord& login) override {
    // Not retried: a repeat after a lost answer would find its own row (kAlreadyExists).
    return Call(false, [&](Connection& conn, Deadline deadline) -> Status {
      auto r = conn.Run(kStartLogin,
                        ToParams({sql::SqlBlob{login.state_hash}, login.return_to,
                                  login.created_at_us, login.expires_at_us}),
                        deadline);
      if (r.status().code() == StatusCode::kAlreadyExists) {
        return AlreadyExists(std::string(kLoginTaken));
      }
      return r.status();
    });
  }

  StatusOr<LoginRecord> FinishLogin(std::string_view state_hash, int64_t now_us) override {
    // Not retried: the first attempt may have taken the row.
    StatusOr<LoginRecord> login =
        Call(false, [&](Connection& conn, Deadline deadline) -> StatusOr<LoginRecord> {
          auto r = conn.Run(kFinishLogin, ToParams({sql::SqlBlob{std::string(state_hash)}}),
                            deadline);
          if (!r.ok()) return r.status();
          if (r->rows() == 0) return NotFound(std::string(kLoginNotFound));
          return sql::ReadLogin(Row(*r, 0));
        });
    if (login.ok() && login->expires_at_us < now_us) return NotFound(std::string(kLoginNotFound));
    return login;
  }

  Status StartDevice(const DeviceRecord& device) override {
    return Call(false, [&](Connection& conn, Deadline deadline) -> Status {
      auto r = conn.Run(kStartDevice, ToParams(sql::DeviceValues(device)), deadline);
      if (r.status().code() == StatusCode::kAlreadyExists) {
        return AlreadyExists(std::string(kDeviceTaken));
      }
      return r.status();
    });
  }

  Status DecideDevice(std::string_view user_code, bool approved, int64_t user_id,
                      std::string_view session_id, int64_t now_us) override {
    return Call(true, [&](Connection& conn, Deadline deadline) -> Status {
      auto r = conn.Run(kDecideDevice,
                        ToParams({std::string(user_code),
                                  std::string(approved ? "approved" : "denied"), user_id,
                                  std::string(session_id), now_us}),
                        deadline);
      if (!r.ok()) return r.status();
      return r->Affected() > 0 ? Status::Ok() : NotFound(std::string(kDeviceNotFound));
    });
  }

  StatusOr<DeviceRecord> PollDevice(std::string_view code_hash, int64_t now_us) override {
    return Call(false, [&](Connection& conn, Deadline deadline) -> StatusOr<DeviceRecord> {
      DeviceRecord device;
      Status s = InTransaction(conn, deadline, true, [&]() -> Status {
        const sql::SqlBlob hash{std::string(code_hash)};
        auto r = conn.Run(kGetDeviceForUpdate, ToParams({hash}), deadline);
        if (!r.ok()) return r.status();
        if (r->rows() == 0) return NotFound(std::string(kDeviceNotFound));
        StatusOr<DeviceRecord> row = sql::ReadDevice(Row(*r, 0));
        if (!row.ok()) return row.status();
        device = std::move(*row);
        auto changed = device.state != "pending"
                           ? conn.Run(kTakeDevice, ToParams({hash}), deadline)
                           : conn.Run(kPollDevice, ToParams({hash, now_us}), deadline);
        return changed.status();
      });
      if (!s.ok()) return s;
      return device;
    });
  }

  Status RecordEvent(const EventRecord& event) override {
    if (event.action.empty()) return InvalidArgument(std::string(kNoEventAction));
    return Call(false, [&](Connection& conn, Deadline deadline) -> Status {
      return InsertEvent(conn, event, deadline);
    });
  }

  // --- the SSH CA

  StatusOr<CaRecord> GetOrCreateCa(const CaRecord& candidate, const EventRecord& event) override {
    // Idempotent (ON CONFLICT DO NOTHING; the event only with the row that was made): safe
    // to repeat after a lost connection.
    return Call(true, [&](Connection& conn, Deadline deadline) -> StatusOr<CaRecord> {
      Status made = InTransaction(conn, deadline, !event.action.empty(), [&]() -> Status {
        auto inserted = conn.Run(kInsertCa, ToParams(sql::CaValues(candidate)), deadline);
        if (!inserted.ok()) return inserted.status();
        return inserted->Affected() > 0 ? InsertEvent(conn, event, deadline) : Status::Ok();
      });
      if (!made.ok()) return made;
      auto r = conn.Run(kGetCa, {ToText(candidate.project_id), CaKindName(candidate.kind)},
                        deadline);
      if (!r.ok()) return r.status();
      if (r->rows() == 0) return Internal("the CA vanished");
      return sql::ReadCa(Row(*r, 0));
    });
  }

  StatusOr<CaRecord> GetCa(int64_t project_id, CaKind kind) override {
    return Call(true, [&](Connection& conn, Deadline deadline) -> StatusOr<CaRecord> {
      auto r = conn.Run(kGetCa, {ToText(project_id), CaKindName(kind)}, deadline);
      if (!r.ok()) return r.status();
      if (r->rows() == 0) return NotFound("no CA for the project");
      return sql::ReadCa(Row(*r, 0));
    });
  }

  StatusOr<int64_t> NextSerial(int64_t project_id, CaKind kind) override {
    return Call(false, [&](Connection& conn, Deadline deadline) -> StatusOr<int64_t> {
      auto r = conn.Run(kNextSerial, {ToText(project_id), CaKindName(kind)}, deadline);
      if (!r.ok()) return r.status();
      if (r->rows() == 0) return NotFound("no CA for the project");
      return r->Int64(0, 0);
    });
  }

  StatusOr<CaRecord> RotateCa(const CaRecord& next, const EventRecord& event) override {
    // Not repeated after a lost connection: it might rotate twice.
    return Call(false, [&](Connection& conn, Deadline deadline) -> StatusOr<CaRecord> {
      CaRecord rotated;
      Status s = InTransaction(conn, deadline, true, [&]() -> Status {
        const auto project = ToText(next.project_id);
        const std::string kind = CaKindName(next.kind);
        auto lock = conn.Run(kLockCa, {project, kind}, deadline);
        if (!lock.ok()) return lock.status();
        if (lock->rows() == 0) return NotFound("no CA for the project");
        auto keep = conn.Run(kKeepOldCaKey, {project, kind, ToText(next.created_at_us)}, deadline);
        if (!keep.ok()) return keep.status();
        auto r = conn.Run(kRotateCa,
                          ToParams(std::vector<sql::SqlValue>{
                              next.project_id, kind, next.public_key,
                              sql::SqlBlob{next.sealed_seed}, next.created_at_us}),
                          deadline);
        if (!r.ok()) return r.status();
        if (r->rows() == 0) return Internal("the CA vanished");
        StatusOr<CaRecord> row = sql::ReadCa(Row(*r, 0));
        if (!row.ok()) return row.status();
        rotated = std::move(*row);
        return InsertEvent(conn, event, deadline);
      });
      if (!s.ok()) return s;
      return rotated;
    });
  }

  StatusOr<std::vector<CaKeyRecord>> CaKeysOf(int64_t project_id, CaKind kind) override {
    return Call(true, [&](Connection& conn, Deadline deadline) -> StatusOr<std::vector<CaKeyRecord>> {
      auto r = conn.Run(kCaKeys, {ToText(project_id), CaKindName(kind)}, deadline);
      if (!r.ok()) return r.status();
      std::vector<CaKeyRecord> out;
      for (int i = 0; i < r->rows(); ++i) out.push_back(sql::ReadCaKey(Row(*r, i), project_id, kind));
      return out;
    });
  }

  Status DeleteCaKey(int64_t project_id, CaKind kind, int64_t generation, int64_t at_us,
                     const EventRecord& event) override {
    return Call(false, [&](Connection& conn, Deadline deadline) -> Status {
      return InTransaction(conn, deadline, true, [&]() -> Status {
        const auto project = ToText(project_id);
        const std::string kind_name = CaKindName(kind);
        auto r = conn.Run(kDeleteCaKey, {project, kind_name, ToText(generation), ToText(at_us)},
                          deadline);
        if (!r.ok()) return r.status();
        if (r->Affected() == 0) {
          auto lock = conn.Run(kLockCa, {project, kind_name}, deadline);
          if (!lock.ok()) return lock.status();
          if (lock->rows() > 0 && lock->Int64(0, 0) == generation) {
            return FailedPrecondition("the CA's signing key");
          }
          return NotFound("no such CA key");
        }
        auto revoked = conn.Run(kind == CaKind::kHost ? kRevokeHostCaKeyCertificates
                                                      : kRevokeCaKeyCertificates,
                                {project, ToText(generation), ToText(at_us)}, deadline);
        if (!revoked.ok()) return revoked.status();
        return InsertEvent(conn, event, deadline);
      });
    });
  }

  Status RecordCertificate(const CertificateRecord& c, const EventRecord& event) override {
    return Call(false, [&](Connection& conn, Deadline deadline) -> Status {
      return InTransaction(conn, deadline, !event.action.empty(), [&]() -> Status {
        auto r = conn.Run(kInsertCertificate, ToParams(sql::CertificateValues(c)), deadline);
        if (r.ok()) return InsertEvent(conn, event, deadline);
        if (r.status().code() == StatusCode::kAlreadyExists) {
          return AlreadyExists("the serial is recorded already");
        }
        return r.status();
      });
    });
  }

  StatusOr<CertificateRecord> GetCertificate(int64_t project_id, int64_t serial) override {
    return Call(true, [&](Connection& conn, Deadline deadline) -> StatusOr<CertificateRecord> {
      auto r = conn.Run(kGetCertificate, {ToText(project_id), ToText(serial)}, deadline);
      if (!r.ok()) return r.status();
      if (r->rows() == 0) return NotFound("no such certificate");
      return sql::ReadCertificate(Row(*r, 0));
    });
  }

  Status RevokeCertificate(int64_t project_id, int64_t serial, int64_t at_us,
                           const EventRecord& event) override {
    return Call(true, [&](Connection& conn, Deadline deadline) -> Status {
      return InTransaction(conn, deadline, !event.action.empty(), [&]() -> Status {
        auto r = conn.Run(kRevokeCertificate,
                          {ToText(project_id), ToText(serial), ToText(at_us)}, deadline);
        if (!r.ok()) return r.status();
        if (r->Affected() > 0) return InsertEvent(conn, event, deadline);
        // Revoked already (the first time is kept, no event), or none.
        auto exists = conn.Run(kGetCertificate, {ToText(project_id), ToText(serial)}, deadline);
        if (!exists.ok()) return exists.status();
        return exists->rows() > 0 ? Status::Ok() : NotFound("no such certificate");
      });
    });
  }

  StatusOr<int64_t> PruneEvents(int64_t before_us, int64_t max_rows) override {
    if (max_rows < 1) return InvalidArgument("max_rows must be at least 1");
    // Safe to repeat after a lost connection: it deletes what is old, whoever asks.
    return Call(true, [&](Connection& conn, Deadline deadline) -> StatusOr<int64_t> {
      auto r = conn.Run(kPruneEvents, {ToText(before_us), ToText(max_rows)}, deadline);
      if (!r.ok()) return r.status();
      return static_cast<int64_t>(r->Affected());
    });
  }

  StatusOr<EventPage> ListEvents(const EventQuery& query) override {
    if (Status s = ValidateEventQuery(query); !s.ok()) return s;
    const sql::EventListSql list = sql::BuildEventListSql(query, sql::Dialect::kPostgres);
    return Call(true, [&](Connection& conn, Deadline deadline) -> StatusOr<EventPage> {
      // The count and the page from one snapshot.
      if (query.with_total) {
        if (auto b = conn.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", deadline);
            !b.ok()) {
          return b.status();
        }
      }
      StatusOr<EventPage> page = ReadEvents(conn, list, query.with_total, deadline);
      if (!query.with_total) return page;
      if (!page.ok()) {
        conn.Rollback(deadline);
        return page;
      }
      if (auto c = conn.Exec("COMMIT", deadline); !c.ok()) {
        conn.Rollback(deadline);
        return StatusOr<EventPage>(c.status());
      }
      return page;
    });
  }

  StatusOr<Revocations> RevocationsOf(int64_t project_id, int64_t now_s) override {
    return Call(true, [&](Connection& conn, Deadline deadline) -> StatusOr<Revocations> {
      Revocations out;
      auto serials = conn.Run(kRevokedSerials, {ToText(project_id), ToText(now_s)}, deadline);
      if (!serials.ok()) return serials.status();
      for (int i = 0; i < serials->rows(); ++i) {
        out.serials.push_back(serials->Int64(i, 0));
        out.serial_generations.push_back(serials->Int64(i, 1));
        NoteExpiry(&out, serials->Int64(i, 2));
      }
      auto hosts = conn.Run(kRevokedHostSerials, {ToText(project_id), ToText(now_s)}, deadline);
      if (!hosts.ok()) return hosts.status();
      for (int i = 0; i < hosts->rows(); ++i) {
        out.host_serials.push_back(hosts->Int64(i, 0));
        out.host_serial_generations.push_back(hosts->Int64(i, 1));
        NoteExpiry(&out, hosts->Int64(i, 2));
      }
      return out;
    });
  }

  // --- sql::Diagnostics

  StatusOr<std::vector<std::string>> ExplainListKeys(const ListQuery& query) override {
    const ListStatements statements = MakeListStatements(query);
    return Call(
        false, [&](Connection& conn, Deadline deadline) -> StatusOr<std::vector<std::string>> {
          std::vector<std::string> lines;
          Status s;
          for (const char* sql :
               {"BEGIN", "SET LOCAL enable_seqscan = off", "SET LOCAL enable_sort = off"}) {
            if (auto r = conn.Exec(sql, deadline); !r.ok()) s = r.status();
            if (!s.ok()) break;
          }
          if (s.ok()) {
            auto r =
                conn.RunOnce("EXPLAIN " + statements.page.sql, statements.page_params, deadline);
            if (r.ok()) {
              for (int i = 0; i < r->rows(); ++i) lines.push_back(r->Text(i, 0));
            } else {
              s = r.status();
            }
          }
          conn.Rollback(deadline);
          if (!s.ok()) return s;
          return lines;
        });
  }

  StatusOr<std::vector<std::string>> OnEveryConnection(const std::string& sql) override {
    auto leases = pool_.AcquireAll(Clock::now() + kAcquireTimeout);
    if (!leases.ok()) return leases.status();
    std::vector<std::string> out;
    for (Pool::Lease& lease : *leases) {
      if (!lease->Healthy()) {
        if (Status s = Connect(*lease); !s.ok()) return s;
      }
      auto r = lease->Exec(sql, Clock::now() + kQueryTimeout);
      if (!r.ok()) return r.status();
      out.push_back(r->rows() > 0 ? r->Text(0, 0) : "");
    }
    return out;
  }

 private:
  PostgresStore(ConnectSettings settings, int pool_size)
      : settings_(std::move(settings)), pool_(CloseIfNotIdle()) {
    for (int i = 0; i < pool_size; ++i) pool_.Add(std::make_unique<Connection>());
  }

  static std::string OneLine(std::string text) {
    for (char& c : text) {
      if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    return text;
  }

  // Opens `conn`, unless a connect failed moments ago (then fails at once).
  Status Connect(Connection& conn) {
    {
      std::lock_guard lock(mu_);
      if (Clock::now() < retry_after_) return Unavailable(std::string(kDown));
    }
    Status s = conn.Open(settings_);
    std::lock_guard lock(mu_);
    if (!s.ok()) {
      retry_after_ = Clock::now() + kReconnectBackoff;
      if (!down_) {
        down_ = true;
        LogLine(LogLevel::kError, "database unreachable").Str("error", OneLine(conn.last_error()));
      }
      return s;
    }
    if (down_) {
      down_ = false;
      LogLine(LogLevel::kInfo, "database reachable again");
    }
    return s;
  }

  // Leases a healthy connection and runs `fn(conn, deadline)` on it. If the connection
  // was lost under a call that is safe to repeat (`retry`: reads, and writes whose repeat
  // has the same effect) and had been open before, the call runs once more on a new
  // connection: the server may simply have been restarted since the connection was
  // last used. A stale connection fails fast and is closed by the failure, so retrying
  // until a failure on a fresh connection visits each stale pooled connection once.
  template <typename Fn>
  auto Call(bool retry, Fn&& fn) -> decltype(fn(std::declval<Connection&>(), Deadline())) {
    using R = decltype(fn(std::declval<Connection&>(), Deadline()));
    for (;;) {
      auto lease = pool_.Acquire(Clock::now() + kAcquireTimeout);
      if (!lease.ok()) return R(lease.status());
      Connection& conn = **lease;
      bool fresh = false;
      if (!conn.Healthy()) {
        if (Status s = Connect(conn); !s.ok()) return R(s);
        fresh = true;
      }
      R result = fn(conn, Clock::now() + kQueryTimeout);
      // Every pooled connection may have gone stale in one outage: keep going while the
      // failed one was not fresh (each failure closes it, so this ends within the pool).
      if (!StatusOf(result).ok() && !conn.open() && retry && !fresh) continue;
      return result;
    }
  }

  // Every row of a list statement, read by `read`.
  template <typename T, typename ReadFn>
  StatusOr<std::vector<T>> ReadAll(const Statement& statement, ReadFn read,
                                   const std::vector<std::optional<std::string>>& params = {}) {
    return Call(true, [&](Connection& conn, Deadline deadline) -> StatusOr<std::vector<T>> {
      auto r = conn.Run(statement, params, deadline);
      if (!r.ok()) return r.status();
      std::vector<T> out;
      for (int i = 0; i < r->rows(); ++i) {
        StatusOr<T> row = read(Row(*r, i));
        if (!row.ok()) return row.status();
        out.push_back(std::move(*row));
      }
      return out;
    });
  }

  // A token user `id`, unless the id is a user's already: whether it was made. Under the
  // makers' lock (until the caller's transaction ends): a person being made meanwhile
  // cannot be given this id.
  static StatusOr<bool> MakeTokenUser(Connection& conn, int64_t id, int64_t now_us,
                                      Deadline deadline) {
    if (auto r = conn.Run(kLockUsers, {}, deadline); !r.ok()) return r.status();
    auto r = conn.Run(kInsertTokenUser, {ToText(id), ToText(now_us)}, deadline);
    if (!r.ok()) return r.status();
    return r->Affected() > 0;
  }

  // The person of (issuer, subject), if there is one, row-locked.
  static StatusOr<std::optional<UserRecord>> FindPerson(Connection& conn, const UserRecord& claims,
                                                        Deadline deadline) {
    auto r = conn.Run(kGetPersonForUpdate, {claims.issuer, claims.subject}, deadline);
    if (!r.ok()) return r.status();
    if (r->rows() == 0) return std::optional<UserRecord>();
    StatusOr<UserRecord> user = sql::ReadUser(Row(*r, 0));
    if (!user.ok()) return user.status();
    return std::optional<UserRecord>(std::move(*user));
  }

  // Runs a statement that writes one user and returns its row.
  static StatusOr<UserRecord> UserReturnedBy(Connection& conn, const Statement& statement,
                                             const std::vector<sql::SqlValue>& values,
                                             Deadline deadline) {
    auto r = conn.Run(statement, ToParams(values), deadline);
    if (!r.ok()) return r.status();
    if (r->rows() == 0) return Internal("the user vanished");
    return sql::ReadUser(Row(*r, 0));
  }

  // A host's certificates, in its enrolment's or renewal's transaction.
  static Status InsertHostCertificates(Connection& conn,
                                       const std::vector<HostCertificateRecord>& certificates,
                                       Deadline deadline) {
    for (const HostCertificateRecord& c : certificates) {
      auto r = conn.Run(kInsertHostCertificate, ToParams(sql::HostCertificateValues(c)), deadline);
      if (r.ok()) continue;
      if (r.status().code() == StatusCode::kAlreadyExists) {
        return AlreadyExists("the serial is recorded already");
      }
      return r.status();
    }
    return Status::Ok();
  }

  // The change's event, in its transaction (none if event.action is empty).
  static Status InsertEvent(Connection& conn, const EventRecord& event, Deadline deadline) {
    if (event.action.empty()) return Status::Ok();
    return conn.Run(kInsertEvent, ToParams(sql::EventValues(event)), deadline).status();
  }

  static StatusOr<EventPage> ReadEvents(Connection& conn, const sql::EventListSql& list,
                                        bool with_total, Deadline deadline) {
    EventPage page;
    if (with_total) {
      auto count = conn.RunOnce(list.count, ToParams(list.count_params), deadline);
      if (!count.ok()) return count.status();
      page.total = count->Int64(0, 0);
    }
    auto r = conn.RunOnce(list.page, ToParams(list.page_params), deadline);
    if (!r.ok()) return r.status();
    for (int i = 0; i < r->rows(); ++i) page.events.push_back(sql::ReadEvent(Row(*r, i)));
    return page;
  }

  // A refused insert into keys: which unique constraint, if that was it.
  static Status KeyInsertError(Connection& conn, const Status& status) {
    if (status.code() != StatusCode::kAlreadyExists) return status;
    // The only unique constraints: the primary key (id) and (project_id, name).
    return AlreadyExists(
        std::string(conn.violated_constraint() == "keys_pkey" ? kKeyIdTaken : kKeyNameTaken));
  }

  static Status InsertLabels(Connection& conn, const KeyRecord& key, Deadline deadline) {
    for (const auto& row : sql::LabelRows(key)) {
      if (auto r = conn.Run(kInsertLabel, ToParams(row), deadline); !r.ok()) return r.status();
    }
    return Status::Ok();
  }

  // Runs `fn` inside BEGIN ... COMMIT when `transaction`, else alone; rolls back on error.
  template <typename Fn>
  static auto InTransaction(Connection& conn, Deadline deadline, bool transaction, Fn&& fn)
      -> decltype(fn()) {
    using R = decltype(fn());
    if (!transaction) return fn();
    if (auto b = conn.Exec("BEGIN", deadline); !b.ok()) return R(b.status());
    R result = fn();
    if (!StatusOf(result).ok()) {
      conn.Rollback(deadline);
      return result;
    }
    if (auto c = conn.Exec("COMMIT", deadline); !c.ok()) {
      conn.Rollback(deadline);
      return R(c.status());
    }
    return result;
  }

  StatusOr<KeyRecord> ReadOneKey(const Statement& statement, const Params& params) {
    return Call(true, [&](Connection& conn, Deadline deadline) -> StatusOr<KeyRecord> {
      auto r = conn.Run(statement, params, deadline);
      if (!r.ok()) return r.status();
      if (r->rows() == 0) return NotFound(std::string(kKeyNotFound));
      return sql::ReadKey(Row(*r, 0));
    });
  }

  static StatusOr<KeyPage> PageOf(const Result& r, bool with_total) {
    KeyPage page;
    if (with_total) page.total = r.Int64(0, sql::kKeyColumnCount);
    page.keys.reserve(static_cast<size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) {
      StatusOr<KeyRecord> key = sql::ReadKey(Row(r, i));
      if (!key.ok()) return key.status();
      page.keys.push_back(std::move(*key));
    }
    return page;
  }

  static StatusOr<KeyPage> ReadPageInTransaction(Connection& conn, const ListStatements& s,
                                                 Deadline deadline) {
    auto r = conn.Run(s.page, s.page_params, deadline);
    if (!r.ok()) return r.status();
    if (r->rows() > 0) return PageOf(*r, true);
    auto count = conn.Run(s.count, s.filters, deadline);
    if (!count.ok()) return count.status();
    KeyPage page;
    page.total = count->Int64(0, 0);
    return page;
  }

  const ConnectSettings settings_;
  Pool pool_;
  std::mutex mu_;
  Deadline retry_after_{};  // guarded by mu_
  bool down_ = false;       // guarded by mu_: the last connect failed (logged once)
};

}  // namespace
}  // namespace pg

StatusOr<std::unique_ptr<KeyStore>> OpenPostgresStore(const std::string& url,
                                                      const StoreOptions& options) {
  auto store = pg::PostgresStore::Open(url, options);
  if (!store.ok()) return store.status();
  return std::unique_ptr<KeyStore>(std::move(*store));
}

}  // namespace keypaird::store
