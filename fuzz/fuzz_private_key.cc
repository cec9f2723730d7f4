// libFuzzer target for the OpenSSH private key reader and writer (sshkey/
// openssh_private_key.h).
//
// Every input is used three ways:
//   1. as the text of a private key file, read with the passphrase kPassphrase;
//   2. as the binary inside the armour (wrapped into BEGIN/END lines and base64 here), so
//      that mutations reach the binary parser, the KDF options and the private section
//      directly instead of dying in base64 first;
//   3. as the parameters of a round trip: byte 0 picks one of the cached keys (Ed25519,
//      ECDSA P-256/384/521, RSA-2048), byte 1 whether to encrypt (when its low 3 bits
//      are 001: an encrypted round trip costs as much as a thousand plain ones), and the
//      rest is the comment, then after the first NUL byte the passphrase. The key is
//      written and read back, and must come back the same key with the same comment;
//      encrypted, another passphrase must be refused.
// A read must succeed or fail with kInvalidArgument and a message; a key read must write
// and read again as itself. Any violation aborts, which libFuzzer reports as a crash.
//
// bcrypt_pbkdf's rounds are 1 here (the product uses 16): under the sanitizers even one
// round takes tens of milliseconds, so the fuzzer reads encrypted keys of 1 round only.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz_check.h"
#include "sshkey/openssh_private_key.h"
#include "sshkey/private_key.h"
#include "sshkey/sshkey.h"

namespace {

using keypaird::StatusCode;
using keypaird::StatusOr;
namespace sshkey = keypaird::sshkey;

constexpr std::string_view kPassphrase = "fuzz passphrase";  // the seeds' passphrase
constexpr uint32_t kMaxRounds = 1;
constexpr size_t kMaxField = 4096;

// Keys made once per process: generating RSA for every input would be all the fuzzer did.
const sshkey::PrivateKey& CachedKey(size_t index) {
  static const auto* keys = [] {
    auto* made = new std::vector<sshkey::PrivateKey>();  // lives as long as the process
    for (sshkey::KeyType type :
         {sshkey::KeyType::kEd25519, sshkey::KeyType::kEcdsaP256, sshkey::KeyType::kEcdsaP384,
          sshkey::KeyType::kEcdsaP521, sshkey::KeyType::kRsa2048}) {
      StatusOr<sshkey::PrivateKey> key = sshkey::GeneratePrivateKey(type);
      FUZZ_CHECK(key.ok(), key.status().message());
      made->push_back(std::move(*key));
    }
    return made;
  }();
  return (*keys)[index % keys->size()];
}

void ExpectRefused(const keypaird::Status& status) {
  FUZZ_CHECK(status.code() == StatusCode::kInvalidArgument, status.message());
  FUZZ_CHECK(!status.message().empty());
}

// A key that was read writes (unencrypted) and reads again as itself.
void CheckReadKey(const sshkey::OpenSshPrivateKey& read) {
  StatusOr<keypaird::SecretString> again =
      sshkey::WriteOpenSshPrivateKey(read.key, read.comment, "");
  FUZZ_CHECK(again.ok(), again.status().message());
  StatusOr<sshkey::OpenSshPrivateKey> reread = sshkey::ReadOpenSshPrivateKey(again->view(), "");
  FUZZ_CHECK(reread.ok(), reread.status().message());
  FUZZ_CHECK(reread->key.SameKeyAs(read.key));
  FUZZ_CHECK(reread->comment == read.comment);
  FUZZ_CHECK(sshkey::PublicKeyOf(read.key, "").ok());
}

void Read(std::string_view text) {
  StatusOr<sshkey::OpenSshPrivateKey> read =
      sshkey::ReadOpenSshPrivateKey(text, kPassphrase, kMaxRounds);
  if (!read.ok()) {
    ExpectRefused(read.status());
    return;
  }
  CheckReadKey(*read);
}

void RoundTrip(std::string_view params) {
  if (params.size() < 2) return;
  const sshkey::PrivateKey& key = CachedKey(static_cast<unsigned char>(params[0]));
  const bool encrypt = (params[1] & 7) == 1;
  std::string_view rest = params.substr(2);
  const size_t nul = rest.find('\0');
  const std::string_view comment = rest.substr(0, std::min(nul, kMaxField));
  const std::string_view passphrase =
      encrypt && nul != std::string_view::npos ? rest.substr(nul + 1, kMaxField) : "";

  StatusOr<keypaird::SecretString> text =
      sshkey::WriteOpenSshPrivateKey(key, comment, passphrase, /*bcrypt_rounds=*/1);
  FUZZ_CHECK(text.ok(), text.status().message());
  StatusOr<sshkey::OpenSshPrivateKey> read =
      sshkey::ReadOpenSshPrivateKey(text->view(), passphrase, /*max_bcrypt_rounds=*/1);
  FUZZ_CHECK(read.ok(), read.status().message());
  FUZZ_CHECK(read->key.SameKeyAs(key));
  FUZZ_CHECK(read->key.type() == key.type());
  FUZZ_CHECK(read->comment == comment);
  if (!passphrase.empty()) {
    // Another passphrase gives other check numbers (but for a 2^-32 chance).
    const std::string other = std::string(passphrase) + "!";
    StatusOr<sshkey::OpenSshPrivateKey> wrong =
        sshkey::ReadOpenSshPrivateKey(text->view(), other, /*max_bcrypt_rounds=*/1);
    FUZZ_CHECK(!wrong.ok(), "a wrong passphrase was accepted");
    FUZZ_CHECK(wrong.status().message() ==
               "wrong passphrase, or the OpenSSH private key is corrupted");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  // 1. The bytes as a private key file.
  Read(input);

  // 2. The bytes as the binary inside the armour.
  if (size <= sshkey::kMaxOpenSshPrivateKeyInput / 2) {
    const std::string b64 = sshkey::Base64Encode(input);
    std::string pem = "-----BEGIN OPENSSH PRIVATE KEY-----\n";
    for (size_t i = 0; i < b64.size(); i += 70) pem += b64.substr(i, 70) + "\n";
    pem += "-----END OPENSSH PRIVATE KEY-----\n";
    Read(pem);
  }

  // 3. The bytes as the parameters of a write-then-read round trip.
  RoundTrip(input);
  return 0;
}
