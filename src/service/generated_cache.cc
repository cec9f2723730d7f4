#include "service/generated_cache.h"

#include <algorithm>
#include <mutex>
#include <utility>

#include "common/digest.h"

namespace keypaird::service {

GeneratedText MakeGeneratedText(std::string body) {
  GeneratedText text;
  text.etag = BodyETag(body);
  text.body = std::make_shared<const std::string>(std::move(body));
  return text;
}

std::optional<GeneratedText> GeneratedCache::Find(std::string_view key, int64_t generation,
                                                  int64_t now_us) const {
  std::shared_lock lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.generation != generation ||
      now_us >= it->second.valid_until_us) {
    return std::nullopt;
  }
  return it->second.text;
}

GeneratedLookup GeneratedCache::LookUp(std::string_view key, std::optional<int64_t> generation,
                                       int64_t now_us) const {
  GeneratedLookup found{generation, std::nullopt};
  if (generation.has_value()) found.kept = Find(key, *generation, now_us);
  return found;
}

void GeneratedCache::Keep(std::string key, int64_t generation, int64_t valid_until_us,
                          GeneratedText text) {
  const size_t size = text.body->size();
  if (size > max_bytes_ / 8) return;
  std::unique_lock lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    if (generation < it->second.generation) return;
    bytes_ -= it->second.text.body->size();
    entries_.erase(it);
  }
  if (entries_.size() >= max_entries_ || bytes_ + size > max_bytes_) {
    entries_.clear();
    bytes_ = 0;
  }
  bytes_ += size;
  entries_.emplace(std::move(key), Entry{generation, valid_until_us, std::move(text)});
}

size_t GeneratedCache::size() const {
  std::shared_lock lock(mu_);
  return entries_.size();
}

size_t GeneratedCache::bytes() const {
  std::shared_lock lock(mu_);
  return bytes_;
}

}  // namespace keypaird::service
