// Blowfish (Schneier, 1993), only as far as bcrypt_pbkdf needs it: the cipher's block
// encryption, its key schedule, and the two steps of bcrypt's "expensive key schedule"
// (EksBlowfish, Provos and Mazieres 1999) that feed a salt into the state. Not a
// general-purpose cipher: nothing else in keypaird should encrypt with Blowfish.
//
// A Blowfish object is its 4168-byte key-dependent state, wiped when it goes away.
// Thread-compatible: one object per thread.
#ifndef KEYPAIRD_SSHKEY_BLOWFISH_H_
#define KEYPAIRD_SSHKEY_BLOWFISH_H_

#include <array>
#include <cstdint>
#include <span>

namespace keypaird::sshkey {

class Blowfish {
 public:
  // The initial state: the hexadecimal digits of pi (blowfish_pi.h), no key yet.
  Blowfish();
  ~Blowfish();
  Blowfish(const Blowfish&) = delete;
  Blowfish& operator=(const Blowfish&) = delete;

  // Blowfish's own key schedule from the initial state: the key (any length >= 1;
  // standard Blowfish uses 4..56 bytes) is XORed cyclically into the P-array, then
  // every P and S entry is replaced by the chained encryption of an all-zero block.
  void SetKey(std::span<const uint8_t> key);

  // bcrypt's ExpandKey(state, salt, key): as the key schedule, on the current state,
  // but with the salt XORed cyclically into the block before each encryption.
  void ExpandKey(std::span<const uint8_t> salt, std::span<const uint8_t> key);
  // bcrypt's ExpandKey(state, 0, key): the key schedule on the current state.
  void ExpandKey(std::span<const uint8_t> key);

  // Encrypts one block given as its big-endian halves.
  void Encrypt(uint32_t* left, uint32_t* right) const;

 private:
  uint32_t F(uint32_t x) const;

  std::array<uint32_t, 18> p_;
  std::array<std::array<uint32_t, 256>, 4> s_;
};

}  // namespace keypaird::sshkey

#endif  // KEYPAIRD_SSHKEY_BLOWFISH_H_
