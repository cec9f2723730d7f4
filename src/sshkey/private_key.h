// private_key: generate SSH key pairs of every type keypaird offers and write their
// private keys in the formats of the native API (openapi/keypaird.yaml): OpenSSH, PKCS#8 and
// PuTTY's PPK version 3, each unencrypted or encrypted under a passphrase as its own tools do.
//
// Pure functions, no I/O, nothing logged; no message ever contains a private key or a
// passphrase. A PrivateKey owns OpenSSL's key object, whose private parts OpenSSL keeps
// in memory it wipes when the key is freed; every buffer written here that holds private
// material or the passphrase is wiped before it is released. A PrivateKey is move-only; it
// may be made on one thread and used or destroyed on another (a pool of RSA keys filled in
// the background), but not used by two threads at once. The functions are thread-safe.
// OpenSSL types never appear in this header.
//
// Costs: generating RSA is slow and random (hence service/key_pool.h), Ed25519 and ECDSA
// are not; exporting with a passphrase spends its format's key-derivation cost on
// purpose: OpenSSH bcrypt_pbkdf with 16 rounds (openssh_private_key.h), PKCS#8
// PBKDF2-HMAC-SHA256 with 600000 iterations (pkcs8_private_key.cc), PPK Argon2id with
// 8 MiB, 16 passes (ppk_private_key.cc). Measured figures: docs/BENCHMARKS.md.
#ifndef KEYPAIRD_SSHKEY_PRIVATE_KEY_H_
#define KEYPAIRD_SSHKEY_PRIVATE_KEY_H_

#include <atomic>
#include <memory>
#include <optional>
#include <string_view>

#include "common/secret.h"
#include "common/status.h"
#include "sshkey/sshkey.h"

namespace keypaird::sshkey {

enum class KeyType { kEd25519, kEcdsaP256, kEcdsaP384, kEcdsaP521, kRsa2048, kRsa3072, kRsa4096 };

// The API's names: "ed25519", "ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "rsa-2048",
// "rsa-3072", "rsa-4096" (exact, lowercase). nullopt for anything else.
std::optional<KeyType> ParseKeyType(std::string_view name);
std::string_view KeyTypeName(KeyType type);

enum class PrivateKeyFormat {
  kOpenSsh,  // "-----BEGIN OPENSSH PRIVATE KEY-----"; encrypted: aes256-ctr, bcrypt KDF
  kPkcs8,    // "-----BEGIN PRIVATE KEY-----"; encrypted: "ENCRYPTED PRIVATE KEY", PBES2
  kPpk,      // "PuTTY-User-Key-File-3: ..."; encrypted: aes256-cbc, Argon2id
};

// "openssh", "pkcs8", "ppk" (exact, lowercase). nullopt for anything else.
std::optional<PrivateKeyFormat> ParsePrivateKeyFormat(std::string_view name);
std::string_view PrivateKeyFormatName(PrivateKeyFormat format);

// A key pair in memory. A moved-from PrivateKey may only be destroyed or assigned to.
class PrivateKey {
 public:
  struct Impl;  // OpenSSL's key; defined in private_key_internal.h

  explicit PrivateKey(std::unique_ptr<Impl> impl);
  PrivateKey(PrivateKey&& other) noexcept;
  PrivateKey& operator=(PrivateKey&& other) noexcept;
  PrivateKey(const PrivateKey&) = delete;
  PrivateKey& operator=(const PrivateKey&) = delete;
  ~PrivateKey();

  KeyType type() const;
  // True when `other` holds the same key pair, private half included.
  bool SameKeyAs(const PrivateKey& other) const;

  const Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

// A fresh key pair from OpenSSL's CSPRNG (RSA with public exponent 65537). kInternal if
// OpenSSL fails. `cancel` (optional): an RSA generation that sees it set gives up between
// prime candidates (within milliseconds) with kUnavailable; the other types take too
// little time to need it.
StatusOr<PrivateKey> GeneratePrivateKey(KeyType type, const std::atomic<bool>* cancel = nullptr);

// The public half as ParsePublicKey normalises "TYPE BASE64 COMMENT" (just "TYPE BASE64"
// when `comment` is empty). `comment` must pass CheckComment and have no leading or
// trailing blanks (it comes back unchanged in PublicKey::comment); kInvalidArgument
// otherwise.
StatusOr<PublicKey> PublicKeyOf(const PrivateKey& key, std::string_view comment);

// An Ed25519 key's 64 private bytes as OpenSSH carries them (in its key files and the
// ssh-agent protocol): the 32-byte seed k, then the 32-byte public key ENC(A).
// kInvalidArgument for another type; kInternal if OpenSSL fails.
StatusOr<SecretString> Ed25519KeyPair(const PrivateKey& key);

// Writes `key` in `format`, encrypted when `passphrase` is not empty (the caller enforces
// the API's 8..1024 characters; any non-empty bytes work here), with `comment` in the
// private key where the format has one (OpenSSH, PPK; PKCS#8 has none). Returns
// PublicKeyOf(key, comment) and the text of the private key file, which ends in "\n".
// kInvalidArgument for a comment PublicKeyOf refuses; kInternal if OpenSSL or libargon2
// fails.
StatusOr<GeneratedKey> ExportPrivateKey(const PrivateKey& key, std::string_view comment,
                                        PrivateKeyFormat format, std::string_view passphrase);

}  // namespace keypaird::sshkey

#endif  // KEYPAIRD_SSHKEY_PRIVATE_KEY_H_
