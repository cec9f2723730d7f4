// libFuzzer target for sshkey::ParsePublicKey, the parser of untrusted public keys.
//
// Every input is tried three ways, so that mutations reach the blob and DER decoders
// directly instead of dying in base64 first:
//   1. as the text a client sends (OpenSSH line, RFC 4716 block, PEM SPKI, or garbage);
//   2. as a raw SSH key blob, wrapped into "TYPE BASE64 comment" with TYPE read from the
//      blob's own first string (so the declared-type check passes and the key checks run);
//   3. as raw DER, wrapped into a "-----BEGIN PUBLIC KEY-----" block.
// Success must come with a self-consistent, re-parseable result (CheckKey); failure must
// be kInvalidArgument with a message. Any violation aborts, which libFuzzer reports as a
// crash.
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "sshkey/sshkey.h"

namespace {

using keypaird::StatusCode;
using keypaird::StatusOr;
namespace sshkey = keypaird::sshkey;

// MD5 fingerprint computed here, independently of sshkey::FingerprintMd5.
std::string ReferenceMd5(std::string_view blob) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(blob.data(), blob.size(), digest, &len, EVP_md5(), nullptr) != 1) {
    FUZZ_FAIL("EVP_Digest(MD5) failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    if (i > 0) out.push_back(':');
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

bool IsAcceptedType(std::string_view t) {
  return t == "ssh-ed25519" || t == "ecdsa-sha2-nistp256" || t == "ecdsa-sha2-nistp384" ||
         t == "ecdsa-sha2-nistp521" || t == "ssh-rsa" || t == "sk-ssh-ed25519@openssh.com" ||
         t == "sk-ecdsa-sha2-nistp256@openssh.com";
}

int ExpectedBits(std::string_view t) {
  if (t == "ecdsa-sha2-nistp384") return 384;
  if (t == "ecdsa-sha2-nistp521") return 521;
  return 256;  // ed25519, nistp256 and the sk-* types; RSA is checked separately
}

// The first SSH "string" of a blob (uint32 big-endian length + bytes), if there is one.
bool ReadSshString(std::string_view blob, std::string_view* out) {
  if (blob.size() < 4) return false;
  const uint32_t n = (uint32_t{static_cast<unsigned char>(blob[0])} << 24) |
                     (uint32_t{static_cast<unsigned char>(blob[1])} << 16) |
                     (uint32_t{static_cast<unsigned char>(blob[2])} << 8) |
                     uint32_t{static_cast<unsigned char>(blob[3])};
  if (n > blob.size() - 4) return false;
  *out = blob.substr(4, n);
  return true;
}

void CheckKey(const sshkey::PublicKey& k, bool reparse) {
  FUZZ_CHECK(IsAcceptedType(k.type), k.type);
  std::string_view inner;
  FUZZ_CHECK(ReadSshString(k.blob, &inner), "blob does not start with a string");
  FUZZ_CHECK(inner == k.type, "inner type differs from declared type");

  if (k.type == "ssh-rsa") {
    FUZZ_CHECK(k.bits >= 2048 && k.bits <= 16384, std::to_string(k.bits));
  } else {
    FUZZ_CHECK(k.bits == ExpectedBits(k.type), std::to_string(k.bits));
  }

  // Fingerprint: 16 lowercase hex pairs joined by ':', the MD5 of the blob.
  FUZZ_CHECK(k.fingerprint.size() == 47, k.fingerprint);
  for (size_t i = 0; i < k.fingerprint.size(); ++i) {
    const char c = k.fingerprint[i];
    if (i % 3 == 2) {
      FUZZ_CHECK(c == ':', k.fingerprint);
    } else {
      FUZZ_CHECK((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'), k.fingerprint);
    }
  }
  FUZZ_CHECK(k.fingerprint == ReferenceMd5(k.blob), k.fingerprint);
  FUZZ_CHECK(k.fingerprint == sshkey::FingerprintMd5(k.blob), k.fingerprint);

  // Comment: no control characters (they would inject authorized_keys lines), no
  // surrounding blanks (they are dropped on input).
  for (char ch : k.comment) {
    const auto c = static_cast<unsigned char>(ch);
    FUZZ_CHECK(c >= 0x20 && c != 0x7f, "control character in comment");
  }
  if (!k.comment.empty()) {
    FUZZ_CHECK(k.comment.front() != ' ' && k.comment.back() != ' ', "comment not trimmed");
  }

  // The normalised line is exactly "TYPE BASE64[ COMMENT]".
  std::string expected = k.type + " " + sshkey::Base64Encode(k.blob);
  if (!k.comment.empty()) expected += " " + k.comment;
  FUZZ_CHECK(k.line == expected, k.line);
  std::string decoded;
  FUZZ_CHECK(
      sshkey::Base64DecodeStrict(sshkey::Base64Encode(k.blob), &decoded) && decoded == k.blob,
      "base64 round trip");

  if (!reparse) return;
  // The normalised form is a fixed point: it parses again to the very same key.
  StatusOr<sshkey::PublicKey> again = sshkey::ParsePublicKey(k.line);
  FUZZ_CHECK(again.ok(), again.status().message());
  FUZZ_CHECK(again->line == k.line, again->line);
  FUZZ_CHECK(again->fingerprint == k.fingerprint);
  FUZZ_CHECK(again->blob == k.blob);
  FUZZ_CHECK(again->type == k.type);
  FUZZ_CHECK(again->comment == k.comment);
  FUZZ_CHECK(again->bits == k.bits);
  CheckKey(*again, /*reparse=*/false);
}

void Check(std::string_view input) {
  StatusOr<sshkey::PublicKey> key = sshkey::ParsePublicKey(input);
  if (!key.ok()) {
    FUZZ_CHECK(key.status().code() == StatusCode::kInvalidArgument, key.status().message());
    FUZZ_CHECK(!key.status().message().empty());
    return;
  }
  FUZZ_CHECK(!input.empty() && input.size() <= sshkey::kMaxPublicKeyInput);
  CheckKey(*key, /*reparse=*/true);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  // 1. The bytes as a client would send them.
  Check(input);

  // 2. The bytes as a key blob, declared with the type the blob itself names.
  if (std::string_view type; size <= 12 * 1024 && ReadSshString(input, &type) && !type.empty() &&
                             type.size() <= 64 &&
                             type.find_first_of(" \t\r\n") == std::string_view::npos) {
    Check(std::string(type) + " " + sshkey::Base64Encode(input) + " fuzz@blob");
  }

  // 3. The bytes as the DER of a SubjectPublicKeyInfo.
  if (size > 0 && size <= 11 * 1024 && data[0] == 0x30) {
    std::string b64 = sshkey::Base64Encode(input);
    std::string pem = "-----BEGIN PUBLIC KEY-----\n";
    for (size_t i = 0; i < b64.size(); i += 64) pem += b64.substr(i, 64) + "\n";
    pem += "-----END PUBLIC KEY-----\n";
    Check(pem);
  }
  return 0;
}
