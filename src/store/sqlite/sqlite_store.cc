// The SQLite KeyStore backend.
//
// Connections: one writer connection (all mutations go through Writer, below) and
// `pool_size` reader connections, each leased exclusively to one call at a time; WAL
// lets the readers run while the writer commits. ":memory:" has a single connection
// that serves as both writer and reader (a private in-memory database cannot be shared
// between connections without shared-cache mode and its table-level SQLITE_LOCKED
// errors, which busy_timeout does not cover).
//
// Status messages are fixed text or sqlite3_errstr() (generic per result code): never
// SQL, paths or bound values.

#include "store/sqlite/sqlite_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <filesystem>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "store/key_store.h"
#include "store/sqlite/sqlite_store_testing.h"
#include "store/store_internal.h"

namespace keypaird::store {
namespace {

constexpr int kBusyTimeoutMs = 5000;

// ---------------------------------------------------------------------------------------
// Schema migrations. Append new steps at the end; never edit or reorder applied ones.
// Step i has version i + 1.

constexpr const char* kMigrations[] = {
    // 1: keys. UNIQUE(project_id, name) enforces name uniqueness and serves name order
    // (names are unique in a project, so the id tie-break is implied); the two
    // created_at indexes serve "created_at ASC, id ASC" and "created_at DESC, id ASC"
    // as index walks (one index walked backwards would give "DESC, id DESC").
    R"sql(
      CREATE TABLE keys (
        id TEXT PRIMARY KEY NOT NULL,
        project_id INTEGER NOT NULL,
        user_id INTEGER NOT NULL,
        name TEXT NOT NULL,
        public_key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        shared_in_project INTEGER NOT NULL CHECK (shared_in_project IN (0, 1)),
        created_at_us INTEGER NOT NULL,
        UNIQUE (project_id, name)
      );
      CREATE INDEX keys_by_project_created ON keys (project_id, created_at_us, id);
      CREATE INDEX keys_by_project_created_desc ON keys (project_id, created_at_us DESC, id);
    )sql",
    // 2: API tokens. `projects` is a comma-separated ascending list of project ids.
    R"sql(
      CREATE TABLE tokens (
        id TEXT PRIMARY KEY NOT NULL,
        user_id INTEGER NOT NULL,
        admin INTEGER NOT NULL CHECK (admin IN (0, 1)),
        projects TEXT NOT NULL,
        secret_hash BLOB NOT NULL,
        created_at_us INTEGER NOT NULL,
        revoked_at_us INTEGER
      );
      CREATE INDEX tokens_by_created ON tokens (created_at_us, id);
    )sql",
    // 3: key counts per (project, owner, shared), kept by triggers, so that a list's
    // total is a sum over a project's few (owner, shared) groups instead of a walk over
    // every key of the project: counting 100k keys took ~60 ms of CPU per list request.
    // Rows whose count drops to 0 stay (they add nothing to a sum).
    R"sql(
      CREATE TABLE key_counts (
        project_id INTEGER NOT NULL,
        user_id INTEGER NOT NULL,
        shared_in_project INTEGER NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (project_id, user_id, shared_in_project)
      ) WITHOUT ROWID;
      INSERT INTO key_counts (project_id, user_id, shared_in_project, n)
        SELECT project_id, user_id, shared_in_project, count(*) FROM keys GROUP BY 1, 2, 3;
      CREATE TRIGGER keys_counted_insert AFTER INSERT ON keys BEGIN
        INSERT INTO key_counts (project_id, user_id, shared_in_project, n)
          VALUES (NEW.project_id, NEW.user_id, NEW.shared_in_project, 1)
          ON CONFLICT (project_id, user_id, shared_in_project) DO UPDATE SET n = n + 1;
      END;
      CREATE TRIGGER keys_counted_delete AFTER DELETE ON keys BEGIN
        UPDATE key_counts SET n = n - 1
          WHERE project_id = OLD.project_id AND user_id = OLD.user_id
            AND shared_in_project = OLD.shared_in_project;
      END;
      CREATE TRIGGER keys_counted_update
        AFTER UPDATE OF project_id, user_id, shared_in_project ON keys BEGIN
        UPDATE key_counts SET n = n - 1
          WHERE project_id = OLD.project_id AND user_id = OLD.user_id
            AND shared_in_project = OLD.shared_in_project;
        INSERT INTO key_counts (project_id, user_id, shared_in_project, n)
          VALUES (NEW.project_id, NEW.user_id, NEW.shared_in_project, 1)
          ON CONFLICT (project_id, user_id, shared_in_project) DO UPDATE SET n = n + 1;
      END;
    )sql",
};
constexpr int kLatestVersion = static_cast<int>(std::size(kMigrations));

// ---------------------------------------------------------------------------------------
// Status mapping.

Status FromSqlite(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Unavailable("the database is busy; try again later");
    case SQLITE_CANTOPEN:
      return Unavailable("cannot open the database");
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return AlreadyExists("the record already exists");
      }
      break;
    default:
      break;
  }
  return Internal(std::string("database error: ") + sqlite3_errstr(rc));
}

// ---------------------------------------------------------------------------------------
// RAII wrappers.

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;

struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// A borrowed prepared statement from a Connection's cache; reset and unbound when it
// goes out of scope so that it holds no read snapshot and no stale values.
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
    }
  }

  void Bind(int index, int64_t value) { Check(sqlite3_bind_int64(stmt_, index, value)); }
  void Bind(int index, std::string_view text) {
    Check(
        sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  void BindBlob(int index, std::string_view bytes) {
    Check(sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT));
  }
  void BindNull(int index) { Check(sqlite3_bind_null(stmt_, index)); }
  // Binds by ":name"; a parameter the statement does not use is skipped.
  void BindNamed(const char* name, int64_t value) {
    if (int i = sqlite3_bind_parameter_index(stmt_, name); i > 0) Bind(i, value);
  }
  void BindNamed(const char* name, std::string_view text) {
    if (int i = sqlite3_bind_parameter_index(stmt_, name); i > 0) Bind(i, text);
  }

  // SQLITE_ROW, SQLITE_DONE or an error code (also a deferred bind error).
  int Step() { return bind_rc_ != SQLITE_OK ? bind_rc_ : sqlite3_step(stmt_); }

  // Steps to completion expecting no rows (or ignoring them); OK or the mapped error.
  Status Run() {
    int rc;
    while ((rc = Step()) == SQLITE_ROW) {
    }
    return rc == SQLITE_DONE ? Status::Ok() : FromSqlite(rc);
  }

  int64_t Int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string Text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p == nullptr ? std::string() : std::string(p, sqlite3_column_bytes(stmt_, col));
  }
  std::string Blob(int col) const {
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
  static StatusOr<std::unique_ptr<Connection>> Open(const std::string& filename, bool in_memory) {
    sqlite3* raw = nullptr;
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    const int rc = sqlite3_open_v2(filename.c_str(), &raw, flags, nullptr);
    // sqlite3_open_v2 allocates a handle even when it fails: own it before checking.
    auto conn = std::unique_ptr<Connection>(new Connection(DbPtr(raw)));
    if (rc != SQLITE_OK) {
      return Unavailable(std::string("cannot open the database: ") + sqlite3_errstr(rc));
    }
    sqlite3_extended_result_codes(raw, 1);
    sqlite3_busy_timeout(raw, kBusyTimeoutMs);
    // synchronous and foreign_keys are per connection; journal_mode=WAL persists in the
    // file but setting it again is a cheap check that it took.
    if (!in_memory) {
      // Switching a fresh file to WAL takes an exclusive lock, and SQLite answers BUSY at
      // once (no busy handler) when another process is opening the same new file — as
      // when `serve` and `token create` start together. Retry within the busy timeout.
      const auto deadline =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
      auto mode = conn->QueryText("PRAGMA journal_mode=WAL");
      while (!mode.ok() && mode.status().code() == StatusCode::kUnavailable &&
             std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        mode = conn->QueryText("PRAGMA journal_mode=WAL");
      }
      if (!mode.ok()) return OpenFailure(mode.status());
      if (*mode != "wal") return Unavailable("cannot switch the database to WAL mode");
    }
    for (const char* pragma : {"PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"}) {
      if (Status s = conn->Exec(pragma); !s.ok()) return OpenFailure(s);
    }
    return conn;
  }

  sqlite3* db() const { return db_.get(); }

  // A cached prepared statement for `sql` (which must be a single statement).
  StatusOr<Stmt> Prepare(const std::string& sql) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
      sqlite3_stmt* raw = nullptr;
      const int rc = sqlite3_prepare_v3(db_.get(), sql.c_str(), static_cast<int>(sql.size()),
                                        SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
      StmtPtr stmt(raw);
      if (rc != SQLITE_OK) return FromSqlite(rc);
      it = cache_.emplace(sql, std::move(stmt)).first;
    }
    return Stmt(it->second.get());
  }

  // Runs a one-statement SQL text without parameters through the statement cache:
  // the write path's transaction control, parsed once instead of once per op.
  Status ExecCached(const std::string& sql) {
    auto stmt = Prepare(sql);
    if (!stmt.ok()) return stmt.status();
    return stmt->Run();
  }

  // Runs statements without parameters (DDL, BEGIN/COMMIT); rows are ignored.
  Status Exec(const char* sql) {
    const int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr);
    return rc == SQLITE_OK ? Status::Ok() : FromSqlite(rc);
  }

  // The first column of the first row of a one-statement query.
  StatusOr<std::string> QueryText(const char* sql) {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(db_.get(), sql, -1, &raw, nullptr);
    StmtPtr stmt(raw);
    if (rc != SQLITE_OK) return FromSqlite(rc);
    rc = sqlite3_step(stmt.get());
    if (rc == SQLITE_DONE) return std::string();
    if (rc != SQLITE_ROW) return FromSqlite(rc);
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0));
    return p == nullptr ? std::string() : std::string(p);
  }

  bool InTransaction() const { return sqlite3_get_autocommit(db_.get()) == 0; }
  void RollbackIfActive() {
    if (InTransaction()) (void)Exec("ROLLBACK");
  }

 private:
  explicit Connection(DbPtr db) : db_(std::move(db)) {}

  static Status OpenFailure(const Status& s) {
    return s.code() == StatusCode::kUnavailable
               ? s
               : Unavailable("cannot open the database: " + s.message());
  }

  DbPtr db_;  // declared first: destroyed after the statements below
  std::map<std::string, StmtPtr, std::less<>> cache_;
};

