#!/usr/bin/env bash
# The ASan+UBSan pass of the test run: makes the sanitized build (scripts/sanitized-build.sh:
# clang, -fsanitize=address,undefined without recovery, in build-fuzz/, which scripts/fuzz.sh
# then reuses), runs the unit tests there (ctest) and a black-box subset (pytest, SQLite)
# against build-fuzz/keypaird: every route family and the hostile-client tests
# (SANITIZE_PYTEST; the plain pass runs the whole suite). Left out here: the browser,
# sshd-login, release-upgrade and benchmark files, whose server side those files already
# drive under the sanitizers. Any sanitizer report fails the pass: tests abort on the first
# error, and reports written by processes whose exit nobody checks (the server, CLI calls)
# are collected from log files and printed.
# Last line: "sanitize: N passed, N failed" (scripts/test.sh adds it to its totals).
#
#   scripts/sanitize.sh            expects scripts/setup.sh to have run (test.sh does)
set -uo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
reports="$work/reports"
mkdir -p "$reports"

# The PostgreSQL unit tests need a cluster: scripts/test.sh exports one; run alone, this
# script starts its own (and stops it at exit).
if [ -z "${KEYPAIRD_TEST_POSTGRES_URL:-}" ] && [ -x scripts/postgres.sh ]; then
  if url=$(scripts/postgres.sh start "$work/pg"); then
    export KEYPAIRD_TEST_POSTGRES_URL="$url" KEYPAIRD_TEST_POSTGRES_DIR="$work/pg"
    trap 'scripts/postgres.sh stop "$work/pg" >/dev/null 2>&1; rm -rf "$work"' EXIT
  fi
fi

start=$(date +%s)
FUZZ_BUILD_DIR=$BUILD_DIR scripts/sanitized-build.sh >"$work/build.log" 2>&1
if [ $? -ne 0 ]; then
  tail -40 "$work/build.log"
  echo "sanitize: build failed"
  echo "sanitize: 0 passed, 1 failed"
  exit 1
fi
echo "sanitize: build $(( $(date +%s) - start ))s"

# log_path: every process writes its report to its own file (<prefix>.<pid>), which also
# catches the server's, whose exit status no test looks at.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:log_path=$reports/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan"
failed=0

echo "== ASan+UBSan: unit and cross-check tests (ctest)"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j2 >"$work/ctest.log" 2>&1 || failed=1
grep -v "Passed\|^ *Start " "$work/ctest.log"

SANITIZE_PYTEST=${SANITIZE_PYTEST:-"test/test_seed_operation.py test/test_families.py \
  test/test_native_api.py test/test_ssh_ca.py test/test_operations.py test/test_security_review.py"}
echo "== ASan+UBSan: black-box tests (pytest, SQLite): $SANITIZE_PYTEST"
# shellcheck disable=SC2086
KEYPAIRD_BIN="$PWD/$BUILD_DIR/keypaird" KEYPAIRD_TEST_BACKEND=sqlite /usr/bin/python3 -m pytest \
  -q -p no:cacheprovider --junitxml="$work/pytest.xml" $SANITIZE_PYTEST || failed=1

# Reports from any process (a leak at a server's exit aborts only that server).
nreports=0
for f in "$reports"/*; do
  [ -e "$f" ] || continue
  nreports=$((nreports + 1))
  echo "---- sanitizer report $(basename "$f")"
  head -60 "$f"
done
[ "$nreports" -eq 0 ] || failed=1

read -r c_failed c_total < <(sed -n 's/.*tests passed, \([0-9]*\) tests\{0,1\} failed out of \([0-9]*\).*/\1 \2/p' "$work/ctest.log")
p_counts=$(/usr/bin/python3 - "$work/pytest.xml" <<'PY' 2>/dev/null || echo "0 0"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
s = root if root.tag == "testsuite" else root.find("testsuite")
total, bad = int(s.get("tests")), int(s.get("failures")) + int(s.get("errors"))
print(total - bad - int(s.get("skipped")), bad)
PY
)
read -r p_passed p_failed <<<"$p_counts"
c_failed=${c_failed:-1}; c_total=${c_total:-0}
passed=$((c_total - c_failed + p_passed)); nfailed=$((c_failed + p_failed + nreports))
if [ "$failed" -ne 0 ] && [ "$nfailed" -eq 0 ]; then nfailed=1; fi
echo "sanitize: total $(( $(date +%s) - start ))s, $nreports sanitizer report(s)"
echo "sanitize: $passed passed, $nfailed failed"
[ "$failed" -eq 0 ]
