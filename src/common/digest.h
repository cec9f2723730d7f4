// One-shot message digests through OpenSSL 3 without its per-call costs: the algorithm
// is fetched once (EVP_MD_fetch) and each thread reuses one context. The one-shot calls
// (SHA256(), EVP_Digest with EVP_md5()) look the algorithm up and allocate a context
// every time, which showed in the profile of every request.
#ifndef KEYPAIRD_COMMON_DIGEST_H_
#define KEYPAIRD_COMMON_DIGEST_H_

#include <openssl/evp.h>

#include <string>
#include <string_view>

namespace keypaird {

class Digest {
 public:
  // `name`: an OpenSSL algorithm name ("SHA256", "MD5"). Meant for function-local
  // statics.
  explicit Digest(const char* name);
  ~Digest();
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;

  // The digest of `data` (raw bytes); empty if libcrypto lacks the algorithm (MD5 on a
  // FIPS-only system) or fails.
  std::string Of(std::string_view data) const;

 private:
  EVP_MD* md_;
};

// The strong ETag of `body`: the first 128 bits of its SHA-256 in hex, quoted — the service's
// validator of every text it generates (authorized_keys, the KRL; docs/ssh-access.md), which
// a client holding a copy can compute to revalidate it.
std::string BodyETag(std::string_view body);

}  // namespace keypaird

#endif  // KEYPAIRD_COMMON_DIGEST_H_
