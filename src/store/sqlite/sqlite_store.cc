// The SQLite KeyStore backend: the SQLite driver (connections, statements, status
// mapping) and the group-committing writer. Schema, rows and list SQL are shared with
// PostgreSQL (store/sql/).
//
// Connections: one writer connection (every mutation goes through Writer, below) and
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
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <filesystem>
#include <functional>
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
#include <variant>
#include <vector>

#include "common/log.h"
#include "common/worker_pool.h"
#include "store/key_store.h"
#include "store/sql/diagnostics.h"
#include "store/sql/pool.h"
#include "store/sql/rows.h"
#include "store/sql/schema.h"
#include "store/sql/statements.h"
#include "store/store_internal.h"

namespace keypaird::store {
namespace {

using SteadyClock = std::chrono::steady_clock;
const sql::Statements& kSql = sql::StatementsFor(sql::Dialect::kSqlite);
constexpr int kBusyTimeoutMs = 5000;
constexpr std::chrono::milliseconds kBusyTimeout{kBusyTimeoutMs};

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
    }
  }

  // Binds parameter `index` (1-based).
  void Bind(int index, const sql::SqlValue& value) {
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, sql::SqlNull>) {
            Check(sqlite3_bind_null(stmt_, index));
          } else if constexpr (std::is_same_v<T, int64_t>) {
            Check(sqlite3_bind_int64(stmt_, index, v));
          } else if constexpr (std::is_same_v<T, bool>) {
            Check(sqlite3_bind_int64(stmt_, index, v ? 1 : 0));
          } else if constexpr (std::is_same_v<T, std::string>) {
            Check(sqlite3_bind_text64(stmt_, index, v.data(), v.size(), SQLITE_TRANSIENT,
                                      SQLITE_UTF8));
          } else {
            Check(sqlite3_bind_blob64(stmt_, index, v.bytes.data(), v.bytes.size(),
                                      SQLITE_TRANSIENT));
          }
        },
        value);
  }
  // Binds values[i] to parameter i + 1.
  void BindAll(const std::vector<sql::SqlValue>& values) {
    for (size_t i = 0; i < values.size(); ++i) Bind(static_cast<int>(i + 1), values[i]);
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
      const auto deadline = SteadyClock::now() + kBusyTimeout;
      auto mode = conn->QueryText("PRAGMA journal_mode=WAL");
      while (!mode.ok() && mode.status().code() == StatusCode::kUnavailable &&
             SteadyClock::now() < deadline) {
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
  // transaction control, parsed once instead of once per use.
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

  // The first column of the first row of a one-statement query ("" if no row).
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

using Pool = sql::ConnectionPool<Connection>;

// A caller that failed half-way must not leave a transaction open on a pooled
// connection.
std::function<void(Connection&)> RollBackOnRelease() {
  return [](Connection& conn) { conn.RollbackIfActive(); };
}

// ---------------------------------------------------------------------------------------
// Reads, on whichever connection the caller holds (a leased one, or a snapshot's).

template <typename BindFn>
StatusOr<KeyRecord> ReadOneKey(Connection& conn, const std::string& sql, BindFn bind) {
  auto stmt = conn.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  bind(*stmt);
  const int rc = stmt->Step();
  if (rc == SQLITE_DONE) return NotFound(std::string(kKeyNotFound));
  if (rc != SQLITE_ROW) return FromSqlite(rc);
  return sql::ReadKey(*stmt);
}

StatusOr<KeyRecord> GetKeyOn(Connection& conn, std::string_view id) {
  return ReadOneKey(conn, kSql.get_key, [&](Stmt& stmt) { stmt.Bind(1, std::string(id)); });
}

StatusOr<KeyRecord> GetKeyByNameOn(Connection& conn, int64_t project_id, std::string_view name) {
  return ReadOneKey(conn, kSql.get_key_by_name, [&](Stmt& stmt) {
    stmt.Bind(1, project_id);
    stmt.Bind(2, std::string(name));
  });
}

StatusOr<TokenRecord> GetTokenOn(Connection& conn, std::string_view id) {
  auto stmt = conn.Prepare(kSql.get_token);
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, std::string(id));
  const int rc = stmt->Step();
  if (rc == SQLITE_DONE) return NotFound(std::string(kTokenNotFound));
  if (rc != SQLITE_ROW) return FromSqlite(rc);
  return sql::ReadToken(*stmt);
}

Status InsertLabels(Connection& conn, const std::vector<std::vector<sql::SqlValue>>& rows) {
  for (const auto& row : rows) {
    auto stmt = conn.Prepare(kSql.insert_label);
    if (!stmt.ok()) return stmt.status();
    stmt->BindAll(row);
    if (Status s = stmt->Run(); !s.ok()) return s;
  }
  return Status::Ok();
}

Status ReplaceLabels(Connection& conn, const KeyRecord& key) {
  auto stmt = conn.Prepare(kSql.delete_labels);
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, key.id);
  if (Status s = stmt->Run(); !s.ok()) return s;
  return InsertLabels(conn, sql::LabelRows(key));
}

