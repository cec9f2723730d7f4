// Whether 32 bytes are the encoding of a point of edwards25519, the check an imported
// Ed25519 public key must pass. Arithmetic in GF(2^255 - 19) with five 51-bit limbs:
// the key is public, so nothing here needs to be constant-time; what matters is speed
// (with OpenSSL's BIGNUMs this one check was a third of an import's instructions).
#ifndef KEYPAIRD_SSHKEY_ED25519_POINT_H_
#define KEYPAIRD_SSHKEY_ED25519_POINT_H_

#include <array>
#include <cstdint>

namespace keypaird::sshkey {

// RFC 8032 section 5.1.3: y (the low 255 bits, little-endian) must be < p, and
// x^2 = (y^2 - 1) / (d y^2 + 1) must have a root; x = 0 must not carry the sign bit.
bool IsEd25519Point(const std::array<uint8_t, 32>& encoding);

// The Legendre symbol (a / p) of a little-endian 255-bit number a < p:
// 1 (a nonzero square), -1 (a non-square) or 0 (a = 0). Exposed for the tests.
int Legendre25519(const std::array<uint8_t, 32>& a);

}  // namespace keypaird::sshkey

#endif  // KEYPAIRD_SSHKEY_ED25519_POINT_H_
