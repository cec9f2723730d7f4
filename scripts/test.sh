#!/usr/bin/env bash
# Sets up and builds keypaird, then runs every test: the GoogleTest unit and OpenSSH
# cross-check tests (ctest) and the black-box tests against the running binary (pytest;
# they start their own server, Prism proxy and sshd on free loopback ports and stop them).
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh || exit 1

failed=0
echo "== unit and cross-check tests (ctest)"
ctest --test-dir build --output-on-failure -j2 || failed=1

echo "== black-box tests (pytest)"
KEYPAIRD_BIN="$PWD/build/keypaird" /usr/bin/python3 -m pytest -q -p no:cacheprovider test/ || failed=1

if [ "$failed" -ne 0 ]; then
  echo "test.sh: FAILED"
  exit 1
fi
echo "test.sh: all tests passed"
