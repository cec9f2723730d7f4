#!/usr/bin/env bash
# Installs what keypaird needs from Debian (bookworm), only what is missing, so a second run
# is quick. Run as root (or with sudo). Builds nothing: scripts/serve.sh and scripts/test.sh do.
#
#   scripts/setup.sh          what building and running keypaird need (the run command)
#   scripts/setup.sh --test   that, and everything the test command uses: GoogleTest,
#                             clang-tidy, OpenSSH, pytest, PostgreSQL, nginx and wrk, the
#                             Debian packaging tools, and the npm tools of tools/package-lock.json
set -euo pipefail
cd "$(dirname "$0")/.."

test_set=0
case "${1:-}" in
  "") ;;
  --test) test_set=1 ;;
  *) echo "usage: $0 [--test]" >&2; exit 2 ;;
esac

# Building and running: a compiler, CMake and the libraries (their -dev packages pull in the
# run-time libraries).
PACKAGES=(
  g++ make cmake ninja-build pkg-config
  libssl-dev libsqlite3-dev libpq-dev libhttp-parser-dev nlohmann-json3-dev
  libargon2-dev  # PPK 3's key derivation (Argon2id)
  libcjose-dev  # OpenID Connect: JWK import and ID-token (JWS) verification
)
if [ "$test_set" -eq 1 ]; then
  PACKAGES+=(
    libgtest-dev libgmock-dev clang-tidy
    clang-14 libclang-rt-14-dev  # the sanitized build and the fuzzers (scripts/sanitized-build.sh)
    openssh-client openssh-server  # generated keys proven with ssh-keygen and a real login
    putty-tools openssl  # generated PPK and PKCS#8 keys read back by puttygen and openssl
    chromium chromium-driver python3-selenium  # the console's browser tests (test/test_console.py)
    python3 python3-pytest sqlite3 curl ca-certificates
    postgresql-15  # the throwaway test cluster (scripts/postgres.sh)
    wrk nginx  # load harness (scripts/bench.sh) and its smoke test
    build-essential debhelper lintian systemd  # scripts/package.sh and its test
  )
fi
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "$test_set" -eq 1 ]; then
  if ! command -v node >/dev/null 2>&1; then missing+=(nodejs); fi
  if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Test tools and linters from npm, exactly as locked: installed again when one is missing or
# the lockfile changed since.
npm_tools_missing() {
  local bin
  for bin in prism eslint prettier spectral; do
    [ -x "tools/node_modules/.bin/$bin" ] || return 0
  done
  [ tools/package-lock.json -nt tools/node_modules/.package-lock.json ]
}
if [ "$test_set" -eq 1 ] && npm_tools_missing; then
  echo "setup: installing npm tools (tools/package-lock.json)" >&2
  (cd tools && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
