// Key ids: random (version 4) UUIDs in canonical lowercase form, and the check that a
// string has the UUID shape (any version, either case). Thread-safe.
#ifndef KEYPAIRD_COMMON_UUID_H_
#define KEYPAIRD_COMMON_UUID_H_

#include <string>
#include <string_view>

namespace keypaird {

// A fresh UUIDv4 from the CSPRNG, e.g. "0f8e...-4...". Aborts if the CSPRNG fails.
std::string NewUuid4();
// 8-4-4-4-12 hex digits (either case) with dashes.
bool IsUuid(std::string_view s);

}  // namespace keypaird

#endif  // KEYPAIRD_COMMON_UUID_H_
