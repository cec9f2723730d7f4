// Small string helpers shared by every layer: ASCII case folding, hex and UTF-8.
//
// All of them treat text as bytes and are locale-independent (std::tolower and friends
// depend on the C locale, which a library must not assume). Pure functions, safe from
// any thread.
#ifndef KEYPAIRD_COMMON_STRINGS_H_
#define KEYPAIRD_COMMON_STRINGS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace keypaird {

// 'A'..'Z' to 'a'..'z'; every other byte unchanged.
constexpr char AsciiLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
std::string AsciiLowered(std::string_view s);
bool EqualsIgnoreAsciiCase(std::string_view a, std::string_view b);
// True if `needle` occurs in `haystack`, ASCII letters compared case-insensitively
// (an empty needle occurs everywhere).
bool ContainsIgnoreAsciiCase(std::string_view haystack, std::string_view needle);

// `s` without leading and trailing spaces and tabs (HTTP's optional white space).
std::string_view TrimBlanks(std::string_view s);

// The value of a hex digit (either case), or -1.
constexpr int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
// True if every byte is one of 0-9a-f (an empty string is).
bool IsLowerHex(std::string_view s);
// Appends `n` bytes as lowercase hex (two digits per byte) to *out.
void AppendHex(std::string* out, const unsigned char* data, size_t n);

// The length of the well-formed UTF-8 sequence starting at s[i] (shortest form, no
// surrogates, at most U+10FFFF), or 0 if there is none; its code point in *code_point.
size_t Utf8SequenceAt(std::string_view s, size_t i, uint32_t* code_point);
bool IsValidUtf8(std::string_view s);
// `s` with every byte that does not start a well-formed sequence replaced by U+FFFD:
// for quoting client bytes in JSON, which must be valid UTF-8.
std::string ValidUtf8(std::string_view s);

// The text of an errno value ("No such file or directory"), thread-safe.
std::string ErrnoText(int err);

// An IPv4 or IPv6 address as inet_ntop writes it ("2001:db8::1" for "2001:DB8:0::1"; an
// IPv4-mapped IPv6 address as its IPv4 form), or "" if `text` is not one.
std::string CanonicalIp(std::string_view text);

}  // namespace keypaird

#endif  // KEYPAIRD_COMMON_STRINGS_H_
