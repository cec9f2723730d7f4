#include "http/body.h"

#include <algorithm>
#include <cstdint>
#include <set>
#include <vector>

#include "common/duration.h"
#include "http/decoding.h"
#include "http/errors.h"

namespace keypaird::http {

using nlohmann::json;

namespace {

// What is wrong with `v` as a `type`, or nullptr.
const char* TypeProblem(const json& v, FieldType type) {
  switch (type) {
    case FieldType::kProjectIdArray:
      if (!v.is_array()) return "Must be an array of project ids.";
      for (const auto& item : v) {
        if (TypeProblem(item, FieldType::kProjectId) != nullptr) {
          return "Must be an array of integers between 1 and 2147483647.";
        }
      }
      return nullptr;
    case FieldType::kString:
      return v.is_string() ? nullptr : "Must be a string.";
    case FieldType::kStringOrNull:
      return v.is_string() || v.is_null() ? nullptr : "Must be a string or null.";
    case FieldType::kBool:
      return v.is_boolean() ? nullptr : "Must be a boolean.";
    case FieldType::kBoolOrNull:
      return v.is_boolean() || v.is_null() ? nullptr : "Must be a boolean or null.";
    case FieldType::kProjectId:
      if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > kMaxId ||
          (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(kMaxId))) {
        return "Must be an integer between 1 and 2147483647.";
      }
      return nullptr;
    case FieldType::kObjectOrNull:
      return v.is_object() || v.is_null() ? nullptr : "Must be an object or null.";
    case FieldType::kStringMap:
      if (!v.is_object()) return "Must be an object of strings.";
      for (const auto& item : v.items()) {
        if (!item.value().is_string()) return "Must be an object of strings.";
      }
      return nullptr;
    case FieldType::kStringArray:
      if (!v.is_array()) return "Must be an array of strings.";
      for (const auto& item : v) {
        if (!item.is_string()) return "Must be an array of strings.";
      }
      return nullptr;
    case FieldType::kPositiveInt:
      if (!v.is_number_integer() || v.get<int64_t>() < 1 ||
          (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))) {
        return "Must be a positive integer.";
      }
      return nullptr;
    case FieldType::kSecondsOrDuration:
      if (v.is_string()) {
        const std::optional<int64_t> ms = ParseDurationMs(v.get<std::string>());
        return ms && *ms >= 1000 ? nullptr
                                 : "Must be a number of seconds or a duration such as \"8h\" "
                                   "or \"1h30m\" (units d, h, m, s).";
      }
      return TypeProblem(v, FieldType::kPositiveInt) == nullptr
                 ? nullptr
                 : "Must be a number of seconds or a duration such as \"8h\".";
  }
  return nullptr;
}

}  // namespace

StatusOr<json> ParseJsonBody(std::string_view text) {
  struct Open {
    bool object;
    std::string path;  // dotted member names down to this container ("" at the top)
    std::set<std::string> names;
  };
  std::vector<Open> open;
  std::string last_name;
  std::optional<std::string> twice;
  auto child_path = [&]() -> std::string {
    if (open.empty()) return "";
    const Open& parent = open.back();
    if (!parent.object) return parent.path;  // an array's items go by the array's name
    return parent.path.empty() ? last_name : parent.path + "." + last_name;
  };
  json::parser_callback_t check = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        open.push_back({event == json::parse_event_t::object_start, child_path(), {}});
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!open.empty()) open.pop_back();
        break;
      case json::parse_event_t::key:
        last_name = parsed.get<std::string>();
        if (!open.empty() && !open.back().names.insert(last_name).second && !twice) {
          twice = child_path();
        }
        break;
      case json::parse_event_t::value:
        break;
    }
    return true;
  };
  json body = json::parse(text, check, /*allow_exceptions=*/false);
  if (body.is_discarded()) return InvalidArgument("The request body is not valid JSON.");
  if (twice) return FieldError(*twice, "This member appears twice.");
  return body;
}

Status CheckBody(const json& body, std::initializer_list<FieldSpec> fields) {
  if (!body.is_object()) return InvalidArgument("The request body must be a JSON object.");
  Status error = InvalidArgument("The request body is not valid.");
  bool bad = false;
  for (const auto& [key, value] : body.items()) {
    bool known = false;
    for (const FieldSpec& f : fields) known = known || key == f.name;
    if (!known) {
      error.WithField(key, "Unknown field.");
      bad = true;
    }
  }
  for (const FieldSpec& f : fields) {
    auto it = body.find(f.name);
    if (it == body.end()) {
      if (f.required) {
        error.WithField(f.name, "This field is required.");
        bad = true;
      }
      continue;
    }
    if (const char* problem = TypeProblem(*it, f.type); problem != nullptr) {
      error.WithField(f.name, problem);
      bad = true;
    }
  }
  if (!bad) return Status::Ok();
  return error;
}

std::optional<std::string> OptionalString(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  return it->get<std::string>();
}

bool BoolOr(const json& body, const char* key, bool fallback) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return fallback;
  return it->get<bool>();
}

int64_t IntOr(const json& body, const char* key, int64_t fallback) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return fallback;
  return it->is_number_unsigned()
             ? static_cast<int64_t>(std::min<uint64_t>(it->get<uint64_t>(), INT64_MAX))
             : it->get<int64_t>();
}

int64_t SecondsOr(const json& body, const char* key, int64_t fallback) {
  auto it = body.find(key);
  if (it != body.end() && it->is_string()) {
    return *ParseDurationMs(it->get<std::string>()) / 1000;  // checked
  }
  return IntOr(body, key, fallback);
}

}  // namespace keypaird::http
