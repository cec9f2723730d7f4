// The SSH wire encoding (RFC 4251 section 5: byte, uint32, uint64, string, mpint) shared
// by the sshkey .cc files: key blobs, the OpenSSH and PuTTY private key formats,
// certificates and KRLs; and the ssh-agent messages of cli/ssh_agent.cc. Not part of the
// sshkey API; included only there and by the tests.
//
// The writers append to a std::string. When it holds private material the caller
// reserves the final size first, so that no append reallocates and leaves an unwiped
// copy behind; the Mpint*/AppendMpint pair makes that size computable.
#ifndef KEYPAIRD_SSHKEY_WIRE_H_
#define KEYPAIRD_SSHKEY_WIRE_H_

#include <openssl/bn.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace keypaird::sshkey {

// Reads fields from the front of a buffer it does not own. Every Read* returns false,
// consuming nothing, when the field is truncated.
class WireReader {
 public:
  explicit WireReader(std::string_view data) : data_(data) {}

  bool ReadU8(uint8_t* out);
  bool ReadU32(uint32_t* out);
  bool ReadU64(uint64_t* out);
  bool ReadString(std::string_view* out);
  bool ReadBytes(size_t n, std::string_view* out);
  bool empty() const { return data_.empty(); }
  size_t size() const { return data_.size(); }
  std::string_view rest() const { return data_; }

 private:
  std::string_view data_;
};

void AppendU8(std::string* out, uint8_t v);
void AppendU32(std::string* out, uint32_t v);
void AppendU64(std::string* out, uint64_t v);
void AppendString(std::string* out, std::string_view s);
void AppendString(std::string* out, const unsigned char* p, size_t n);

// Bytes AppendMpint adds for `bn` (non-negative): length, sign byte if needed, magnitude.
size_t MpintSize(const BIGNUM* bn);
// Appends `bn` (non-negative) as an mpint, writing the magnitude straight into *out (no
// temporary copy of a private value). False if `bn` is negative or OpenSSL fails.
bool AppendMpint(std::string* out, const BIGNUM* bn);

}  // namespace keypaird::sshkey

#endif  // KEYPAIRD_SSHKEY_WIRE_H_
