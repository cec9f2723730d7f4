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

void AppendHistogram(std::string* out, const char* name, const std::string& labels,
                     const std::array<uint64_t, 14>& buckets, const std::array<double, 14>& bounds,
                     uint64_t count, double sum) {
  uint64_t cumulative = 0;
  const std::string sep = labels.empty() ? "" : ",";
  for (size_t i = 0; i < bounds.size(); ++i) {
    cumulative += buckets[i];
    *out += std::string(name) + "_bucket{" + labels + sep + "le=\"" + Num(bounds[i]) + "\"} " +
            std::to_string(cumulative) + "\n";
  }
  *out += std::string(name) + "_bucket{" + labels + sep + "le=\"+Inf\"} " +
          std::to_string(count) + "\n";
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
  out += "# HELP keypaird_http_requests_total HTTP requests by route template, method and status.\n";
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
    out += "keypaird_key_generations_total{type=\"" + type + "\"} " + std::to_string(h.count) +
           "\n";
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
