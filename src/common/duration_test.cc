// Durations as the agent commands' flags take them (common/duration.h).
#include "common/duration.h"

#include <gtest/gtest.h>

namespace keypaird {
namespace {

TEST(DurationTest, UnitsAndCombinationsLargestFirst) {
  EXPECT_EQ(ParseDurationMs("30s"), 30000);
  EXPECT_EQ(ParseDurationMs("5m"), 300000);
  EXPECT_EQ(ParseDurationMs("1h"), 3600000);
  EXPECT_EQ(ParseDurationMs("2h30m"), 9000000);
  EXPECT_EQ(ParseDurationMs("1h2m3s4ms"), 3723004);
  EXPECT_EQ(ParseDurationMs("500ms"), 500);
  EXPECT_EQ(ParseDurationMs("2m500ms"), 120500);
  EXPECT_EQ(ParseDurationMs("0s"), 0);
  EXPECT_EQ(ParseDurationMs("90m"), 5400000);  // a unit may exceed the next one up
  EXPECT_EQ(ParseDurationMs("168h"), 604800000);
  EXPECT_EQ(ParseDurationMs("400d"), int64_t{400} * 86400000);
  EXPECT_EQ(ParseDurationMs("1d12h"), 129600000);
}

TEST(DurationTest, RefusesWhatCouldBeMisread) {
  for (const char* bad : {"",        "2",     "s",   "1x",   "1H",   "1 h",  " 1h",
                          "1h ",     "-1s",   "+1s", "1.5h", "1s1h", "1m1m", "1h1h",
                          "30s5m",   "1ms1s", "1hm", "h1",   "1h1d", "1h30", "9999999999999h",
                          "1000000h"}) {
    EXPECT_EQ(ParseDurationMs(bad), std::nullopt) << '"' << bad << '"';
  }
  EXPECT_EQ(ParseDurationMs("876000h"), kMaxDurationMs);  // 100 years is the most
  EXPECT_EQ(ParseDurationMs("876000h1ms"), std::nullopt);
}

TEST(DurationTest, FormatsTheShortestTextThatReadsBack) {
  EXPECT_EQ(FormatDurationMs(0), "0s");
  EXPECT_EQ(FormatDurationMs(2000), "2s");
  EXPECT_EQ(FormatDurationMs(1500), "1s500ms");
  EXPECT_EQ(FormatDurationMs(5400000), "1h30m");
  EXPECT_EQ(FormatDurationMs(3723004), "1h2m3s4ms");
  EXPECT_EQ(FormatDurationMs(90000000), "1d1h");
  for (int64_t ms : {int64_t{1}, int64_t{999}, int64_t{60000}, int64_t{86400000}, kMaxDurationMs}) {
    EXPECT_EQ(ParseDurationMs(FormatDurationMs(ms)), ms) << ms;
  }
}

}  // namespace
}  // namespace keypaird
