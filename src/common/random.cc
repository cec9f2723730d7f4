#include "common/random.h"

#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>

namespace keypaird {

void NonSecretRandom16(unsigned char out[16]) {
  thread_local std::mt19937_64 generator = [] {
    std::array<unsigned int, 8> seed{};
    if (RAND_bytes(reinterpret_cast<unsigned char*>(seed.data()), static_cast<int>(sizeof(seed))) !=
        1) {
      std::abort();  // no CSPRNG: nothing sensible to do
    }
    std::seed_seq sequence(seed.begin(), seed.end());
    return std::mt19937_64(sequence);
  }();
  const uint64_t words[2] = {generator(), generator()};
  std::memcpy(out, words, sizeof(words));
}

}  // namespace keypaird
