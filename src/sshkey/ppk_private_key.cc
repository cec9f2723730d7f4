// PuTTY's private key format, version 3 (the PuTTY manual, appendix C "PPK file format"):
//
//   PuTTY-User-Key-File-3: <key type>
//   Encryption: none | aes256-cbc
//   Comment: <comment>
//   Public-Lines: <n>, then the public blob in base64, 64 characters a line
//   [Key-Derivation: Argon2id, Argon2-Memory, -Passes, -Parallelism, -Salt (hex)]
//   Private-Lines: <n>, then the private blob (encrypted if so), same layout
//   Private-MAC: HMAC-SHA-256, hex, over string type, string encryption, string comment,
//                string public blob, string private blob as plaintext (with its padding)
//
// The private blob holds what the public one lacks: Ed25519 its 32-byte private key (as
// a string; PuTTY reads it as a little-endian integer of fixed width, which is the same
// bytes), ECDSA mpint d, RSA mpint d, p, q, iqmp. Encrypted, it is padded with random
// bytes to AES's block and encrypted with AES-256-CBC; Argon2id turns the passphrase into
// 80 bytes: the AES key, the IV and the MAC key. Unencrypted, the MAC key is empty.
#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "common/strings.h"
#include "sshkey/openssl_util.h"
#include "sshkey/private_key_internal.h"
#include "sshkey/sshkey.h"
#include "sshkey/wire.h"

