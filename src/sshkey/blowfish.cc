#include "sshkey/blowfish.h"

#include <openssl/crypto.h>

#include <cstddef>

#include "sshkey/blowfish_pi.h"

namespace keypaird::sshkey {
namespace {

// The next 32 bits of `data` read as a cyclic big-endian stream from *pos.
uint32_t NextWord(std::span<const uint8_t> data, size_t* pos) {
  uint32_t word = 0;
  for (int i = 0; i < 4; ++i) {
    word = (word << 8) | data[*pos];
    *pos = (*pos + 1) % data.size();
  }
  return word;
}

}  // namespace

Blowfish::Blowfish() : p_(blowfish_pi::kP), s_(blowfish_pi::kS) {}

Blowfish::~Blowfish() {
  OPENSSL_cleanse(p_.data(), sizeof(p_));
  OPENSSL_cleanse(s_.data(), sizeof(s_));
}

uint32_t Blowfish::F(uint32_t x) const {
  return ((s_[0][x >> 24] + s_[1][(x >> 16) & 0xff]) ^ s_[2][(x >> 8) & 0xff]) + s_[3][x & 0xff];
}

void Blowfish::Encrypt(uint32_t* left, uint32_t* right) const {
  uint32_t l = *left;
  uint32_t r = *right;
  for (size_t i = 0; i < 16; i += 2) {
    l ^= p_[i];
    r ^= F(l);
    r ^= p_[i + 1];
    l ^= F(r);
  }
  *left = r ^ p_[17];
  *right = l ^ p_[16];
}

void Blowfish::ExpandKey(std::span<const uint8_t> salt, std::span<const uint8_t> key) {
  size_t pos = 0;
  for (uint32_t& p : p_) p ^= NextWord(key, &pos);

  // The chained block, with the salt (if any) mixed in before each encryption.
  uint32_t l = 0;
  uint32_t r = 0;
  size_t salt_pos = 0;
  auto next_block = [&]() {
    if (!salt.empty()) {
      l ^= NextWord(salt, &salt_pos);
      r ^= NextWord(salt, &salt_pos);
    }
    Encrypt(&l, &r);
  };
  for (size_t i = 0; i < p_.size(); i += 2) {
    next_block();
    p_[i] = l;
    p_[i + 1] = r;
  }
  for (auto& box : s_) {
    for (size_t i = 0; i < box.size(); i += 2) {
      next_block();
      box[i] = l;
      box[i + 1] = r;
    }
  }
  OPENSSL_cleanse(&l, sizeof(l));
  OPENSSL_cleanse(&r, sizeof(r));
}

void Blowfish::ExpandKey(std::span<const uint8_t> key) { ExpandKey({}, key); }

void Blowfish::SetKey(std::span<const uint8_t> key) {
  p_ = blowfish_pi::kP;
  s_ = blowfish_pi::kS;
  ExpandKey(key);
}

}  // namespace keypaird::sshkey
