// The in-memory KeyStore fake: one mutex around a few maps. It mirrors the SQLite
// backend's observable behaviour exactly (orders, tie-breaks, substring matching,
// uniqueness), which store_contract_test.cc checks for both.

#include <algorithm>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "common/strings.h"
#include "store/key_store.h"
#include "store/store_internal.h"

namespace keypaird::store {
namespace {

// Strict weak order matching the SQL ORDER BY clauses of the SQLite backend. std::string
// compares like memcmp (char_traits<char> compares as unsigned char), as does SQLite's
// BINARY collation.
bool KeyBefore(OrderBy order, const KeyRecord& a, const KeyRecord& b) {
  switch (order) {
    case OrderBy::kCreatedAtAsc:
      return std::tie(a.created_at_us, a.id) < std::tie(b.created_at_us, b.id);
    case OrderBy::kCreatedAtDesc:
      if (a.created_at_us != b.created_at_us) return a.created_at_us > b.created_at_us;
      return a.id < b.id;
    case OrderBy::kNameAsc:
      return std::tie(a.name, a.id) < std::tie(b.name, b.id);
    case OrderBy::kNameDesc:
      if (a.name != b.name) return a.name > b.name;
      return a.id < b.id;
  }
  return false;
}

class MemoryStore final : public KeyStore {
 public:
  Status InsertKey(const KeyRecord& key) override {
    std::lock_guard lock(mu_);
    if (keys_.contains(key.id)) return AlreadyExists(std::string(kKeyIdTaken));
    auto [it, inserted] = names_.try_emplace(NameKey(key.project_id, key.name), key.id);
    if (!inserted) return AlreadyExists(std::string(kKeyNameTaken));
    keys_.emplace(key.id, key);
    return Status::Ok();
  }

  StatusOr<KeyRecord> GetKey(std::string_view id) override {
    std::lock_guard lock(mu_);
    auto it = keys_.find(id);
    if (it == keys_.end()) return NotFound(std::string(kKeyNotFound));
    return it->second;
  }

  StatusOr<KeyRecord> GetKeyByName(int64_t project_id, std::string_view name) override {
    std::lock_guard lock(mu_);
    auto it = names_.find(NameKey(project_id, std::string(name)));
    if (it == names_.end()) return NotFound(std::string(kKeyNotFound));
    return keys_.at(it->second);
  }

  StatusOr<KeyPage> ListKeys(const ListQuery& query) override {
    if (Status s = ValidateListQuery(query); !s.ok()) return s;
    std::vector<KeyRecord> matches;
    {
      std::lock_guard lock(mu_);
      for (const auto& [id, key] : keys_) {
        if (query.project_id && key.project_id != *query.project_id) continue;
        if (query.owner_id && key.user_id != *query.owner_id) continue;
        if (query.visible_to_user && !key.shared_in_project &&
            key.user_id != *query.visible_to_user) {
          continue;
        }
        // Case-insensitive for ASCII only, like SQLite's LIKE.
        if (!ContainsIgnoreAsciiCase(key.name, query.name_contains)) continue;
        matches.push_back(key);
      }
    }
    std::sort(matches.begin(), matches.end(), [order = query.order](const auto& a, const auto& b) {
      return KeyBefore(order, a, b);
    });
    KeyPage page;
    page.total = static_cast<int64_t>(matches.size());
    const size_t begin = std::min(static_cast<size_t>(query.offset), matches.size());
    size_t end = matches.size();
    if (query.limit >= 0) end = std::min(end, begin + static_cast<size_t>(query.limit));
    page.keys.assign(std::make_move_iterator(matches.begin() + static_cast<ptrdiff_t>(begin)),
                     std::make_move_iterator(matches.begin() + static_cast<ptrdiff_t>(end)));
    return page;
  }

  Status DeleteKey(std::string_view id) override {
    std::lock_guard lock(mu_);
    auto it = keys_.find(id);
    if (it == keys_.end()) return NotFound(std::string(kKeyNotFound));
    names_.erase(NameKey(it->second.project_id, it->second.name));
    keys_.erase(it);
    return Status::Ok();
  }

  StatusOr<KeyRecord> SetShared(std::string_view id, bool shared) override {
    std::lock_guard lock(mu_);
    auto it = keys_.find(id);
    if (it == keys_.end()) return NotFound(std::string(kKeyNotFound));
    it->second.shared_in_project = shared;
    return it->second;
  }

  Status InsertToken(const TokenRecord& token) override {
    std::lock_guard lock(mu_);
    if (!tokens_.try_emplace(token.id, token).second) {
      return AlreadyExists(std::string(kTokenIdTaken));
    }
    return Status::Ok();
  }

  StatusOr<TokenRecord> GetToken(std::string_view id) override {
    std::lock_guard lock(mu_);
    auto it = tokens_.find(id);
    if (it == tokens_.end()) return NotFound(std::string(kTokenNotFound));
    return it->second;
  }

  StatusOr<std::vector<TokenRecord>> ListTokens() override {
    std::vector<TokenRecord> tokens;
    {
      std::lock_guard lock(mu_);
      for (const auto& [id, token] : tokens_) tokens.push_back(token);
    }
    std::sort(tokens.begin(), tokens.end(), [](const auto& a, const auto& b) {
      return std::tie(a.created_at_us, a.id) < std::tie(b.created_at_us, b.id);
    });
    return tokens;
  }

  Status RevokeToken(std::string_view id, int64_t at_us) override {
    std::lock_guard lock(mu_);
    auto it = tokens_.find(id);
    if (it == tokens_.end()) return NotFound(std::string(kTokenNotFound));
    if (!it->second.revoked_at_us) it->second.revoked_at_us = at_us;
    return Status::Ok();
  }

  Status Ping() override { return Status::Ok(); }

 private:
  using NameKey = std::pair<int64_t, std::string>;

  std::mutex mu_;
  std::map<std::string, KeyRecord, std::less<>> keys_;  // by id
  std::map<NameKey, std::string> names_;                // (project_id, name) -> id
  std::map<std::string, TokenRecord, std::less<>> tokens_;
};

}  // namespace

std::unique_ptr<KeyStore> NewMemoryStore() { return std::make_unique<MemoryStore>(); }

}  // namespace keypaird::store
