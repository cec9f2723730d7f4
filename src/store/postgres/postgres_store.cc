// The PostgreSQL KeyStore backend (libpq).
//
// Every call leases one pooled connection, checks that it is still alive (an idle
// connection whose socket has become readable was closed or is being closed by the
// server: it is reopened, so a restarted server costs no failed request), runs one
// prepared statement and returns the connection. All I/O is non-blocking with a
// deadline, so a dead server or network can stall a call only for a bounded time;
// a connection that failed, timed out or lost its server is closed and reopened on its
// next use. After a failed connect every call fails at once for a short back-off instead
// of queueing behind connect attempts. Nothing is cached above the database.
//
// Schema, rows and list SQL are shared with SQLite (store/sql/); this file is the libpq
// driver and the PostgreSQL error mapping.
//
// Status messages are fixed text (plus a SQLSTATE for unexpected errors): never SQL,
// URLs, host names or bound values. libpq's own message of a failed connect is logged
// (it names host, port, user and database, never the password), once per outage.

#include "store/postgres/postgres_store.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include "common/log.h"
#include "common/strings.h"
#include "store/key_store.h"
#include "store/sql/diagnostics.h"
#include "store/sql/pool.h"
#include "store/sql/rows.h"
#include "store/sql/schema.h"
#include "store/sql/statements.h"
#include "store/store_internal.h"

namespace keypaird::store {
namespace {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Connecting: libpq's connect_timeout (from the URL, else this) bounds a whole connect.
constexpr seconds kDefaultConnectTimeout{3};
// Server side: every statement on our connections (set as a startup option).
constexpr int kStatementTimeoutMs = 5000;
// Client side: a statement's answer must arrive within this, whatever the network does.
constexpr milliseconds kQueryTimeout{kStatementTimeoutMs + 1000};
// Migrations may wait for another node's migration (the advisory lock).
constexpr seconds kMigrationTimeout{65};
constexpr int kMigrationStatementTimeoutMs = 60000;
// Waiting for a free pooled connection.
constexpr seconds kAcquireTimeout{3};
// After a failed connect, calls that need a new connection fail at once for this long.
constexpr milliseconds kReconnectBackoff{250};
// pg_advisory_xact_lock key of the migration transaction ("kpd_migr").
constexpr int64_t kMigrationLockKey = 0x6b70645f6d696772;

constexpr std::string_view kDown = "the database is unavailable";
constexpr std::string_view kSlow = "the database did not answer in time";

// ---------------------------------------------------------------------------------------
// RAII and small helpers.

struct ConnFinisher {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnFinisher>;

struct ResultClearer {
  void operator()(PGresult* result) const { PQclear(result); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultClearer>;

int64_t ParseInt64(const char* text) {
  int64_t value = 0;
  std::from_chars(text, text + std::strlen(text), value);
  return value;
}

// Waits until `fd` is readable (or writable too, if `write`); false on timeout or error.
bool WaitFd(int fd, bool write, Deadline deadline) {
  if (fd < 0) return false;
  for (;;) {
    const auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, static_cast<short>(POLLIN | (write ? POLLOUT : 0)), 0};
    const int rc = ::poll(&p, 1, static_cast<int>(left));
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) return false;
  }
}

// A query result (text format).
class Result {
 public:
  explicit Result(ResultPtr result) : r_(std::move(result)) {}
  int rows() const { return PQntuples(r_.get()); }
  bool IsNull(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  std::string Text(int row, int col) const {
    return std::string(PQgetvalue(r_.get(), row, col),
                       static_cast<size_t>(PQgetlength(r_.get(), row, col)));
  }
  int64_t Int64(int row, int col) const { return ParseInt64(PQgetvalue(r_.get(), row, col)); }
  bool Bool(int row, int col) const { return PQgetvalue(r_.get(), row, col)[0] == 't'; }
  // Rows an INSERT/UPDATE/DELETE affected.
  int64_t Affected() const { return ParseInt64(PQcmdTuples(r_.get())); }

 private:
  ResultPtr r_;
};

// A statement prepared once per connection under `name`.
struct Statement {
  std::string name;
  std::string sql;
};

using Params = std::vector<std::optional<std::string>>;

struct ConnectSettings {
  std::vector<std::string> keywords;
  std::vector<std::string> values;
  milliseconds connect_timeout{kDefaultConnectTimeout};
};

// Our defaults come first and the URL last: libpq lets later settings override earlier
// ones, so anything the URL says wins.
StatusOr<ConnectSettings> MakeConnectSettings(const std::string& url) {
  char* error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(url.c_str(), &error);
  if (parsed == nullptr) {
    if (error != nullptr) PQfreemem(error);
    return InvalidArgument("the PostgreSQL database URL is not valid");
  }
  ConnectSettings settings;
  for (PQconninfoOption* o = parsed; o->keyword != nullptr; ++o) {
    if (std::string_view(o->keyword) == "connect_timeout" && o->val != nullptr) {
      // libpq: 0 or negative = wait forever (we do not), below 2 s counts as 2 s.
      const int64_t s = ParseInt64(o->val);
      if (s > 0) settings.connect_timeout = seconds(std::max<int64_t>(s, 2));
    }
  }
  PQconninfoFree(parsed);
  settings.keywords = {"connect_timeout",     "keepalives",       "keepalives_idle",
                       "keepalives_interval", "keepalives_count", "tcp_user_timeout",
                       "application_name",    "options",          "dbname"};
  settings.values = {std::to_string(kDefaultConnectTimeout.count()),
                     "1",
                     "30",
                     "10",
                     "3",
                     "20000",
                     "keypaird",
                     "-c statement_timeout=" + std::to_string(kStatementTimeoutMs),
                     url};
  return settings;
}

// ---------------------------------------------------------------------------------------
// One libpq connection and the names of the statements prepared on it. Not thread-safe:
// used by one call at a time, which the pool guarantees.

class Connection {
 public:
  bool open() const { return conn_ != nullptr; }

