// ExportPrivateKey and GenerateEd25519: the one place that reaches every private key
// writer. Kept out of private_key.cc so that a program that only generates keys and writes
// the OpenSSH format (the lean `keypaird login`) does not pull in the PPK writer and, with
// it, libargon2 (scripts/package-test.sh checks what /usr/bin/keypaird links).
#include <string_view>
#include <utility>

#include "sshkey/openssh_private_key.h"
#include "sshkey/private_key.h"
#include "sshkey/private_key_internal.h"
#include "sshkey/sshkey.h"

namespace keypaird::sshkey {

StatusOr<GeneratedKey> ExportPrivateKey(const PrivateKey& key, std::string_view comment,
                                        PrivateKeyFormat format, std::string_view passphrase) {
  StatusOr<PublicKey> public_key = PublicKeyOf(key, comment);
  if (!public_key.ok()) return public_key.status();
  StatusOr<SecretString> text = Internal("unknown private key format");
  switch (format) {
    case PrivateKeyFormat::kOpenSsh:
      text = WriteOpenSshPrivateKey(key, comment, passphrase);
      break;
    case PrivateKeyFormat::kPkcs8:
      text = WritePkcs8PrivateKey(key, passphrase);
      break;
    case PrivateKeyFormat::kPpk:
      text = WritePpkPrivateKey(key, comment, passphrase);
      break;
  }
  if (!text.ok()) return text.status();
  GeneratedKey out;
  out.public_key = std::move(*public_key);
  out.private_key = std::move(*text);
  return out;
}

StatusOr<GeneratedKey> GenerateEd25519(std::string_view comment) {
  // The comment is checked before any key is made.
  if (Status s = CheckComment(comment); !s.ok()) return s;
  StatusOr<PrivateKey> key = GeneratePrivateKey(KeyType::kEd25519);
  if (!key.ok()) return key.status();
  return ExportPrivateKey(*key, comment, PrivateKeyFormat::kOpenSsh, "");
}

}  // namespace keypaird::sshkey
