#!/usr/bin/env bash
# Regenerates the seeds of fuzz/corpus/fuzz_cert_krl/ with ssh-keygen: user certificates
# (raw blobs) of every key type keypaird accepts, signed by an Ed25519 CA with and without
# options, one signed by an ECDSA CA (which the reader refuses), and KRLs made of the
# sections keypaird's reader reads (serial lists, ranges and bitmaps, SHA-256 hashes) plus
# one with a bitmap over the 2048 bytes OpenSSH reads (refused; ssh-keygen 9.2 writes it
# all the same). krl-mixed.bin (a list, a range and bitmaps, one with a leading zero byte,
# as EncodeKrl writes them) was made by hand and is kept. The target also reads each seed
# as certificate and KRL fields (FuzzedDataProvider), so any bytes make useful seeds. Public material only; the CA
# private keys live in a temporary directory. Rerunning changes the seeds (new keys).
set -euo pipefail
cd "$(dirname "$0")"
out=corpus/fuzz_cert_krl
keys=corpus/fuzz_public_key
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ssh-keygen -q -t ed25519 -N '' -C ca -f "$tmp/ca" </dev/null >/dev/null
ssh-keygen -q -t ecdsa -b 256 -N '' -C ecdsa-ca -f "$tmp/ecdsa-ca" </dev/null >/dev/null

cert() {  # cert NAME CA KEY.pub ssh-keygen-args...
  local name=$1 ca=$2 pub=$3; shift 3
  cp "$pub" "$tmp/$name.pub"
  ssh-keygen -q -s "$ca" "$@" "$tmp/$name.pub" </dev/null >/dev/null
  awk '{print $2}' "$tmp/$name-cert.pub" | base64 -d >"$out/cert-$name.bin"
}
for t in ed25519 ecdsa256 ecdsa384 ecdsa521 rsa2048 sk-ed25519 sk-ecdsa256; do
  cert "$t" "$tmp/ca" "$keys/openssh-$t.pub" -I "seed $t" -n root,alice -z 42
done
cert ed25519-options "$tmp/ca" "$keys/openssh-ed25519.pub" -I options -n root -z 7 \
  -V 0x65539a00:0x6553a810 -O clear -O permit-pty -O force-command=true \
  -O source-address=127.0.0.1/32,::1
cert ed25519-no-principals "$tmp/ca" "$keys/openssh-ed25519.pub" -I anyone -O clear
cert rsa4096 "$tmp/ca" "$keys/openssh-rsa4096.pub" -I big -n root -z 18446744073709551615
cert reject-ecdsa-ca "$tmp/ecdsa-ca" "$keys/openssh-ed25519.pub" -I ecdsa-ca -n root

krl() {  # krl NAME SPEC-LINES
  printf '%s\n' "$2" >"$tmp/$1.spec"
  ssh-keygen -q -k -z 3 -s "$tmp/ca.pub" -f "$out/krl-$1.bin" "$tmp/$1.spec" </dev/null >/dev/null 2>&1
}
hash1=$(ssh-keygen -l -E sha256 -f "$keys/openssh-ed25519.pub" | awk '{print $2}')
hash2=$(ssh-keygen -l -E sha256 -f "$keys/openssh-rsa2048.pub" | awk '{print $2}')
krl list "$(printf 'serial: 1\nserial: 1000000\nserial: 99999999999')"
krl range "serial: 100-200"
krl both "$(printf 'serial: 7\nserial: 5000000\nserial: 100000000-100000100\nhash: %s\nhash: %s' "$hash1" "$hash2")"
krl hashes "$(printf 'hash: %s\nhash: %s' "$hash1" "$hash2")"
krl bitmap "$(printf 'serial: 1\nserial: 3\nserial: 5\nserial: 9')"
krl bitmap-dense "$(seq 1 2 2000 | sed 's/^/serial: /'; printf 'serial: 5000-5100\nserial: 70000')"
krl reject-big-bitmap "$(seq 1 2 20000 | sed 's/^/serial: /')"
ssh-keygen -q -k -z 1 -f "$out/krl-empty.bin" /dev/null </dev/null >/dev/null 2>&1
ls "$out"
