// The SQLite KeyStore: the store's operations over the parts in this directory.
//
//   driver.h        connections, cached statements, binding, status mapping, the file
//   reads.h         reads on a held connection, and snapshots
//   writer.h        the group-committing writer and its WAL-sync thread
//   checkpointer.h  WAL checkpoints on a thread of their own
//   migrations.h    the shared schema steps on the writer connection
//
// Schema, rows and SQL are shared with PostgreSQL (store/sql/).
//
// Connections: one writer connection (every mutation goes through Writer) and
// `pool_size` reader connections, each leased exclusively to one call at a time; WAL
// lets the readers run while the writer commits. ":memory:" has a single connection
// that serves as both writer and reader (a private in-memory database cannot be shared
// between connections without shared-cache mode and its table-level SQLITE_LOCKED
// errors, which busy_timeout does not cover).
//
// Threading: every KeyStore method may be called from any thread; writes run on the
// Writer's thread, reads on the caller's with a leased reader connection.

#include "store/sqlite/sqlite_store.h"

#include <sqlite3.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/key_store.h"
#include "store/sql/diagnostics.h"
#include "store/sql/pool.h"
#include "store/sql/rows.h"
#include "store/sql/schema.h"
#include "store/sqlite/checkpointer.h"
#include "store/sqlite/driver.h"
#include "store/sqlite/migrations.h"
#include "store/sqlite/reads.h"
#include "store/sqlite/unchanged.h"
#include "store/sqlite/writer.h"
#include "store/store_internal.h"

namespace keypaird::store {
namespace sqlite {
namespace {

Status InsertLabels(Connection& conn, const std::vector<std::vector<sql::SqlValue>>& rows) {
  for (const auto& row : rows) {
    auto stmt = conn.Prepare(Sql().insert_label);
    if (!stmt.ok()) return stmt.status();
    stmt->BindAll(row);
    if (Status s = stmt->Run(); !s.ok()) return s;
  }
  return Status::Ok();
}

Status ReplaceLabels(Connection& conn, const KeyRecord& key) {
  auto stmt = conn.Prepare(Sql().delete_labels);
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, key.id);
  if (Status s = stmt->Run(); !s.ok()) return s;
  return InsertLabels(conn, sql::LabelRows(key));
}

// The change's event, in its transaction (none if event.action is empty).
Status InsertEvent(Connection& conn, const EventRecord& event) {
  if (event.action.empty()) return Status::Ok();
  auto stmt = conn.Prepare(Sql().insert_event);
  if (!stmt.ok()) return stmt.status();
  stmt->BindAll(sql::EventValues(event));
  return stmt->Run();
}

// A host's certificates, in its enrolment's or renewal's transaction.
Status InsertHostCertificates(Connection& conn,
                              const std::vector<HostCertificateRecord>& certificates) {
  for (const HostCertificateRecord& c : certificates) {
    auto stmt = conn.Prepare(Sql().insert_host_certificate);
    if (!stmt.ok()) return stmt.status();
    stmt->BindAll(sql::HostCertificateValues(c));
    const int rc = stmt->Step();
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) return AlreadyExists("the serial is recorded already");
    if (rc != SQLITE_DONE) return FromSqlite(rc);
  }
  return Status::Ok();
}

// `body`, then its event if it succeeded: both or neither (the writer's savepoint).
Writer::Body WithEvent(Writer::Body body, EventRecord event) {
  if (event.action.empty()) return body;
  return [body = std::move(body), event = std::move(event)](Connection& conn) -> Status {
    if (Status s = body(conn); !s.ok()) return s;
    return InsertEvent(conn, event);
  };
}

class SqliteStore final : public KeyStore, public sql::Diagnostics {
 public:
  static StatusOr<std::unique_ptr<SqliteStore>> Open(std::string_view path,
                                                     const StoreOptions& options) {
    if (path.empty()) return InvalidArgument("the sqlite: database URL needs a path");
    if (options.pool_size < 1) return InvalidArgument("the connection pool size must be >= 1");
    const bool in_memory = path == ":memory:";
    const std::string filename(path);
    if (!in_memory) {
      if (Status s = CreateDatabaseFile(filename); !s.ok()) return s;
    }
    auto writer = Connection::Open(filename, in_memory);
    if (!writer.ok()) return writer.status();
    if (Status s = sql::Migrate(*MigrationSessionOn(**writer), sql::Dialect::kSqlite,
                                options.apply_migrations, options.describe_key);
        !s.ok()) {
      return s;
    }
    auto store = std::unique_ptr<SqliteStore>(new SqliteStore(in_memory, options.metrics));
    if (!in_memory) {
      // The writer's cache keeps the index pages it keeps touching (16 MiB). Its commits
      // do not wait for the disk: the Writer's syncer thread syncs the WAL before any write
      // is acknowledged (the migrations above committed with synchronous=FULL).
      if (Status s = (*writer)->Exec("PRAGMA cache_size=-16384"); !s.ok()) return s;
      // A batch's statement journal in memory, not a file made and unlinked in /var/tmp
      // for every transaction.
      if (Status s = (*writer)->Exec("PRAGMA temp_store=MEMORY"); !s.ok()) return s;
      if (Status s = (*writer)->Exec("PRAGMA synchronous=NORMAL"); !s.ok()) return s;
      const char* main_file = sqlite3_db_filename((*writer)->db(), "main");
      const char* wal = sqlite3_filename_wal(main_file);
      if (wal == nullptr) return Internal("the database has no WAL file name");
      // Without a watch every snapshot reads its generations in its transaction.
      if (auto watched = Connection::Open(filename, in_memory); watched.ok()) {
        store->unchanged_.watch = WalHeaderWatch::Open(std::move(*watched));
      }
      store->writer_.SyncWal(wal);
      auto checkpoints = Connection::Open(filename, in_memory);
      if (!checkpoints.ok()) return checkpoints.status();
      store->checkpointer_ = std::make_unique<Checkpointer>(std::move(*checkpoints));
      store->checkpointer_->Watch(**writer);
    }
    store->write_pool_.Add(std::move(*writer));
    if (!in_memory) {
      for (int i = 0; i < options.pool_size; ++i) {
        auto reader = Connection::Open(filename, in_memory);
        if (!reader.ok()) return reader.status();
        store->own_read_pool_.Add(std::move(*reader));
      }
    }
    return store;
  }

