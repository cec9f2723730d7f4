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
  void ObserveRequest(std::string_view route, std::string_view method, int status,
                      double seconds);
  void ObserveKeyGeneration(std::string_view type, double seconds);
  void ObserveStoreError(std::string_view operation);
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

  mutable std::mutex mu_;
  // (route, method, status) -> latency
  std::map<std::tuple<std::string, std::string, int>, Histogram> requests_;
  std::map<std::string, Histogram> generations_;
  std::map<std::string, uint64_t> store_errors_;
  std::atomic<int64_t> open_connections_{0};
};

}  // namespace keypaird

#endif  // KEYPAIRD_COMMON_METRICS_H_