  void Close() {
    conn_.reset();
    prepared_.clear();
  }

  // Opens (or reopens) the connection within the connect timeout. On failure,
  // last_error() holds libpq's message for the log.
  Status Open(const ConnectSettings& settings) {
    Close();
    std::vector<const char*> keywords, values;
    for (size_t i = 0; i < settings.keywords.size(); ++i) {
      keywords.push_back(settings.keywords[i].c_str());
      values.push_back(settings.values[i].c_str());
    }
    keywords.push_back(nullptr);
    values.push_back(nullptr);
    ConnPtr conn(PQconnectStartParams(keywords.data(), values.data(), /*expand_dbname=*/1));
    if (conn == nullptr) {
      last_error_ = "out of memory";
      return Unavailable(std::string(kDown));
    }
    // libpq's connect_timeout only applies to its blocking connect: enforce it here.
    const Deadline deadline = Clock::now() + settings.connect_timeout;
    PostgresPollingStatusType state =
        PQstatus(conn.get()) == CONNECTION_BAD ? PGRES_POLLING_FAILED : PGRES_POLLING_WRITING;
    while (state != PGRES_POLLING_OK) {
      if (state == PGRES_POLLING_FAILED) {
        last_error_ = PQerrorMessage(conn.get());
        return Unavailable(std::string(kDown));
      }
      if (!WaitFd(PQsocket(conn.get()), state == PGRES_POLLING_WRITING, deadline)) {
        last_error_ = "timed out while connecting";
        return Unavailable(std::string(kDown));
      }
      state = PQconnectPoll(conn.get());
    }
    PQsetNoticeProcessor(
        conn.get(), [](void*, const char*) {}, nullptr);
    if (PQsetnonblocking(conn.get(), 1) != 0) {
      last_error_ = PQerrorMessage(conn.get());
      return Unavailable(std::string(kDown));
    }
    conn_ = std::move(conn);
    return Status::Ok();
  }

  const std::string& last_error() const { return last_error_; }

