#!/usr/bin/env bash
# Regenerates the seeds of fuzz/corpus/fuzz_private_key/ with ssh-keygen: OpenSSH private
# key files of each type, plain and encrypted (passphrase "fuzz passphrase", the target's,
# and 1 bcrypt round so that the fuzzer can afford to decrypt them), the binaries inside
# their armour (the target also reads its input as that), and a few round-trip parameter
# inputs. The keys are throwaway keys made for the fuzzer and used nowhere else.
# The seeds are committed; rerunning changes them (new random keys), which is harmless.
set -euo pipefail
cd "$(dirname "$0")"
out=corpus/fuzz_private_key
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

gen() {  # gen NAME PASSPHRASE ssh-keygen-args...
  local name=$1 pass=$2; shift 2
  ssh-keygen -q -N "$pass" -a 1 -C "$name@fuzz-seed" -f "$tmp/$name" "$@" </dev/null >/dev/null
  cat "$tmp/$name" >"$out/openssh-$name.txt"
  sed '1d;$d' "$tmp/$name" | tr -d '\n' | base64 -d >"$out/binary-$name.bin"
}
gen ed25519 '' -t ed25519
gen ecdsa256 '' -t ecdsa -b 256
gen ecdsa384 '' -t ecdsa -b 384
gen ecdsa521 '' -t ecdsa -b 521
gen rsa2048 '' -t rsa -b 2048
gen ed25519-encrypted 'fuzz passphrase' -t ed25519
gen ecdsa256-encrypted 'fuzz passphrase' -t ecdsa -b 256

# Round trips: key index, flags (bit 0: encrypt), comment, NUL, passphrase.
printf '\000\000alice@laptop' >"$out/roundtrip-ed25519-plain.bin"
printf '\001\001comment\000passphrase' >"$out/roundtrip-ecdsa256-encrypted.bin"
printf '\004\001\000p' >"$out/roundtrip-rsa2048-encrypted-no-comment.bin"
