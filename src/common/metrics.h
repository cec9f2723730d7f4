// Metrics: process-wide counters and histograms rendered in the Prometheus text format.
//
// A small fixed set of series, no dependency: requests by route template, method and
// status with a latency histogram; key generations by type with a duration histogram;
// store errors by operation; open connections; the version (keypaird_build_info, always 1).
// Observe* and Render are thread-safe
// (one mutex; an observation is a map lookup and a few additions — noise next to a
// request). Labels are always from fixed sets (route templates, not raw paths), so the
// number of series is bounded whatever clients send.
#ifndef KEYPAIRD_COMMON_METRICS_H_
#define KEYPAIRD_COMMON_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

namespace keypaird {

class Metrics {
 public:
  void ObserveRequest(std::string_view route, std::string_view method, int status, double seconds);
  void ObserveKeyGeneration(std::string_view type, double seconds);
  void ObserveStoreError(std::string_view operation);
  // How long a request waited for a thread of `pool` ("workers" or "keygen").
  void ObserveQueueWait(std::string_view pool, double seconds);
  // The SQLite writer: how long an op waited in its queue, and each committed batch's
  // size and the time its SQL and commit took (the sync comes after, on its own thread).
  // The RSA key pool: one key generated in the background, and the keys waiting now.
  void ObservePoolRefill(std::string_view type, double seconds);
  void SetPoolDepth(std::string_view type, int64_t depth);
  // The SSH CA: a certificate "issued" or "revoked".
  void CountCertificate(std::string_view event);
  void ObserveWriteQueueWait(double seconds);
  void ObserveWriteBatch(size_t ops, double seconds);
  // The SQLite writer's WAL sync (fdatasync) that makes committed batches durable.
  void ObserveWalSync(double seconds);
  // The token cache (auth::TokenCache): a token's record found there for the request's
  // snapshot ("hit"), or read from the store and offered to it ("miss").
  enum class AuthCache { kHit, kMiss };
  void CountAuthCache(AuthCache result) {
    auth_cache_[static_cast<size_t>(result)].fetch_add(1, std::memory_order_relaxed);
  }
  // The login path's caches (service::GeneratedCache): a project's KRL or authorized_keys
  // answer sent as kept for its generation ("hit") or built from the store ("miss"; also
  // where the store keeps no generation for it).
  enum class GeneratedText { kKrl, kAuthorizedKeys };
  void CountGeneratedCache(GeneratedText text, bool hit) {
    generated_cache_[static_cast<size_t>(text) * 2 + (hit ? 0 : 1)].fetch_add(
        1, std::memory_order_relaxed);
  }
  void ConnectionOpened() { open_connections_.fetch_add(1, std::memory_order_relaxed); }
  void ConnectionClosed() { open_connections_.fetch_sub(1, std::memory_order_relaxed); }

  std::string Render() const;

 private:
  static constexpr std::array<double, 14> kBuckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5};

  struct Histogram {
    std::array<uint64_t, kBuckets.size()> buckets{};  // non-cumulative
    uint64_t count = 0;
    double sum = 0;
    void Observe(double v);
  };

  // A histogram of fixed bounds updated without a lock (hot paths).
  template <size_t N>
  class AtomicHistogram {
   public:
    explicit constexpr AtomicHistogram(const std::array<double, N>& bounds) : bounds_(bounds) {}
    void Observe(double v);
    void Render(std::string* out, const char* name, const char* help) const;

   private:
    const std::array<double, N>& bounds_;
    std::array<std::atomic<uint64_t>, N> buckets_{};  // non-cumulative
    std::atomic<uint64_t> count_{0};
    std::atomic<double> sum_{0};
  };
  static constexpr std::array<double, 10> kSizeBuckets = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};

  AtomicHistogram<kBuckets.size()> write_queue_{kBuckets};
  AtomicHistogram<kSizeBuckets.size()> write_batch_ops_{kSizeBuckets};
  AtomicHistogram<kBuckets.size()> write_batch_seconds_{kBuckets};
  AtomicHistogram<kBuckets.size()> wal_sync_seconds_{kBuckets};

  mutable std::mutex mu_;
  // (route, method, status) -> latency
  std::map<std::tuple<std::string, std::string, int>, Histogram> requests_;
  std::map<std::string, Histogram> generations_;
  std::map<std::string, uint64_t> store_errors_;
  std::map<std::string, Histogram> queue_waits_;   // by pool
  std::map<std::string, Histogram> pool_refills_;  // by key type
  std::map<std::string, int64_t> pool_depths_;     // by key type
  std::map<std::string, uint64_t> certificates_;   // by event
  std::atomic<int64_t> open_connections_{0};
  std::array<std::atomic<uint64_t>, 2> auth_cache_{};  // by AuthCache
  std::array<std::atomic<uint64_t>, 4> generated_cache_{};  // by (GeneratedText, hit|miss)
};

}  // namespace keypaird

#endif  // KEYPAIRD_COMMON_METRICS_H_