  // True if the connection is open, idle and has nothing to read: the server sends
  // nothing to an idle session of ours unless it is closing it (shutdown, restart,
  // pg_terminate_backend, idle timeouts), and then the socket turns readable.
  bool Healthy() const {
    if (conn_ == nullptr || PQstatus(conn_.get()) != CONNECTION_OK ||
        PQtransactionStatus(conn_.get()) != PQTRANS_IDLE) {
      return false;
    }
    pollfd p{PQsocket(conn_.get()), POLLIN, 0};
    return p.fd >= 0 && ::poll(&p, 1, 0) == 0;
  }

  bool Idle() const { return conn_ != nullptr && PQtransactionStatus(conn_.get()) == PQTRANS_IDLE; }

  // Runs a prepared statement (preparing it first on this connection if needed).
  StatusOr<Result> Run(const Statement& statement, const Params& params, Deadline deadline) {
    if (conn_ == nullptr) return Unavailable(std::string(kDown));
    if (!prepared_.contains(statement.name)) {
      if (PQsendPrepare(conn_.get(), statement.name.c_str(), statement.sql.c_str(), 0, nullptr) ==
          0) {
        return Broken();
      }
      auto prepared = Collect(deadline);
      if (!prepared.ok()) return prepared.status();
      prepared_.insert(statement.name);
    }
    const std::vector<const char*> values = Values(params);
    if (PQsendQueryPrepared(conn_.get(), statement.name.c_str(), static_cast<int>(values.size()),
                            values.data(), nullptr, nullptr, 0) == 0) {
      return Broken();
    }
    auto result = Collect(deadline);
    // A session whose prepared statements were dropped behind our back (DISCARD ALL by
    // a pooler): prepare again next time.
    if (!result.ok() && last_sqlstate_ == "26000") prepared_.erase(statement.name);
    return result;
  }

  // Runs `sql` once, unprepared, with parameters.
  StatusOr<Result> RunOnce(const std::string& sql, const Params& params, Deadline deadline) {
    if (conn_ == nullptr) return Unavailable(std::string(kDown));
    const std::vector<const char*> values = Values(params);
    if (PQsendQueryParams(conn_.get(), sql.c_str(), static_cast<int>(values.size()), nullptr,
                          values.data(), nullptr, nullptr, 0) == 0) {
      return Broken();
    }
    return Collect(deadline);
  }

  // Runs `sql` (one or more statements, no parameters) by the simple query protocol.
  StatusOr<Result> Exec(const std::string& sql, Deadline deadline) {
    if (conn_ == nullptr) return Unavailable(std::string(kDown));
    if (PQsendQuery(conn_.get(), sql.c_str()) == 0) return Broken();
    return Collect(deadline);
  }

  // Ends an open transaction; closes the connection if that fails.
  void Rollback(Deadline deadline) {
    if (conn_ == nullptr || Idle()) return;
    (void)Exec("ROLLBACK", deadline);
    if (!Idle()) Close();
  }

  // The constraint a unique violation named (kAlreadyExists from Run).
  const std::string& violated_constraint() const { return violated_constraint_; }

 private:
  static std::vector<const char*> Values(const Params& params) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    return values;
  }

  Status Broken() {
    Close();
    return Unavailable(std::string(kDown));
  }

  // Sends what is buffered and collects the results of the query in flight, within the
  // deadline. The first error wins; otherwise the last result is returned.
  StatusOr<Result> Collect(Deadline deadline) {
    last_sqlstate_.clear();
    PGconn* c = conn_.get();
    for (;;) {
      const int flushed = PQflush(c);
      if (flushed == 0) break;
      if (flushed < 0) return Broken();
      if (!WaitFd(PQsocket(c), /*write=*/true, deadline)) return TimedOut();
      if (PQconsumeInput(c) == 0) return Broken();
    }
    ResultPtr error, last;
    for (;;) {
      while (PQisBusy(c) != 0) {
        if (!WaitFd(PQsocket(c), /*write=*/false, deadline)) return TimedOut();
        if (PQconsumeInput(c) == 0) return Broken();
      }
      ResultPtr result(PQgetResult(c));
      if (result == nullptr) break;
      const ExecStatusType status = PQresultStatus(result.get());
      if (status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE) {
        if (error == nullptr) error = std::move(result);
      } else {
        last = std::move(result);
      }
    }
    if (PQstatus(c) != CONNECTION_OK) return Broken();
    if (error != nullptr) return FromError(error.get());
    if (last == nullptr) return Internal("database error: no result");
    return Result(std::move(last));
  }

