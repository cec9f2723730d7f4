// WorkerPool: a fixed set of threads running submitted tasks in FIFO order.
//
// The HTTP server hands every API request to this pool so that blocking store calls
// and CPU-bound key generation never run on the I/O threads. Submit is thread-safe.
// Shutdown (also run by the destructor) stops taking tasks, finishes the queued ones
// and joins the threads.
#ifndef KEYPAIRD_COMMON_WORKER_POOL_H_
#define KEYPAIRD_COMMON_WORKER_POOL_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace keypaird {

// Names the calling thread (as top -H and perf show it); at most 15 characters kept.
void SetThreadName(const char* name);

class WorkerPool {
 public:
  // `max_queued`: tasks waiting (not yet running) at most; Submit refuses more. `name`
  // names the threads (at most 15 characters, for top and perf).
  explicit WorkerPool(int threads, size_t max_queued = SIZE_MAX, const char* name = "kpd-pool");
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `task`. Returns false (and drops the task) when the queue is full or after
  // Shutdown has begun.
  bool Submit(std::function<void()> task);
  // Waits until no task is queued or running, or until `deadline`; true if idle.
  bool WaitIdle(std::chrono::steady_clock::time_point deadline);
  void Shutdown();

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::deque<std::function<void()>> queue_;
  size_t max_queued_;
  int running_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace keypaird

#endif  // KEYPAIRD_COMMON_WORKER_POOL_H_