std::string ListPageSql(const sql::ListSql& list) {
  const size_t n = list.params.size();
  // SQLite: a negative LIMIT means no limit.
  return "SELECT " + sql::KeyColumnsOf("k.") + list.from + list.where + list.order + " LIMIT " +
         sql::Param(sql::Dialect::kSqlite, n + 1) + " OFFSET " +
         sql::Param(sql::Dialect::kSqlite, n + 2);
}

StatusOr<KeyPage> ListKeysOn(Connection& conn, const ListQuery& query) {
  if (Status s = ValidateListQuery(query); !s.ok()) return s;
  const sql::ListSql list = sql::BuildListSql(query, sql::Dialect::kSqlite);
  // One read transaction: the total and the page come from the same snapshot (the
  // snapshot reader's, if the caller has one).
  const bool own_transaction = !conn.InTransaction();
  if (own_transaction) {
    if (Status s = conn.ExecCached("BEGIN"); !s.ok()) return s;
  }
  KeyPage page;
  if (query.with_total) {
    // When every term of the WHERE clause is on a key_counts column (project, owner,
    // shared): sum the groups (migration 3) instead of counting keys.
    auto count = conn.Prepare(list.counted_columns_only
                                  ? "SELECT coalesce(sum(n), 0) FROM key_counts k" + list.where
                                  : "SELECT count(*)" + list.from + list.where);
    if (!count.ok()) return count.status();
    count->BindAll(list.params);
    if (int rc = count->Step(); rc != SQLITE_ROW) return FromSqlite(rc);
    page.total = count->Int64(0);
  }
  {
    auto stmt = conn.Prepare(ListPageSql(list));
    if (!stmt.ok()) return stmt.status();
    stmt->BindAll(list.params);
    const int n = static_cast<int>(list.params.size());
    stmt->Bind(n + 1, query.limit);
    stmt->Bind(n + 2, query.offset);
    int rc;
    while ((rc = stmt->Step()) == SQLITE_ROW) {
      StatusOr<KeyRecord> key = sql::ReadKey(*stmt);
      if (!key.ok()) return key.status();
      page.keys.push_back(std::move(*key));
    }
    if (rc != SQLITE_DONE) return FromSqlite(rc);
  }
  if (own_transaction) {
    if (Status s = conn.ExecCached("COMMIT"); !s.ok()) return s;
  }
  return page;
}

// KeyStore::Snapshot: one leased connection in one read transaction.
class SnapshotReader final : public KeyReader {
 public:
  explicit SnapshotReader(StatusOr<Pool::Lease> lease) : lease_(std::move(lease)) {
    if (lease_.ok()) began_ = (*lease_)->ExecCached("BEGIN");
  }
  ~SnapshotReader() override {
    // Ends a read transaction: nothing to lose. If it fails the pool rolls back.
    if (lease_.ok() && began_.ok()) (void)(*lease_)->ExecCached("COMMIT");
  }
  SnapshotReader(const SnapshotReader&) = delete;
  SnapshotReader& operator=(const SnapshotReader&) = delete;

  StatusOr<KeyRecord> GetKey(std::string_view id) override {
    if (Status s = Usable(); !s.ok()) return s;
    return GetKeyOn(**lease_, id);
  }
  StatusOr<KeyRecord> GetKeyByName(int64_t project_id, std::string_view name) override {
    if (Status s = Usable(); !s.ok()) return s;
    return GetKeyByNameOn(**lease_, project_id, name);
  }
  StatusOr<KeyPage> ListKeys(const ListQuery& query) override {
    if (Status s = Usable(); !s.ok()) return s;
    return ListKeysOn(**lease_, query);
  }
  StatusOr<TokenRecord> GetToken(std::string_view id) override {
    if (Status s = Usable(); !s.ok()) return s;
    return GetTokenOn(**lease_, id);
  }

 private:
  Status Usable() const { return lease_.ok() ? began_ : lease_.status(); }

