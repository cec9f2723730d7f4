#include "sshkey/bcrypt_pbkdf.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>

#include "sshkey/blowfish.h"

namespace keypaird::sshkey {
namespace {

constexpr size_t kHashSize = 32;  // one bcrypt hash: 8 words of "OxychromaticBlowfishSwatDynamite"
constexpr size_t kSaltLimit = size_t{1} << 20;

using Sha512 = std::array<uint8_t, SHA512_DIGEST_LENGTH>;
using Block = std::array<uint8_t, kHashSize>;

bool Sha512Of(const void* data, size_t n, Sha512* out) {
  static EVP_MD* const kSha512 = EVP_MD_fetch(nullptr, "SHA512", nullptr);  // never freed
  unsigned int len = 0;
  return kSha512 != nullptr && EVP_Digest(data, n, out->data(), &len, kSha512, nullptr) == 1 &&
         len == out->size();
}

// bcrypt's core with bcrypt_pbkdf's changes: the state is keyed by the SHA-512 of the
// passphrase and of the salt through 64 rounds of the expensive key schedule, then
// encrypts the 32-byte magic 64 times; the words come out little-endian.
void BcryptHash(const Sha512& sha_pass, const Sha512& sha_salt, Block* out) {
  static constexpr std::string_view kMagic = "OxychromaticBlowfishSwatDynamite";
  static_assert(kMagic.size() == kHashSize);

  Blowfish state;
  state.ExpandKey(sha_salt, sha_pass);
  for (int i = 0; i < 64; ++i) {
    state.ExpandKey(sha_salt);
    state.ExpandKey(sha_pass);
  }

  std::array<uint32_t, kHashSize / 4> words;
  for (size_t i = 0; i < words.size(); ++i) {
    words[i] = 0;
    for (size_t k = 0; k < 4; ++k) {
      words[i] = (words[i] << 8) | static_cast<uint8_t>(kMagic[4 * i + k]);
    }
  }
  for (int i = 0; i < 64; ++i) {
    for (size_t k = 0; k < words.size(); k += 2) state.Encrypt(&words[k], &words[k + 1]);
  }
  for (size_t i = 0; i < words.size(); ++i) {
    for (size_t k = 0; k < 4; ++k) (*out)[4 * i + k] = static_cast<uint8_t>(words[i] >> (8 * k));
  }
  OPENSSL_cleanse(words.data(), sizeof(words));
}

}  // namespace

bool BcryptPbkdf(std::string_view passphrase, std::string_view salt, uint32_t rounds,
                 std::span<uint8_t> out) {
  std::fill(out.begin(), out.end(), uint8_t{0});
  if (passphrase.empty() || salt.empty() || salt.size() > kSaltLimit || rounds < 1 || out.empty() ||
      out.size() > kBcryptPbkdfMaxOutput) {
    return false;
  }

  // The output is spread over ceil(n / 32) interleaved blocks: byte i of block b goes to
  // out[i * stride + b], so every output byte depends on the whole computation's cost.
  const size_t stride = (out.size() + kHashSize - 1) / kHashSize;
  const size_t per_block = (out.size() + stride - 1) / stride;

  Sha512 sha_pass;
  Sha512 sha_salt;
  Block hash;
  Block acc;
  std::string count_salt;
  count_salt.reserve(salt.size() + 4);
  bool ok = Sha512Of(passphrase.data(), passphrase.size(), &sha_pass);
  for (uint32_t block = 1; ok && block <= stride; ++block) {
    count_salt.assign(salt);
    for (int shift = 24; shift >= 0; shift -= 8) {
      count_salt.push_back(static_cast<char>((block >> shift) & 0xff));
    }
    ok = Sha512Of(count_salt.data(), count_salt.size(), &sha_salt);
    if (!ok) break;
    BcryptHash(sha_pass, sha_salt, &hash);
    acc = hash;
    for (uint32_t round = 1; ok && round < rounds; ++round) {
      ok = Sha512Of(hash.data(), hash.size(), &sha_salt);
      if (!ok) break;
      BcryptHash(sha_pass, sha_salt, &hash);
      for (size_t i = 0; i < acc.size(); ++i) acc[i] ^= hash[i];
    }
    for (size_t i = 0; ok && i < per_block; ++i) {
      size_t dest = i * stride + (block - 1);
      if (dest >= out.size()) break;
      out[dest] = acc[i];
    }
  }
  OPENSSL_cleanse(sha_pass.data(), sha_pass.size());
  OPENSSL_cleanse(sha_salt.data(), sha_salt.size());
  OPENSSL_cleanse(hash.data(), hash.size());
  OPENSSL_cleanse(acc.data(), acc.size());
  if (!ok) OPENSSL_cleanse(out.data(), out.size());
  return ok;
}

}  // namespace keypaird::sshkey
