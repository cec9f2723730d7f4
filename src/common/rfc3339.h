// RFC 3339 timestamps in UTC with microseconds and 'Z', e.g. 2026-11-28T01:02:03.456789Z:
// the one format of created_at in responses, of log times and of CLI listings.
#ifndef KEYPAIRD_COMMON_RFC3339_H_
#define KEYPAIRD_COMMON_RFC3339_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace keypaird {

// `us`: microseconds since the Unix epoch (>= 0).
std::string FormatRfc3339(int64_t us);

// Parses "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)" (T and Z in either case; at
// most 9 fraction digits, kept to microseconds) into microseconds since the Unix epoch.
// False for anything else, including an invalid date or a year before 1970.
bool ParseRfc3339(std::string_view text, int64_t* us);

}  // namespace keypaird

#endif  // KEYPAIRD_COMMON_RFC3339_H_