  StatusOr<Pool::Lease> lease_;
  Status began_;
};

// ---------------------------------------------------------------------------------------
// Checkpoints off the commit path. SQLite's automatic checkpoint runs inside a COMMIT
// once the WAL passes 1000 pages: it copies them into the database file and fsyncs it,
// stalling the writer (and every request waiting for its commit) for milliseconds. Here
// the writer connection only reports the WAL's size after each commit (a WAL hook, which
// replaces the automatic checkpoint), and a thread of its own, on a connection of its
// own, runs a PASSIVE checkpoint, which never waits for the writer or the readers.

class Checkpointer {
 public:
  // 32 MiB of WAL (SQLite's own default is 1000 pages): pages dirtied again and again
  // between two checkpoints (index roots, key_counts) are copied once.
  static constexpr int kFramesPerCheckpoint = 8192;

  explicit Checkpointer(std::unique_ptr<Connection> conn) : conn_(std::move(conn)) {
    thread_ = std::thread([this] {
      SetThreadName("kpd-checkpoint");
      Loop();
    });
  }
  ~Checkpointer() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Installs the hook on the writer connection.
  void Watch(Connection& writer) { sqlite3_wal_hook(writer.db(), &Checkpointer::OnCommit, this); }

 private:
  static int OnCommit(void* self, sqlite3*, const char*, int frames) {
    if (frames >= kFramesPerCheckpoint) {
      auto* c = static_cast<Checkpointer*>(self);
      {
        std::lock_guard lock(c->mu_);
        c->due_ = true;
      }
      c->cv_.notify_one();
    }
    return SQLITE_OK;
  }

  void Loop() {
    for (;;) {
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || due_; });
        if (stopping_) return;
        due_ = false;
      }
      // Busy (another checkpoint, the CLI) or failed: the next commit asks again.
      (void)sqlite3_wal_checkpoint_v2(conn_->db(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                      nullptr);
    }
  }

  std::unique_ptr<Connection> conn_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool due_ = false;       // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

// ---------------------------------------------------------------------------------------
// The write path: every mutation of the database goes through Writer and nowhere else.
//
// Group commit. Every COMMIT in WAL mode must reach the disk (an fsync of the -wal file)
// before it may be acknowledged, and that fsync, not the SQL, bounds durable write
// throughput when each op commits alone (docs/BENCHMARKS.md). So ops are queued, and one
// writer thread takes every op queued so far (up to kMaxBatch) and runs them on the single
// writer connection in ONE transaction, each alone: a failing op (a name clash, a missing
// row) rolls back alone, by SQLite's statement-level rollback or, for an op of several
// statements, inside a SAVEPOINT of its own.
//
// The fsync runs off the writer's thread. The writer connection has synchronous=NORMAL:
// its COMMIT writes the WAL frames to the file and returns without waiting for the disk
// (WAL mode stays consistent under NORMAL: SQLite syncs the WAL before every checkpoint).
// The committed batch then goes to the syncer thread, which fdatasyncs the WAL — one sync
// covers every batch committed before it began — and only then calls each op's `done`
// with its own status (the HTTP layer answers the request right there, so no thread sits
// waiting for the disk). Meanwhile the writer runs the next batch's SQL: with the sync on
// the writer's thread the store committed 4.3k keys/s at 64 writers over 100k keys, with
// it here 6.6k (micro_bench BM_SqliteInsert). An op is reported OK only once its commit is
// on the disk: an acknowledged write is durable.
//
// What this gives up: a committed write is visible to readers from its COMMIT, up to one
// sync before its creator is answered; a power loss (not a process crash: the page cache
// survives that) in that window takes back a write someone may have read — never one that
// was acknowledged. If a sync fails, what reached the disk is unknown (Linux reports a
// write-back error once and forgets it), so the writer stops: every later write and Ping
// fail with kUnavailable until keypaird restarts and SQLite recovers the WAL's valid
// prefix (PostgreSQL, since 2018, stops on a failed fsync for the same reason).
//
// Ops never begin or end transactions themselves, and an op's side results (UpdateKey's
// row) are only meaningful to its caller if its status is OK. Other processes (the CLI)
// are covered by busy_timeout on BEGIN IMMEDIATE.
class Writer {
 public:
  using Body = std::function<Status(Connection&)>;
  struct Op {
    Body body;
    // One statement: SQLite undoes a failed statement by itself (a constraint violation
    // aborts the statement, not the transaction), so it needs no savepoint of its own.
    bool one_statement = true;
  };

