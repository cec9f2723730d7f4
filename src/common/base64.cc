#include "common/base64.h"

#include <cstdint>

namespace keypaird {
namespace {

constexpr char kStandard[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// The value of `c` in `alphabet` (64 characters), or -1.
int ValueIn(const char* alphabet, char c) {
  for (int i = 0; i < 64; ++i) {
    if (alphabet[i] == c) return i;
  }
  return -1;
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// Groups of 6 bits in `alphabet`; with `pad`, the last group is filled up with '='.
std::string Encode(std::string_view in, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);  // exact for padded output: callers rely on it
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(alphabet[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(alphabet[(acc << (6 - bits)) & 0x3f]);
  while (pad && out.size() % 4 != 0) out.push_back('=');
  return out;
}

}  // namespace

std::string Base64Encode(std::string_view in) { return Encode(in, kStandard, true); }

std::string Base64UrlEncode(std::string_view in) { return Encode(in, kUrl, false); }

const char* Base64DecodeProblem(std::string_view in, std::string* out) {
  out->clear();
  for (char c : in) {
    if (IsSpace(c)) return "it contains whitespace";
    if (c != '=' && ValueIn(kStandard, c) < 0) return "it contains a character outside the alphabet";
  }
  if (in.size() % 4 != 0) return "its length is not a multiple of 4 (missing or extra padding)";
  size_t pad = 0;
  while (pad < in.size() && in[in.size() - 1 - pad] == '=') ++pad;
  if (pad > 2 || in.find('=') < in.size() - pad) return "it has misplaced or extra '=' padding";
  out->reserve(in.size() / 4 * 3);
  for (size_t i = 0; i < in.size(); i += 4) {
    uint32_t n = 0;
    for (size_t k = 0; k < 4; ++k) {
      n = (n << 6) | static_cast<uint32_t>(in[i + k] == '=' ? 0 : ValueIn(kStandard, in[i + k]));
    }
    const bool last = i + 4 == in.size();
    out->push_back(static_cast<char>(n >> 16));
    if (last && pad == 2) {
      if ((n & 0xffff) != 0) {
        out->clear();
        return "its unused bits before the padding are not zero";
      }
      break;
    }
    out->push_back(static_cast<char>((n >> 8) & 0xff));
    if (last && pad == 1) {
      if ((n & 0xff) != 0) {
        out->clear();
        return "its unused bits before the padding are not zero";
      }
      break;
    }
    out->push_back(static_cast<char>(n & 0xff));
  }
  return nullptr;
}

bool Base64UrlDecode(std::string_view in, std::string* out) {
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = ValueIn(kUrl, c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return true;
}

}  // namespace keypaird
