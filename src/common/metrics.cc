#include "common/metrics.h"

#include <cstdio>

#include "common/version.h"

namespace keypaird {
namespace {

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

template <typename Buckets, typename Bounds>
void AppendHistogram(std::string* out, const char* name, const std::string& labels,
                     const Buckets& buckets, const Bounds& bounds, uint64_t count, double sum) {
  uint64_t cumulative = 0;
  const std::string sep = labels.empty() ? "" : ",";
  for (size_t i = 0; i < bounds.size(); ++i) {
    cumulative += buckets[i];
    *out += std::string(name) + "_bucket{" + labels + sep + "le=\"" + Num(bounds[i]) + "\"} " +
            std::to_string(cumulative) + "\n";
  }
  *out += std::string(name) + "_bucket{" + labels + sep + "le=\"+Inf\"} " + std::to_string(count) +
          "\n";
  *out += std::string(name) + "_sum{" + labels + "} " + Num(sum) + "\n";
  *out += std::string(name) + "_count{" + labels + "} " + std::to_string(count) + "\n";
}

}  // namespace

void Metrics::Histogram::Observe(double v) {
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (v <= kBuckets[i]) {
      ++buckets[i];
      break;
    }
  }
  ++count;
  sum += v;
}

template <size_t N>
void Metrics::AtomicHistogram<N>::Observe(double v) {
  for (size_t i = 0; i < N; ++i) {
    if (v <= bounds_[i]) {
      buckets_[i].fetch_add(1, std::memory_order_relaxed);
      break;
    }
  }
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

template <size_t N>
void Metrics::AtomicHistogram<N>::Render(std::string* out, const char* name,
                                         const char* help) const {
  std::array<uint64_t, N> buckets{};
  for (size_t i = 0; i < N; ++i) buckets[i] = buckets_[i].load(std::memory_order_relaxed);
  *out += std::string("# HELP ") + name + " " + help + "\n";
  *out += std::string("# TYPE ") + name + " histogram\n";
  AppendHistogram(out, name, "", buckets, bounds_, count_.load(std::memory_order_relaxed),
                  sum_.load(std::memory_order_relaxed));
}

void Metrics::ObserveWriteQueueWait(double seconds) { write_queue_.Observe(seconds); }

void Metrics::ObserveWriteBatch(size_t ops, double seconds) {
  write_batch_ops_.Observe(static_cast<double>(ops));
  write_batch_seconds_.Observe(seconds);
}

void Metrics::ObserveWalSync(double seconds) { wal_sync_seconds_.Observe(seconds); }

void Metrics::CountCertificate(std::string_view event) {
  std::lock_guard<std::mutex> lock(mu_);
  ++certificates_[std::string(event)];
}

void Metrics::ObservePoolRefill(std::string_view type, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  pool_refills_[std::string(type)].Observe(seconds);
}

void Metrics::SetPoolDepth(std::string_view type, int64_t depth) {
  std::lock_guard<std::mutex> lock(mu_);
  pool_depths_[std::string(type)] = depth;
}

void Metrics::ObserveQueueWait(std::string_view pool, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  queue_waits_[std::string(pool)].Observe(seconds);
}

void Metrics::ObserveRequest(std::string_view route, std::string_view method, int status,
                             double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  requests_[{std::string(route), std::string(method), status}].Observe(seconds);
}

void Metrics::ObserveKeyGeneration(std::string_view type, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  generations_[std::string(type)].Observe(seconds);
}

void Metrics::ObserveStoreError(std::string_view operation) {
  std::lock_guard<std::mutex> lock(mu_);
  ++store_errors_[std::string(operation)];
}

std::string Metrics::Render() const {
  std::string out;
  std::lock_guard<std::mutex> lock(mu_);
  out +=
      "# HELP keypaird_http_requests_total HTTP requests by route template, method and status.\n";
  out += "# TYPE keypaird_http_requests_total counter\n";
  for (const auto& [key, h] : requests_) {
    const auto& [route, method, status] = key;
    out += "keypaird_http_requests_total{route=\"" + route + "\",method=\"" + method +
           "\",status=\"" + std::to_string(status) + "\"} " + std::to_string(h.count) + "\n";
  }
  out += "# HELP keypaird_http_request_duration_seconds Time from routing to response.\n";
  out += "# TYPE keypaird_http_request_duration_seconds histogram\n";
  std::map<std::pair<std::string, std::string>, Histogram> by_route;
  for (const auto& [key, h] : requests_) {
    Histogram& agg = by_route[{std::get<0>(key), std::get<1>(key)}];
    for (size_t i = 0; i < kBuckets.size(); ++i) agg.buckets[i] += h.buckets[i];
    agg.count += h.count;
    agg.sum += h.sum;
  }
  for (const auto& [key, h] : by_route) {
    AppendHistogram(&out, "keypaird_http_request_duration_seconds",
                    "route=\"" + key.first + "\",method=\"" + key.second + "\"", h.buckets,
                    kBuckets, h.count, h.sum);
  }
  out += "# HELP keypaird_key_generations_total Keypairs generated, by key type.\n";
  out += "# TYPE keypaird_key_generations_total counter\n";
  for (const auto& [type, h] : generations_) {
    out +=
        "keypaird_key_generations_total{type=\"" + type + "\"} " + std::to_string(h.count) + "\n";
  }
  out += "# HELP keypaird_key_generation_duration_seconds Time to generate one keypair.\n";
  out += "# TYPE keypaird_key_generation_duration_seconds histogram\n";
  for (const auto& [type, h] : generations_) {
    AppendHistogram(&out, "keypaird_key_generation_duration_seconds", "type=\"" + type + "\"",
                    h.buckets, kBuckets, h.count, h.sum);
  }
  out += "# HELP keypaird_store_errors_total Store calls that failed (unavailable or internal).\n";
  out += "# TYPE keypaird_store_errors_total counter\n";
  for (const auto& [op, n] : store_errors_) {
    out += "keypaird_store_errors_total{operation=\"" + op + "\"} " + std::to_string(n) + "\n";
  }
  out += "# HELP keypaird_request_queue_seconds Time a request waited for a thread, by pool.\n";
  out += "# TYPE keypaird_request_queue_seconds histogram\n";
  for (const auto& [pool, h] : queue_waits_) {
    AppendHistogram(&out, "keypaird_request_queue_seconds", "pool=\"" + pool + "\"", h.buckets,
                    kBuckets, h.count, h.sum);
  }
  out += "# HELP keypaird_certificates_total SSH certificates issued and revoked.\n";
  out += "# TYPE keypaird_certificates_total counter\n";
  for (const auto& [event, n] : certificates_) {
    out += "keypaird_certificates_total{event=\"" + event + "\"} " + std::to_string(n) + "\n";
  }
  out += "# HELP keypaird_key_pool_depth Pregenerated keys waiting, by key type.\n";
  out += "# TYPE keypaird_key_pool_depth gauge\n";
  for (const auto& [type, depth] : pool_depths_) {
    out += "keypaird_key_pool_depth{type=\"" + type + "\"} " + std::to_string(depth) + "\n";
  }
  out += "# HELP keypaird_key_pool_refill_seconds Time to generate one pooled key, by type.\n";
  out += "# TYPE keypaird_key_pool_refill_seconds histogram\n";
  for (const auto& [type, h] : pool_refills_) {
    AppendHistogram(&out, "keypaird_key_pool_refill_seconds", "type=\"" + type + "\"", h.buckets,
                    kBuckets, h.count, h.sum);
  }
  write_queue_.Render(&out, "keypaird_store_write_queue_seconds",
                      "Time a write waited for the SQLite writer (group commit).");
  write_batch_ops_.Render(&out, "keypaird_store_write_batch_size",
                          "Writes committed together in one SQLite transaction.");
  write_batch_seconds_.Render(&out, "keypaird_store_write_batch_seconds",
                              "Time to run and commit one batch of writes (SQL, without the sync).");
  wal_sync_seconds_.Render(&out, "keypaird_store_wal_sync_seconds",
                           "Time of one fdatasync of the SQLite WAL, which makes every batch "
                           "committed before it durable (writes are answered after it).");
  out +=
      "# HELP keypaird_auth_cache_total Tokens verified from the token cache (hit) or read "
      "from the database for it (miss).\n";
  out += "# TYPE keypaird_auth_cache_total counter\n";
  constexpr const char* kAuthCacheResults[] = {"hit", "miss"};
  for (size_t i = 0; i < auth_cache_.size(); ++i) {
    out.append("keypaird_auth_cache_total{result=\"")
        .append(kAuthCacheResults[i])
        .append("\"} ")
        .append(std::to_string(auth_cache_[i].load(std::memory_order_relaxed)))
        .append("\n");
  }
  out +=
      "# HELP keypaird_generated_cache_total A project's KRL or authorized_keys answer sent as "
      "kept for the project's generation (hit) or built from the database (miss).\n";
  out += "# TYPE keypaird_generated_cache_total counter\n";
  constexpr const char* kGeneratedTexts[] = {"krl", "authorized_keys"};
  for (size_t i = 0; i < generated_cache_.size(); ++i) {
    out.append("keypaird_generated_cache_total{text=\"")
        .append(kGeneratedTexts[i / 2])
        .append("\",result=\"")
        .append(kAuthCacheResults[i % 2])
        .append("\"} ")
        .append(std::to_string(generated_cache_[i].load(std::memory_order_relaxed)))
        .append("\n");
  }
  out += "# HELP keypaird_build_info The version of keypaird that answers (value always 1).\n";
  out += "# TYPE keypaird_build_info gauge\n";
  out.append("keypaird_build_info{version=\"").append(kVersion).append("\"} 1\n");
  out += "# HELP keypaird_open_connections HTTP connections open now.\n";
  out += "# TYPE keypaird_open_connections gauge\n";
  out += "keypaird_open_connections " +
         std::to_string(open_connections_.load(std::memory_order_relaxed)) + "\n";
  return out;
}

}  // namespace keypaird
