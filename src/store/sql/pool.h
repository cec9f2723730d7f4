// ConnectionPool: a fixed set of database connections, each leased to one caller at a
// time. Shared by the SQL backends (SQLite, PostgreSQL); internal to store/.
//
// A Lease returns its connection when it goes out of scope, after the pool's release
// hook has run on it (a backend uses the hook to roll back a transaction a failed caller
// left open). Acquire waits up to a deadline for a free connection. Thread-safe.
#ifndef KEYPAIRD_STORE_SQL_POOL_H_
#define KEYPAIRD_STORE_SQL_POOL_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "common/status.h"

namespace keypaird::store::sql {

template <typename Conn>
class ConnectionPool {
 public:
  using Deadline = std::chrono::steady_clock::time_point;

  class Lease {
   public:
    Lease(ConnectionPool* pool, Conn* conn) : pool_(pool), conn_(conn) {}
    Lease(Lease&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)), conn_(other.conn_) {}
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() {
      if (pool_ != nullptr) pool_->Release(conn_);
    }
    Conn& operator*() const { return *conn_; }
    Conn* operator->() const { return conn_; }

   private:
    ConnectionPool* pool_;
    Conn* conn_;
  };

  // `on_release` runs on a connection as its lease ends, before others can have it.
  explicit ConnectionPool(std::function<void(Conn&)> on_release = {})
      : on_release_(std::move(on_release)) {}
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  void Add(std::unique_ptr<Conn> conn) {
    std::lock_guard lock(mu_);
    free_.push_back(conn.get());
    all_.push_back(std::move(conn));
  }

  // A free connection, waiting until `deadline`; kUnavailable after that.
  StatusOr<Lease> Acquire(Deadline deadline) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_until(lock, deadline, [this] { return !free_.empty(); })) {
      return Unavailable("all database connections are busy; try again later");
    }
    Conn* conn = free_.back();
    free_.pop_back();
    return Lease(this, conn);
  }

  // Every connection of the pool at once (for diagnostics), each waited for in turn.
  StatusOr<std::vector<Lease>> AcquireAll(Deadline deadline) {
    std::vector<Lease> leases;
    for (size_t i = 0, n = size(); i < n; ++i) {
      StatusOr<Lease> lease = Acquire(deadline);
      if (!lease.ok()) return lease.status();
      leases.push_back(std::move(*lease));
    }
    return leases;
  }

  size_t size() const {
    std::lock_guard lock(mu_);
    return all_.size();
  }

 private:
  void Release(Conn* conn) {
    if (on_release_) on_release_(*conn);
    {
      std::lock_guard lock(mu_);
      free_.push_back(conn);
    }
    cv_.notify_one();
  }

  std::function<void(Conn&)> on_release_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> all_;
  std::vector<Conn*> free_;  // guarded by mu_
};

}  // namespace keypaird::store::sql

#endif  // KEYPAIRD_STORE_SQL_POOL_H_