  // The connection's state is unknown after a deadline passes mid-query: close it (the
  // server notices and cancels the statement).
  Status TimedOut() {
    Close();
    return Unavailable(std::string(kSlow));
  }

  Status FromError(const PGresult* result) {
    const char* field = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    last_sqlstate_ = field != nullptr ? field : "";
    const std::string_view code = last_sqlstate_;
    if (code == "23505") {
      const char* constraint = PQresultErrorField(result, PG_DIAG_CONSTRAINT_NAME);
      violated_constraint_ = constraint != nullptr ? constraint : "";
      return AlreadyExists("the record already exists");
    }
    if (code == "57014") return Unavailable(std::string(kSlow));  // statement_timeout
    // Connection exceptions, insufficient resources, operator intervention (shutdown,
    // "cannot connect now"), serialization failures and deadlocks, lock timeouts: try
    // again later. A read-only transaction means we reached a standby.
    if (code.starts_with("08") || code.starts_with("53") || code.starts_with("57P") ||
        code == "40001" || code == "40P01" || code == "55P03") {
      return Unavailable(std::string(kDown));
    }
    if (code == "25006") return Unavailable("the database is read-only");
    return Internal("database error (SQLSTATE " +
                    (code.empty() ? std::string("none") : last_sqlstate_) + ")");
  }

  ConnPtr conn_;
  std::unordered_set<std::string> prepared_;
  std::string last_error_;
  std::string last_sqlstate_;
  std::string violated_constraint_;
};

// A fixed set of connection slots, each leased to one caller at a time.
using Pool = sql::ConnectionPool<Connection>;

// A caller that failed half-way must not leave a transaction open on a pooled
// connection (callers roll back; this is the backstop).
std::function<void(Connection&)> CloseIfNotIdle() {
  return [](Connection& conn) {
    if (conn.open() && !conn.Idle()) conn.Close();
  };
}

const Status& StatusOf(const Status& s) { return s; }
template <typename T>
Status StatusOf(const StatusOr<T>& s) {
  return s.status();
}

// ---------------------------------------------------------------------------------------
// Rows and parameters: the shared row mapping (store/sql/rows.h) over libpq's text results.

class Row {
 public:
  Row(const Result& r, int row) : r_(r), row_(row) {}
  std::string Text(int col) const { return r_.Text(row_, col); }
  int64_t Int64(int col) const { return r_.Int64(row_, col); }
  bool Bool(int col) const { return r_.Bool(row_, col); }
  bool IsNull(int col) const { return r_.IsNull(row_, col); }
  StatusOr<std::string> Blob(int col) const {
    size_t length = 0;
    unsigned char* raw = PQunescapeBytea(
        reinterpret_cast<const unsigned char*>(r_.Text(row_, col).c_str()), &length);
    if (raw == nullptr) return Internal("corrupt record in the database");
    std::string bytes(reinterpret_cast<const char*>(raw), length);
    PQfreemem(raw);
    return bytes;
  }

