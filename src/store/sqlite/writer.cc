#include "store/sqlite/writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <exception>
#include <filesystem>
#include <iterator>
#include <optional>
#include <system_error>
#include <utility>

#include "common/log.h"
#include "common/worker_pool.h"

namespace keypaird::store::sqlite {

Writer::Writer(Pool* pool, Metrics* metrics) : pool_(pool), metrics_(metrics) {
  sync_thread_ = std::thread([this] {
    SetThreadName("kpd-sync");
    SyncLoop();
  });
  thread_ = std::thread([this] {
    SetThreadName("kpd-writer");
    Loop();
  });
}

Writer::~Writer() {
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

void Writer::SyncWal(std::string wal_path) {
  std::lock_guard lock(sync_mu_);
  wal_path_ = std::move(wal_path);
}

void Writer::Submit(Body body, KeyStore::WriteDone done, bool one_statement) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(
        {{std::move(body), one_statement}, std::move(done), SteadyClock::now(), Status()});
  }
  cv_.notify_one();
}

Status Writer::Run(Body body, bool one_statement) {
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

sql::WriteStats Writer::stats() const {
  std::lock_guard lock(stats_mu_);
  return stats_;
}

void Writer::Loop() {
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
        metrics_->ObserveWriteQueueWait(std::chrono::duration<double>(started - p.queued).count());
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

void Writer::Answer(std::vector<Pending>& batch) {
  for (Pending& p : batch) {
    try {
      p.done(std::move(p.status));
    } catch (...) {  // a caller's callback must not take the writer down
    }
  }
}

void Writer::SyncLoop() {
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
Status Writer::Sync() {
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

bool Writer::Replaced() const {
  struct stat open_file {};
  struct stat named {};
  if (::fstat(wal_fd_, &open_file) != 0 || open_file.st_nlink == 0) return true;
  if (::stat(wal_path_.c_str(), &named) != 0) return true;
  return named.st_ino != open_file.st_ino || named.st_dev != open_file.st_dev;
}

int Writer::OpenWal() {
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
Status Writer::RunOne(Connection& conn, const Op& op, bool* txn_lost) {
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

int64_t Writer::RunBatch(std::vector<Pending>& batch) {
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

}  // namespace keypaird::store::sqlite