// A fixed set of connections, each leased to one caller at a time.
class ConnectionPool {
 public:
  class Lease {
   public:
    Lease(ConnectionPool* pool, Connection* conn) : pool_(pool), conn_(conn) {}
    Lease(Lease&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)), conn_(other.conn_) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (pool_ != nullptr) pool_->Release(conn_);
    }
    Connection& operator*() const { return *conn_; }
    Connection* operator->() const { return conn_; }

   private:
    ConnectionPool* pool_;
    Connection* conn_;
  };

  void Add(std::unique_ptr<Connection> conn) {
    std::lock_guard lock(mu_);
    free_.push_back(conn.get());
    all_.push_back(std::move(conn));
  }

  // Waits up to the busy timeout for a free connection; kUnavailable after that.
  StatusOr<Lease> Acquire() {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::milliseconds(kBusyTimeoutMs),
                      [this] { return !free_.empty(); })) {
      return Unavailable("all database connections are busy; try again later");
    }
    Connection* conn = free_.back();
    free_.pop_back();
    return Lease(this, conn);
  }

  size_t size() const {
    std::lock_guard lock(mu_);
    return all_.size();
  }

 private:
  void Release(Connection* conn) {
    // A caller that failed half-way must not leave a transaction open on a pooled
    // connection.
    conn->RollbackIfActive();
    {
      std::lock_guard lock(mu_);
      free_.push_back(conn);
    }
    cv_.notify_one();
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> all_;
  std::vector<Connection*> free_;
};

// The connection one read runs on: a lease from the read pool, or the connection a
// SqliteStore::InOneSnapshot scope pinned to this thread (then already in a transaction).
class ReadConn {
 public:
  explicit ReadConn(ConnectionPool::Lease lease) : lease_(std::move(lease)), conn_(&**lease_) {}
  explicit ReadConn(Connection* pinned) : conn_(pinned) {}
  Connection& operator*() const { return *conn_; }
  Connection* operator->() const { return conn_; }

 private:
  std::optional<ConnectionPool::Lease> lease_;
  Connection* conn_;
};

// ---------------------------------------------------------------------------------------
// The write path: every mutation of the database goes through Writer::Run and nowhere
// else.
//
// Group commit. With synchronous=FULL every COMMIT in WAL mode costs an fsync of the
// -wal file, and that fsync, not the SQL, bounds durable write throughput: one op per
// transaction runs at the disk's fsync rate (~350-1100/s on the benchmark VM), many per
// transaction ~30x faster (docs/BENCHMARKS.md).
// So concurrent callers queue their ops; the first caller to find no batch in flight
// becomes the leader, takes every op queued so far (up to kMaxBatch), and runs them on
// the single writer connection in ONE transaction, each inside its own SAVEPOINT so
// that a failing op (a name clash, a missing row) rolls back alone. After the one
// COMMIT (the one fsync) it hands every caller its own status, then passes leadership
// to the oldest op still queued, which gathered company while the fsync ran. A caller
// returns only once its own op is committed (or has failed): an acknowledged write is
// as durable as before. With no concurrency a batch is one op and the cost is the same
// as the plain BEGIN IMMEDIATE/COMMIT it replaces, plus a SAVEPOINT/RELEASE pair.
//
// Ops therefore never begin or end transactions themselves, and an op's side results
// (SetShared's row) are only meaningful to its caller if the returned status is OK.
// Other processes (the CLI) are covered by busy_timeout on BEGIN IMMEDIATE.
class Writer {
 public:
  using Op = std::function<Status(Connection&)>;

  // Counters for sqlite_store_testing.h: how many transactions committed how many ops.
  struct Stats {
    int64_t transactions = 0;
    int64_t operations = 0;
    int64_t largest_batch = 0;
  };

  explicit Writer(ConnectionPool* pool) : pool_(pool) {}

