// The SQLite driver: opening a connection (WAL, pragmas, busy timeout), the cached
// prepared statements (Stmt) that bind sql::SqlValues and read rows as an sql::Row, and
// the mapping of SQLite result codes to Status. Also creates the database file with its
// modes. Internal to store/sqlite/.
//
// Threading: a Connection and its Stmts are not thread-safe (SQLITE_OPEN_NOMUTEX); each
// is used by one thread at a time, which the pools (sql::ConnectionPool) guarantee.
//
// Status messages are fixed text or sqlite3_errstr() (generic per result code): never
// SQL, paths or bound values.
#ifndef KEYPAIRD_STORE_SQLITE_DRIVER_H_
#define KEYPAIRD_STORE_SQLITE_DRIVER_H_

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "store/sql/pool.h"
#include "store/sql/rows.h"
#include "store/sql/statements.h"

namespace keypaird::store::sqlite {

using SteadyClock = std::chrono::steady_clock;
inline constexpr int kBusyTimeoutMs = 5000;
inline constexpr std::chrono::milliseconds kBusyTimeout{kBusyTimeoutMs};

// The shared statements (store/sql/statements.h) with ?n parameters.
inline const sql::Statements& Sql() { return sql::StatementsFor(sql::Dialect::kSqlite); }

// A SQLite result code (extended) as a Status.
Status FromSqlite(int rc);

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;

struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;
// A borrowed prepared statement from a Connection's cache; reset and unbound when it
// goes out of scope so that it holds no read snapshot and no stale values. Its current
// row is an sql::Row.
class Stmt {
 public:
  explicit Stmt(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Stmt(Stmt&& other) noexcept
      : stmt_(std::exchange(other.stmt_, nullptr)), bind_rc_(other.bind_rc_) {}
  Stmt& operator=(Stmt&&) = delete;
  ~Stmt() {
    if (stmt_ != nullptr) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
      // Each run counts its own instructions: SQLite's progress handler (a read's work
      // budget) fires when this count crosses a multiple of its period, and the count would
      // otherwise go on across the runs of a cached statement.
      sqlite3_stmt_status(stmt_, SQLITE_STMTSTATUS_VM_STEP, 1);
    }
  }

  // Binds parameter `index` (1-based).
  void Bind(int index, const sql::SqlValue& value);
  // Binds values[i] to parameter i + 1.
  void BindAll(const std::vector<sql::SqlValue>& values);

  // SQLITE_ROW, SQLITE_DONE or an error code (also a deferred bind error).
  int Step() { return bind_rc_ != SQLITE_OK ? bind_rc_ : sqlite3_step(stmt_); }

  // Steps to completion expecting no rows (or ignoring them); OK or the mapped error.
  Status Run() {
    int rc;
    while ((rc = Step()) == SQLITE_ROW) {
    }
    return rc == SQLITE_DONE ? Status::Ok() : FromSqlite(rc);
  }

  // sql::Row
  int64_t Int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool Bool(int col) const { return Int64(col) != 0; }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string Text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p == nullptr ? std::string() : std::string(p, sqlite3_column_bytes(stmt_, col));
  }
  StatusOr<std::string> Blob(int col) const {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
    return p == nullptr ? std::string() : std::string(p, sqlite3_column_bytes(stmt_, col));
  }

 private:
  void Check(int rc) {
    if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  }

  sqlite3_stmt* stmt_;
  int bind_rc_ = SQLITE_OK;
};

// One sqlite3 handle and its prepared-statement cache. Not thread-safe: used by one
// thread at a time, which the pools guarantee (hence SQLITE_OPEN_NOMUTEX).
class Connection {
 public:
  // Opens `filename` (":memory:" when `in_memory`); a file in WAL mode.
  static StatusOr<std::unique_ptr<Connection>> Open(const std::string& filename, bool in_memory);

  sqlite3* db() const { return db_.get(); }

  // A cached prepared statement for `sql` (which must be a single statement).
  StatusOr<Stmt> Prepare(const std::string& sql);

  // Runs a one-statement SQL text without parameters through the statement cache:
  // transaction control, parsed once instead of once per use.
  Status ExecCached(const std::string& sql);

  // Runs statements without parameters (DDL, BEGIN/COMMIT); rows are ignored.
  Status Exec(const char* sql);

  // The first column of the first row of a one-statement query ("" if no row).
  StatusOr<std::string> QueryText(const char* sql);

  bool InTransaction() const { return sqlite3_get_autocommit(db_.get()) == 0; }
  void RollbackIfActive() {
    if (InTransaction()) (void)Exec("ROLLBACK");
  }

 private:
  explicit Connection(DbPtr db) : db_(std::move(db)) {}

  static Status OpenFailure(const Status& s);

  DbPtr db_;  // declared first: destroyed after the statements below
  std::map<std::string, StmtPtr, std::less<>> cache_;
};

using Pool = sql::ConnectionPool<Connection>;

// A caller that failed half-way must not leave a transaction open on a pooled
// connection.
std::function<void(Connection&)> RollBackOnRelease();

// Creates the database file (mode 0600) and its missing parent directories (0700).
Status CreateDatabaseFile(const std::string& path);

}  // namespace keypaird::store::sqlite

#endif  // KEYPAIRD_STORE_SQLITE_DRIVER_H_
