// OpenSSL RAII and wiping scopes shared by the sshkey .cc files. Not part of the sshkey
// API (OpenSSL types stay out of its headers); included only by src/sshkey/*.cc.
#ifndef KEYPAIRD_SSHKEY_OPENSSL_UTIL_H_
#define KEYPAIRD_SSHKEY_OPENSSL_UTIL_H_

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <cstddef>
#include <memory>
#include <string>

#include "common/openssl_ptr.h"
#include "common/secret.h"

namespace keypaird::sshkey {

using keypaird::OpenSslDeleter;
using BnPtr = std::unique_ptr<BIGNUM, OpenSslDeleter<BIGNUM, BN_free>>;
// A BIGNUM holding private material: wiped when freed.
using SecretBnPtr = std::unique_ptr<BIGNUM, OpenSslDeleter<BIGNUM, BN_clear_free>>;
using BnCtxPtr = std::unique_ptr<BN_CTX, OpenSslDeleter<BN_CTX, BN_CTX_free>>;
using EcPointPtr = std::unique_ptr<EC_POINT, OpenSslDeleter<EC_POINT, EC_POINT_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY, EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, OpenSslDeleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, OpenSslDeleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using CipherCtxPtr =
    std::unique_ptr<EVP_CIPHER_CTX, OpenSslDeleter<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>>;

// Wipes a buffer holding private material when the scope ends, however it ends.
class ScopedCleanse {
 public:
  ScopedCleanse(void* p, size_t n) : p_(p), n_(n) {}
  ~ScopedCleanse() { OPENSSL_cleanse(p_, n_); }
  ScopedCleanse(const ScopedCleanse&) = delete;
  ScopedCleanse& operator=(const ScopedCleanse&) = delete;

 private:
  void* p_;
  size_t n_;
};

// Wipes a std::string (with its spare capacity) when the scope ends.
class ScopedWipeString {
 public:
  explicit ScopedWipeString(std::string* s) : s_(s) {}
  ~ScopedWipeString() { WipeString(*s_); }
  ScopedWipeString(const ScopedWipeString&) = delete;
  ScopedWipeString& operator=(const ScopedWipeString&) = delete;

 private:
  std::string* s_;
};

}  // namespace keypaird::sshkey

#endif  // KEYPAIRD_SSHKEY_OPENSSL_UTIL_H_
