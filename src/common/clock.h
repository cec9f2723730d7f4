// Wall-clock time as the service records it: microseconds since the Unix epoch, UTC.
// Injected as a Clock wherever tests need to control time.
#ifndef KEYPAIRD_COMMON_CLOCK_H_
#define KEYPAIRD_COMMON_CLOCK_H_

#include <chrono>
#include <cstdint>
#include <functional>

namespace keypaird {

using Clock = std::function<int64_t()>;

inline int64_t SystemNowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace keypaird

#endif  // KEYPAIRD_COMMON_CLOCK_H_
