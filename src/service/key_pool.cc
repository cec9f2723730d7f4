#include "service/key_pool.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "common/log.h"
#include "common/worker_pool.h"

namespace keypaird::service {

KeyPool::KeyPool(KeyPoolOptions options, Metrics* metrics)
    : options_(std::move(options)), metrics_(metrics) {
  bool any = false;
  for (const auto& [type, depth] : options_.depth) any = any || depth > 0;
  if (!any) return;
  int n = options_.threads;
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 0; i < n; ++i) {
    threads_.emplace_back([this] {
      SetThreadName("kpd-keypool");
      // The lowest priority: requests (and everything else) come first.
      (void)setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 19);
      Refill();
    });
  }
}

KeyPool::~KeyPool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cancel_.store(true);  // a refill in progress stops at its next prime candidate
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
  // The pooled keys go with keys_ (PrivateKey frees its material with OpenSSL's clearing
  // free).
}

bool KeyPool::MostNeeded(sshkey::KeyType* type) const {
  int best_gap = 0;
  for (const auto& [t, depth] : options_.depth) {
    auto have = keys_.find(t);
    auto busy = in_progress_.find(t);
    const int gap = depth - (have == keys_.end() ? 0 : static_cast<int>(have->second.size())) -
                    (busy == in_progress_.end() ? 0 : busy->second);
    if (gap > best_gap) {
      best_gap = gap;
      *type = t;
    }
  }
  return best_gap > 0;
}

void KeyPool::Refill() {
  for (;;) {
    sshkey::KeyType type{};
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || MostNeeded(&type); });
      if (stopping_) return;
      ++in_progress_[type];
    }
    const auto started = std::chrono::steady_clock::now();
    StatusOr<sshkey::PrivateKey> key = sshkey::GeneratePrivateKey(type, &cancel_);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::lock_guard lock(mu_);
    --in_progress_[type];
    if (stopping_) return;
    if (!key.ok()) {
      LogLine(LogLevel::kWarn, "key pool: generation failed").Str("error", key.status().message());
      continue;
    }
    keys_[type].push_back(std::move(*key));
    if (metrics_ != nullptr) {
      metrics_->ObservePoolRefill(std::string(sshkey::KeyTypeName(type)), seconds);
      metrics_->SetPoolDepth(std::string(sshkey::KeyTypeName(type)),
                             static_cast<int64_t>(keys_[type].size()));
    }
  }
}

StatusOr<sshkey::PrivateKey> KeyPool::Take(sshkey::KeyType type, bool* pooled) {
  {
    std::lock_guard lock(mu_);
    auto it = keys_.find(type);
    if (it != keys_.end() && !it->second.empty()) {
      sshkey::PrivateKey key = std::move(it->second.front());
      it->second.pop_front();
      if (metrics_ != nullptr) {
        metrics_->SetPoolDepth(std::string(sshkey::KeyTypeName(type)),
                               static_cast<int64_t>(it->second.size()));
      }
      if (pooled != nullptr) *pooled = true;
      cv_.notify_one();  // one below target now
      return key;
    }
  }
  cv_.notify_one();
  if (pooled != nullptr) *pooled = false;
  return sshkey::GeneratePrivateKey(type);
}

int KeyPool::Depth(sshkey::KeyType type) const {
  std::lock_guard lock(mu_);
  auto it = keys_.find(type);
  return it == keys_.end() ? 0 : static_cast<int>(it->second.size());
}

}  // namespace keypaird::service