  Status Run(const Op& op) {
    Pending self(&op);
    std::unique_lock lock(mu_);
    queue_.push_back(&self);
    if (leader_active_) {
      self.cv.wait(lock, [&self] { return self.done || self.leader; });
      if (self.done) return std::move(self.status);
    }
    // This caller leads: its op is at the front of the queue (a new leader is always
    // the oldest waiter, and a caller that found no leader queued into an empty queue).
    leader_active_ = true;
    std::vector<Pending*> batch;
    const size_t n = std::min(queue_.size(), kMaxBatch);
    batch.assign(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
    lock.unlock();

    RunBatch(batch);

    lock.lock();
    for (Pending* p : batch) {
      if (p == &self) continue;
      p->done = true;
      p->cv.notify_one();
    }
    if (queue_.empty()) {
      leader_active_ = false;
    } else {
      queue_.front()->leader = true;
      queue_.front()->cv.notify_one();
    }
    return std::move(self.status);
  }

  Stats stats() const {
    std::lock_guard lock(stats_mu_);
    return stats_;
  }

 private:
  // Ops per transaction at most: bounds the latency one batch adds to its last op.
  static constexpr size_t kMaxBatch = 256;

  struct Pending {
    explicit Pending(const Op* o) : op(o) {}
    const Op* op;
    Status status;
    bool done = false;    // status is final (guarded by mu_)
    bool leader = false;  // this caller must run the next batch (guarded by mu_)
    std::condition_variable cv;
  };

  // Runs one op inside a savepoint; the op's own status. `*txn_lost` is set if the op's
  // failure ended the whole transaction (SQLite rolls back by itself on some errors,
  // e.g. SQLITE_FULL or an I/O error), in which case nothing of it is left to commit.
  static Status RunOne(Connection& conn, const Op& op, bool* txn_lost) {
    if (Status s = conn.ExecCached("SAVEPOINT op"); !s.ok()) {
      *txn_lost = !conn.InTransaction();
      return s;
    }
    Status s;
    try {
      s = op(conn);
    } catch (const std::exception&) {
      s = Internal("database error: unexpected failure");
    }
    if (!conn.InTransaction()) {
      *txn_lost = true;
      return s.ok() ? Internal("database error: the transaction was aborted") : s;
    }
    if (!s.ok()) {
      if (!conn.ExecCached("ROLLBACK TO op").ok() || !conn.ExecCached("RELEASE op").ok()) {
        conn.RollbackIfActive();
        *txn_lost = true;
      }
      return s;
    }
    if (Status r = conn.ExecCached("RELEASE op"); !r.ok()) {
      conn.RollbackIfActive();
      *txn_lost = true;
      return r;
    }
    return s;
  }

  void RunBatch(const std::vector<Pending*>& batch) {
    auto lease = pool_->Acquire();
    if (!lease.ok()) {
      for (Pending* p : batch) p->status = lease.status();
      return;
    }
    Connection& conn = **lease;
    size_t next = 0;
    while (next < batch.size()) {
      // One transaction for batch[first, next). Normally the loop runs once; it starts
      // over only if an op's failure took the transaction with it.
      const size_t first = next;
      if (Status s = conn.ExecCached("BEGIN IMMEDIATE"); !s.ok()) {
        for (size_t i = first; i < batch.size(); ++i) batch[i]->status = s;
        return;
      }
      bool txn_lost = false;
      while (next < batch.size() && !txn_lost) {
        batch[next]->status = RunOne(conn, *batch[next]->op, &txn_lost);
        ++next;
      }
      Status commit = txn_lost ? Status::Ok() : conn.ExecCached("COMMIT");
      if (!commit.ok()) conn.RollbackIfActive();
      if (txn_lost || !commit.ok()) {
        // The ops of this transaction that succeeded were not committed: they fail with
        // the cause (a generic message if the cause was another op's own error).
        Status cause = txn_lost ? batch[next - 1]->status : commit;
        if (cause.code() != StatusCode::kUnavailable && cause.code() != StatusCode::kInternal) {
          cause = Internal("database error: the transaction was aborted");
        }
        for (size_t i = first; i < next; ++i) {
          if (batch[i]->status.ok()) batch[i]->status = cause;
        }
      } else {
        std::lock_guard lock(stats_mu_);
        ++stats_.transactions;
        stats_.operations += static_cast<int64_t>(next - first);
        stats_.largest_batch = std::max(stats_.largest_batch, static_cast<int64_t>(next - first));
      }
    }
  }

  ConnectionPool* pool_;
  std::mutex mu_;
  std::deque<Pending*> queue_;  // waiting ops, oldest first (guarded by mu_)
  bool leader_active_ = false;  // a batch is being gathered or run (guarded by mu_)
  mutable std::mutex stats_mu_;
  Stats stats_;
};

// ---------------------------------------------------------------------------------------
// Migrations.

StatusOr<std::set<int64_t>> AppliedVersions(Connection& conn) {
  std::set<int64_t> versions;
  auto exists = conn.Prepare(
      "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'");
  if (!exists.ok()) return exists.status();
  if (int rc = exists->Step(); rc != SQLITE_ROW) return FromSqlite(rc);
  if (exists->Int64(0) == 0) return versions;

  auto stmt = conn.Prepare("SELECT version FROM schema_migrations");
  if (!stmt.ok()) return stmt.status();
  int rc;
  while ((rc = stmt->Step()) == SQLITE_ROW) versions.insert(stmt->Int64(0));
  if (rc != SQLITE_DONE) return FromSqlite(rc);
  return versions;
}

Status CheckNotNewer(const std::set<int64_t>& applied) {
  for (int64_t v : applied) {
    if (v < 1 || v > kLatestVersion) {
      return Unavailable("the database schema was written by a newer keypaird (it has migration " +
                         std::to_string(v) + "; this build knows up to " +
                         std::to_string(kLatestVersion) + "): upgrade keypaird");
    }
  }
  return Status::Ok();
}

// Brings the schema to kLatestVersion (or checks it is there when !apply).
Status Migrate(Connection& conn, bool apply) {
  auto applied = AppliedVersions(conn);
  if (!applied.ok()) return applied.status();
  if (Status s = CheckNotNewer(*applied); !s.ok()) return s;
  if (static_cast<int>(applied->size()) == kLatestVersion) return Status::Ok();
  if (!apply) {
    return Unavailable("the database schema is not current (" + std::to_string(applied->size()) +
                       " of " + std::to_string(kLatestVersion) +
                       " migrations applied): run `keypaird migrate`");
  }
  for (int version = 1; version <= kLatestVersion; ++version) {
    // Re-read under the write lock: another process may have migrated meanwhile.
    if (Status s = conn.Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
    Status s = conn.Exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)");
    if (s.ok()) {
      applied = AppliedVersions(conn);
      s = applied.ok() ? CheckNotNewer(*applied) : applied.status();
    }
    if (s.ok() && !applied->contains(version)) {
      s = conn.Exec(kMigrations[version - 1]);
      if (s.ok()) {
        auto insert = conn.Prepare(
            "INSERT INTO schema_migrations (version, applied_at) "
            "VALUES (?1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))");
        if (insert.ok()) {
          insert->Bind(1, int64_t{version});
          s = insert->Run();
        } else {
          s = insert.status();
        }
      }
    }
    if (s.ok()) s = conn.Exec("COMMIT");
    if (!s.ok()) {
      conn.RollbackIfActive();
      return s;
    }
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------
// Files.

std::string ErrnoText(int err) { return std::generic_category().message(err); }

// mkdir -p of `dir`; directories it creates get mode 0700.
Status MakeDirectories(const std::filesystem::path& dir) {
  std::filesystem::path current;
  for (const auto& part : dir) {
    current /= part;
    if (::mkdir(current.c_str(), 0700) != 0 && errno != EEXIST) {
      return Unavailable("cannot create the database directory: " + ErrnoText(errno));
    }
  }
  return Status::Ok();
}

Status CreateDatabaseFile(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    if (Status s = MakeDirectories(parent); !s.ok()) return s;
  }
  // Create it ourselves so that it gets 0600 (SQLite would use 0644); the -wal and -shm
  // files SQLite creates copy the main file's mode.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Unavailable("cannot create the database file: " + ErrnoText(errno));
  ::close(fd);
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------
// Row mapping.

constexpr const char* kKeyColumns =
    "id, project_id, user_id, name, public_key, fingerprint, shared_in_project, created_at_us";

KeyRecord ReadKey(const Stmt& stmt) {
  KeyRecord key;
  key.id = stmt.Text(0);
  key.project_id = stmt.Int64(1);
  key.user_id = stmt.Int64(2);
  key.name = stmt.Text(3);
  key.public_key = stmt.Text(4);
  key.fingerprint = stmt.Text(5);
  key.shared_in_project = stmt.Int64(6) != 0;
  key.created_at_us = stmt.Int64(7);
  return key;
}

constexpr const char* kTokenColumns =
    "id, user_id, admin, projects, secret_hash, created_at_us, revoked_at_us";

std::string JoinProjects(const std::vector<int64_t>& projects) {
  std::string out;
  for (int64_t p : projects) {
    if (!out.empty()) out += ',';
    out += std::to_string(p);
  }
  return out;
}

StatusOr<std::vector<int64_t>> SplitProjects(std::string_view text) {
  std::vector<int64_t> projects;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    int64_t value = 0;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (ec != std::errc() || end != item.data() + item.size()) {
      return Internal("corrupt token record in the database");
    }
    projects.push_back(value);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
    if (text.empty()) return Internal("corrupt token record in the database");
  }
  return projects;
}

StatusOr<TokenRecord> ReadToken(const Stmt& stmt) {
  TokenRecord token;
  token.id = stmt.Text(0);
  token.user_id = stmt.Int64(1);
  token.admin = stmt.Int64(2) != 0;
  auto projects = SplitProjects(stmt.Text(3));
  if (!projects.ok()) return projects.status();
  token.projects = std::move(*projects);
  token.secret_hash = stmt.Blob(4);
  token.created_at_us = stmt.Int64(5);
  if (!stmt.IsNull(6)) token.revoked_at_us = stmt.Int64(6);
  return token;
}

// ---------------------------------------------------------------------------------------
// ListKeys SQL. Parameters are named so that the optional filters can be left out.

// LIKE pattern for a literal substring: % _ and the escape character are escaped.
std::string ContainsPattern(std::string_view needle) {
  std::string pattern = "%";
  for (char c : needle) {
    if (c == '%' || c == '_' || c == '\\') pattern += '\\';
    pattern += c;
  }
  pattern += '%';
  return pattern;
}

std::string ListWhere(const ListQuery& q) {
  std::vector<const char*> terms;
  if (q.project_id) terms.push_back("project_id = :project");
  if (q.owner_id) terms.push_back("user_id = :owner");
  if (q.visible_to_user) terms.push_back("(shared_in_project = 1 OR user_id = :viewer)");
  // LIKE is case-insensitive for ASCII letters only, as the contract says.
  if (!q.name_contains.empty()) terms.push_back("name LIKE :pattern ESCAPE '\\'");
  std::string where;
  for (const char* term : terms) {
    where += where.empty() ? " WHERE " : " AND ";
    where += term;
  }
  return where;
}

const char* ListOrder(OrderBy order) {
  switch (order) {
    case OrderBy::kCreatedAtAsc:
      return " ORDER BY created_at_us ASC, id ASC";
    case OrderBy::kCreatedAtDesc:
      return " ORDER BY created_at_us DESC, id ASC";
    case OrderBy::kNameAsc:
      return " ORDER BY name ASC, id ASC";
    case OrderBy::kNameDesc:
      return " ORDER BY name DESC, id ASC";
  }
  return " ORDER BY created_at_us ASC, id ASC";
}

std::string ListPageSql(const ListQuery& q) {
  return std::string("SELECT ") + kKeyColumns + " FROM keys" + ListWhere(q) + ListOrder(q.order) +
         " LIMIT :limit OFFSET :offset";
}

void BindListParams(Stmt& stmt, const ListQuery& q) {
  if (q.project_id) stmt.BindNamed(":project", *q.project_id);
  if (q.owner_id) stmt.BindNamed(":owner", *q.owner_id);
  if (q.visible_to_user) stmt.BindNamed(":viewer", *q.visible_to_user);
  if (!q.name_contains.empty()) stmt.BindNamed(":pattern", ContainsPattern(q.name_contains));
  stmt.BindNamed(":limit", q.limit);  // SQLite: a negative LIMIT means no limit
  stmt.BindNamed(":offset", q.offset);
}

// ---------------------------------------------------------------------------------------

class SqliteStore;

// The connection a SqliteStore::InOneSnapshot scope pinned to this thread, and its store;
// set only inside such a scope.
struct PinnedRead {
  const SqliteStore* store = nullptr;
  Connection* conn = nullptr;
};
thread_local PinnedRead pinned_read;

class SqliteStore final : public KeyStore {
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
    auto store = std::unique_ptr<SqliteStore>(new SqliteStore(in_memory));

    auto writer = Connection::Open(filename, in_memory);
    if (!writer.ok()) return writer.status();
    if (Status s = Migrate(**writer, options.apply_migrations); !s.ok()) return s;
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

  Status InsertKey(const KeyRecord& key) override {
    return writer_.Run([&key](Connection& conn) -> Status {
      static const std::string kSql = std::string("INSERT INTO keys (") + kKeyColumns +
                                      ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
      auto stmt = conn.Prepare(kSql);
      if (!stmt.ok()) return stmt.status();
      stmt->Bind(1, key.id);
      stmt->Bind(2, key.project_id);
      stmt->Bind(3, key.user_id);
      stmt->Bind(4, key.name);
      stmt->Bind(5, key.public_key);
      stmt->Bind(6, key.fingerprint);
      stmt->Bind(7, int64_t{key.shared_in_project ? 1 : 0});
      stmt->Bind(8, key.created_at_us);
      const int rc = stmt->Step();
      if (rc == SQLITE_DONE) return Status::Ok();
      // The only unique constraints are the primary key (id) and (project_id, name).
      if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) return AlreadyExists(std::string(kKeyIdTaken));
      if (rc == SQLITE_CONSTRAINT_UNIQUE) return AlreadyExists(std::string(kKeyNameTaken));
      return FromSqlite(rc);
    });
  }

  StatusOr<KeyRecord> GetKey(std::string_view id) override {
    static const std::string kSql =
        std::string("SELECT ") + kKeyColumns + " FROM keys WHERE id = ?1";
    return ReadOneKey(kSql, [&](Stmt& stmt) { stmt.Bind(1, id); });
  }

  StatusOr<KeyRecord> GetKeyByName(int64_t project_id, std::string_view name) override {
    static const std::string kSql =
        std::string("SELECT ") + kKeyColumns + " FROM keys WHERE project_id = ?1 AND name = ?2";
    return ReadOneKey(kSql, [&](Stmt& stmt) {
      stmt.Bind(1, project_id);
      stmt.Bind(2, name);
    });
  }

  StatusOr<KeyPage> ListKeys(const ListQuery& query) override {
    if (Status s = ValidateListQuery(query); !s.ok()) return s;
    auto lease = Reader();
    if (!lease.ok()) return lease.status();
    Connection& conn = **lease;
    // One read transaction: the total and the page come from the same snapshot (the
    // InOneSnapshot scope's, if there is one).
    const bool own_transaction = !conn.InTransaction();
    if (own_transaction) {
      if (Status s = conn.ExecCached("BEGIN"); !s.ok()) return s;
    }
    KeyPage page;
    if (Status s = CountKeys(conn, query, &page.total); !s.ok()) return s;
    if (Status s = ReadPage(conn, query, &page.keys); !s.ok()) return s;
    if (own_transaction) {
      if (Status s = conn.ExecCached("COMMIT"); !s.ok()) return s;
    }
    return page;
  }

  Status DeleteKey(std::string_view id) override {
    return writer_.Run([id](Connection& conn) -> Status {
      auto stmt = conn.Prepare("DELETE FROM keys WHERE id = ?1");
      if (!stmt.ok()) return stmt.status();
      stmt->Bind(1, id);
      if (Status s = stmt->Run(); !s.ok()) return s;
      if (sqlite3_changes(conn.db()) == 0) return NotFound(std::string(kKeyNotFound));
      return Status::Ok();
    });
  }

  StatusOr<KeyRecord> SetShared(std::string_view id, bool shared) override {
    KeyRecord updated;
    Status status = writer_.Run([&](Connection& conn) -> Status {
      static const std::string kSql =
          std::string("UPDATE keys SET shared_in_project = ?2 WHERE id = ?1 RETURNING ") +
          kKeyColumns;
      auto stmt = conn.Prepare(kSql);
      if (!stmt.ok()) return stmt.status();
      stmt->Bind(1, id);
      stmt->Bind(2, int64_t{shared ? 1 : 0});
      const int rc = stmt->Step();
      if (rc == SQLITE_DONE) return NotFound(std::string(kKeyNotFound));
      if (rc != SQLITE_ROW) return FromSqlite(rc);
      updated = ReadKey(*stmt);
      return stmt->Run();  // finish the statement (id is unique: no more rows)
    });
    if (!status.ok()) return status;
    return updated;
  }

  Status InsertToken(const TokenRecord& token) override {
    return writer_.Run([&token](Connection& conn) -> Status {
      static const std::string kSql = std::string("INSERT INTO tokens (") + kTokenColumns +
                                      ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
      auto stmt = conn.Prepare(kSql);
      if (!stmt.ok()) return stmt.status();
      stmt->Bind(1, token.id);
      stmt->Bind(2, token.user_id);
      stmt->Bind(3, int64_t{token.admin ? 1 : 0});
      stmt->Bind(4, JoinProjects(token.projects));
      stmt->BindBlob(5, token.secret_hash);
      stmt->Bind(6, token.created_at_us);
      if (token.revoked_at_us) {
        stmt->Bind(7, *token.revoked_at_us);
      } else {
        stmt->BindNull(7);
      }
      const int rc = stmt->Step();
      if (rc == SQLITE_DONE) return Status::Ok();
      if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) return AlreadyExists(std::string(kTokenIdTaken));
      return FromSqlite(rc);
    });
  }

