// The imported key behind an identity::Jwk. Not part of the identity API (cjose and OpenSSL
// types stay out of its headers); included only by src/identity/*.cc and their tests.
#ifndef KEYPAIRD_IDENTITY_JWKS_INTERNAL_H_
#define KEYPAIRD_IDENTITY_JWKS_INTERNAL_H_

#include <cjose/jwk.h>
#include <openssl/evp.h>

#include <memory>

#include "common/openssl_ptr.h"

namespace keypaird::identity {

struct CjoseJwkRelease {
  // cjose_jwk_release returns whether the key was freed, so it cannot be an OpenSslPtr's.
  void operator()(cjose_jwk_t* jwk) const { cjose_jwk_release(jwk); }
};
using CjoseJwkPtr = std::unique_ptr<cjose_jwk_t, CjoseJwkRelease>;

// Exactly one of the two is set: `cjose` for RSA and EC keys, `ed25519` for OKP keys. Never
// changed after import, so threads may verify with it at once (cjose_jwk_retain, which is not
// thread-safe, is never called: lifetime is the shared_ptr's business).
struct JwkKeyMaterial {
  CjoseJwkPtr cjose;
  OpenSslPtr<EVP_PKEY, EVP_PKEY_free> ed25519;
};

}  // namespace keypaird::identity

#endif  // KEYPAIRD_IDENTITY_JWKS_INTERNAL_H_
