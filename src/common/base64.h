// Base64, the one codec: RFC 4648 §4 (standard alphabet, '=' padding) as SSH keys and
// PEM use it, decoded strictly; and §5 (the URL alphabet, unpadded) for list cursors.
// Pure functions.
#ifndef KEYPAIRD_COMMON_BASE64_H_
#define KEYPAIRD_COMMON_BASE64_H_

#include <string>
#include <string_view>

namespace keypaird {

std::string Base64Encode(std::string_view in);

// Strict standard base64: '=' padding required, no whitespace, unused bits zero. Returns
// nullptr on success, or the reason for refusing ("it contains whitespace", ...).
const char* Base64DecodeProblem(std::string_view in, std::string* out);
inline bool Base64DecodeStrict(std::string_view in, std::string* out) {
  return Base64DecodeProblem(in, out) == nullptr;
}

// The URL alphabet ('-' and '_'), no padding.
std::string Base64UrlEncode(std::string_view in);
// False for a character outside the URL alphabet. Appends to *out.
bool Base64UrlDecode(std::string_view in, std::string* out);

}  // namespace keypaird

#endif  // KEYPAIRD_COMMON_BASE64_H_
