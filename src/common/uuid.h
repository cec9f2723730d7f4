// Key ids: random (version 4) UUIDs in canonical lowercase form; event ids: time-ordered
// (version 7, RFC 9562) ones; and the check that a string has the UUID shape (any version,
// either case). Thread-safe.
#ifndef KEYPAIRD_COMMON_UUID_H_
#define KEYPAIRD_COMMON_UUID_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace keypaird {

// A fresh UUIDv4 from the CSPRNG, e.g. "0f8e...-4...". Aborts if the CSPRNG fails.
std::string NewUuid4();
// A fresh UUIDv7 for `unix_ms` (milliseconds since the epoch): those 48 bits first, then 74
// random bits, so that ids made later sort later (at millisecond grain) and an index of
// them grows at its end instead of at a random page.
std::string NewUuid7(int64_t unix_ms);
// 8-4-4-4-12 hex digits (either case) with dashes.
bool IsUuid(std::string_view s);

}  // namespace keypaird

#endif  // KEYPAIRD_COMMON_UUID_H_
