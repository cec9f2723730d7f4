// The fuzzers' invariant check: FUZZ_CHECK(cond[, detail]) aborts, which libFuzzer
// reports as a crash, printing "FILE:LINE: invariant violated: cond" (scripts/fuzz.sh
// greps for that) and the optional detail (a std::string_view-convertible value).
#ifndef KEYPAIRD_FUZZ_FUZZ_CHECK_H_
#define KEYPAIRD_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace keypaird::fuzz {

[[noreturn]] inline void Fail(const char* file, int line, const char* what,
                              std::string_view detail = {}) {
  std::fprintf(stderr, "%s:%d: invariant violated: %s\n", file, line, what);
  if (!detail.empty()) {
    std::fprintf(stderr, "  detail: %.*s\n", static_cast<int>(detail.size()), detail.data());
  }
  std::abort();
}

}  // namespace keypaird::fuzz

#define FUZZ_FAIL(what, ...) \
  ::keypaird::fuzz::Fail(__FILE__, __LINE__, what __VA_OPT__(, ) __VA_ARGS__)

#define FUZZ_CHECK(cond, ...)                                 \
  do {                                                        \
    if (!(cond)) FUZZ_FAIL(#cond __VA_OPT__(, ) __VA_ARGS__); \
  } while (0)

#endif  // KEYPAIRD_FUZZ_FUZZ_CHECK_H_