 private:
  const Result& r_;
  int row_;
};

// A parameter in libpq's text format.
std::optional<std::string> ToText(const sql::SqlValue& value) {
  return std::visit(
      [](const auto& v) -> std::optional<std::string> {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, sql::SqlNull>) {
          return std::nullopt;
        } else if constexpr (std::is_same_v<T, int64_t>) {
          return std::to_string(v);
        } else if constexpr (std::is_same_v<T, bool>) {
          return std::string(v ? "t" : "f");
        } else if constexpr (std::is_same_v<T, std::string>) {
          return v;
        } else {
          std::string out = "\\x";
          AppendHex(&out, reinterpret_cast<const unsigned char*>(v.bytes.data()), v.bytes.size());
          return out;
        }
      },
      value);
}

Params ToParams(const std::vector<sql::SqlValue>& values) {
  Params params;
  params.reserve(values.size());
  for (const auto& v : values) params.push_back(ToText(v));
  return params;
}

// ---------------------------------------------------------------------------------------
// Statements.

const sql::Statements& kSql = sql::StatementsFor(sql::Dialect::kPostgres);
const Statement kInsertKey{"insert_key", kSql.insert_key};
const Statement kInsertLabel{"insert_label", kSql.insert_label};
const Statement kDeleteLabels{"delete_labels", kSql.delete_labels};
const Statement kGetKeyForUpdate{"get_key_for_update", kSql.get_key + " FOR UPDATE"};
const Statement kUpdateKey{"update_key", sql::UpdateKeySql(sql::Dialect::kPostgres, true)};
const Statement kGetKey{"get_key", kSql.get_key};
const Statement kGetKeyByName{"get_key_by_name", kSql.get_key_by_name};
// Labels go with the key (ON DELETE CASCADE).
const Statement kDeleteKey{
    "delete_key", "DELETE FROM keys WHERE id = $1 AND ($2::BIGINT IS NULL OR revision = $2)"};
const Statement kInsertToken{"insert_token", kSql.insert_token};
const Statement kGetToken{"get_token", kSql.get_token};
const Statement kListTokens{"list_tokens", kSql.list_tokens};
const Statement kRevokeToken{"revoke_token", kSql.revoke_token};
const Statement kPing{"ping", "SELECT 1"};
const Statement kInsertCa{"insert_ca", kSql.insert_ca};
const Statement kGetCa{"get_ca", kSql.get_ca};
const Statement kNextSerial{"next_serial", kSql.next_serial};
const Statement kInsertCertificate{"insert_certificate", kSql.insert_certificate};
const Statement kGetCertificate{"get_certificate", kSql.get_certificate};
const Statement kRevokeCertificate{"revoke_certificate", kSql.revoke_certificate};
const Statement kRevokedSerials{"revoked_serials", kSql.revoked_serials};

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
// Migrations: sql::Migrate in one transaction under a transaction-level advisory lock,
// which serialises the nodes that migrate at the same time.

class MigrationSession final : public sql::MigrationSession {
 public:
  explicit MigrationSession(Connection* conn) : conn_(conn) {}

  StatusOr<std::set<int64_t>> AppliedVersions() override {
    std::set<int64_t> versions;
    auto exists = conn_->Exec("SELECT to_regclass('schema_migrations') IS NOT NULL", Deadline());
    if (!exists.ok()) return exists.status();
    if (exists->rows() != 1 || !exists->Bool(0, 0)) return versions;
    auto rows = conn_->Exec("SELECT version FROM schema_migrations", Deadline());
    if (!rows.ok()) return rows.status();
    for (int i = 0; i < rows->rows(); ++i) versions.insert(rows->Int64(i, 0));
    return versions;
  }

  Status Begin() override {
    migrating_until_ = Clock::now() + kMigrationTimeout;
    const std::string steps[] = {
        "BEGIN",
        "SET LOCAL statement_timeout = " + std::to_string(kMigrationStatementTimeoutMs),
        "SELECT pg_advisory_xact_lock(" + std::to_string(kMigrationLockKey) + ")",
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    };
    for (const std::string& sql : steps) {
      if (auto r = conn_->Exec(sql, Deadline()); !r.ok()) return r.status();
    }
    return Status::Ok();
  }

  Status Apply(int version, const char* statements) override {
    if (auto r = conn_->Exec(statements, Deadline()); !r.ok()) return r.status();
    auto r = conn_->Exec(
        "INSERT INTO schema_migrations (version) VALUES (" + std::to_string(version) + ")",
        Deadline());
    return r.status();
  }

