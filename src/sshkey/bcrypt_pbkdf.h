// bcrypt_pbkdf: OpenBSD's password-based key derivation function built on bcrypt's
// expensive key schedule (Ted Unangst, 2013), which OpenSSH uses to turn a passphrase
// into the key and IV of an encrypted "openssh-key-v1" private key (kdfname "bcrypt").
// No Debian library exposes it, so it is written here from the published description on
// top of Blowfish (blowfish.h) and SHA-512 (OpenSSL).
//
// Pure function; every intermediate buffer is wiped before it returns. Thread-safe.
// Cost: about 2 x `rounds` bcrypt hashes per 32 bytes of output; OpenSSH's 16 rounds
// for a 48-byte key and IV take tens of milliseconds.
#ifndef KEYPAIRD_SSHKEY_BCRYPT_PBKDF_H_
#define KEYPAIRD_SSHKEY_BCRYPT_PBKDF_H_

#include <cstdint>
#include <span>
#include <string_view>

namespace keypaird::sshkey {

// The largest output bcrypt_pbkdf defines (32 blocks of 32 bytes).
inline constexpr size_t kBcryptPbkdfMaxOutput = 1024;

// Fills `out` (1..kBcryptPbkdfMaxOutput bytes) with the key derived from `passphrase`
// and `salt` (both non-empty; salt at most 1 MiB) with `rounds` >= 1. Returns false,
// leaving `out` zeroed, when an argument is out of those ranges or SHA-512 fails.
bool BcryptPbkdf(std::string_view passphrase, std::string_view salt, uint32_t rounds,
                 std::span<uint8_t> out);

}  // namespace keypaird::sshkey

#endif  // KEYPAIRD_SSHKEY_BCRYPT_PBKDF_H_
