"""Real OpenSSH helpers for the black-box tests: make keys with ssh-keygen and ask it
for fingerprints and public halves."""

import base64
import os
import struct
import subprocess
import tempfile
from pathlib import Path


def run(*args, input=None):
    r = subprocess.run(args, capture_output=True, text=True, input=input, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {r.stderr}")
    return r.stdout


class KeyDir:
    """A temporary directory of ssh-keygen made keys."""

    def __init__(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="keypaird-keys-")
        self.path = Path(self._tmp.name)
        self._n = 0

    def keygen(self, ktype, bits=None, comment="tester@example"):
        self._n += 1
        f = self.path / f"k{self._n}"
        args = ["ssh-keygen", "-q", "-t", ktype, "-N", "", "-C", comment, "-f", str(f)]
        if bits:
            args += ["-b", str(bits)]
        run(*args)
        return f

    def write(self, text, mode=0o600):
        self._n += 1
        f = self.path / f"f{self._n}"
        f.write_text(text)
        os.chmod(f, mode)
        return f

    def close(self):
        self._tmp.cleanup()


def md5_fingerprint(pub_path):
    out = run("ssh-keygen", "-l", "-E", "md5", "-f", str(pub_path))
    # "256 MD5:aa:bb:... comment (ED25519)"
    return out.split()[1].removeprefix("MD5:")


def public_from_private(priv_path):
    """`ssh-keygen -y -f`: type and base64 of the public half."""
    return " ".join(run("ssh-keygen", "-y", "-f", str(priv_path)).split()[:2])


def ssh_string(b):
    return struct.pack(">I", len(b)) + b


def sk_ed25519_line(ed25519_pub_line, application=b"ssh:", comment="sk-user@host"):
    """An sk-ssh-ed25519@openssh.com public key built around a real ed25519 point
    (ssh-keygen cannot make sk keys without a hardware authenticator)."""
    blob = base64.b64decode(ed25519_pub_line.split()[1])
    # blob = string "ssh-ed25519" || string pk
    pk = blob[4 + 11 + 4:]
    sk_blob = ssh_string(b"sk-ssh-ed25519@openssh.com") + ssh_string(pk) + ssh_string(application)
    return f"sk-ssh-ed25519@openssh.com {base64.b64encode(sk_blob).decode()} {comment}"


def sk_ecdsa_line(ecdsa256_pub_line, application=b"ssh:", comment="sk-user@host"):
    blob = base64.b64decode(ecdsa256_pub_line.split()[1])
    # blob = string "ecdsa-sha2-nistp256" || string "nistp256" || string point
    off = 4 + 19 + 4 + 8
    point = blob[off + 4:]
    sk_blob = (ssh_string(b"sk-ecdsa-sha2-nistp256@openssh.com") + ssh_string(b"nistp256")
               + ssh_string(point) + ssh_string(application))
    return f"sk-ecdsa-sha2-nistp256@openssh.com {base64.b64encode(sk_blob).decode()} {comment}"
