// Durations as operators write them on a command line: "30s", "5m", "1h", "2h30m", "500ms",
// "400d".
//
// A duration is one or more <digits><unit> parts with the units d (24 h), h, m, s and ms,
// each at most once and largest first (Go's time.ParseDuration without signs or fractions: "1h30m", not
// "90m30s5m"). A bare number is refused: "2" could mean seconds or minutes. Pure functions,
// safe from any thread.
#ifndef KEYPAIRD_COMMON_DURATION_H_
#define KEYPAIRD_COMMON_DURATION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace keypaird {

// The longest duration ParseDurationMs accepts: 100 years, so that sums never overflow.
inline constexpr int64_t kMaxDurationMs = int64_t{100} * 365 * 24 * 3600 * 1000;

// Milliseconds, or nullopt when `text` is not a duration as above (or is longer than
// kMaxDurationMs).
std::optional<int64_t> ParseDurationMs(std::string_view text);

// The shortest text ParseDurationMs reads back as `ms` (>= 0): 5400000 -> "1h30m",
// 1500 -> "1s500ms", 90000000 -> "1d1h", 0 -> "0s".
std::string FormatDurationMs(int64_t ms);

}  // namespace keypaird

#endif  // KEYPAIRD_COMMON_DURATION_H_
