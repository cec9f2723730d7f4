#include "http/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace keypaird::http {

RateLimiter::RateLimiter(double rate, double burst, Clock now)
    : rate_(rate), burst_(std::max(1.0, burst)), now_(std::move(now)) {}

int RateLimiter::Acquire(std::string_view key) {
  const auto now = now_();
  std::lock_guard<std::mutex> lock(mu_);
  if (buckets_.size() >= sweep_at_) {
    std::erase_if(buckets_, [&](const auto& entry) {
      const Bucket& b = entry.second;
      return b.tokens + std::chrono::duration<double>(now - b.last).count() * rate_ >= burst_;
    });
    sweep_at_ = std::max(kFirstSweep, 2 * buckets_.size());
  }
  auto [it, inserted] = buckets_.try_emplace(std::string(key), Bucket{burst_, now});
  Bucket& b = it->second;
  if (!inserted) {
    const double elapsed = std::chrono::duration<double>(now - b.last).count();
    b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
    b.last = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return 0;
  }
  return std::max(1, static_cast<int>(std::ceil((1.0 - b.tokens) / rate_)));
}

size_t RateLimiter::size() {
  std::lock_guard<std::mutex> lock(mu_);
  return buckets_.size();
}

void RateLimiter::Refund(std::string_view key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = buckets_.find(std::string(key));
  if (it != buckets_.end()) it->second.tokens = std::min(burst_, it->second.tokens + 1.0);
}

}  // namespace keypaird::http
