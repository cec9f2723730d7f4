#include "common/metrics.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "common/version.h"

namespace keypaird {
namespace {

TEST(MetricsTest, BuildInfoGaugeCarriesTheProjectVersion) {
  // The version is CMake's project version (x.y.z), the one --version and the package show.
  EXPECT_TRUE(std::regex_match(std::string(kVersion), std::regex(R"([0-9]+\.[0-9]+\.[0-9]+)")))
      << kVersion;
  const std::string text = Metrics().Render();
  EXPECT_NE(text.find("# TYPE keypaird_build_info gauge\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nkeypaird_build_info{version=\"" + std::string(kVersion) + "\"} 1\n"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace keypaird