  StatusOr<TokenRecord> GetToken(std::string_view id) override {
    auto lease = Reader();
    if (!lease.ok()) return lease.status();
    static const std::string kSql =
        std::string("SELECT ") + kTokenColumns + " FROM tokens WHERE id = ?1";
    auto stmt = (*lease)->Prepare(kSql);
    if (!stmt.ok()) return stmt.status();
    stmt->Bind(1, id);
    const int rc = stmt->Step();
    if (rc == SQLITE_DONE) return NotFound(std::string(kTokenNotFound));
    if (rc != SQLITE_ROW) return FromSqlite(rc);
    return ReadToken(*stmt);
  }

  StatusOr<std::vector<TokenRecord>> ListTokens() override {
    auto lease = Reader();
    if (!lease.ok()) return lease.status();
    static const std::string kSql =
        std::string("SELECT ") + kTokenColumns + " FROM tokens ORDER BY created_at_us, id";
    auto stmt = (*lease)->Prepare(kSql);
    if (!stmt.ok()) return stmt.status();
    std::vector<TokenRecord> tokens;
    int rc;
    while ((rc = stmt->Step()) == SQLITE_ROW) {
      auto token = ReadToken(*stmt);
      if (!token.ok()) return token.status();
      tokens.push_back(std::move(*token));
    }
    if (rc != SQLITE_DONE) return FromSqlite(rc);
    return tokens;
  }