  Status DescribeKeys(const std::function<Status(KeyRecord*)>& describe) override {
    auto rows = conn_->Exec(kSql.undescribed_keys, Deadline());
    if (!rows.ok()) return rows.status();
    if (rows->rows() > 0 && !describe) return Internal("no key parser to describe stored keys");
    for (int i = 0; i < rows->rows(); ++i) {
      KeyRecord key;
      key.id = rows->Text(i, 0);
      key.public_key = rows->Text(i, 1);
      if (Status s = describe(&key); !s.ok()) return s;
      auto r = conn_->RunOnce(
          kSql.describe_key,
          ToParams({key.id, key.type, static_cast<int64_t>(key.bits), key.comment,
                    key.fingerprint_sha256}),
          Deadline());
      if (!r.ok()) return r.status();
    }
    return Status::Ok();
  }

  Status Commit() override { return conn_->Exec("COMMIT", Deadline()).status(); }
  void Rollback() override { conn_->Rollback(Clock::now() + kQueryTimeout); }

 private:
  // Inside the migration transaction the deadline covers the wait for another node's
  // lock; before it, one query's.
  Clock::time_point Deadline() const {
    return migrating_until_ ? *migrating_until_ : Clock::now() + kQueryTimeout;
  }

  Connection* conn_;
  std::optional<Clock::time_point> migrating_until_;
};

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
    MigrationSession migration(&**lease);
    if (Status s = sql::Migrate(migration, sql::Dialect::kPostgres, options.apply_migrations,
                                options.describe_key);
        !s.ok()) {
      return s;
    }
    return store;
  }

  Status InsertKey(const KeyRecord& key) override {
    return Call(/*retry=*/false, [&](Connection& conn, Deadline deadline) -> Status {
      // A key with labels is several statements: one transaction.
      return InTransaction(conn, deadline, !key.labels.empty(), [&]() -> Status {
        auto r = conn.Run(kInsertKey, ToParams(sql::KeyValues(key)), deadline);
        if (!r.ok()) {
          if (r.status().code() == StatusCode::kAlreadyExists) {
            // The only unique constraints: the primary key (id) and (project_id, name).
            return AlreadyExists(std::string(
                conn.violated_constraint() == "keys_pkey" ? kKeyIdTaken : kKeyNameTaken));
          }
          return r.status();
        }
        return InsertLabels(conn, key, deadline);
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

  Status DeleteKey(std::string_view id, std::optional<int64_t> expected_revision) override {
    return Call(false, [&](Connection& conn, Deadline deadline) -> Status {
      auto r =
          conn.Run(kDeleteKey,
                   {std::string(id), expected_revision ? ToText(*expected_revision) : std::nullopt},
                   deadline);
      if (!r.ok()) return r.status();
      if (r->Affected() > 0) return Status::Ok();
      auto exists = conn.Run(kGetKey, {std::string(id)}, deadline);
      if (!exists.ok()) return exists.status();
      return exists->rows() > 0 ? FailedPrecondition(std::string(kKeyChanged))
                                : NotFound(std::string(kKeyNotFound));
    });
  }

  StatusOr<KeyRecord> UpdateKey(std::string_view id, const KeyUpdate& update,
                                std::optional<int64_t> expected_revision) override {
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
          return InsertLabels(conn, updated, deadline);
        }
        return Status::Ok();
      });
    });
    if (!status.ok()) return status;
    return updated;
  }

