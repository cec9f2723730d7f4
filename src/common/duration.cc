#include "common/duration.h"

#include <array>

namespace keypaird {
namespace {

struct Unit {
  std::string_view name;
  int64_t ms;
};
// Largest first: the order a duration must name them in. "ms" comes before "m" in the
// matching below, so "5ms" is not read as "5m" followed by garbage.
constexpr std::array<Unit, 5> kUnits = {
    {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}}};
constexpr size_t kMs = kUnits.size() - 1;

}  // namespace

std::optional<int64_t> ParseDurationMs(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t total = 0;
  size_t next_unit = 0;  // units before this one are used up (or skipped)
  size_t pos = 0;
  while (pos < text.size()) {
    int64_t n = 0;
    const size_t digits_start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (pos - digits_start >= 12) return std::nullopt;  // beyond any sensible duration
      n = n * 10 + (text[pos] - '0');
      ++pos;
    }
    if (pos == digits_start) return std::nullopt;
    const std::string_view rest = text.substr(pos);
    size_t unit = kUnits.size();
    if (rest.starts_with("ms")) {
      unit = kMs;
    } else if (!rest.empty()) {
      for (size_t u = 0; u < kMs; ++u) {
        if (rest.front() == kUnits[u].name.front()) unit = u;
      }
    }
    if (unit == kUnits.size() || unit < next_unit) return std::nullopt;
    pos += kUnits[unit].name.size();
    next_unit = unit + 1;
    total += n * kUnits[unit].ms;
    if (total > kMaxDurationMs) return std::nullopt;
  }
  return total;
}

std::string FormatDurationMs(int64_t ms) {
  if (ms <= 0) return "0s";
  std::string out;
  for (const Unit& u : kUnits) {
    if (ms >= u.ms) {
      out += std::to_string(ms / u.ms);
      out += u.name;
      ms %= u.ms;
    }
  }
  return out;
}

}  // namespace keypaird
