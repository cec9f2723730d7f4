// The target that precompiles the unit tests' common headers (CMakeLists.txt,
// KEYPAIRD_TESTS_PCH); every test target reuses its precompiled header. Nothing of its own;
// outside src/ so that clang-tidy, which cannot read GCC's precompiled header, skips it.
