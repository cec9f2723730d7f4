// What the private key writers and the OpenSSH reader share: the OpenSSL key behind a
// PrivateKey, its parts as the SSH formats store them, and text helpers. Not part of the
// sshkey API; included only by src/sshkey/*.cc (and tests that need the parts).
#ifndef KEYPAIRD_SSHKEY_PRIVATE_KEY_INTERNAL_H_
#define KEYPAIRD_SSHKEY_PRIVATE_KEY_INTERNAL_H_

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "common/secret.h"
#include "common/status.h"
#include "sshkey/openssl_util.h"
#include "sshkey/private_key.h"

namespace keypaird::sshkey {

struct PrivateKey::Impl {
  KeyType type;
  PkeyPtr pkey;  // never null
};

struct KeyTypeInfo {
  KeyType type;
  std::string_view name;      // the API's name, "ecdsa-p256"
  std::string_view ssh_type;  // the SSH key type, "ecdsa-sha2-nistp256"
  std::string_view curve;     // ECDSA: the curve name in SSH blobs, "nistp256"; else empty
  const char* group;          // ECDSA: OpenSSL's group name, "P-256"; else nullptr
  size_t field_bytes;         // ECDSA: bytes of a coordinate; else 0
  unsigned rsa_bits;          // RSA: modulus size; else 0
};

const KeyTypeInfo& InfoOf(KeyType type);
// The entry of an SSH key type of `bits` (PublicKey::bits); nullptr for a type or an RSA
// size keypaird does not generate.
const KeyTypeInfo* InfoOfSshType(std::string_view ssh_type, int bits);

// A key's parts as the SSH formats store them. The private parts are wiped when this goes
// away (the arrays here, the BIGNUMs by BN_clear_free).
struct KeyParts {
  KeyParts() = default;
  ~KeyParts() { OPENSSL_cleanse(ed25519_seed.data(), ed25519_seed.size()); }
  KeyParts(const KeyParts&) = delete;
  KeyParts& operator=(const KeyParts&) = delete;

  const KeyTypeInfo* info = nullptr;
  std::string public_blob;  // the SSH public key blob
  // Ed25519
  std::array<unsigned char, 32> ed25519_public{};
  std::array<unsigned char, 32> ed25519_seed{};  // the private key (RFC 8032's 32 bytes)
  // ECDSA
  std::string ec_point;  // uncompressed: 0x04 || X || Y
  SecretBnPtr ec_private;
  // RSA
  BnPtr rsa_n, rsa_e;
  SecretBnPtr rsa_d, rsa_p, rsa_q, rsa_iqmp;  // iqmp = q^-1 mod p
};

// Reads the parts of `key` (and builds its public blob). kInternal if OpenSSL fails.
Status ExtractParts(const PrivateKey& key, KeyParts* parts);

// Builds a PrivateKey from parts read from a file (`parts.info` and the fields of its
// kind; public_blob is not used). kInvalidArgument unless the private half matches the
// public half: the Ed25519 public key derives from the seed, d·G is the ECDSA point, the
// RSA primes multiply to n and d, iqmp fit them.
StatusOr<PrivateKey> PrivateKeyFromParts(const KeyParts& parts);

// Encrypts (or decrypts) `data` in place with `cipher` (no padding: for a block cipher
// mode the size must be a multiple of the block). False if OpenSSL fails.
bool CipherInPlace(const EVP_CIPHER* cipher, const unsigned char* key, const unsigned char* iv,
                   bool encrypt, std::string* data);

// Random bytes from OpenSSL's CSPRNG; false if it fails.
bool RandomBytes(void* out, size_t n);

// Size of `base64` cut into lines of `columns` characters, each ending in '\n'.
size_t WrappedSize(size_t base64_size, size_t columns);
// Appends `base64` in lines of `columns` characters, each ending in '\n'. Appends exactly
// WrappedSize(base64.size(), columns) bytes.
void AppendWrapped(std::string* out, std::string_view base64, size_t columns);

// The writers behind ExportPrivateKey. `comment` is already checked. pkcs8 has none.
StatusOr<SecretString> WritePkcs8PrivateKey(const PrivateKey& key, std::string_view passphrase);
StatusOr<SecretString> WritePpkPrivateKey(const PrivateKey& key, std::string_view comment,
                                          std::string_view passphrase);

}  // namespace keypaird::sshkey

#endif  // KEYPAIRD_SSHKEY_PRIVATE_KEY_INTERNAL_H_
