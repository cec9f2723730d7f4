// OpenStore: picks a KeyStore backend by URL scheme.

#include <memory>
#include <string>
#include <string_view>

#include "store/key_store.h"
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
  // The URL itself is not echoed: other schemes' URLs may carry a password.
  return InvalidArgument("unsupported database URL: expected sqlite:PATH or sqlite::memory:");
}

}  // namespace keypaird::store
