#!/usr/bin/env bash
# Sets up and builds keypaird, then runs every test: the GoogleTest unit and OpenSSH
# cross-check tests (ctest) and the black-box tests against the running binary (pytest;
# they start their own server, Prism proxy and sshd on free loopback ports and stop them),
# the black-box tests twice: on SQLite and on PostgreSQL. A throwaway PostgreSQL cluster
# (scripts/postgres.sh) runs on a free loopback port for the whole run and is always
# stopped at the end. Then the Debian package (scripts/package-test.sh: a Release build with
# Debian's hardening flags, its unit tests, the unpacked package served), the sanitizers, the
# fuzzers and clang-tidy. Ends with one line "N passed, N failed" over all runs.
set -uo pipefail
cd "$(dirname "$0")/.."
run_start=$(date +%s)
stage_start=$run_start
took() {  # took NAME: how long the stage since the last call took (the README's table)
  local now; now=$(date +%s)
  echo "$1: took $((now - stage_start))s"
  stage_start=$now
}
scripts/setup.sh --test || exit 1
took setup
# Warnings are errors here (and in CI), not for everyone who builds. Line tables only
# (-g1: enough for a failure's backtrace): ~11 % less compile time than -g over the library
# (405 -> 361 s), up to 30 % for the largest test source.
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKEYPAIRD_WERROR=ON -DKEYPAIRD_TESTS=ON \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" ${CMAKE_ARGS:-} >/dev/null || exit 1
cmake --build build -j2 || exit 1
took build

logs=$(mktemp -d)
pgdir=$(mktemp -d)
# clang-tidy needs only the configured build; it takes minutes of CPU, which the tests below
# leave idle much of the time (they wait on servers, browsers and sshd). So it runs from
# here at the lowest priority, and the linters' stage reads what it found.
# Its own process group (setsid), so that an early exit stops every clang-tidy it started;
# that also makes it a scheduler autogroup of its own, whose weight lint.sh lowers to match.
setsid nice -n 19 scripts/lint.sh --tidy-only "$logs/tidy.out" &
tidy_pid=$!
trap 'kill -- "-$tidy_pid" 2>/dev/null; scripts/postgres.sh stop "$pgdir/cluster" >/dev/null 2>&1; rm -rf "$logs" "$pgdir"' EXIT
failed=0

echo "== PostgreSQL test cluster (scripts/postgres.sh)"
# The PostgreSQL tests read these; without them they fail (never skip).
if pg_url=$(scripts/postgres.sh start "$pgdir/cluster"); then
  export KEYPAIRD_TEST_POSTGRES_URL="$pg_url" KEYPAIRD_TEST_POSTGRES_DIR="$pgdir/cluster"
  echo "$pg_url"
else
  failed=1
fi

echo "== unit and cross-check tests (ctest)"
ctest --test-dir build --output-on-failure -j2 >"$logs/ctest.log" 2>&1 || failed=1
grep -v "Passed\|^ *Start " "$logs/ctest.log"
took ctest

for backend in sqlite postgres; do
  echo "== black-box tests on $backend (pytest)"
  KEYPAIRD_TEST_BACKEND=$backend KEYPAIRD_BIN="$PWD/build/keypaird" /usr/bin/python3 -m pytest \
    -q -p no:cacheprovider --junitxml="$logs/pytest-$backend.xml" test/ || failed=1
  took "pytest-$backend"
done

# ---- Sanitizers and fuzzing (issue 6; scripts/sanitize.sh, scripts/fuzz.sh, docs/fuzzing.md).
# An ASan+UBSan build of the unit and black-box (SQLite) tests, then each libFuzzer target
# for FUZZ_SECONDS (default 30). Each ends with "<name>: N passed, N failed" (a fuzz target
# counts as one test), added to the totals below. SANITIZE=0 / FUZZ_SECONDS=0 skip them.
x_passed=0; x_failed=0
run_counted() {  # run_counted NAME COMMAND...: runs it, adds its "NAME: N passed, N failed"
  local name=$1 t0 xp xf; shift
  t0=$(date +%s)
  "$@" 2>&1 | tee "$logs/$name.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || failed=1
  read -r xp xf < <(sed -n "s/^$name: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p" "$logs/$name.log" | tail -1)
  x_passed=$((x_passed + ${xp:-0})); x_failed=$((x_failed + ${xf:-1}))
  echo "$name: took $(( $(date +%s) - t0 ))s"
}
# ---- The Debian package (issue 9; scripts/package.sh, docs/packaging.md): built in Release
# with dpkg-buildflags' hardening and -Werror, its unit tests run there (the configuration
# other than the one above), then unpacked, served and checked. PACKAGE=0 skips it.
if [ "${PACKAGE:-1}" != 0 ]; then
  echo "== Debian package: Release + hardening build and unit tests, unpacked and served (scripts/package-test.sh)"
  run_counted package scripts/package-test.sh
fi
if [ "${SANITIZE:-1}" != 0 ]; then
  echo "== ASan+UBSan build, unit and black-box tests (scripts/sanitize.sh)"
  run_counted sanitize scripts/sanitize.sh
fi
if [ "${FUZZ_SECONDS:-30}" != 0 ]; then
  echo "== fuzzers, ${FUZZ_SECONDS:-30}s each (scripts/fuzz.sh)"
  run_counted fuzz scripts/fuzz.sh "${FUZZ_SECONDS:-30}"
fi
# ---- end of sanitizers and fuzzing

echo "== linters: clang-tidy, ESLint, Prettier, Spectral (scripts/lint.sh)"
t_wait=$(date +%s)
wait "$tidy_pid"
echo "lint: waited $(( $(date +%s) - t_wait ))s for clang-tidy, started in the background after the build"
TIDY_OUT="$logs/tidy.out" run_counted lint scripts/lint.sh

# Totals: ctest's "x% tests passed, F tests failed out of T" and pytest's junit counts.
read -r c_failed c_total < <(sed -n 's/.*tests passed, \([0-9]*\) tests\{0,1\} failed out of \([0-9]*\).*/\1 \2/p' "$logs/ctest.log")
p_counts=$(/usr/bin/python3 - "$logs/pytest-sqlite.xml" "$logs/pytest-postgres.xml" <<'PY' 2>/dev/null || echo "0 0"
import sys, xml.etree.ElementTree as ET
passed = failed = 0
for path in sys.argv[1:]:
    root = ET.parse(path).getroot()
    s = root if root.tag == "testsuite" else root.find("testsuite")
    total, bad = int(s.get("tests")), int(s.get("failures")) + int(s.get("errors"))
    passed += total - bad - int(s.get("skipped"))
    failed += bad
print(passed, failed)
PY
)
read -r p_passed p_failed <<<"$p_counts"
c_failed=${c_failed:-1}; c_total=${c_total:-0}
passed=$((c_total - c_failed + p_passed + x_passed)); nfailed=$((c_failed + p_failed + x_failed))
if [ "$failed" -ne 0 ] && [ "$nfailed" -eq 0 ]; then nfailed=1; fi
echo "test.sh: took $(( $(date +%s) - run_start ))s in all"
echo "$passed passed, $nfailed failed"
[ "$failed" -eq 0 ]
