#include "http/decoding.h"

#include <algorithm>
#include <charconv>

#include "common/rfc3339.h"
#include "common/strings.h"
#include "http/errors.h"

namespace keypaird::http {

bool PercentDecode(std::string_view in, bool plus_is_space, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = HexDigitValue(in[i + 1]);
      const int lo = HexDigitValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (plus_is_space && in[i] == '+') {
      out->push_back(' ');
    } else {
      out->push_back(in[i]);
    }
  }
  return true;
}

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);  // tolerate one trailing '/'
  size_t pos = 0;
  while (pos < path.size()) {
    if (path[pos] == '/') {
      ++pos;
      continue;
    }
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    parts.push_back(path.substr(pos, end - pos));
    pos = end;
  }
  return parts;
}

Status ParseQuery(std::string_view raw, Query* out,
                  std::initializer_list<std::string_view> repeatable) {
  out->clear();
  size_t pos = 0;
  while (pos <= raw.size() && !raw.empty()) {
    size_t end = raw.find('&', pos);
    if (end == std::string_view::npos) end = raw.size();
    std::string_view item = raw.substr(pos, end - pos);
    if (!item.empty()) {
      const size_t eq = item.find('=');
      std::string key;
      std::string value;
      if (!PercentDecode(item.substr(0, eq), true, &key) ||
          (eq != std::string_view::npos && !PercentDecode(item.substr(eq + 1), true, &value))) {
        return InvalidArgument("The query string is not correctly percent-encoded.");
      }
      const bool may_repeat =
          std::find(repeatable.begin(), repeatable.end(), key) != repeatable.end();
      for (const auto& [k, v] : *out) {
        if (k == key && !may_repeat) {
          return FieldError(key, "The parameter is given more than once.");
        }
      }
      out->emplace_back(std::move(key), std::move(value));
    }
    pos = end + 1;
  }
  return Status::Ok();
}

std::vector<std::string> QueryValues(const Query& q, std::string_view key) {
  std::vector<std::string> values;
  for (const auto& [k, v] : q) {
    if (k == key) values.push_back(v);
  }
  return values;
}

Status QueryTime(const Query& q, const char* key, std::optional<int64_t>* out) {
  const std::string* v = QueryValue(q, key);
  if (v == nullptr) return Status::Ok();
  int64_t us = 0;
  if (!ParseRfc3339(*v, &us)) {
    return FieldError(key, "Must be an RFC 3339 time, e.g. 2026-12-01T00:00:00Z.");
  }
  *out = us;
  return Status::Ok();
}

const std::string* QueryValue(const Query& q, std::string_view key) {
  for (const auto& [k, v] : q) {
    if (k == key) return &v;
  }
  return nullptr;
}

bool ParseInt(std::string_view s, int64_t min, int64_t max, int64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v < min || v > max) return false;
  *out = v;
  return true;
}

Status PathInt(const std::string& value, const char* field, int64_t* out) {
  if (!ParseInt(value, 1, kMaxId, out)) {
    return FieldError(field, "Must be an integer between 1 and 2147483647.");
  }
  return Status::Ok();
}

StatusOr<store::OrderBy> ParseOrderBy(std::string_view value) {
  static const std::pair<std::string_view, store::OrderBy> kOrders[] = {
      {"created_at.asc", store::OrderBy::kCreatedAtAsc},
      {"created_at.desc", store::OrderBy::kCreatedAtDesc},
      {"name.asc", store::OrderBy::kNameAsc},
      {"name.desc", store::OrderBy::kNameDesc}};
  for (const auto& [name, order] : kOrders) {
    if (name == value) return order;
  }
  return FieldError("order_by",
                    "Must be one of created_at.asc, created_at.desc, name.asc, name.desc.");
}

bool IsJsonMediaType(std::string_view ct) {
  std::string_view type = ct.substr(0, ct.find(';'));
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  while (!type.empty() && type.front() == ' ') type.remove_prefix(1);
  return EqualsIgnoreAsciiCase(type, "application/json");
}

}  // namespace keypaird::http