  // --- reads

  std::unique_ptr<KeyReader> Snapshot() override {
    return MakeSnapshot(readers().Acquire(ReadDeadline()),
                        unchanged_.watch != nullptr ? &unchanged_ : nullptr);
  }

  StatusOr<KeyRecord> GetKey(std::string_view id) override {
    auto lease = readers().Acquire(ReadDeadline());
    if (!lease.ok()) return lease.status();
    return GetKeyOn(**lease, id);
  }

  StatusOr<KeyRecord> GetKeyByName(int64_t project_id, std::string_view name) override {
    auto lease = readers().Acquire(ReadDeadline());
    if (!lease.ok()) return lease.status();
    return GetKeyByNameOn(**lease, project_id, name);
  }

  StatusOr<KeyPage> ListKeys(const ListQuery& query) override {
    auto lease = readers().Acquire(ReadDeadline());
    if (!lease.ok()) return lease.status();
    return ListKeysOn(**lease, query);
  }

  StatusOr<TokenRecord> GetToken(std::string_view id) override {
    auto lease = readers().Acquire(ReadDeadline());
    if (!lease.ok()) return lease.status();
    return GetTokenOn(**lease, id);
  }

  StatusOr<std::vector<TokenRecord>> ListTokens() override {
    return ReadAll<TokenRecord>(Sql().list_tokens,
                                [](const Stmt& row) { return sql::ReadToken(row); });
  }

  StatusOr<UserRecord> GetUser(int64_t id) override {
    auto lease = readers().Acquire(ReadDeadline());
    if (!lease.ok()) return lease.status();
    return GetUserOn(**lease, id);
  }

  StatusOr<std::vector<UserRecord>> ListUsers() override {
    return ReadAll<UserRecord>(Sql().list_users,
                               [](const Stmt& row) { return sql::ReadUser(row); });
  }

  StatusOr<std::vector<GrantRecord>> ListGrants() override {
    return ReadAll<GrantRecord>(Sql().list_grants,
                                [](const Stmt& row) { return sql::ReadGrant(row); });
  }

  Status Ping() override {
    if (Status s = writer_.Usable(); !s.ok()) return s;
    auto lease = readers().Acquire(ReadDeadline());
    if (!lease.ok()) return Unavailable("the database does not answer");
    // Reads a page of the file, unlike "SELECT 1".
    auto stmt = (*lease)->Prepare("SELECT version FROM schema_migrations LIMIT 1");
    if (!stmt.ok() || !stmt->Run().ok()) return Unavailable("the database does not answer");
    return Status::Ok();
  }

  StatusOr<int64_t> AuthGeneration() override {
    auto lease = readers().Acquire(ReadDeadline());
    if (!lease.ok()) return lease.status();
    return AuthGenerationOn(**lease);
  }

  StatusOr<ProjectGenerations> GenerationsOf(int64_t project_id) override {
    auto lease = readers().Acquire(ReadDeadline());
    if (!lease.ok()) return lease.status();
    return GenerationsOfOn(**lease, project_id);
  }

  // --- writes

  // A key with labels, or with an event, is several statements: it needs a savepoint of
  // its own.
  Status InsertKey(const KeyRecord& key, const EventRecord& event) override {
    const bool one_statement = key.labels.empty() && event.action.empty();
    return writer_.Run(WithEvent(InsertKeyOp(key), event), one_statement);
  }

  void InsertKeyAsync(KeyRecord key, EventRecord event, WriteDone done) override {
    const bool one_statement = key.labels.empty() && event.action.empty();
    writer_.Submit(WithEvent(InsertKeyOp(std::move(key)), std::move(event)), std::move(done),
                   one_statement);
  }

  Status DeleteKey(std::string_view id, std::optional<int64_t> expected_revision,
                   const EventRecord& event) override {
    return Write(event, [id = std::string(id), expected_revision](Connection& conn) -> Status {
      // Labels go with the key (ON DELETE CASCADE).
      auto stmt = conn.Prepare("DELETE FROM keys WHERE id = ?1 AND (?2 IS NULL OR revision = ?2)");
      if (!stmt.ok()) return stmt.status();
      stmt->Bind(1, id);
      stmt->Bind(2, expected_revision ? sql::SqlValue(*expected_revision) : sql::SqlNull{});
      if (Status s = stmt->Run(); !s.ok()) return s;
      if (sqlite3_changes(conn.db()) > 0) return Status::Ok();
      return GetKeyOn(conn, id).ok() ? FailedPrecondition(std::string(kKeyChanged))
                                     : NotFound(std::string(kKeyNotFound));
    });
  }