namespace keypaird::sshkey {
namespace {

// Argon2id parameters. PuTTYgen 0.78 uses 8192 KiB and parallelism 1 and picks the passes
// for about 100 ms on the machine at hand; 16 is what it picks on machines like this
// project's, and costs about as much with Debian's libargon2 (docs/BENCHMARKS.md).
constexpr uint32_t kArgon2MemoryKiB = 8192;
constexpr uint32_t kArgon2Passes = 16;
constexpr uint32_t kArgon2Parallelism = 1;
constexpr size_t kSaltSize = 16;
constexpr size_t kAesKeySize = 32;
constexpr size_t kAesBlockSize = 16;
constexpr size_t kMacKeySize = 32;
constexpr size_t kColumns = 64;

size_t PrivateBlobSize(const KeyParts& parts) {
  if (parts.info->rsa_bits != 0) {
    return MpintSize(parts.rsa_d.get()) + MpintSize(parts.rsa_p.get()) +
           MpintSize(parts.rsa_q.get()) + MpintSize(parts.rsa_iqmp.get());
  }
  if (parts.info->group != nullptr) return MpintSize(parts.ec_private.get());
  return 4 + parts.ed25519_seed.size();
}

bool AppendPrivateBlob(const KeyParts& parts, std::string* out) {
  if (parts.info->rsa_bits != 0) {
    return AppendMpint(out, parts.rsa_d.get()) && AppendMpint(out, parts.rsa_p.get()) &&
           AppendMpint(out, parts.rsa_q.get()) && AppendMpint(out, parts.rsa_iqmp.get());
  }
  if (parts.info->group != nullptr) return AppendMpint(out, parts.ec_private.get());
  AppendString(out, parts.ed25519_seed.data(), parts.ed25519_seed.size());
  return true;
}

// "Name: value\n"
void AppendHeader(std::string* out, std::string_view name, std::string_view value) {
  out->append(name).append(": ").append(value).push_back('\n');
}

}  // namespace

StatusOr<SecretString> WritePpkPrivateKey(const PrivateKey& key, std::string_view comment,
                                          std::string_view passphrase) {
  KeyParts parts;
  if (Status s = ExtractParts(key, &parts); !s.ok()) return s;
  const bool encrypt = !passphrase.empty();
  const std::string_view encryption = encrypt ? "aes256-cbc" : "none";

  // Private material below (the private blob, the MAC input, the derived keys, the base64
  // and the file): every buffer is sized up front and wiped on the way out.
  const size_t unpadded = PrivateBlobSize(parts);
  const size_t padded =
      encrypt ? (unpadded + kAesBlockSize - 1) / kAesBlockSize * kAesBlockSize : unpadded;
  std::string priv;
  ScopedWipeString wipe_priv(&priv);
  priv.reserve(padded);
  if (!AppendPrivateBlob(parts, &priv)) return Internal("writing the private key failed");
  priv.resize(padded);
  if (padded > unpadded && !RandomBytes(priv.data() + unpadded, padded - unpadded)) {
    return Internal("the random generator failed");
  }

  std::array<uint8_t, kAesKeySize + kAesBlockSize + kMacKeySize> keys{};
  ScopedCleanse wipe_keys(keys.data(), keys.size());
  std::array<unsigned char, kSaltSize> salt{};
  if (encrypt) {
    if (!RandomBytes(salt.data(), salt.size())) return Internal("the random generator failed");
    if (argon2id_hash_raw(kArgon2Passes, kArgon2MemoryKiB, kArgon2Parallelism, passphrase.data(),
                          passphrase.size(), salt.data(), salt.size(), keys.data(),
                          keys.size()) != ARGON2_OK) {
      return Internal("deriving the key from the passphrase failed");
    }
  }
  const unsigned char* mac_key = keys.data() + kAesKeySize + kAesBlockSize;
  const size_t mac_key_size = encrypt ? kMacKeySize : 0;

  std::string mac_input;
  ScopedWipeString wipe_mac_input(&mac_input);
  mac_input.reserve(5 * 4 + parts.info->ssh_type.size() + encryption.size() + comment.size() +
                    parts.public_blob.size() + priv.size());
  AppendString(&mac_input, parts.info->ssh_type);
  AppendString(&mac_input, encryption);
  AppendString(&mac_input, comment);
  AppendString(&mac_input, parts.public_blob);
  AppendString(&mac_input, priv);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac;
  unsigned int mac_size = 0;
  if (HMAC(EVP_sha256(), mac_key, static_cast<int>(mac_key_size),
           reinterpret_cast<const unsigned char*>(mac_input.data()), mac_input.size(), mac.data(),
           &mac_size) == nullptr) {
    return Internal("computing the private key's MAC failed");
  }

  if (encrypt && !CipherInPlace(EVP_aes_256_cbc(), keys.data(), keys.data() + kAesKeySize,
                                /*encrypt=*/true, &priv)) {
    return Internal("encrypting the private key failed");
  }

  const std::string public_b64 = Base64Encode(parts.public_blob);
  std::string private_b64 = Base64Encode(priv);
  ScopedWipeString wipe_private_b64(&private_b64);
  auto lines = [](size_t b64_size) { return std::to_string((b64_size + kColumns - 1) / kColumns); };
  std::string kdf_headers;
  if (encrypt) {
    std::string salt_hex;
    AppendHex(&salt_hex, salt.data(), salt.size());
    AppendHeader(&kdf_headers, "Key-Derivation", "Argon2id");
    AppendHeader(&kdf_headers, "Argon2-Memory", std::to_string(kArgon2MemoryKiB));
    AppendHeader(&kdf_headers, "Argon2-Passes", std::to_string(kArgon2Passes));
    AppendHeader(&kdf_headers, "Argon2-Parallelism", std::to_string(kArgon2Parallelism));
    AppendHeader(&kdf_headers, "Argon2-Salt", salt_hex);
  }
  std::string mac_hex;
  AppendHex(&mac_hex, mac.data(), mac_size);

  std::string ppk;
  // The fixed text is under 200 bytes: the headers' names, two line counts, the MAC.
  ppk.reserve(256 + parts.info->ssh_type.size() + comment.size() + kdf_headers.size() +
              WrappedSize(public_b64.size(), kColumns) + WrappedSize(private_b64.size(), kColumns));
  AppendHeader(&ppk, "PuTTY-User-Key-File-3", parts.info->ssh_type);
  AppendHeader(&ppk, "Encryption", encryption);
  AppendHeader(&ppk, "Comment", comment);
  AppendHeader(&ppk, "Public-Lines", lines(public_b64.size()));
  AppendWrapped(&ppk, public_b64, kColumns);
  ppk.append(kdf_headers);
  AppendHeader(&ppk, "Private-Lines", lines(private_b64.size()));
  AppendWrapped(&ppk, private_b64, kColumns);
  AppendHeader(&ppk, "Private-MAC", mac_hex);
  return SecretString(std::move(ppk));
}

}  // namespace keypaird::sshkey
