// Internal to src/sshkey (certificate.cc, krl.cc): writing and reading the SSH wire
// encoding of RFC 4251 section 5 (byte, uint32, uint64, string) over std::string and
// std::string_view. Not part of the public API; value types, no state beyond the buffer.
//
// Readers never read past their input: every getter checks the length first and returns
// false, leaving the reader where it was, when the field does not fit.
#ifndef KEYPAIRD_SSHKEY_SSH_WIRE_H_
#define KEYPAIRD_SSHKEY_SSH_WIRE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace keypaird::sshkey::wire {

inline void PutU8(std::string* out, uint8_t v) { out->push_back(static_cast<char>(v)); }

inline void PutU32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

inline void PutU64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

// Callers keep `s` under 4 GiB (every input here is bounded far below that).
inline void PutString(std::string* out, std::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}

  bool U8(uint8_t* v) {
    if (data_.empty()) return false;
    *v = static_cast<uint8_t>(data_[0]);
    data_.remove_prefix(1);
    return true;
  }
  bool U32(uint32_t* v) {
    uint64_t wide = 0;
    if (!BigEndian(4, &wide)) return false;
    *v = static_cast<uint32_t>(wide);
    return true;
  }
  bool U64(uint64_t* v) { return BigEndian(8, v); }
  // A string's bytes, as a view into the reader's input.
  bool String(std::string_view* s) {
    Reader copy = *this;
    uint32_t len = 0;
    if (!copy.U32(&len) || len > copy.data_.size()) return false;
    *s = copy.data_.substr(0, len);
    data_ = copy.data_.substr(len);
    return true;
  }

  bool empty() const { return data_.empty(); }
  size_t size() const { return data_.size(); }
  // What is left to read.
  std::string_view rest() const { return data_; }

 private:
  bool BigEndian(size_t n, uint64_t* v) {
    if (data_.size() < n) return false;
    uint64_t out = 0;
    for (size_t i = 0; i < n; ++i) out = (out << 8) | static_cast<unsigned char>(data_[i]);
    data_.remove_prefix(n);
    *v = out;
    return true;
  }

  std::string_view data_;
};

}  // namespace keypaird::sshkey::wire

#endif  // KEYPAIRD_SSHKEY_SSH_WIRE_H_
