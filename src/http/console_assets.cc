// See console_assets.h. The table itself is generated (cmake/embed_files.cmake).
#include "http/console_assets.h"

#include <algorithm>

namespace keypaird::http {

const ConsoleAsset* FindConsoleAsset(std::string_view path) {
  if (path.empty()) path = "index.html";
  const std::span<const ConsoleAsset> assets = ConsoleAssets();
  // The generator sorts by path and refuses hidden names and anything but [A-Za-z0-9._/-],
  // so an exact match can never reach outside the table.
  const auto it = std::lower_bound(
      assets.begin(), assets.end(), path,
      [](const ConsoleAsset& asset, std::string_view p) { return asset.path < p; });
  if (it == assets.end() || it->path != path) return nullptr;
  return &*it;
}

}  // namespace keypaird::http