  Status InsertToken(const TokenRecord& token) override {
    return Call(false, [&](Connection& conn, Deadline deadline) -> Status {
      auto r = conn.Run(kInsertToken, ToParams(sql::TokenValues(token, sql::Dialect::kPostgres)),
                        deadline);
      if (r.ok()) return Status::Ok();
      if (r.status().code() == StatusCode::kAlreadyExists) {
        return AlreadyExists(std::string(kTokenIdTaken));
      }
      return r.status();
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
    return Call(true,
                [&](Connection& conn, Deadline deadline) -> StatusOr<std::vector<TokenRecord>> {
                  auto r = conn.Run(kListTokens, {}, deadline);
                  if (!r.ok()) return r.status();
                  std::vector<TokenRecord> tokens;
                  for (int i = 0; i < r->rows(); ++i) {
                    auto token = sql::ReadToken(Row(*r, i));
                    if (!token.ok()) return token.status();
                    tokens.push_back(std::move(*token));
                  }
                  return tokens;
                });
  }

  Status RevokeToken(std::string_view id, int64_t at_us) override {
    // Idempotent in effect (coalesce), so a retry after a lost connection is safe.
    return Call(true, [&](Connection& conn, Deadline deadline) -> Status {
      auto r = conn.Run(kRevokeToken, {std::string(id), std::to_string(at_us)}, deadline);
      if (!r.ok()) return r.status();
      if (r->Affected() == 0) return NotFound(std::string(kTokenNotFound));
      return Status::Ok();
    });
  }

  Status Ping() override {
    Status s = Call(true, [&](Connection& conn, Deadline deadline) -> Status {
      return conn.Run(kPing, {}, deadline).status();
    });
    return s.ok() || s.code() == StatusCode::kUnavailable ? s : Unavailable(std::string(kDown));
  }

  // --- the SSH CA

  StatusOr<CaRecord> GetOrCreateCa(const CaRecord& candidate) override {
    // Idempotent (ON CONFLICT DO NOTHING): safe to repeat after a lost connection.
    return Call(true, [&](Connection& conn, Deadline deadline) -> StatusOr<CaRecord> {
      auto inserted = conn.Run(kInsertCa, ToParams(sql::CaValues(candidate)), deadline);
      if (!inserted.ok()) return inserted.status();
      auto r = conn.Run(kGetCa, {ToText(candidate.project_id)}, deadline);
      if (!r.ok()) return r.status();
      if (r->rows() == 0) return Internal("the CA vanished");
      return sql::ReadCa(Row(*r, 0));
    });
  }

  StatusOr<CaRecord> GetCa(int64_t project_id) override {
    return Call(true, [&](Connection& conn, Deadline deadline) -> StatusOr<CaRecord> {
      auto r = conn.Run(kGetCa, {ToText(project_id)}, deadline);
      if (!r.ok()) return r.status();
      if (r->rows() == 0) return NotFound("no CA for the project");
      return sql::ReadCa(Row(*r, 0));
    });
  }

  StatusOr<int64_t> NextSerial(int64_t project_id) override {
    return Call(false, [&](Connection& conn, Deadline deadline) -> StatusOr<int64_t> {
      auto r = conn.Run(kNextSerial, {ToText(project_id)}, deadline);
      if (!r.ok()) return r.status();
      if (r->rows() == 0) return NotFound("no CA for the project");
      return r->Int64(0, 0);
    });
  }

  Status RecordCertificate(const CertificateRecord& c) override {
    return Call(false, [&](Connection& conn, Deadline deadline) -> Status {
      auto r = conn.Run(kInsertCertificate, ToParams(sql::CertificateValues(c)), deadline);
      if (!r.ok() && r.status().code() == StatusCode::kAlreadyExists) {
        return AlreadyExists("the serial is recorded already");
      }
      return r.status();
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

  Status RevokeCertificate(int64_t project_id, int64_t serial, int64_t at_us) override {
    return Call(true, [&](Connection& conn, Deadline deadline) -> Status {
      auto r = conn.Run(kRevokeCertificate, {ToText(project_id), ToText(serial), ToText(at_us)},
                        deadline);
      if (!r.ok()) return r.status();
      if (r->Affected() == 0) return NotFound("no such certificate");
      return Status::Ok();
    });
  }

  StatusOr<Revocations> RevocationsOf(int64_t project_id, int64_t now_s) override {
    return Call(true, [&](Connection& conn, Deadline deadline) -> StatusOr<Revocations> {
      Revocations out;
      auto serials = conn.Run(kRevokedSerials, {ToText(project_id), ToText(now_s)}, deadline);
      if (!serials.ok()) return serials.status();
      for (int i = 0; i < serials->rows(); ++i) out.serials.push_back(serials->Int64(i, 0));
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

StatusOr<std::unique_ptr<KeyStore>> OpenPostgresStore(const std::string& url,
                                                      const StoreOptions& options) {
  auto store = PostgresStore::Open(url, options);
  if (!store.ok()) return store.status();
  return std::unique_ptr<KeyStore>(std::move(*store));
}

}  // namespace keypaird::store
