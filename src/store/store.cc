// OpenStore: picks a KeyStore backend by URL scheme.

#include <memory>
#include <string>
#include <string_view>

#include "store/key_store.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store_internal.h"

namespace keypaird::store {
namespace {

// KeyStore::Snapshot's default: every read goes to the store, on its own snapshot.
class ForwardingReader final : public KeyReader {
 public:
  explicit ForwardingReader(KeyReader* store) : store_(store) {}
  StatusOr<KeyRecord> GetKey(std::string_view id) override { return store_->GetKey(id); }
  StatusOr<KeyRecord> GetKeyByName(int64_t project_id, std::string_view name) override {
    return store_->GetKeyByName(project_id, name);
  }
  StatusOr<KeyPage> ListKeys(const ListQuery& query) override { return store_->ListKeys(query); }
  StatusOr<TokenRecord> GetToken(std::string_view id) override { return store_->GetToken(id); }
  StatusOr<EventPage> ListEvents(const EventQuery& query) override {
    return store_->ListEvents(query);
  }

 private:
  KeyReader* store_;
};

}  // namespace

std::unique_ptr<KeyReader> KeyStore::Snapshot() { return std::make_unique<ForwardingReader>(this); }

void KeyStore::InsertKeyAsync(KeyRecord key, EventRecord event, WriteDone done) {
  done(InsertKey(key, event));
}

std::string EncodeLabels(const std::map<std::string, std::string>& labels) {
  std::string out;
  for (const auto& [k, v] : labels) {
    if (!out.empty()) out += ',';
    out.append(k).append("=").append(v);
  }
  return out;
}

StatusOr<std::map<std::string, std::string>> DecodeLabels(std::string_view text) {
  std::map<std::string, std::string> labels;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return Internal("corrupt key labels in the database");
    }
    labels.emplace(item.substr(0, eq), item.substr(eq + 1));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return labels;
}

void ApplyUpdate(const KeyUpdate& update, KeyRecord* key) {
  if (update.name) key->name = *update.name;
  if (update.shared_in_project) key->shared_in_project = *update.shared_in_project;
  if (update.labels) key->labels = *update.labels;
  if (update.expires_at_us) key->expires_at_us = *update.expires_at_us;
  if (update.disabled) key->disabled = *update.disabled;
}

StatusOr<std::unique_ptr<KeyStore>> OpenStore(const std::string& url, const StoreOptions& options) {
  constexpr std::string_view kSqliteScheme = "sqlite:";
  if (options.pool_size < 1) return InvalidArgument("the connection pool size must be >= 1");
  if (url.starts_with(kSqliteScheme)) {
    std::string_view path = url;
    path.remove_prefix(kSqliteScheme.size());
    return OpenSqliteStore(path, options);
  }
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    return OpenPostgresStore(url, options);
  }
  // The URL itself is not echoed: it may carry a password.
  return InvalidArgument(
      "unsupported database URL: expected sqlite:PATH, sqlite::memory: or "
      "postgresql://USER@HOST:PORT/DB");
}

}  // namespace keypaird::store
