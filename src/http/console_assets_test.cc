#include "http/console_assets.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>

namespace keypaird::http {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

TEST(ConsoleAssetsTest, EveryFileOfTheFolderIsEmbeddedByteForByte) {
  std::set<std::string> on_disk;
  for (const auto& entry : fs::recursive_directory_iterator(KEYPAIRD_CONSOLE_DIR)) {
    const std::string relative = fs::relative(entry.path(), KEYPAIRD_CONSOLE_DIR).generic_string();
    if (!entry.is_regular_file() || relative.front() == '.') continue;
    on_disk.insert(relative);
    const ConsoleAsset* asset = FindConsoleAsset(relative);
    ASSERT_NE(asset, nullptr) << relative;
    EXPECT_EQ(asset->path, relative);
    EXPECT_EQ(asset->bytes, ReadFile(entry.path())) << relative;
  }
  EXPECT_EQ(ConsoleAssets().size(), on_disk.size());
  EXPECT_TRUE(on_disk.contains("index.html"));
}

TEST(ConsoleAssetsTest, TheRootIsIndexHtml) {
  const ConsoleAsset* root = FindConsoleAsset("");
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(root->path, "index.html");
  EXPECT_STREQ(root->content_type, "text/html; charset=utf-8");
}

TEST(ConsoleAssetsTest, ContentTypesFollowTheExtension) {
  for (const ConsoleAsset& asset : ConsoleAssets()) {
    const std::string ext = fs::path(asset.path).extension().string();
    const std::string expected = ext == ".js"     ? "text/javascript; charset=utf-8"
                                 : ext == ".css"  ? "text/css; charset=utf-8"
                                 : ext == ".svg"  ? "image/svg+xml"
                                 : ext == ".html" ? "text/html; charset=utf-8"
                                                  : asset.content_type;
    EXPECT_EQ(asset.content_type, expected) << asset.path;
  }
}

TEST(ConsoleAssetsTest, EtagsAreStrongAndDifferPerContent) {
  std::set<std::string_view> tags;
  for (const ConsoleAsset& asset : ConsoleAssets()) {
    ASSERT_EQ(asset.etag.size(), 34u) << asset.path;
    EXPECT_EQ(asset.etag.front(), '"');
    EXPECT_EQ(asset.etag.back(), '"');
    EXPECT_EQ(asset.etag.find_first_not_of("0123456789abcdef", 1), 33u) << asset.etag;
    tags.insert(asset.etag);
  }
  EXPECT_EQ(tags.size(), ConsoleAssets().size());
}

TEST(ConsoleAssetsTest, TheTableIsSortedSoLookupsFindEveryFile) {
  const auto assets = ConsoleAssets();
  for (size_t i = 1; i < assets.size(); ++i) EXPECT_LT(assets[i - 1].path, assets[i].path);
  for (const ConsoleAsset& asset : assets) EXPECT_EQ(FindConsoleAsset(asset.path), &asset);
}

TEST(ConsoleAssetsTest, NothingOutsideTheEmbeddedFilesIsFound) {
  using std::string_view_literals::operator""sv;
  for (std::string_view path :
       {"/index.html"sv, "../CMakeLists.txt"sv, "./index.html"sv, "index.html/"sv, "INDEX.HTML"sv,
        "index.htm"sv, "index.html\0"sv, "missing.js"sv, "%2e%2e/README.md"sv}) {
    EXPECT_EQ(FindConsoleAsset(path), nullptr) << path;
  }
}

}  // namespace
}  // namespace keypaird::http
