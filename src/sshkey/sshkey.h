// sshkey: parse, normalise, fingerprint and generate SSH public keys.
//
// Pure functions over value types; no I/O, no global state beyond OpenSSL's, safe to
// call from any thread. OpenSSL types never appear in this header.
//
// ParsePublicKey accepts exactly the inputs the API accepts (docs/api-decisions.md): one OpenSSH public key
// line, an RFC 4716 "SSH2 PUBLIC KEY" block or a PEM SubjectPublicKeyInfo, of types
// ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa (2048..16384 bits),
// sk-ssh-ed25519@openssh.com and sk-ecdsa-sha2-nistp256@openssh.com. Everything else
// is rejected with StatusCode::kInvalidArgument and a message that says what is wrong
// (the message never echoes the input: it might be a private key).
#ifndef KEYPAIRD_SSHKEY_SSHKEY_H_
#define KEYPAIRD_SSHKEY_SSHKEY_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "common/base64.h"
#include "common/secret.h"
#include "common/status.h"

namespace keypaird::sshkey {

// Largest accepted input to ParsePublicKey, in bytes.
inline constexpr size_t kMaxPublicKeyInput = 16 * 1024;

struct PublicKey {
  std::string type;                // e.g. "ssh-ed25519" (the declared and inner type, equal)
  std::string blob;                // the decoded SSH wire-format key blob
  std::string comment;             // may be empty; never contains control characters
  std::string line;                // normalised "TYPE BASE64[ COMMENT]", no trailing newline
  std::string fingerprint;         // MD5 of blob as "aa:bb:...", as `ssh-keygen -l -E md5`
  std::string fingerprint_sha256;  // "SHA256:" + unpadded base64, as `ssh-keygen -l`
  int bits = 0;  // key size as ssh-keygen reports it (RSA modulus bits, 256 for ed25519)
};

// Parses and validates `input` and returns the normalised key.
StatusOr<PublicKey> ParsePublicKey(std::string_view input);

// MD5 fingerprint of a key blob: 16 lowercase hex pairs joined by ':'.
std::string FingerprintMd5(std::string_view blob);
// SHA-256 fingerprint of a key blob: "SHA256:" + base64 without padding.
std::string FingerprintSha256(std::string_view blob);
// The same text from the blob's SHA-256 digest (32 raw bytes, as krl.h's KeySha256 and the
// store's certificate rows keep it), for when only the digest is at hand.
std::string FingerprintOfSha256(std::string_view digest);

// Checks a comment as ParsePublicKey checks a key's comment: valid UTF-8 without
// control characters. kInvalidArgument with ParsePublicKey's message otherwise.
Status CheckComment(std::string_view comment);

struct GeneratedKey {
  PublicKey public_key;      // comment = the comment given to the generator
  SecretString private_key;  // the private key file's text (private_key.h: the formats)
};

// Generates a fresh Ed25519 keypair from the OS CSPRNG and writes it unencrypted in the
// OpenSSH format ("-----BEGIN OPENSSH PRIVATE KEY-----" ... "\n"): GeneratePrivateKey
// and ExportPrivateKey of private_key.h, which say what `comment` may be. CPU work
// (an Ed25519 key and its encoding): callers on I/O threads should hand it to a worker.
StatusOr<GeneratedKey> GenerateEd25519(std::string_view comment);

// The one base64 codec (common/base64.h), as the sshkey code and its callers name it.
using keypaird::Base64DecodeStrict;
using keypaird::Base64Encode;

}  // namespace keypaird::sshkey

#endif  // KEYPAIRD_SSHKEY_SSHKEY_H_