  Status RevokeToken(std::string_view id, int64_t at_us) override {
    return writer_.Run([id, at_us](Connection& conn) -> Status {
      // coalesce keeps the first revocation time; changes() counts the matched row
      // even when its value stays the same.
      auto stmt = conn.Prepare(
          "UPDATE tokens SET revoked_at_us = coalesce(revoked_at_us, ?2) WHERE id = ?1");
      if (!stmt.ok()) return stmt.status();
      stmt->Bind(1, id);
      stmt->Bind(2, at_us);
      if (Status s = stmt->Run(); !s.ok()) return s;
      if (sqlite3_changes(conn.db()) == 0) return NotFound(std::string(kTokenNotFound));
      return Status::Ok();
    });
  }

  Status Ping() override {
    auto lease = Reader();
    if (!lease.ok()) return Unavailable("the database does not answer");
    // Reads a page of the file, unlike "SELECT 1".
    auto stmt = (*lease)->Prepare("SELECT version FROM schema_migrations LIMIT 1");
    if (!stmt.ok() || !stmt->Run().ok()) return Unavailable("the database does not answer");
    return Status::Ok();
  }

  void InOneSnapshot(const std::function<void()>& reads) override {
    // ":memory:" reads on the writer's only connection: pinning it would block writes.
    if (in_memory_ || pinned_read.store != nullptr) return reads();
    auto lease = readers().Acquire();
    if (!lease.ok() || !(*lease)->ExecCached("BEGIN").ok()) return reads();
    struct Unpin {
      ~Unpin() { pinned_read = {}; }
    };
    pinned_read = {this, &**lease};
    {
      const Unpin unpin;  // before the lease goes back, also if `reads` throws
      reads();
    }
    // Ends a read transaction: nothing to lose. If it fails the lease rolls back.
    (void)(*lease)->ExecCached("COMMIT");
  }

