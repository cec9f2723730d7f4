// Test-only: one generated key of each type per test binary (RSA-4096 takes seconds to
// make, so every test of a binary shares the same keys). Thread-safe.
#ifndef KEYPAIRD_SSHKEY_PRIVATE_KEY_TESTING_H_
#define KEYPAIRD_SSHKEY_PRIVATE_KEY_TESTING_H_

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "sshkey/private_key.h"

namespace keypaird::sshkey::testing_keys {

inline constexpr char kPassphrase[] = "correct horse battery staple";
inline constexpr char kWrongPassphrase[] = "correct horse battery";

inline constexpr KeyType kAllTypes[] = {
    KeyType::kEd25519, KeyType::kEcdsaP256, KeyType::kEcdsaP384, KeyType::kEcdsaP521,
    KeyType::kRsa2048, KeyType::kRsa3072,   KeyType::kRsa4096};
inline constexpr PrivateKeyFormat kAllFormats[] = {
    PrivateKeyFormat::kOpenSsh, PrivateKeyFormat::kPkcs8, PrivateKeyFormat::kPpk};

inline const PrivateKey& KeyOf(KeyType type) {
  static std::mutex mu;
  static auto* keys = new std::map<KeyType, PrivateKey>();  // lives as long as the process
  std::lock_guard<std::mutex> lock(mu);
  auto it = keys->find(type);
  if (it == keys->end()) {
    StatusOr<PrivateKey> key = GeneratePrivateKey(type);
    EXPECT_TRUE(key.ok()) << key.status().message();
    it = keys->emplace(type, std::move(*key)).first;
  }
  return it->second;
}

// "TYPE BASE64" of a public key line, without the comment.
inline std::string TypeAndBase64(std::string_view line) {
  size_t first = line.find(' ');
  return std::string(line.substr(0, line.find(' ', first + 1)));
}

// A test-name-safe "ecdsa_p256".
inline std::string IdentifierOf(KeyType type) {
  std::string name(KeyTypeName(type));
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return name;
}

}  // namespace keypaird::sshkey::testing_keys

#endif  // KEYPAIRD_SSHKEY_PRIVATE_KEY_TESTING_H_