  Writer(Pool* pool, Metrics* metrics) : pool_(pool), metrics_(metrics) {
    sync_thread_ = std::thread([this] {
      SetThreadName("kpd-sync");
      SyncLoop();
    });
    thread_ = std::thread([this] {
      SetThreadName("kpd-writer");
      Loop();
    });
  }
  // Runs every op queued so far, answers them once synced, then stops.
  ~Writer() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_one();
    thread_.join();
    {
      std::lock_guard lock(sync_mu_);
      sync_stopping_ = true;
    }
    sync_cv_.notify_one();
    sync_thread_.join();
    if (wal_fd_ >= 0) ::close(wal_fd_);
  }

  // Makes every acknowledged write durable by syncing `wal_path`, the -wal file of the
  // writer connection (which runs synchronous=NORMAL). Called once, before the first op;
  // without it (":memory:") ops are answered at their commit.
  void SyncWal(std::string wal_path) {
    std::lock_guard lock(sync_mu_);
    wal_path_ = std::move(wal_path);
  }

  // kUnavailable once a sync has failed: the store takes no more writes.
  Status Usable() const {
    return broken_.load(std::memory_order_acquire) ? Unavailable(std::string(kSyncFailed))
                                                   : Status::Ok();
  }

  // Tests: the next sync fails as an fdatasync error would.
  void FailNextSyncForTesting() { fail_next_sync_.store(true); }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void Submit(Body body, KeyStore::WriteDone done, bool one_statement = true) {
    {
      std::lock_guard lock(mu_);
      queue_.push_back(
          {{std::move(body), one_statement}, std::move(done), SteadyClock::now(), Status()});
    }
    cv_.notify_one();
  }

  // Submit and wait for the outcome.
  Status Run(Body body, bool one_statement = true) {
    struct Waiter {
      std::mutex mu;
      std::condition_variable cv;
      std::optional<Status> status;
    } waiter;
    Submit(
        std::move(body),
        [&waiter](Status s) {
          std::lock_guard lock(waiter.mu);
          waiter.status = std::move(s);
          waiter.cv.notify_one();
        },
        one_statement);
    std::unique_lock lock(waiter.mu);
    waiter.cv.wait(lock, [&] { return waiter.status.has_value(); });
    return std::move(*waiter.status);
  }

  sql::WriteStats stats() const {
    std::lock_guard lock(stats_mu_);
    return stats_;
  }

 private:
  // Ops per transaction at most: bounds the latency one batch adds to its last op.
  static constexpr size_t kMaxBatch = 256;
  static constexpr std::string_view kSyncFailed =
      "database error: a write could not be made durable (the disk failed to sync); "
      "keypaird takes no more writes until it is restarted";

  struct Pending {
    Op op;
    KeyStore::WriteDone done;
    SteadyClock::time_point queued;
    Status status;
  };

  void Loop() {
    std::vector<Pending> batch;
    for (;;) {
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and nothing left to run
        const size_t n = std::min(queue_.size(), kMaxBatch);
        batch.assign(std::make_move_iterator(queue_.begin()),
                     std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(n)));
        queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
      }
      const auto started = SteadyClock::now();
      const int64_t transactions = RunBatch(batch);
      if (metrics_ != nullptr) {
        const auto committed = SteadyClock::now();
        metrics_->ObserveWriteBatch(batch.size(),
                                    std::chrono::duration<double>(committed - started).count());
        for (const Pending& p : batch) {
          metrics_->ObserveWriteQueueWait(
              std::chrono::duration<double>(started - p.queued).count());
        }
      }
      bool to_sync = false;
      {
        std::lock_guard lock(sync_mu_);
        if (!wal_path_.empty()) {
          committed_.push_back({std::move(batch), transactions});
          to_sync = true;
        }
      }
      if (to_sync) {
        sync_cv_.notify_one();
      } else {
        Answer(batch);  // nothing to sync (":memory:")
      }
      batch.clear();
    }
  }

  static void Answer(std::vector<Pending>& batch) {
    for (Pending& p : batch) {
      try {
        p.done(std::move(p.status));
      } catch (...) {  // a caller's callback must not take the writer down
      }
    }
  }

  struct Committed {
    std::vector<Pending> batch;
    int64_t transactions = 0;  // committed by the batch
  };

  // Syncs the WAL for every batch committed so far, then answers their ops.
  void SyncLoop() {
    std::vector<Committed> ready;
    for (;;) {
      {
        std::unique_lock lock(sync_mu_);
        sync_cv_.wait(lock, [this] { return sync_stopping_ || !committed_.empty(); });
        if (committed_.empty()) return;  // stopping, and nothing left to answer
        ready.swap(committed_);
      }
      int64_t transactions = 0;
      for (const Committed& c : ready) transactions += c.transactions;
      Status synced = Status::Ok();
      if (transactions > 0) {
        const auto started = SteadyClock::now();
        synced = Sync();
        if (metrics_ != nullptr) {
          metrics_->ObserveWalSync(
              std::chrono::duration<double>(SteadyClock::now() - started).count());
        }
        if (synced.ok()) {
          std::lock_guard lock(stats_mu_);
          ++stats_.syncs;
          stats_.synced_transactions += transactions;
        }
      }
      for (Committed& c : ready) {
        if (!synced.ok()) {
          for (Pending& p : c.batch) {
            if (p.status.ok()) p.status = synced;
          }
        }
        Answer(c.batch);
      }
      ready.clear();
    }
  }

  // fdatasync of the WAL through a descriptor of our own (SQLite does not lend its own).
  // The file is the same for the store's life (SQLite deletes or replaces it only when its
  // last connection closes), but that is checked on each sync, two cheap syscalls next to
  // the sync: a replaced file is opened again and its directory synced, as SQLite would
  // sync the directory of a -wal file it has just made.
  Status Sync() {
    if (broken_.load(std::memory_order_acquire)) return Unavailable(std::string(kSyncFailed));
    int err = 0;
    if (fail_next_sync_.exchange(false)) {
      err = EIO;
    } else {
      if (wal_fd_ >= 0 && Replaced()) {
        ::close(wal_fd_);
        wal_fd_ = -1;
      }
      if (wal_fd_ < 0) err = OpenWal();
      if (err == 0 && ::fdatasync(wal_fd_) != 0) err = errno;
    }
    if (err == 0) return Status::Ok();
    broken_.store(true, std::memory_order_release);
    LogLine(LogLevel::kError, "database sync failed: no more writes until keypaird restarts")
        .Str("file", wal_path_)
        .Str("error", std::generic_category().message(err));
    return Unavailable(std::string(kSyncFailed));
  }

  bool Replaced() const {
    struct stat open_file {};
    struct stat named {};
    if (::fstat(wal_fd_, &open_file) != 0 || open_file.st_nlink == 0) return true;
    if (::stat(wal_path_.c_str(), &named) != 0) return true;
    return named.st_ino != open_file.st_ino || named.st_dev != open_file.st_dev;
  }

  // 0 or an errno.
  int OpenWal() {
    wal_fd_ = ::open(wal_path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (wal_fd_ < 0) return errno;
    std::string dir = std::filesystem::path(wal_path_).parent_path().string();
    const int dir_fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0) return errno;
    const int err = ::fsync(dir_fd) == 0 ? 0 : errno;
    ::close(dir_fd);
    return err;
  }

  // Runs one op (inside a savepoint if it has several statements); the op's own status. `*txn_lost`
  // is set if the op's failure ended the whole transaction (SQLite rolls back by itself on some
  // errors, e.g. SQLITE_FULL or an I/O error), in which case nothing of it is left to commit.
  static Status RunOne(Connection& conn, const Op& op, bool* txn_lost) {
    if (!op.one_statement) {
      if (Status s = conn.ExecCached("SAVEPOINT op"); !s.ok()) {
        *txn_lost = !conn.InTransaction();
        return s;
      }
    }
    Status s;
    try {
      s = op.body(conn);
    } catch (const std::exception&) {
      s = Internal("database error: unexpected failure");
    }
    if (!conn.InTransaction()) {
      *txn_lost = true;
      return s.ok() ? Internal("database error: the transaction was aborted") : s;
    }
    if (op.one_statement) return s;
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

  // Runs the batch's ops; the transactions it committed.
  int64_t RunBatch(std::vector<Pending>& batch) {
    if (Status s = Usable(); !s.ok()) {
      for (Pending& p : batch) p.status = s;
      return 0;
    }
    auto lease = pool_->Acquire(SteadyClock::now() + kBusyTimeout);
    if (!lease.ok()) {
      for (Pending& p : batch) p.status = lease.status();
      return 0;
    }
    int64_t transactions = 0;
    Connection& conn = **lease;
    size_t next = 0;
    while (next < batch.size()) {
      // One transaction for batch[first, next). Normally the loop runs once; it starts
      // over only if an op's failure took the transaction with it.
      const size_t first = next;
      if (Status s = conn.ExecCached("BEGIN IMMEDIATE"); !s.ok()) {
        for (size_t i = first; i < batch.size(); ++i) batch[i].status = s;
        return transactions;
      }
      bool txn_lost = false;
      while (next < batch.size() && !txn_lost) {
        batch[next].status = RunOne(conn, batch[next].op, &txn_lost);
        ++next;
      }
      Status commit = txn_lost ? Status::Ok() : conn.ExecCached("COMMIT");
      if (!commit.ok()) conn.RollbackIfActive();
      if (txn_lost || !commit.ok()) {
        // The ops of this transaction that succeeded were not committed: they fail with
        // the cause (a generic message if the cause was another op's own error).
        Status cause = txn_lost ? batch[next - 1].status : commit;
        if (cause.code() != StatusCode::kUnavailable && cause.code() != StatusCode::kInternal) {
          cause = Internal("database error: the transaction was aborted");
        }
        for (size_t i = first; i < next; ++i) {
          if (batch[i].status.ok()) batch[i].status = cause;
        }
      } else {
        ++transactions;
        std::lock_guard lock(stats_mu_);
        ++stats_.transactions;
        stats_.operations += static_cast<int64_t>(next - first);
        stats_.largest_batch = std::max(stats_.largest_batch, static_cast<int64_t>(next - first));
      }
    }
    return transactions;
  }

  Pool* pool_;
  Metrics* metrics_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;  // guarded by mu_
  bool stopping_ = false;      // guarded by mu_
  mutable std::mutex stats_mu_;
  sql::WriteStats stats_;  // guarded by stats_mu_

  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  std::string wal_path_;                // guarded by sync_mu_ until the first op; "" = no sync
  std::vector<Committed> committed_;    // guarded by sync_mu_: waiting for a sync
  bool sync_stopping_ = false;          // guarded by sync_mu_
  int wal_fd_ = -1;                     // the syncer thread's
  std::atomic<bool> broken_{false};     // a sync failed
  std::atomic<bool> fail_next_sync_{false};

  std::thread sync_thread_;  // last two: start once everything above exists
  std::thread thread_;
};

