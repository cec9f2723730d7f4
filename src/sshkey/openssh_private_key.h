// The OpenSSH private key format ("openssh-key-v1", OpenSSH's PROTOCOL.key): the writer
// behind ExportPrivateKey(..., PrivateKeyFormat::kOpenSsh, ...) and a reader of files of
// one key of the types keypaird generates, unencrypted or encrypted as ssh-keygen does
// (cipher aes256-ctr, KDF bcrypt_pbkdf).
//
// Pure functions, thread-safe; secrets are handled as private_key.h says.
#ifndef KEYPAIRD_SSHKEY_OPENSSH_PRIVATE_KEY_H_
#define KEYPAIRD_SSHKEY_OPENSSH_PRIVATE_KEY_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/secret.h"
#include "common/status.h"
#include "sshkey/private_key.h"

namespace keypaird::sshkey {

// ssh-keygen's default bcrypt_pbkdf rounds, which every key keypaird writes uses.
inline constexpr uint32_t kOpenSshBcryptRounds = 16;
// Largest input ReadOpenSshPrivateKey accepts (an RSA-4096 key file is about 3.4 KiB).
inline constexpr size_t kMaxOpenSshPrivateKeyInput = 64 * 1024;

// The text of an OpenSSH private key file holding `key` with `comment` (any bytes: this
// format does not restrict them), encrypted with aes256-ctr under a key from
// bcrypt_pbkdf(passphrase, 16 random bytes, `bcrypt_rounds`) when `passphrase` is not
// empty. Lines of 70 base64 characters, ending in "\n", as ssh-keygen writes them.
// `bcrypt_rounds` other than kOpenSshBcryptRounds is for the fuzzer only, where 16
// rounds would leave no time for anything else. kInternal if OpenSSL fails.
StatusOr<SecretString> WriteOpenSshPrivateKey(const PrivateKey& key, std::string_view comment,
                                              std::string_view passphrase,
                                              uint32_t bcrypt_rounds = kOpenSshBcryptRounds);

struct OpenSshPrivateKey {
  PrivateKey key;
  std::string comment;
};

// Reads an OpenSSH private key file (text with the BEGIN/END lines; CRLF and surrounding
// whitespace are fine) holding one key of type ssh-ed25519, ecdsa-sha2-nistp256/384/521
// or ssh-rsa of 2048, 3072 or 4096 bits (the KeyType values), unencrypted or with cipher aes256-ctr
// and KDF bcrypt of at most `max_bcrypt_rounds` rounds (the bound keeps a hostile file from costing
// minutes). The private half must match the public half and the file must be well formed
// to the last padding byte. `passphrase` is ignored for an unencrypted key.
// kInvalidArgument with a message (never quoting the input) for anything else, including
// a wrong passphrase; kInternal if OpenSSL fails.
StatusOr<OpenSshPrivateKey> ReadOpenSshPrivateKey(std::string_view text,
                                                  std::string_view passphrase,
                                                  uint32_t max_bcrypt_rounds = 1024);

}  // namespace keypaird::sshkey

#endif  // KEYPAIRD_SSHKEY_OPENSSH_PRIVATE_KEY_H_
