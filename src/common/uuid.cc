#include "common/uuid.h"

#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <cstdlib>

#include "common/strings.h"

namespace keypaird {

namespace {

std::array<unsigned char, 16> RandomBytes() {
  std::array<unsigned char, 16> b{};
  if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1) {
    // The CSPRNG failing is not recoverable in any sensible way for an id generator.
    std::abort();
  }
  return b;
}

std::string Canonical(std::array<unsigned char, 16> b, unsigned version) {
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | (version << 4));
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  std::string out;
  out.reserve(36);
  size_t from = 0;
  for (size_t to : {4, 6, 8, 10, 16}) {  // 8-4-4-4-12 hex digits
    if (from > 0) out.push_back('-');
    AppendHex(&out, b.data() + from, to - from);
    from = to;
  }
  return out;
}

}  // namespace

std::string NewUuid4() { return Canonical(RandomBytes(), 4); }

std::string NewUuid7(int64_t unix_ms) {
  std::array<unsigned char, 16> b = RandomBytes();
  const auto ms = static_cast<uint64_t>(unix_ms < 0 ? 0 : unix_ms);
  for (int i = 0; i < 6; ++i) b[static_cast<size_t>(i)] = static_cast<unsigned char>(ms >> (40 - 8 * i));
  return Canonical(b, 7);
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (HexDigitValue(s[i]) < 0) {
      return false;
    }
  }
  return true;
}

}  // namespace keypaird