// ---------------------------------------------------------------------------------------
// Migrations: sql::Migrate on the writer connection. BEGIN IMMEDIATE takes the write
// lock, so processes that open the same new file at once migrate one after another.

class MigrationSession final : public sql::MigrationSession {
 public:
  explicit MigrationSession(Connection* conn) : conn_(conn) {}

  StatusOr<std::set<int64_t>> AppliedVersions() override {
    std::set<int64_t> versions;
    auto exists = conn_->Prepare(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'");
    if (!exists.ok()) return exists.status();
    if (int rc = exists->Step(); rc != SQLITE_ROW) return FromSqlite(rc);
    if (exists->Int64(0) == 0) return versions;
    auto stmt = conn_->Prepare("SELECT version FROM schema_migrations");
    if (!stmt.ok()) return stmt.status();
    int rc;
    while ((rc = stmt->Step()) == SQLITE_ROW) versions.insert(stmt->Int64(0));
    if (rc != SQLITE_DONE) return FromSqlite(rc);
    return versions;
  }

  Status Begin() override {
    if (Status s = conn_->Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
    return conn_->Exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)");
  }

  Status Apply(int version, const char* statements) override {
    if (Status s = conn_->Exec(statements); !s.ok()) return s;
    auto insert = conn_->Prepare(
        "INSERT INTO schema_migrations (version, applied_at) "
        "VALUES (?1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))");
    if (!insert.ok()) return insert.status();
    insert->Bind(1, int64_t{version});
    return insert->Run();
  }

  Status DescribeKeys(const std::function<Status(KeyRecord*)>& describe) override {
    std::vector<KeyRecord> keys;
    {
      auto stmt = conn_->Prepare(kSql.undescribed_keys);
      if (!stmt.ok()) return stmt.status();
      int rc;
      while ((rc = stmt->Step()) == SQLITE_ROW) {
        KeyRecord& key = keys.emplace_back();
        key.id = stmt->Text(0);
        key.public_key = stmt->Text(1);
      }
      if (rc != SQLITE_DONE) return FromSqlite(rc);
    }
    if (!keys.empty() && !describe) return Internal("no key parser to describe stored keys");
    for (KeyRecord& key : keys) {
      if (Status s = describe(&key); !s.ok()) return s;
      auto update = conn_->Prepare(kSql.describe_key);
      if (!update.ok()) return update.status();
      update->BindAll(
          {key.id, key.type, static_cast<int64_t>(key.bits), key.comment, key.fingerprint_sha256});
      if (Status s = update->Run(); !s.ok()) return s;
    }
    return Status::Ok();
  }

  Status Commit() override { return conn_->Exec("COMMIT"); }
  void Rollback() override { conn_->RollbackIfActive(); }

 private:
  Connection* conn_;
};

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
    MigrationSession migration(writer->get());
    if (Status s = sql::Migrate(migration, sql::Dialect::kSqlite, options.apply_migrations,
                                options.describe_key);
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
      const char* wal = sqlite3_filename_wal(sqlite3_db_filename((*writer)->db(), "main"));
      if (wal == nullptr) return Internal("the database has no WAL file name");
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
    return std::make_unique<SnapshotReader>(readers().Acquire(ReadDeadline()));
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
    auto lease = readers().Acquire(ReadDeadline());
    if (!lease.ok()) return lease.status();
    auto stmt = (*lease)->Prepare(kSql.list_tokens);
    if (!stmt.ok()) return stmt.status();
    std::vector<TokenRecord> tokens;
    int rc;
    while ((rc = stmt->Step()) == SQLITE_ROW) {
      auto token = sql::ReadToken(*stmt);
      if (!token.ok()) return token.status();
      tokens.push_back(std::move(*token));
    }
    if (rc != SQLITE_DONE) return FromSqlite(rc);
    return tokens;
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

  // --- writes

  // A key with labels is several statements: it needs a savepoint of its own.
  Status InsertKey(const KeyRecord& key) override {
    return writer_.Run(InsertKeyOp(key), key.labels.empty());
  }

  void InsertKeyAsync(KeyRecord key, WriteDone done) override {
    const bool one_statement = key.labels.empty();
    writer_.Submit(InsertKeyOp(std::move(key)), std::move(done), one_statement);
  }

  Status DeleteKey(std::string_view id, std::optional<int64_t> expected_revision) override {
    return writer_.Run([id = std::string(id), expected_revision](Connection& conn) -> Status {
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
                                std::optional<int64_t> expected_revision) override {
    KeyRecord updated;
    Status status = writer_.Run(
        [&](Connection& conn) -> Status {
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
        },
        /*one_statement=*/false);
    if (!status.ok()) return status;
    return updated;
  }

  Status InsertToken(const TokenRecord& token) override {
    return writer_.Run(
        [values = sql::TokenValues(token, sql::Dialect::kSqlite)](Connection& conn) -> Status {
          auto stmt = conn.Prepare(kSql.insert_token);
          if (!stmt.ok()) return stmt.status();
          stmt->BindAll(values);
          const int rc = stmt->Step();
          if (rc == SQLITE_DONE) return Status::Ok();
          if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) return AlreadyExists(std::string(kTokenIdTaken));
          return FromSqlite(rc);
        });
  }

  Status RevokeToken(std::string_view id, int64_t at_us) override {
    return writer_.Run([id = std::string(id), at_us](Connection& conn) -> Status {
      // coalesce keeps the first revocation time; changes() counts the matched row
      // even when its value stays the same.
      auto stmt = conn.Prepare(kSql.revoke_token);
      if (!stmt.ok()) return stmt.status();
      stmt->Bind(1, id);
      stmt->Bind(2, at_us);
      if (Status s = stmt->Run(); !s.ok()) return s;
      if (sqlite3_changes(conn.db()) == 0) return NotFound(std::string(kTokenNotFound));
      return Status::Ok();
    });
  }

  // --- the SSH CA

  StatusOr<CaRecord> GetOrCreateCa(const CaRecord& candidate) override {
    Status inserted = writer_.Run([values = sql::CaValues(candidate)](Connection& conn) -> Status {
      auto stmt = conn.Prepare(kSql.insert_ca);
      if (!stmt.ok()) return stmt.status();
      stmt->BindAll(values);
      return stmt->Run();
    });
    if (!inserted.ok()) return inserted;
    StatusOr<CaRecord> ca = GetCa(candidate.project_id);
    if (!ca.ok() && ca.status().code() == StatusCode::kNotFound) return Internal("the CA vanished");
    return ca;
  }

  StatusOr<CaRecord> GetCa(int64_t project_id) override {
    auto lease = readers().Acquire(ReadDeadline());
    if (!lease.ok()) return lease.status();
    auto stmt = (*lease)->Prepare(kSql.get_ca);
    if (!stmt.ok()) return stmt.status();
    stmt->Bind(1, project_id);
    const int rc = stmt->Step();
    if (rc == SQLITE_DONE) return NotFound("no CA for the project");
    if (rc != SQLITE_ROW) return FromSqlite(rc);
    return sql::ReadCa(*stmt);
  }

  StatusOr<int64_t> NextSerial(int64_t project_id) override {
    int64_t serial = 0;
    Status s = writer_.Run([&](Connection& conn) -> Status {
      auto stmt = conn.Prepare(kSql.next_serial);
      if (!stmt.ok()) return stmt.status();
      stmt->Bind(1, project_id);
      const int rc = stmt->Step();
      if (rc == SQLITE_DONE) return NotFound("no CA for the project");
      if (rc != SQLITE_ROW) return FromSqlite(rc);
      serial = stmt->Int64(0);
      return stmt->Run();
    });
    if (!s.ok()) return s;
    return serial;
  }

  Status RecordCertificate(const CertificateRecord& c) override {
    return writer_.Run([values = sql::CertificateValues(c)](Connection& conn) -> Status {
      auto stmt = conn.Prepare(kSql.insert_certificate);
      if (!stmt.ok()) return stmt.status();
      stmt->BindAll(values);
      const int rc = stmt->Step();
      if (rc == SQLITE_DONE) return Status::Ok();
      if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) return AlreadyExists("the serial is recorded already");
      return FromSqlite(rc);
    });
  }

  StatusOr<CertificateRecord> GetCertificate(int64_t project_id, int64_t serial) override {
    auto lease = readers().Acquire(ReadDeadline());
    if (!lease.ok()) return lease.status();
    auto stmt = (*lease)->Prepare(kSql.get_certificate);
    if (!stmt.ok()) return stmt.status();
    stmt->Bind(1, project_id);
    stmt->Bind(2, serial);
    const int rc = stmt->Step();
    if (rc == SQLITE_DONE) return NotFound("no such certificate");
    if (rc != SQLITE_ROW) return FromSqlite(rc);
    return sql::ReadCertificate(*stmt);
  }

  Status RevokeCertificate(int64_t project_id, int64_t serial, int64_t at_us) override {
    return writer_.Run([=](Connection& conn) -> Status {
      auto stmt = conn.Prepare(kSql.revoke_certificate);
      if (!stmt.ok()) return stmt.status();
      stmt->BindAll({project_id, serial, at_us});
      if (Status s = stmt->Run(); !s.ok()) return s;
      if (sqlite3_changes(conn.db()) == 0) return NotFound("no such certificate");
      return Status::Ok();
    });
  }

  StatusOr<Revocations> RevocationsOf(int64_t project_id, int64_t now_s) override {
    auto lease = readers().Acquire(ReadDeadline());
    if (!lease.ok()) return lease.status();
    Connection& conn = **lease;
    Revocations out;
    auto stmt = conn.Prepare(kSql.revoked_serials);
    if (!stmt.ok()) return stmt.status();
    stmt->Bind(1, project_id);
    stmt->Bind(2, now_s);
    int rc;
    while ((rc = stmt->Step()) == SQLITE_ROW) out.serials.push_back(stmt->Int64(0));
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
  void FailNextSyncForTesting() override { writer_.FailNextSyncForTesting(); }

 private:
  SqliteStore(bool in_memory, Metrics* metrics)
      : in_memory_(in_memory),
        write_pool_(RollBackOnRelease()),
        own_read_pool_(RollBackOnRelease()),
        writer_(&write_pool_, metrics) {}

  static SteadyClock::time_point ReadDeadline() { return SteadyClock::now() + kBusyTimeout; }

  // ":memory:" has one connection, shared with the writer.
  Pool& readers() { return in_memory_ ? write_pool_ : own_read_pool_; }

  static Writer::Body InsertKeyOp(KeyRecord key) {
    return
        [values = sql::KeyValues(key), labels = sql::LabelRows(key)](Connection& conn) -> Status {
          auto stmt = conn.Prepare(kSql.insert_key);
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
  Writer writer_;  // last: its thread stops (after draining) before the pools go
};

}  // namespace

StatusOr<std::unique_ptr<KeyStore>> OpenSqliteStore(std::string_view path,
                                                    const StoreOptions& options) {
  auto store = SqliteStore::Open(path, options);
  if (!store.ok()) return store.status();
  return std::unique_ptr<KeyStore>(std::move(*store));
}

}  // namespace keypaird::store
