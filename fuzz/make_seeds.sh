#!/usr/bin/env bash
# Regenerates the key seeds of fuzz/corpus/fuzz_public_key/ with ssh-keygen and openssl:
# every accepted key type in every input form (OpenSSH line, RFC 4716, PEM SPKI), the raw
# blobs and DER (the target also reads its input as those), and the rejected kinds of
# the API (DSA, certificates, small RSA, options, several keys, private-key headers...).
# Only public keys are written; private keys live in a temporary directory.
# The seeds are committed; rerunning changes them (new random keys), which is harmless.
set -euo pipefail
cd "$(dirname "$0")"
out=corpus/fuzz_public_key
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

gen() {  # gen NAME ssh-keygen-args...
  local name=$1; shift
  ssh-keygen -q -N '' -C "$name@fuzz-seed" -f "$tmp/$name" "$@" </dev/null >/dev/null
  cp "$tmp/$name.pub" "$out/openssh-$name.pub"
  ssh-keygen -e -m RFC4716 -f "$tmp/$name.pub" >"$out/rfc4716-$name.txt"
  awk 'NF>=2{print $2}' "$tmp/$name.pub" | base64 -d >"$out/blob-$name.bin"
}
gen ed25519 -t ed25519
gen ecdsa256 -t ecdsa -b 256
gen ecdsa384 -t ecdsa -b 384
gen ecdsa521 -t ecdsa -b 521
gen rsa2048 -t rsa -b 2048
gen rsa3072 -t rsa -b 3072
gen rsa4096 -t rsa -b 4096

# PEM SubjectPublicKeyInfo (and its DER): ssh-keygen for RSA/ECDSA, openssl for Ed25519.
for name in ecdsa256 ecdsa384 ecdsa521 rsa2048 rsa4096; do
  ssh-keygen -e -m PKCS8 -f "$tmp/$name.pub" >"$out/pem-$name.pem"
done
openssl genpkey -algorithm ed25519 -out "$tmp/ossl-ed25519.key" 2>/dev/null
openssl pkey -in "$tmp/ossl-ed25519.key" -pubout -out "$out/pem-ed25519.pem"
for f in "$out"/pem-*.pem; do
  openssl pkey -pubin -in "$f" -outform DER -out "${f%.pem}.der"
done
# Rejected PEM algorithms: X25519, Ed448, secp256k1.
openssl genpkey -algorithm x25519 2>/dev/null | openssl pkey -pubout >"$out/reject-pem-x25519.pem"
openssl genpkey -algorithm ed448 2>/dev/null | openssl pkey -pubout >"$out/reject-pem-ed448.pem"
openssl ecparam -name secp256k1 -genkey -noout 2>/dev/null | openssl pkey -pubout >"$out/reject-pem-secp256k1.pem"

# Security-key types (no hardware here): build the blobs from the keys above.
python3 - "$tmp" "$out" <<'PY'
import base64, struct, sys, textwrap
tmp, out = sys.argv[1], sys.argv[2]
def s(b): return struct.pack(">I", len(b)) + b
def fields(blob):
    r = []
    while blob:
        n = struct.unpack(">I", blob[:4])[0]; r.append(blob[4:4+n]); blob = blob[4+n:]
    return r
def pub(name): return base64.b64decode(open(f"{tmp}/{name}.pub").read().split()[1])
ed = fields(pub("ed25519"))[1]
ec = fields(pub("ecdsa256"))[2]
keys = {
  "sk-ed25519": s(b"sk-ssh-ed25519@openssh.com") + s(ed) + s(b"ssh:"),
  "sk-ecdsa256": s(b"sk-ecdsa-sha2-nistp256@openssh.com") + s(b"nistp256") + s(ec) + s(b"ssh:"),
}
for name, blob in keys.items():
    t = fields(blob)[0].decode(); b64 = base64.b64encode(blob).decode()
    open(f"{out}/openssh-{name}.pub", "w").write(f"{t} {b64} {name}@fuzz-seed\n")
    open(f"{out}/blob-{name}.bin", "wb").write(blob)
    open(f"{out}/rfc4716-{name}.txt", "w").write(
        "---- BEGIN SSH2 PUBLIC KEY ----\nComment: \"%s@fuzz-seed\"\n%s\n---- END SSH2 PUBLIC KEY ----\n"
        % (name, "\n".join(textwrap.wrap(b64, 70))))
PY

# Shapes around the accepted ones.
ed=$(cat "$out/openssh-ed25519.pub")
rsa=$(cat "$out/openssh-rsa2048.pub")
printf '  %s\r\n' "$ed" >"$out/openssh-ed25519-padded.pub"
awk '{printf "%s   %s\t\tcomment with  spaces\n", $1, $2}' "$out/openssh-ed25519.pub" >"$out/openssh-ed25519-blanks.pub"
awk '{print $1, $2}' "$out/openssh-rsa2048.pub" >"$out/openssh-rsa2048-nocomment.pub"
{ echo "---- BEGIN SSH2 PUBLIC KEY ----"; echo "Subject: fuzz"; echo "x-Header: a very long header \\"; echo "continued here"; sed -n '/^[A-Za-z0-9+\/=]*$/p' "$out/rfc4716-ecdsa384.txt"; echo "---- END SSH2 PUBLIC KEY ----"; } >"$out/rfc4716-headers.txt"

# Rejected kinds (each must fail with a message).
ssh-keygen -q -N '' -t rsa -b 1024 -f "$tmp/rsa1024" </dev/null >/dev/null
cp "$tmp/rsa1024.pub" "$out/reject-rsa1024.pub"
if ssh-keygen -q -N '' -t dsa -f "$tmp/dsa" </dev/null >/dev/null 2>&1; then
  cp "$tmp/dsa.pub" "$out/reject-dsa.pub"
fi
ssh-keygen -q -N '' -t ed25519 -f "$tmp/ca" </dev/null >/dev/null
ssh-keygen -q -s "$tmp/ca" -I fuzz -n fuzz "$tmp/ed25519.pub" >/dev/null 2>&1
cp "$tmp/ed25519-cert.pub" "$out/reject-cert-ed25519.pub"
awk '{print "no-pty,command=\"/bin/true\" " $0}' "$out/openssh-ed25519.pub" >"$out/reject-options.pub"
printf '%s\n%s\n' "$ed" "$rsa" >"$out/reject-two-keys.pub"
printf '%s\n' "$ed" | sed 's/fuzz-seed/fuzz\x01seed/' >"$out/reject-comment-control.pub"
awk '{print $1, substr($2, 1, length($2)-2) "A=", $3}' "$out/openssh-ed25519.pub" >"$out/reject-base64-bits.pub"
awk '{print "ssh-rsa", $2, $3}' "$out/openssh-ed25519.pub" >"$out/reject-type-mismatch.pub"
# The header line of a private key only (the target must reject it without echoing).
printf -- '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n' >"$out/reject-private-header.txt"
printf -- '-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n' >"$out/reject-private-rsa-header.txt"
ls "$out" | wc -l
