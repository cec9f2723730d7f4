// The SQLite writer: the group-committing write path and the thread that syncs the WAL.
// Internal to store/sqlite/.
//
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
//
// Threading: Submit and Run are thread-safe. Ops run on the writer thread ("kpd-writer"),
// the only user of the writer connection; the syncer thread ("kpd-sync") syncs the WAL
// and calls each op's `done`. The destructor runs what is queued, answers it and stops
// both threads.
#ifndef KEYPAIRD_STORE_SQLITE_WRITER_H_
#define KEYPAIRD_STORE_SQLITE_WRITER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/status.h"
#include "store/key_store.h"
#include "store/sql/diagnostics.h"
#include "store/sqlite/driver.h"

namespace keypaird::store::sqlite {

class Writer {
 public:
  using Body = std::function<Status(Connection&)>;
  struct Op {
    Body body;
    // One statement: SQLite undoes a failed statement by itself (a constraint violation
    // aborts the statement, not the transaction), so it needs no savepoint of its own.
    bool one_statement = true;
  };

  // Runs ops on `pool`'s one connection; `metrics` may be null.
  Writer(Pool* pool, Metrics* metrics);
  // Runs every op queued so far, answers them once synced, then stops.
  ~Writer();

  // Makes every acknowledged write durable by syncing `wal_path`, the -wal file of the
  // writer connection (which runs synchronous=NORMAL). Called once, before the first op;
  // without it (":memory:") ops are answered at their commit.
  void SyncWal(std::string wal_path);

  // kUnavailable once a sync has failed: the store takes no more writes.
  Status Usable() const {
    return broken_.load(std::memory_order_acquire) ? Unavailable(std::string(kSyncFailed))
                                                   : Status::Ok();
  }

  // Tests: the next sync fails as an fdatasync error would.
  void FailNextSyncForTesting() { fail_next_sync_.store(true); }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void Submit(Body body, KeyStore::WriteDone done, bool one_statement = true);

  // Submit and wait for the outcome.
  Status Run(Body body, bool one_statement = true);

  sql::WriteStats stats() const;

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
  struct Committed {
    std::vector<Pending> batch;
    int64_t transactions = 0;  // committed by the batch
  };

  void Loop();
  static void Answer(std::vector<Pending>& batch);
  // Syncs the WAL for every batch committed so far, then answers their ops.
  void SyncLoop();
  Status Sync();
  bool Replaced() const;
  // 0 or an errno.
  int OpenWal();
  static Status RunOne(Connection& conn, const Op& op, bool* txn_lost);
  // Runs the batch's ops; the transactions it committed.
  int64_t RunBatch(std::vector<Pending>& batch);

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
  std::string wal_path_;              // guarded by sync_mu_ until the first op; "" = no sync
  std::vector<Committed> committed_;  // guarded by sync_mu_: waiting for a sync
  bool sync_stopping_ = false;        // guarded by sync_mu_
  int wal_fd_ = -1;                   // the syncer thread's
  std::atomic<bool> broken_{false};   // a sync failed
  std::atomic<bool> fail_next_sync_{false};

  std::thread sync_thread_;  // last two: start once everything above exists
  std::thread thread_;
};

}  // namespace keypaird::store::sqlite

#endif  // KEYPAIRD_STORE_SQLITE_WRITER_H_
