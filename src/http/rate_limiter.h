// RateLimiter: a token bucket per API token, refilled continuously.
//
// Each token id may make `burst` requests at once and `rate` per second sustained.
// The state lives in this process: with several nodes each node enforces the limit on
// its own (document the per-node figure). Thread-safe.
//
// Keys need not be few (the open routes count client addresses): a bucket that has filled up
// again says nothing a new one would not, so such buckets are dropped whenever the map has
// doubled since the last sweep — the map holds about the keys seen within burst / rate
// seconds, whatever number of keys came before.
#ifndef KEYPAIRD_HTTP_RATE_LIMITER_H_
#define KEYPAIRD_HTTP_RATE_LIMITER_H_

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace keypaird::http {

class RateLimiter {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // rate > 0 requests per second, burst >= 1.
  RateLimiter(double rate, double burst, Clock now = std::chrono::steady_clock::now);

  // 0 if the request may go ahead (and takes one token); otherwise the whole number of
  // seconds (>= 1) after which it would, for the Retry-After header.
  int Acquire(std::string_view key);

  // Gives back the token an Acquire took for a request that was not answered after all (a
  // quick try left to the full handling, which acquires again); never above the burst.
  void Refund(std::string_view key);

  // Buckets held (for tests).
  size_t size();

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point last;
  };

  double rate_;
  double burst_;
  Clock now_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
  size_t sweep_at_ = kFirstSweep;  // sweep when buckets_ reaches this size
  static constexpr size_t kFirstSweep = 1024;
};

}  // namespace keypaird::http

#endif  // KEYPAIRD_HTTP_RATE_LIMITER_H_
