#include "sshkey/wire.h"

namespace keypaird::sshkey {

bool WireReader::ReadU8(uint8_t* out) {
  if (data_.empty()) return false;
  *out = static_cast<uint8_t>(data_[0]);
  data_.remove_prefix(1);
  return true;
}

bool WireReader::ReadU64(uint64_t* out) {
  if (data_.size() < 8) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(data_[i]);
  data_.remove_prefix(8);
  *out = v;
  return true;
}

bool WireReader::ReadU32(uint32_t* out) {
  if (data_.size() < 4) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(data_.data());
  *out = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
  data_.remove_prefix(4);
  return true;
}

bool WireReader::ReadString(std::string_view* out) {
  WireReader r = *this;
  uint32_t len = 0;
  if (!r.ReadU32(&len) || !r.ReadBytes(len, out)) return false;
  *this = r;
  return true;
}

bool WireReader::ReadBytes(size_t n, std::string_view* out) {
  if (n > data_.size()) return false;
  *out = data_.substr(0, n);
  data_.remove_prefix(n);
  return true;
}

void AppendU8(std::string* out, uint8_t v) { out->push_back(static_cast<char>(v)); }

void AppendU64(std::string* out, uint64_t v) {
  AppendU32(out, static_cast<uint32_t>(v >> 32));
  AppendU32(out, static_cast<uint32_t>(v & 0xffffffff));
}

void AppendU32(std::string* out, uint32_t v) {
  out->push_back(static_cast<char>(v >> 24));
  out->push_back(static_cast<char>((v >> 16) & 0xff));
  out->push_back(static_cast<char>((v >> 8) & 0xff));
  out->push_back(static_cast<char>(v & 0xff));
}

void AppendString(std::string* out, std::string_view s) {
  AppendU32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

void AppendString(std::string* out, const unsigned char* p, size_t n) {
  AppendString(out, std::string_view(reinterpret_cast<const char*>(p), n));
}

namespace {

// An mpint needs a leading zero byte when the magnitude's top bit is set.
bool NeedsSignByte(const BIGNUM* bn) { return BN_num_bits(bn) % 8 == 0 && !BN_is_zero(bn); }

}  // namespace

size_t MpintSize(const BIGNUM* bn) {
  return 4 + (NeedsSignByte(bn) ? 1 : 0) + static_cast<size_t>(BN_num_bytes(bn));
}

bool AppendMpint(std::string* out, const BIGNUM* bn) {
  if (BN_is_negative(bn)) return false;
  const bool sign_byte = NeedsSignByte(bn);
  const size_t n = static_cast<size_t>(BN_num_bytes(bn));
  AppendU32(out, static_cast<uint32_t>(n + (sign_byte ? 1 : 0)));
  if (sign_byte) out->push_back('\0');
  const size_t at = out->size();
  out->resize(at + n);
  return BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out->data() + at)) == static_cast<int>(n);
}

}  // namespace keypaird::sshkey
