#!/usr/bin/env bash
# Installs what building and running need (not the test toolchain), builds only the keypaird
# binary into build/ and runs it on its embedded default (SQLite in ./data/), printing a token
# for the first user and two curl calls to try. Stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

# Release: no debug info, which costs a third of the compile time (the test command's
# RelWithDebInfo has it). Ninja compiles the libraries' files side by side where make would
# finish one library before starting the next. An existing build/ keeps its settings and
# generator: no rebuild for a switch.
BUILD_DIR=${BUILD_DIR:-build}
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$BUILD_DIR" -j"$(nproc)" --target keypaird

BIN=$BUILD_DIR/keypaird
LISTEN=${KEYPAIRD_LISTEN:-127.0.0.1:8080}
export KEYPAIRD_DATABASE=${KEYPAIRD_DATABASE:-sqlite:./data/keypaird.db}
"$BIN" migrate

if [ "$("$BIN" token list | wc -l)" -le 1 ]; then
  TOKEN=$("$BIN" token create --user 1 --projects 1)
  cat <<MSG

First token (user 1, project 1) — shown once, only its hash is stored:
  export TOKEN=$TOKEN
MSG
else
  cat <<MSG

Tokens exist already (keypaird token list). Make another with:
  export TOKEN=\$($BIN token create --user 1 --projects 1)
MSG
fi
cat <<MSG

Import a public key:
  curl -s -X POST http://$LISTEN/cloud/v1/keypairs/1/1 \\
    -H "Authorization: APIKey \$TOKEN" -H 'Content-Type: application/json' \\
    -d '{"sshkey_name":"my-key","public_key":"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIjxL6g1II8NsO8odvBwGKvq2Dx/h/xrvsV9b9LVIYKm me@host"}'
Generate a keypair (the private key is in this response only):
  curl -s -X POST http://$LISTEN/cloud/v1/keypairs/1/1 \\
    -H "Authorization: APIKey \$TOKEN" -H 'Content-Type: application/json' \\
    -d '{"sshkey_name":"generated-key"}'

MSG
exec "$BIN" serve --listen "$LISTEN"
