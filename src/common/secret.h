// SecretString: a string holding secret material (private keys, token secrets).
//
// The bytes are wiped (OPENSSL_cleanse, which the compiler may not elide) when the
// object is destroyed or reassigned. It is move-only so that no stray copy outlives
// the response it was made for. It deliberately has no implicit conversion to
// std::string and no operator<<: reaching the bytes takes an explicit view().
#ifndef KEYPAIRD_COMMON_SECRET_H_
#define KEYPAIRD_COMMON_SECRET_H_

#include <string>
#include <string_view>

namespace keypaird {

class SecretString {
 public:
  SecretString() = default;
  explicit SecretString(std::string s) : s_(std::move(s)) {}
  ~SecretString() { Wipe(); }
  SecretString(SecretString&& other) noexcept;
  SecretString& operator=(SecretString&& other) noexcept;
  SecretString(const SecretString&) = delete;
  SecretString& operator=(const SecretString&) = delete;

  std::string_view view() const { return s_; }
  bool empty() const { return s_.empty(); }
  size_t size() const { return s_.size(); }
  // Overwrites the bytes (including spare capacity) and empties the string.
  void Wipe();

 private:
  std::string s_;
};

// Wipes the bytes of an ordinary buffer (including spare capacity) in place.
void WipeString(std::string& s);

}  // namespace keypaird

#endif  // KEYPAIRD_COMMON_SECRET_H_
