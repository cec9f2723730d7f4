#include "auth/token_cache.h"

#include <mutex>
#include <utility>

namespace keypaird::auth {

std::shared_ptr<const store::TokenRecord> TokenCache::Find(std::string_view id,
                                                           int64_t generation) {
  std::shared_ptr<const store::TokenRecord> found;
  {
    std::shared_lock lock(mu_);
    if (generation == generation_) {
      auto it = records_.find(id);
      if (it != records_.end()) found = it->second;
    }
  }
  if (metrics_ != nullptr) {
    metrics_->CountAuthCache(found != nullptr ? Metrics::AuthCache::kHit
                                              : Metrics::AuthCache::kMiss);
  }
  return found;
}

void TokenCache::Keep(int64_t generation, std::shared_ptr<const store::TokenRecord> record) {
  std::unique_lock lock(mu_);
  if (generation < generation_) return;  // read in an older snapshot: of no use any more
  if (generation > generation_ || records_.size() >= max_entries_) {
    records_.clear();
    generation_ = generation;
  }
  std::string id = record->id;
  records_.insert_or_assign(std::move(id), std::move(record));
}

size_t TokenCache::size() const {
  std::shared_lock lock(mu_);
  return records_.size();
}

}  // namespace keypaird::auth
