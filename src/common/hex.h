#pragma once

#include <cstddef>
#include <string>

namespace keypaird {

// Appends `n` bytes as lowercase hex (two digits per byte) to *out.
void AppendHex(std::string* out, const unsigned char* data, size_t n);

// 16 bytes from a per-thread generator seeded once from the CSPRNG (RAND_bytes). For
// values that must be unique but need not be unpredictable (request ids); never for
// secrets, tokens or key ids, which take RAND_bytes directly.
void NonSecretRandom16(unsigned char out[16]);

}  // namespace keypaird
