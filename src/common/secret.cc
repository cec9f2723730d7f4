#include "common/secret.h"

#include <openssl/crypto.h>

namespace keypaird {

void WipeString(std::string& s) {
  // Wipe the whole allocation, not just size(): earlier contents may sit in the slack.
  s.resize(s.capacity());
  OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

void SecretString::Wipe() { WipeString(s_); }

SecretString::SecretString(SecretString&& other) noexcept : s_(std::move(other.s_)) {
  // A moved-from std::string may keep a short (SSO) copy of the bytes; wipe it.
  other.Wipe();
}

SecretString& SecretString::operator=(SecretString&& other) noexcept {
  if (this != &other) {
    Wipe();
    s_ = std::move(other.s_);
    other.Wipe();
  }
  return *this;
}

}  // namespace keypaird
