// OpenStore: picks a KeyStore backend by URL scheme.

#include <memory>
#include <string>
#include <string_view>

#include "store/key_store.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"

namespace keypaird::store {

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
