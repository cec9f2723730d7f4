// Decoding what a request carries outside its body: percent-encoded paths and query
// strings, integers in paths and queries, and the media type. Pure functions.
#ifndef KEYPAIRD_HTTP_DECODING_H_
#define KEYPAIRD_HTTP_DECODING_H_

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "store/key_store.h"

namespace keypaird::http {

// Ids are 32-bit positive integers on the wire.
inline constexpr int64_t kMaxId = 2147483647;

// Percent-decodes; '+' becomes a space only in queries. False on a bad escape.
bool PercentDecode(std::string_view in, bool plus_is_space, std::string* out);

// The path's segments (empty ones skipped; one trailing '/' tolerated), still encoded.
std::vector<std::string_view> SplitPath(std::string_view path);

// key=value pairs in order, percent-decoded. kInvalidArgument for a bad escape or a
// parameter given twice, unless it is one of `repeatable`.
using Query = std::vector<std::pair<std::string, std::string>>;
Status ParseQuery(std::string_view raw, Query* out,
                  std::initializer_list<std::string_view> repeatable = {});
// The first value of `key` (null if absent); every value of `key`, in order.
const std::string* QueryValue(const Query& q, std::string_view key);
std::vector<std::string> QueryValues(const Query& q, std::string_view key);

// The time (RFC 3339) of `key`, if given, in microseconds; a field error on `key` otherwise.
Status QueryTime(const Query& q, const char* key, std::optional<int64_t>* out);

// A decimal integer in [min, max], nothing else (no sign '+', no spaces, no fraction).
bool ParseInt(std::string_view s, int64_t min, int64_t max, int64_t* out);

// An id in a path or query (1..kMaxId); a field error on `field` otherwise.
Status PathInt(const std::string& value, const char* field, int64_t* out);

// The order_by values of the lists: created_at.asc|created_at.desc|name.asc|name.desc; a
// field error on "order_by" otherwise.
StatusOr<store::OrderBy> ParseOrderBy(std::string_view value);

// True for "application/json" with any parameters, in any case.
bool IsJsonMediaType(std::string_view content_type);

}  // namespace keypaird::http

#endif  // KEYPAIRD_HTTP_DECODING_H_
