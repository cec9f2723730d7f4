// Kek: the key-encryption key of the SSH certificate authorities (serve --ca-kek-file).
//
// Each project's CA seed is stored only sealed with it: AES-256-GCM with a fresh 96-bit
// nonce, the project id bound in as associated data (a sealed seed copied to another
// project's row does not open). The key itself lives only in memory, wiped when the Kek
// goes; it never reaches a log, a response or the database.
//
// The file holds 32 bytes, raw or as 64 hex digits (with an optional newline): `keypaird
// ca new-kek PATH` writes the hex form with mode 0600. A file that its group or others
// may read or write, or that is not a regular file, is refused. Thread-safe (const).
#ifndef KEYPAIRD_CA_KEK_H_
#define KEYPAIRD_CA_KEK_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "common/secret.h"
#include "common/status.h"

namespace keypaird::ca {

class Kek {
 public:
  // kInvalidArgument (with a message naming the file) for a missing, unreadable, too
  // open or malformed file.
  static StatusOr<Kek> Load(const std::string& path);
  // Writes a fresh random key to `path` (mode 0600); kAlreadyExists if the file exists
  // (a key is never overwritten: the CAs sealed with it would be lost).
  static Status WriteNew(const std::string& path);
  // A key from 32 raw bytes (tests).
  static StatusOr<Kek> FromBytes(std::string_view bytes);

  Kek(Kek&&) noexcept = default;
  Kek& operator=(Kek&&) noexcept = default;

  // version (1) || nonce (12) || ciphertext || tag (16). `host`: a host CA's seed, bound to
  // that kind too (a user CA's seed does not open as a host CA's, nor the reverse).
  StatusOr<std::string> Seal(std::string_view plaintext, int64_t project_id,
                             bool host = false) const;
  // kInvalidArgument if `sealed` was not sealed with this key for this project and kind.
  StatusOr<SecretString> Open(std::string_view sealed, int64_t project_id,
                              bool host = false) const;

 private:
  explicit Kek(SecretString key) : key_(std::move(key)) {}
  SecretString key_;  // 32 bytes
};

}  // namespace keypaird::ca

#endif  // KEYPAIRD_CA_KEK_H_
