#!/usr/bin/env bash
# Sets up and builds keypaird, then runs every test: the GoogleTest unit and OpenSSH
# cross-check tests (ctest) and the black-box tests against the running binary (pytest;
# they start their own server, Prism proxy and sshd on free loopback ports and stop them).
# Ends with one line "N passed, N failed" over both runners.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh || exit 1

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
failed=0

echo "== unit and cross-check tests (ctest)"
ctest --test-dir build --output-on-failure -j2 >"$logs/ctest.log" 2>&1 || failed=1
grep -v "Passed\|^ *Start " "$logs/ctest.log"

echo "== black-box tests (pytest)"
KEYPAIRD_BIN="$PWD/build/keypaird" /usr/bin/python3 -m pytest -q -p no:cacheprovider \
  --junitxml="$logs/pytest.xml" test/ || failed=1

# Totals: ctest's "x% tests passed, F tests failed out of T" and pytest's junit counts.
read -r c_failed c_total < <(sed -n 's/.*tests passed, \([0-9]*\) tests\{0,1\} failed out of \([0-9]*\).*/\1 \2/p' "$logs/ctest.log")
p_counts=$(/usr/bin/python3 - "$logs/pytest.xml" <<'PY' 2>/dev/null || echo "0 0"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
s = root if root.tag == "testsuite" else root.find("testsuite")
total, bad = int(s.get("tests")), int(s.get("failures")) + int(s.get("errors"))
print(total - bad - int(s.get("skipped")), bad)
PY
)
read -r p_passed p_failed <<<"$p_counts"
c_failed=${c_failed:-1}; c_total=${c_total:-0}
passed=$((c_total - c_failed + p_passed)); nfailed=$((c_failed + p_failed))
if [ "$failed" -ne 0 ] && [ "$nfailed" -eq 0 ]; then nfailed=1; fi
echo "$passed passed, $nfailed failed"
[ "$failed" -eq 0 ]