  // WAL readers never wait for the writer; the file is local.
  bool LocalReads() const override { return true; }

  // For sqlite_store_testing.h.
  StatusOr<std::vector<SqliteConnectionSettings>> ConnectionSettings() {
    std::vector<SqliteConnectionSettings> out;
    std::vector<ConnectionPool::Lease> leases;
    auto collect = [&](ConnectionPool& pool) -> Status {
      const size_t n = pool.size();
      for (size_t i = 0; i < n; ++i) {
        auto lease = pool.Acquire();
        if (!lease.ok()) return lease.status();
        SqliteConnectionSettings settings;
        auto mode = (*lease)->QueryText("PRAGMA journal_mode");
        auto sync = (*lease)->QueryText("PRAGMA synchronous");
        auto fk = (*lease)->QueryText("PRAGMA foreign_keys");
        auto busy = (*lease)->QueryText("PRAGMA busy_timeout");
        for (const auto* r : {&mode, &sync, &fk, &busy}) {
          if (!r->ok()) return r->status();
        }
        settings.journal_mode = *mode;
        settings.synchronous = std::stoll(*sync);
        settings.foreign_keys = std::stoll(*fk);
        settings.busy_timeout_ms = std::stoll(*busy);
        out.push_back(std::move(settings));
        leases.push_back(std::move(*lease));  // hold it so the next Acquire gets another
      }
      return Status::Ok();
    };
    if (Status s = collect(write_pool_); !s.ok()) return s;
    if (!in_memory_) {
      if (Status s = collect(own_read_pool_); !s.ok()) return s;
    }
    return out;
  }

