// JsonWriter: appends compact JSON to a caller-owned std::string.
//
// Responses are small flat objects, so a writer that appends straight into the output
// buffer beats building a DOM, and — what matters more — lets a response that carries a
// private key be written into one pre-sized buffer that is wiped after sending, with no
// intermediate copies (a DOM would hold its own copy of the secret). The caller
// sequences keys and values correctly; the writer handles commas and escaping.
// Input strings must be valid UTF-8 (everything we emit was validated on the way in).
#ifndef KEYPAIRD_COMMON_JSON_WRITER_H_
#define KEYPAIRD_COMMON_JSON_WRITER_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace keypaird {

class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(out) {}

  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();
  // A value that is JSON text already (one the program made: it is not checked).
  JsonWriter& Raw(std::string_view json);

 private:
  void Separate();

  std::string* out_;
  bool need_comma_ = false;
};

// Appends `s` as a quoted JSON string.
void AppendJsonString(std::string* out, std::string_view s);

}  // namespace keypaird

#endif  // KEYPAIRD_COMMON_JSON_WRITER_H_
