// Fast non-secret randomness, for values that must be unique but need not be
// unpredictable (request ids). Never for secrets, tokens or key ids, which take
// RAND_bytes directly.
#ifndef KEYPAIRD_COMMON_RANDOM_H_
#define KEYPAIRD_COMMON_RANDOM_H_

namespace keypaird {

// 16 bytes from a per-thread generator seeded once from the CSPRNG (RAND_bytes).
void NonSecretRandom16(unsigned char out[16]);

}  // namespace keypaird

#endif  // KEYPAIRD_COMMON_RANDOM_H_