  SqliteWriteStats WriteStats() const {
    const Writer::Stats stats = writer_.stats();
    return {stats.transactions, stats.operations, stats.largest_batch};
  }

  StatusOr<std::vector<std::string>> ListKeysPlan(const ListQuery& query) {
    auto lease = readers().Acquire();
    if (!lease.ok()) return lease.status();
    auto stmt = (*lease)->Prepare("EXPLAIN QUERY PLAN " + ListPageSql(query));
    if (!stmt.ok()) return stmt.status();
    BindListParams(*stmt, query);
    std::vector<std::string> lines;
    int rc;
    while ((rc = stmt->Step()) == SQLITE_ROW) lines.push_back(stmt->Text(3));
    if (rc != SQLITE_DONE) return FromSqlite(rc);
    return lines;
  }

 private:
  explicit SqliteStore(bool in_memory) : in_memory_(in_memory), writer_(&write_pool_) {}

  // ":memory:" has one connection, shared with the writer.
  ConnectionPool& readers() { return in_memory_ ? write_pool_ : own_read_pool_; }

  // A connection for a read: the one InOneSnapshot pinned to this thread, if any.
  StatusOr<ReadConn> Reader() {
    if (pinned_read.store == this) return ReadConn(pinned_read.conn);
    auto lease = readers().Acquire();
    if (!lease.ok()) return lease.status();
    return ReadConn(std::move(*lease));
  }

  template <typename BindFn>
  StatusOr<KeyRecord> ReadOneKey(const std::string& sql, BindFn bind) {
    auto lease = Reader();
    if (!lease.ok()) return lease.status();
    auto stmt = (*lease)->Prepare(sql);
    if (!stmt.ok()) return stmt.status();
    bind(*stmt);
    const int rc = stmt->Step();
    if (rc == SQLITE_DONE) return NotFound(std::string(kKeyNotFound));
    if (rc != SQLITE_ROW) return FromSqlite(rc);
    return ReadKey(*stmt);
  }

  static Status CountKeys(Connection& conn, const ListQuery& query, int64_t* total) {
    // Without a name filter every term of the WHERE clause is on a key_counts column
    // (project, owner, shared): sum the groups (migration 3) instead of counting keys.
    auto stmt = conn.Prepare(query.name_contains.empty()
                                 ? "SELECT coalesce(sum(n), 0) FROM key_counts" + ListWhere(query)
                                 : "SELECT count(*) FROM keys" + ListWhere(query));
    if (!stmt.ok()) return stmt.status();
    BindListParams(*stmt, query);
    if (int rc = stmt->Step(); rc != SQLITE_ROW) return FromSqlite(rc);
    *total = stmt->Int64(0);
    return Status::Ok();
  }

  static Status ReadPage(Connection& conn, const ListQuery& query, std::vector<KeyRecord>* keys) {
    auto stmt = conn.Prepare(ListPageSql(query));
    if (!stmt.ok()) return stmt.status();
    BindListParams(*stmt, query);
    int rc;
    while ((rc = stmt->Step()) == SQLITE_ROW) keys->push_back(ReadKey(*stmt));
    return rc == SQLITE_DONE ? Status::Ok() : FromSqlite(rc);
  }

  const bool in_memory_;
  ConnectionPool write_pool_;     // exactly one connection
  ConnectionPool own_read_pool_;  // pool_size connections; empty for ":memory:"
  Writer writer_;
};

SqliteStore* AsSqliteStore(KeyStore& store) { return dynamic_cast<SqliteStore*>(&store); }

}  // namespace

StatusOr<std::unique_ptr<KeyStore>> OpenSqliteStore(std::string_view path,
                                                    const StoreOptions& options) {
  auto store = SqliteStore::Open(path, options);
  if (!store.ok()) return store.status();
  return std::unique_ptr<KeyStore>(std::move(*store));
}

StatusOr<std::vector<SqliteConnectionSettings>> SqliteConnectionSettingsForTesting(
    KeyStore& store) {
  SqliteStore* sqlite = AsSqliteStore(store);
  if (sqlite == nullptr) return InvalidArgument("not a SQLite store");
  return sqlite->ConnectionSettings();
}

StatusOr<std::vector<std::string>> SqliteListKeysPlanForTesting(KeyStore& store,
                                                                const ListQuery& query) {
  SqliteStore* sqlite = AsSqliteStore(store);
  if (sqlite == nullptr) return InvalidArgument("not a SQLite store");
  return sqlite->ListKeysPlan(query);
}

StatusOr<SqliteWriteStats> SqliteWriteStatsForTesting(KeyStore& store) {
  SqliteStore* sqlite = AsSqliteStore(store);
  if (sqlite == nullptr) return InvalidArgument("not a SQLite store");
  return sqlite->WriteStats();
}

int SqliteLatestSchemaVersionForTesting() { return kLatestVersion; }

}  // namespace keypaird::store
