// Checking a JSON request body against the fields a route accepts: unknown fields,
// missing required ones and wrong types are each reported under the field's name
// (400 invalid_fields), all at once.
#ifndef KEYPAIRD_HTTP_BODY_H_
#define KEYPAIRD_HTTP_BODY_H_

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace keypaird::http {

enum class FieldType {
  kString,
  kStringOrNull,
  kBool,
  kBoolOrNull,
  kProjectId,
  kProjectIdArray,  // an array of kProjectId
  kObjectOrNull,
  kStringMap,  // an object whose values are all strings (labels)
  kStringArray,
  kPositiveInt,
  // A positive integer of seconds, or a duration as the command line writes it ("8h",
  // "1h30m": common/duration.h) of at least a second.
  kSecondsOrDuration,
};

struct FieldSpec {
  const char* name;
  FieldType type;
  bool required;
};

// A request body as JSON. kInvalidArgument "The request body is not valid JSON.", or a
// field error on a member an object names twice ({"name":"a","name":"b"}: which one
// counts would depend on who reads it), under its dotted path ("labels.team").
StatusOr<nlohmann::json> ParseJsonBody(std::string_view text);

// OK if `body` is an object with only the listed fields, each of the right type.
Status CheckBody(const nlohmann::json& body, std::initializer_list<FieldSpec> fields);

// A checked optional field's value (absent or null: nullopt / `fallback`).
std::optional<std::string> OptionalString(const nlohmann::json& body, const char* key);
bool BoolOr(const nlohmann::json& body, const char* key, bool fallback);
// A checked kPositiveInt or kSecondsOrDuration field in seconds (a duration's milliseconds
// rounded down; integers above INT64_MAX become INT64_MAX), or `fallback` when absent.
int64_t SecondsOr(const nlohmann::json& body, const char* key, int64_t fallback);
// A checked kPositiveInt field (integers above INT64_MAX become INT64_MAX), or `fallback`
// when absent.
int64_t IntOr(const nlohmann::json& body, const char* key, int64_t fallback);

}  // namespace keypaird::http

#endif  // KEYPAIRD_HTTP_BODY_H_
