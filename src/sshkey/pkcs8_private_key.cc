// PKCS#8 private keys through OpenSSL: "PRIVATE KEY" (RFC 5208 PrivateKeyInfo) or, with a
// passphrase, "ENCRYPTED PRIVATE KEY" (RFC 5958) under PBES2 (RFC 8018) with
// PBKDF2-HMAC-SHA256 and AES-256-CBC. OpenSSL's PEM_write_bio_PKCS8PrivateKey would use
// only 2048 PBKDF2 iterations, so the PBES2 parameters are built here.
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "sshkey/openssl_util.h"
#include "sshkey/private_key_internal.h"

namespace keypaird::sshkey {
namespace {

// PBKDF2-HMAC-SHA256 iterations: OWASP's recommendation for it (2023); OpenSSL's default
// is 2048. What it costs here: docs/BENCHMARKS.md.
constexpr int kPbkdf2Iterations = 600000;
constexpr int kSaltSize = 16;

using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<BIO, BIO_free_all>>;
using P8InfoPtr = std::unique_ptr<PKCS8_PRIV_KEY_INFO,
                                  OpenSslDeleter<PKCS8_PRIV_KEY_INFO, PKCS8_PRIV_KEY_INFO_free>>;
using X509SigPtr = std::unique_ptr<X509_SIG, OpenSslDeleter<X509_SIG, X509_SIG_free>>;
using AlgorPtr = std::unique_ptr<X509_ALGOR, OpenSslDeleter<X509_ALGOR, X509_ALGOR_free>>;

bool WriteEncrypted(BIO* bio, const EVP_PKEY* pkey, std::string_view passphrase) {
  // PKCS8_PRIV_KEY_INFO wipes the key bytes it holds when freed; so does the DER
  // encoding PKCS8_set0_pbe encrypts.
  P8InfoPtr info(EVP_PKEY2PKCS8(pkey));
  AlgorPtr pbe(PKCS5_pbe2_set_iv(EVP_aes_256_cbc(), kPbkdf2Iterations, nullptr, kSaltSize, nullptr,
                                 NID_hmacWithSHA256));
  if (!info || !pbe) return false;
  X509SigPtr sig(PKCS8_set0_pbe(passphrase.data(), static_cast<int>(passphrase.size()), info.get(),
                                pbe.get()));
  if (!sig) return false;
  (void)pbe.release();  // owned by sig now
  return PEM_write_bio_PKCS8(bio, sig.get()) == 1;
}

}  // namespace

StatusOr<SecretString> WritePkcs8PrivateKey(const PrivateKey& key, std::string_view passphrase) {
  // A secure-memory BIO: its buffer is wiped when freed.
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (!bio) return Internal("out of memory");
  const EVP_PKEY* pkey = key.impl().pkey.get();
  bool ok = passphrase.empty() ? PEM_write_bio_PKCS8PrivateKey(bio.get(), pkey, nullptr, nullptr, 0,
                                                               nullptr, nullptr) == 1
                               : WriteEncrypted(bio.get(), pkey, passphrase);
  if (!ok) return Internal("writing the PKCS#8 private key failed");
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);  // NOLINT(google-runtime-int)
  if (size <= 0 || data == nullptr) return Internal("writing the PKCS#8 private key failed");
  std::string pem;
  pem.reserve(static_cast<size_t>(size));
  pem.assign(data, static_cast<size_t>(size));
  return SecretString(std::move(pem));
}

}  // namespace keypaird::sshkey