  StatusOr<KeyRecord> UpdateKey(std::string_view id, const KeyUpdate& update,
                                std::optional<int64_t> expected_revision,
                                const EventRecord& event) override {
    KeyRecord updated;
    Status status = writer_.Run(
        WithEvent([&](Connection& conn) -> Status {
          StatusOr<KeyRecord> current = GetKeyOn(conn, id);
          if (!current.ok()) return current.status();
          if (expected_revision && current->revision != *expected_revision) {
            return FailedPrecondition(std::string(kKeyChanged));
          }
          KeyRecord next = *current;
          ApplyUpdate(update, &next);
          next.updated_at_us = update.updated_at_us;
          static const std::string kSql = sql::UpdateKeySql(sql::Dialect::kSqlite, true);
          auto stmt = conn.Prepare(kSql);
          if (!stmt.ok()) return stmt.status();
          stmt->BindAll(sql::UpdateValues(next, current->revision));
          const int rc = stmt->Step();
          if (rc == SQLITE_CONSTRAINT_UNIQUE) return AlreadyExists(std::string(kKeyNameTaken));
          if (rc == SQLITE_DONE) return FailedPrecondition(std::string(kKeyChanged));
          if (rc != SQLITE_ROW) return FromSqlite(rc);
          StatusOr<KeyRecord> row = sql::ReadKey(*stmt);
          if (!row.ok()) return row.status();
          updated = std::move(*row);
          if (Status s = stmt->Run(); !s.ok()) return s;  // the id is unique: no more rows
          if (update.labels && *update.labels != current->labels) {
            return ReplaceLabels(conn, updated);
          }
          return Status::Ok();
        }, event),
        /*one_statement=*/false);
    if (!status.ok()) return status;
    return updated;
  }

  Status InsertToken(const TokenRecord& token, const EventRecord& event) override {
    // With its user's row: two statements.
    return writer_.Run(
        WithEvent(
            [values = sql::TokenValues(token, sql::Dialect::kSqlite), user_id = token.user_id,
             created = token.created_at_us](Connection& conn) -> Status {
              auto stmt = conn.Prepare(Sql().insert_token);
              if (!stmt.ok()) return stmt.status();
              stmt->BindAll(values);
              const int rc = stmt->Step();
              if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
                return AlreadyExists(std::string(kTokenIdTaken));
              }
              if (rc != SQLITE_DONE) return FromSqlite(rc);
              if (user_id < 1) return Status::Ok();
              return MakeTokenUserOn(conn, user_id, created).status();
            },
            event),
        /*one_statement=*/false);
  }

  Status RevokeToken(std::string_view id, int64_t at_us, const EventRecord& event) override {
    return writer_.Run(
        [id = std::string(id), at_us, event](Connection& conn) -> Status {
          // Only a token not revoked yet changes (the first time is kept); only that
          // change is an event.
          auto stmt = conn.Prepare(Sql().revoke_token);
          if (!stmt.ok()) return stmt.status();
          stmt->Bind(1, id);
          stmt->Bind(2, at_us);
          if (Status s = stmt->Run(); !s.ok()) return s;
          if (sqlite3_changes(conn.db()) > 0) return InsertEvent(conn, event);
          return GetTokenOn(conn, id).status();  // revoked already, or kNotFound
        },
        /*one_statement=*/false);
  }

  // --- users and grants

  StatusOr<UserRecord> SignIn(const UserRecord& claims, int64_t now_us,
                              const EventRecord& event) override {
    if (Status s = ValidateClaims(claims); !s.ok()) return s;
    UserRecord user;
    // One op on the writer, the only one writing: finding the person and taking the next
    // id cannot race with another sign-in or EnsureUser (other processes wait on BEGIN
    // IMMEDIATE).
    Status status = writer_.Run(
        [&](Connection& conn) -> Status {
          StatusOr<std::optional<UserRecord>> found = FindPersonOn(conn, claims);
          if (!found.ok()) return found.status();
          return sql::WriteSignIn(
              std::move(*found), claims, now_us, event,
              [&](bool made, const std::vector<sql::SqlValue>& values) {
                return UserReturnedBy(conn, made ? Sql().insert_person : Sql().sign_in, values);
              },
              [&](const EventRecord& e) { return InsertEvent(conn, e); }, &user);
        },
        /*one_statement=*/false);
    if (!status.ok()) return status;
    return user;
  }

  Status EnsureUser(int64_t id, int64_t now_us, const EventRecord& event) override {
    if (Status s = ValidateUserId(id); !s.ok()) return s;
    return writer_.Run(
        [id, now_us, event](Connection& conn) -> Status {
          StatusOr<bool> made = MakeTokenUserOn(conn, id, now_us);
          if (!made.ok()) return made.status();
          // A user already (token user or person): nothing made, no event.
          return *made ? InsertEvent(conn, event) : Status::Ok();
        },
        /*one_statement=*/false);
  }

  Status SetUserDisabled(int64_t id, bool disabled, int64_t /*now_us*/,
                         const EventRecord& event) override {
    return writer_.Run(
        [id, disabled, event](Connection& conn) -> Status {
          auto stmt = conn.Prepare(Sql().set_user_disabled);
          if (!stmt.ok()) return stmt.status();
          stmt->BindAll({id, disabled});
          if (Status s = stmt->Run(); !s.ok()) return s;
          if (sqlite3_changes(conn.db()) > 0) return InsertEvent(conn, event);
          return GetUserOn(conn, id).status();  // as it was already, or kNotFound
        },
        /*one_statement=*/false);
  }

