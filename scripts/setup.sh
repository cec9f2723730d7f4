#!/usr/bin/env bash
# Installs what keypaird needs to build and test (Debian packages, npm tools pinned by
# tools/package-lock.json), then builds it into build/. Idempotent: installs only what is
# missing, so a second run is quick. Run as root on Debian bookworm (or with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

# Build and run-time dependencies, then what the test suite uses (OpenSSH to prove keys,
# pytest for the black-box tests, Node.js for the Prism validation proxy).
PACKAGES=(
  build-essential cmake pkg-config
  libssl-dev libsqlite3-dev libargon2-dev  # libargon2: PPK 3 key derivation
  librestinio-dev libasio-dev libfmt-dev libhttp-parser-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev clang-tidy
  openssh-client openssh-server putty-tools  # prove generated keys (ssh-keygen, sshd, puttygen)
  python3 python3-pytest sqlite3 curl ca-certificates
  chromium chromium-driver python3-selenium  # the console's browser tests (test/test_console.py)
  postgresql-15 libpq-dev  # PostgreSQL backend (libpq) and its test cluster (scripts/postgres.sh)
  wrk nginx  # load harness (scripts/bench.sh) and its smoke test
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ! command -v node >/dev/null 2>&1; then missing+=(nodejs); fi
if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Test tools from npm, exactly as locked.
if [ ! -x tools/node_modules/.bin/prism ] || [ tools/package-lock.json -nt tools/node_modules/.package-lock.json ]; then
  echo "setup: installing npm tools (tools/package-lock.json)" >&2
  (cd tools && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo ${CMAKE_ARGS:-} >/dev/null
cmake --build "$BUILD_DIR" -j2
