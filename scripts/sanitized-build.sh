#!/usr/bin/env bash
# The one sanitized build of the test run: clang, ASan+UBSan without recovery, libFuzzer's
# coverage instrumentation in every library (-DKEYPAIRD_FUZZ=ON), the unit tests, the two
# binaries and the fuzz targets, in build-fuzz/ (FUZZ_BUILD_DIR). scripts/sanitize.sh runs the
# tests on it and scripts/fuzz.sh the fuzzers, so the tree is compiled once for both.
# Installs clang-14 and its runtime from Debian if they are missing.
#
#   scripts/sanitized-build.sh [TARGET...]    default: everything
#
# Prints nothing on success; on failure the end of the build log, and exits non-zero.
set -uo pipefail
cd "$(dirname "$0")/.."

if ! command -v clang++ >/dev/null 2>&1 ||
   ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  echo "sanitized-build: installing clang-14 libclang-rt-14-dev" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    clang-14 libclang-rt-14-dev >/dev/null || exit 1
fi
CLANG=$(command -v clang++ || command -v clang++-14)
CLANG_C=$(command -v clang || command -v clang-14)

BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
mkdir -p "$BUILD_DIR"
# Warnings are the g++ build's business (-Werror there); clang's differ. Line tables only
# (-g1): reports still name file and line, and the build is shorter. No benchmarks.
CC=$CLANG_C CXX=$CLANG cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DKEYPAIRD_FUZZ=ON -DKEYPAIRD_WERROR=OFF -DKEYPAIRD_BENCH=OFF \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" >"$BUILD_DIR/configure.log" 2>&1 || {
  tail -40 "$BUILD_DIR/configure.log"; exit 1; }
target_args=()
for t in "$@"; do target_args+=(--target "$t"); done
cmake --build "$BUILD_DIR" -j2 "${target_args[@]}" >"$BUILD_DIR/build.log" 2>&1 || {
  tail -40 "$BUILD_DIR/build.log"; exit 1; }