  Status InsertGrant(const GrantRecord& grant, const EventRecord& event) override {
    if (Status s = ValidateGrant(grant); !s.ok()) return s;
    return Write(event,
                 [user_id = grant.user_id, values = sql::GrantValues(grant, sql::Dialect::kSqlite)](
                     Connection& conn) -> Status {
                   // Users are never deleted: the check holds until the commit.
                   if (user_id != 0) {
                     if (Status s = GetUserOn(conn, user_id).status(); !s.ok()) return s;
                   }
                   auto stmt = conn.Prepare(Sql().insert_grant);
                   if (!stmt.ok()) return stmt.status();
                   stmt->BindAll(values);
                   const int rc = stmt->Step();
                   if (rc == SQLITE_DONE) return Status::Ok();
                   if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
                     return AlreadyExists(std::string(kGrantIdTaken));
                   }
                   return FromSqlite(rc);
                 });
  }

  Status DeleteGrant(std::string_view id, const EventRecord& event) override {
    return Write(event, [id = std::string(id)](Connection& conn) -> Status {
      auto stmt = conn.Prepare(Sql().delete_grant);
      if (!stmt.ok()) return stmt.status();
      stmt->Bind(1, id);
      if (Status s = stmt->Run(); !s.ok()) return s;
      return sqlite3_changes(conn.db()) > 0 ? Status::Ok() : NotFound(std::string(kGrantNotFound));
    });
  }

  // --- hosts

  Status InsertJoinToken(const JoinTokenRecord& token, const EventRecord& event) override {
    if (Status s = ValidateJoinToken(token); !s.ok()) return s;
    return Write(event, [values = sql::JoinTokenValues(token)](Connection& conn) -> Status {
      auto stmt = conn.Prepare(Sql().insert_join_token);
      if (!stmt.ok()) return stmt.status();
      stmt->BindAll(values);
      const int rc = stmt->Step();
      if (rc == SQLITE_DONE) return Status::Ok();
      if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) return AlreadyExists(std::string(kJoinTokenIdTaken));
      return FromSqlite(rc);
    });
  }

  StatusOr<std::vector<JoinTokenRecord>> ListJoinTokens(int64_t project_id) override {
    return ReadAll<JoinTokenRecord>(
        Sql().list_join_tokens, [](const Stmt& row) { return sql::ReadJoinToken(row); },
        {project_id});
  }

  StatusOr<JoinTokenRecord> GetJoinToken(std::string_view id) override {
    auto lease = readers().Acquire(ReadDeadline());
    if (!lease.ok()) return lease.status();
    auto stmt = (*lease)->Prepare(Sql().get_join_token);
    if (!stmt.ok()) return stmt.status();
    stmt->Bind(1, std::string(id));
    const int rc = stmt->Step();
    if (rc == SQLITE_DONE) return NotFound(std::string(kJoinTokenNotFound));
    if (rc != SQLITE_ROW) return FromSqlite(rc);
    return sql::ReadJoinToken(*stmt);
  }

  Status DeleteJoinToken(int64_t project_id, std::string_view id,
                         const EventRecord& event) override {
    return Write(event, [project_id, id = std::string(id)](Connection& conn) -> Status {
      auto stmt = conn.Prepare(Sql().delete_join_token);
      if (!stmt.ok()) return stmt.status();
      stmt->BindAll({project_id, id});
      if (Status s = stmt->Run(); !s.ok()) return s;
      return sqlite3_changes(conn.db()) > 0 ? Status::Ok()
                                            : NotFound(std::string(kJoinTokenNotFound));
    });
  }

  Status EnrollHost(std::string_view join_token_id, std::string_view join_secret_hash,
                    int64_t now_us, const HostRecord& host,
                    const std::vector<HostCertificateRecord>& certificates,
                    const EventRecord& event) override {
    if (Status s = ValidateHost(host); !s.ok()) return s;
    std::vector<sql::SqlValue> use = {std::string(join_token_id),
                                      sql::SqlBlob{std::string(join_secret_hash)}, now_us,
                                      host.project_id};
    return writer_.Run(
        [use = std::move(use), values = sql::HostValues(host), certificates,
         event](Connection& conn) -> Status {
          auto spend = conn.Prepare(Sql().use_join_token);
          if (!spend.ok()) return spend.status();
          spend->BindAll(use);
          if (Status s = spend->Run(); !s.ok()) return s;
          if (sqlite3_changes(conn.db()) == 0) return NotFound(std::string(kJoinTokenNotUsable));
          auto insert = conn.Prepare(Sql().insert_host);
          if (!insert.ok()) return insert.status();
          insert->BindAll(values);
          const int rc = insert->Step();
          if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) return AlreadyExists(std::string(kHostIdTaken));
          if (rc != SQLITE_DONE) return FromSqlite(rc);
          if (Status s = InsertHostCertificates(conn, certificates); !s.ok()) return s;
          return InsertEvent(conn, event);
        },
        /*one_statement=*/false);
  }

  StatusOr<HostRecord> GetHost(std::string_view id) override {
    auto lease = readers().Acquire(ReadDeadline());
    if (!lease.ok()) return lease.status();
    auto stmt = (*lease)->Prepare(Sql().get_host);
    if (!stmt.ok()) return stmt.status();
    stmt->Bind(1, std::string(id));
    const int rc = stmt->Step();
    if (rc == SQLITE_DONE) return NotFound(std::string(kHostNotFound));
    if (rc != SQLITE_ROW) return FromSqlite(rc);
    return sql::ReadHost(*stmt);
  }

  StatusOr<std::vector<HostRecord>> ListHosts(int64_t project_id) override {
    return ReadAll<HostRecord>(
        Sql().list_hosts, [](const Stmt& row) { return sql::ReadHost(row); }, {project_id});
  }

  Status RenewHost(const HostRecord& host, const std::vector<HostCertificateRecord>& certificates,
                   const EventRecord& event) override {
    if (Status s = ValidateHost(host); !s.ok()) return s;
    std::vector<sql::SqlValue> values = {host.id, sql::JoinPrincipals(host.public_keys),
                                         host.renewed_at_us, host.valid_before_s};
    return writer_.Run(
        [values = std::move(values), certificates, event](Connection& conn) -> Status {
          auto stmt = conn.Prepare(Sql().renew_host);
          if (!stmt.ok()) return stmt.status();
          stmt->BindAll(values);
          if (Status s = stmt->Run(); !s.ok()) return s;
          if (sqlite3_changes(conn.db()) == 0) return NotFound(std::string(kHostNotFound));
          if (Status s = InsertHostCertificates(conn, certificates); !s.ok()) return s;
          return InsertEvent(conn, event);
        },
        /*one_statement=*/false);
  }

  Status DeleteHost(int64_t project_id, std::string_view id, int64_t at_us,
                    const EventRecord& event) override {
    return writer_.Run(
        [project_id, id = std::string(id), at_us, event](Connection& conn) -> Status {
          auto stmt = conn.Prepare(Sql().delete_host);
          if (!stmt.ok()) return stmt.status();
          stmt->BindAll({project_id, id});
          if (Status s = stmt->Run(); !s.ok()) return s;
          if (sqlite3_changes(conn.db()) == 0) return NotFound(std::string(kHostNotFound));
          auto revoke = conn.Prepare(Sql().revoke_host_certificates);
          if (!revoke.ok()) return revoke.status();
          revoke->BindAll({id, at_us});
          if (Status s = revoke->Run(); !s.ok()) return s;
          return InsertEvent(conn, event);
        },
        /*one_statement=*/false);
  }

  // --- sign-in

  Status StartLogin(const LoginRecord& login) override {
    return PruneThenInsert(Sql().prune_logins, login.created_at_us, Sql().insert_login,
                           {sql::SqlBlob{login.state_hash}, login.return_to,
                            login.created_at_us, login.expires_at_us},
                           kLoginTaken);
  }

  StatusOr<LoginRecord> FinishLogin(std::string_view state_hash, int64_t now_us) override {
    LoginRecord login;
    Status status = writer_.Run(
        [&](Connection& conn) -> Status {
          auto stmt = conn.Prepare(Sql().finish_login);
          if (!stmt.ok()) return stmt.status();
          stmt->BindAll({sql::SqlBlob{std::string(state_hash)}});
          const int rc = stmt->Step();
          if (rc == SQLITE_DONE) return NotFound(std::string(kLoginNotFound));
          if (rc != SQLITE_ROW) return FromSqlite(rc);
          StatusOr<LoginRecord> row = sql::ReadLogin(*stmt);
          if (!row.ok()) return row.status();
          login = std::move(*row);
          return stmt->Run();  // one row: finishes the statement
        },
        /*one_statement=*/true);
    if (!status.ok()) return status;
    if (login.expires_at_us < now_us) return NotFound(std::string(kLoginNotFound));
    return login;
  }

  Status StartDevice(const DeviceRecord& device) override {
    return PruneThenInsert(Sql().prune_devices, device.created_at_us, Sql().insert_device,
                           sql::DeviceValues(device), kDeviceTaken);
  }

  Status DecideDevice(std::string_view user_code, bool approved, int64_t user_id,
                      std::string_view session_id, int64_t now_us) override {
    return writer_.Run(
        [user_code = std::string(user_code), approved, user_id,
         session_id = std::string(session_id), now_us](Connection& conn) -> Status {
          auto stmt = conn.Prepare(Sql().decide_device);
          if (!stmt.ok()) return stmt.status();
          stmt->BindAll({user_code, std::string(approved ? "approved" : "denied"), user_id,
                         session_id, now_us});
          if (Status s = stmt->Run(); !s.ok()) return s;
          return sqlite3_changes(conn.db()) > 0 ? Status::Ok()
                                                : NotFound(std::string(kDeviceNotFound));
        });
  }

  StatusOr<DeviceRecord> PollDevice(std::string_view code_hash, int64_t now_us) override {
    DeviceRecord device;
    Status status = writer_.Run(
        [&](Connection& conn) -> Status {
          auto get = conn.Prepare(Sql().get_device);
          if (!get.ok()) return get.status();
          get->BindAll({sql::SqlBlob{std::string(code_hash)}});
          const int rc = get->Step();
          if (rc == SQLITE_DONE) return NotFound(std::string(kDeviceNotFound));
          if (rc != SQLITE_ROW) return FromSqlite(rc);
          StatusOr<DeviceRecord> row = sql::ReadDevice(*get);
          if (!row.ok()) return row.status();
          device = std::move(*row);
          if (Status s = get->Run(); !s.ok()) return s;
          const bool decided = device.state != "pending";
          auto change = conn.Prepare(decided ? Sql().take_device : Sql().poll_device);
          if (!change.ok()) return change.status();
          change->Bind(1, sql::SqlBlob{std::string(code_hash)});
          if (!decided) change->Bind(2, now_us);
          return change->Run();
        },
        /*one_statement=*/false);
    if (!status.ok()) return status;
    return device;
  }

  Status RecordEvent(const EventRecord& event) override {
    if (event.action.empty()) return InvalidArgument(std::string(kNoEventAction));
    return writer_.Run([event](Connection& conn) { return InsertEvent(conn, event); },
                       /*one_statement=*/true);
  }

  // --- the SSH CA

  StatusOr<CaRecord> GetOrCreateCa(const CaRecord& candidate, const EventRecord& event) override {
    Status inserted = writer_.Run(
        [values = sql::CaValues(candidate), event](Connection& conn) -> Status {
          auto stmt = conn.Prepare(Sql().insert_ca);
          if (!stmt.ok()) return stmt.status();
          stmt->BindAll(values);
          if (Status s = stmt->Run(); !s.ok()) return s;
          // Another caller's CA already there: its creation was the event.
          return sqlite3_changes(conn.db()) > 0 ? InsertEvent(conn, event) : Status::Ok();
        },
        /*one_statement=*/false);
    if (!inserted.ok()) return inserted;
    StatusOr<CaRecord> ca = GetCa(candidate.project_id, candidate.kind);
    if (!ca.ok() && ca.status().code() == StatusCode::kNotFound) return Internal("the CA vanished");
    return ca;
  }

  StatusOr<CaRecord> GetCa(int64_t project_id, CaKind kind) override {
    auto lease = readers().Acquire(ReadDeadline());
    if (!lease.ok()) return lease.status();
    auto stmt = (*lease)->Prepare(Sql().get_ca);
    if (!stmt.ok()) return stmt.status();
    stmt->BindAll({project_id, std::string(CaKindName(kind))});
    const int rc = stmt->Step();
    if (rc == SQLITE_DONE) return NotFound("no CA for the project");
    if (rc != SQLITE_ROW) return FromSqlite(rc);
    return sql::ReadCa(*stmt);
  }

  StatusOr<int64_t> NextSerial(int64_t project_id, CaKind kind) override {
    int64_t serial = 0;
    Status s = writer_.Run([&](Connection& conn) -> Status {
      auto stmt = conn.Prepare(Sql().next_serial);
      if (!stmt.ok()) return stmt.status();
      stmt->BindAll({project_id, std::string(CaKindName(kind))});
      const int rc = stmt->Step();
      if (rc == SQLITE_DONE) return NotFound("no CA for the project");
      if (rc != SQLITE_ROW) return FromSqlite(rc);
      serial = stmt->Int64(0);
      return stmt->Run();
    });
    if (!s.ok()) return s;
    return serial;
  }

  StatusOr<CaRecord> RotateCa(const CaRecord& next, const EventRecord& event) override {
    CaRecord rotated;
    Status s = writer_.Run(
        [&](Connection& conn) -> Status {
          const std::string kind = CaKindName(next.kind);
          auto lock = conn.Prepare(Sql().lock_ca);
          if (!lock.ok()) return lock.status();
          lock->BindAll({next.project_id, kind});
          const int rc = lock->Step();
          if (rc == SQLITE_DONE) return NotFound("no CA for the project");
          if (rc != SQLITE_ROW) return FromSqlite(rc);
          auto keep = conn.Prepare(Sql().keep_old_ca_key);
          if (!keep.ok()) return keep.status();
          keep->BindAll({next.project_id, kind, next.created_at_us});
          if (Status run = keep->Run(); !run.ok()) return run;
          auto rotate = conn.Prepare(Sql().rotate_ca);
          if (!rotate.ok()) return rotate.status();
          rotate->BindAll({next.project_id, kind, next.public_key, sql::SqlBlob{next.sealed_seed},
                           next.created_at_us});
          if (rotate->Step() != SQLITE_ROW) return Internal("the CA vanished");
          StatusOr<CaRecord> row = sql::ReadCa(*rotate);
          if (!row.ok()) return row.status();
          rotated = std::move(*row);
          if (Status run = rotate->Run(); !run.ok()) return run;
          return InsertEvent(conn, event);
        },
        /*one_statement=*/false);
    if (!s.ok()) return s;
    return rotated;
  }

  StatusOr<std::vector<CaKeyRecord>> CaKeysOf(int64_t project_id, CaKind kind) override {
    auto lease = readers().Acquire(ReadDeadline());
    if (!lease.ok()) return lease.status();
    auto stmt = (*lease)->Prepare(Sql().ca_keys);
    if (!stmt.ok()) return stmt.status();
    stmt->BindAll({project_id, std::string(CaKindName(kind))});
    std::vector<CaKeyRecord> out;
    int rc;
    while ((rc = stmt->Step()) == SQLITE_ROW) out.push_back(sql::ReadCaKey(*stmt, project_id, kind));
    if (rc != SQLITE_DONE) return FromSqlite(rc);
    return out;
  }

  Status DeleteCaKey(int64_t project_id, CaKind kind, int64_t generation, int64_t at_us,
                     const EventRecord& event) override {
    return writer_.Run(
        [=](Connection& conn) -> Status {
          const std::string kind_name = CaKindName(kind);
          auto stmt = conn.Prepare(Sql().delete_ca_key);
          if (!stmt.ok()) return stmt.status();
          stmt->BindAll({project_id, kind_name, generation, at_us});
          if (Status s = stmt->Run(); !s.ok()) return s;
          if (sqlite3_changes(conn.db()) == 0) {
            auto lock = conn.Prepare(Sql().lock_ca);
            if (!lock.ok()) return lock.status();
            lock->BindAll({project_id, kind_name});
            const int rc = lock->Step();
            if (rc == SQLITE_ROW && lock->Int64(0) == generation) {
              return FailedPrecondition("the CA's signing key");
            }
            if (rc != SQLITE_ROW && rc != SQLITE_DONE) return FromSqlite(rc);
            return NotFound("no such CA key");
          }
          auto revoke = conn.Prepare(kind == CaKind::kHost
                                         ? Sql().revoke_host_ca_key_certificates
                                         : Sql().revoke_ca_key_certificates);
          if (!revoke.ok()) return revoke.status();
          revoke->BindAll({project_id, generation, at_us});
          if (Status s = revoke->Run(); !s.ok()) return s;
          return InsertEvent(conn, event);
        },
        /*one_statement=*/false);
  }

  Status RecordCertificate(const CertificateRecord& c, const EventRecord& event) override {
    return Write(event, [values = sql::CertificateValues(c)](Connection& conn) -> Status {
      auto stmt = conn.Prepare(Sql().insert_certificate);
      if (!stmt.ok()) return stmt.status();
      stmt->BindAll(values);
      const int rc = stmt->Step();
      if (rc == SQLITE_DONE) return Status::Ok();
      if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        return AlreadyExists("the serial is recorded already");
      return FromSqlite(rc);
    });
  }

  StatusOr<CertificateRecord> GetCertificate(int64_t project_id, int64_t serial) override {
    auto lease = readers().Acquire(ReadDeadline());
    if (!lease.ok()) return lease.status();
    auto stmt = (*lease)->Prepare(Sql().get_certificate);
    if (!stmt.ok()) return stmt.status();
    stmt->Bind(1, project_id);
    stmt->Bind(2, serial);
    const int rc = stmt->Step();
    if (rc == SQLITE_DONE) return NotFound("no such certificate");
    if (rc != SQLITE_ROW) return FromSqlite(rc);
    return sql::ReadCertificate(*stmt);
  }

  Status RevokeCertificate(int64_t project_id, int64_t serial, int64_t at_us,
                           const EventRecord& event) override {
    return writer_.Run(
        [=](Connection& conn) -> Status {
          auto stmt = conn.Prepare(Sql().revoke_certificate);
          if (!stmt.ok()) return stmt.status();
          stmt->BindAll({project_id, serial, at_us});
          if (Status s = stmt->Run(); !s.ok()) return s;
          if (sqlite3_changes(conn.db()) > 0) return InsertEvent(conn, event);
          // Revoked already (the first time is kept, no event), or none.
          auto get = conn.Prepare(Sql().get_certificate);
          if (!get.ok()) return get.status();
          get->BindAll({project_id, serial});
          const int rc = get->Step();
          if (rc == SQLITE_ROW) return Status::Ok();
          if (rc == SQLITE_DONE) return NotFound("no such certificate");
          return FromSqlite(rc);
        },
        /*one_statement=*/false);
  }

  StatusOr<int64_t> PruneEvents(int64_t before_us, int64_t max_rows) override {
    if (max_rows < 1) return InvalidArgument("max_rows must be at least 1");
    int64_t pruned = 0;
    Status s = writer_.Run([&](Connection& conn) -> Status {
      auto stmt = conn.Prepare(Sql().prune_events);
      if (!stmt.ok()) return stmt.status();
      stmt->BindAll({before_us, max_rows});
      if (Status run = stmt->Run(); !run.ok()) return run;
      pruned = sqlite3_changes(conn.db());
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return pruned;
  }

  StatusOr<EventPage> ListEvents(const EventQuery& query) override {
    if (Status s = ValidateEventQuery(query); !s.ok()) return s;
    auto lease = readers().Acquire(ReadDeadline());
    if (!lease.ok()) return lease.status();
    return ListEventsOn(**lease, query);
  }

  StatusOr<Revocations> RevocationsOf(int64_t project_id, int64_t now_s) override {
    auto lease = readers().Acquire(ReadDeadline());
    if (!lease.ok()) return lease.status();
    Connection& conn = **lease;
    Revocations out;
    auto stmt = conn.Prepare(Sql().revoked_serials);
    if (!stmt.ok()) return stmt.status();
    stmt->Bind(1, project_id);
    stmt->Bind(2, now_s);
    int rc;
    while ((rc = stmt->Step()) == SQLITE_ROW) {
      out.serials.push_back(stmt->Int64(0));
      out.serial_generations.push_back(stmt->Int64(1));
      NoteExpiry(&out, stmt->Int64(2));
    }
    if (rc != SQLITE_DONE) return FromSqlite(rc);
    auto hosts = conn.Prepare(Sql().revoked_host_serials);
    if (!hosts.ok()) return hosts.status();
    hosts->BindAll({project_id, now_s});
    while ((rc = hosts->Step()) == SQLITE_ROW) {
      out.host_serials.push_back(hosts->Int64(0));
      out.host_serial_generations.push_back(hosts->Int64(1));
      NoteExpiry(&out, hosts->Int64(2));
    }
    if (rc != SQLITE_DONE) return FromSqlite(rc);
    return out;
  }

  // --- sql::Diagnostics

  StatusOr<std::vector<std::string>> ExplainListKeys(const ListQuery& query) override {
    auto lease = readers().Acquire(ReadDeadline());
    if (!lease.ok()) return lease.status();
    const sql::ListSql list = sql::BuildListSql(query, sql::Dialect::kSqlite);
    auto stmt = (*lease)->Prepare("EXPLAIN QUERY PLAN " + ListPageSql(list));
    if (!stmt.ok()) return stmt.status();
    stmt->BindAll(list.params);
    std::vector<std::string> lines;
    int rc;
    while ((rc = stmt->Step()) == SQLITE_ROW) lines.push_back(stmt->Text(3));
    if (rc != SQLITE_DONE) return FromSqlite(rc);
    return lines;
  }

  StatusOr<std::vector<std::string>> OnEveryConnection(const std::string& sql) override {
    std::vector<std::string> out;
    const auto deadline = ReadDeadline();
    std::vector<Pool*> pools = {&write_pool_};
    if (!in_memory_) pools.push_back(&own_read_pool_);
    for (Pool* pool : pools) {
      auto leases = pool->AcquireAll(deadline);
      if (!leases.ok()) return leases.status();
      for (Pool::Lease& lease : *leases) {
        auto value = lease->QueryText(sql.c_str());
        if (!value.ok()) return value.status();
        out.push_back(std::move(*value));
      }
    }
    return out;
  }

  sql::WriteStats write_stats() const override { return writer_.stats(); }
  int64_t unchanged_hits() const override { return unchanged_.memo.hits(); }
  void FailNextSyncForTesting() override { writer_.FailNextSyncForTesting(); }

 private:
  SqliteStore(bool in_memory, Metrics* metrics)
      : in_memory_(in_memory),
        write_pool_(RollBackOnRelease()),
        own_read_pool_(RollBackOnRelease()),
        writer_(&write_pool_, metrics) {}

  static SteadyClock::time_point ReadDeadline() { return SteadyClock::now() + kBusyTimeout; }

  // One statement's write with its event: a savepoint when there is an event.
  Status Write(const EventRecord& event, Writer::Body body) {
    const bool one_statement = event.action.empty();
    return writer_.Run(WithEvent(std::move(body), event), one_statement);
  }

  // Every row of a list statement, read by `read` on a leased reader.
  template <typename T, typename ReadFn>
  StatusOr<std::vector<T>> ReadAll(const std::string& sql, ReadFn read,
                                   const std::vector<sql::SqlValue>& params = {}) {
    auto lease = readers().Acquire(ReadDeadline());
    if (!lease.ok()) return lease.status();
    auto stmt = (*lease)->Prepare(sql);
    if (!stmt.ok()) return stmt.status();
    if (!params.empty()) stmt->BindAll(params);
    std::vector<T> out;
    int rc;
    while ((rc = stmt->Step()) == SQLITE_ROW) {
      StatusOr<T> row = read(*stmt);
      if (!row.ok()) return row.status();
      out.push_back(std::move(*row));
    }
    if (rc != SQLITE_DONE) return FromSqlite(rc);
    return out;
  }

  // A token user `id`, unless the id is a user's already: whether it was made.
  static StatusOr<bool> MakeTokenUserOn(Connection& conn, int64_t id, int64_t now_us) {
    auto stmt = conn.Prepare(Sql().insert_token_user);
    if (!stmt.ok()) return stmt.status();
    stmt->BindAll({id, now_us});
    if (Status s = stmt->Run(); !s.ok()) return s;
    return sqlite3_changes(conn.db()) > 0;
  }

  // The person of (issuer, subject), if there is one.
  static StatusOr<std::optional<UserRecord>> FindPersonOn(Connection& conn,
                                                          const UserRecord& claims) {
    auto stmt = conn.Prepare(Sql().get_user_by_identity);
    if (!stmt.ok()) return stmt.status();
    stmt->BindAll({claims.issuer, claims.subject});
    const int rc = stmt->Step();
    if (rc == SQLITE_DONE) return std::optional<UserRecord>();
    if (rc != SQLITE_ROW) return FromSqlite(rc);
    StatusOr<UserRecord> user = sql::ReadUser(*stmt);
    if (!user.ok()) return user.status();
    return std::optional<UserRecord>(std::move(*user));
  }

  // Runs a statement that writes one user and returns its row.
  static StatusOr<UserRecord> UserReturnedBy(Connection& conn, const std::string& sql,
                                             const std::vector<sql::SqlValue>& values) {
    auto stmt = conn.Prepare(sql);
    if (!stmt.ok()) return stmt.status();
    stmt->BindAll(values);
    const int rc = stmt->Step();
    if (rc != SQLITE_ROW) return rc == SQLITE_DONE ? Internal("the user vanished") : FromSqlite(rc);
    StatusOr<UserRecord> user = sql::ReadUser(*stmt);
    if (!user.ok()) return user.status();
    if (Status s = stmt->Run(); !s.ok()) return s;  // one row: finishes the statement
    return user;
  }

  // A short-lived row (a sign-in or a device authorization under way), after deleting
  // those expired by `now_us`, in one op: kAlreadyExists (`taken`) on a unique key.
  Status PruneThenInsert(const std::string& prune_sql, int64_t now_us,
                         const std::string& insert_sql, std::vector<sql::SqlValue> values,
                         std::string_view taken) {
    return writer_.Run(
        [&prune_sql, now_us, &insert_sql, values = std::move(values),
         taken = std::string(taken)](Connection& conn) -> Status {
          auto prune = conn.Prepare(prune_sql);
          if (!prune.ok()) return prune.status();
          prune->Bind(1, now_us);
          if (Status s = prune->Run(); !s.ok()) return s;
          auto stmt = conn.Prepare(insert_sql);
          if (!stmt.ok()) return stmt.status();
          stmt->BindAll(values);
          const int rc = stmt->Step();
          if (rc == SQLITE_DONE) return Status::Ok();
          if ((rc & 0xff) == SQLITE_CONSTRAINT) return AlreadyExists(taken);
          return FromSqlite(rc);
        },
        /*one_statement=*/false);
  }

  // ":memory:" has one connection, shared with the writer.
  Pool& readers() { return in_memory_ ? write_pool_ : own_read_pool_; }

  static Writer::Body InsertKeyOp(KeyRecord key) {
    return
        [values = sql::KeyValues(key), labels = sql::LabelRows(key)](Connection& conn) -> Status {
          auto stmt = conn.Prepare(Sql().insert_key);
          if (!stmt.ok()) return stmt.status();
          stmt->BindAll(values);
          const int rc = stmt->Step();
          if (rc == SQLITE_DONE) return InsertLabels(conn, labels);
          // The only unique constraints are the primary key (id) and (project_id, name).
          if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) return AlreadyExists(std::string(kKeyIdTaken));
          if (rc == SQLITE_CONSTRAINT_UNIQUE) return AlreadyExists(std::string(kKeyNameTaken));
          return FromSqlite(rc);
        };
  }

  const bool in_memory_;
  std::unique_ptr<Checkpointer> checkpointer_;  // null for ":memory:"
  Pool write_pool_;                             // exactly one connection
  Pool own_read_pool_;                          // pool_size connections; empty for ":memory:"
  // The WAL-index header watch (with a connection of its own) and the generations' memo
  // (unchanged.h); no watch for ":memory:" or when SQLite has no WAL index mapped.
  Unchanged unchanged_;
  Writer writer_;  // last: its thread stops (after draining) before the pools go
};

}  // namespace
}  // namespace sqlite

StatusOr<std::unique_ptr<KeyStore>> OpenSqliteStore(std::string_view path,
                                                    const StoreOptions& options) {
  auto store = sqlite::SqliteStore::Open(path, options);
  if (!store.ok()) return store.status();
  return std::unique_ptr<KeyStore>(std::move(*store));
}

}  // namespace keypaird::store
