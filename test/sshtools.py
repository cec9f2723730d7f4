"""Real OpenSSH helpers for the black-box tests: make keys with ssh-keygen and ask it
for fingerprints and public halves; start a throwaway sshd and log in to it with ssh."""

import base64
import os
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path

from conftest import stop_process


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


def ssh_login(key, port, user="root", timeout=60):
    """`ssh` as `user` to 127.0.0.1:`port` with only the identity `key`, running
    `echo keypaird-login-ok`; the CompletedProcess (see logged_in)."""
    return subprocess.run(
        ["ssh", "-F", "/dev/null", "-i", str(key), "-p", str(port),
         "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
         "-o", "UserKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes",
         "-o", "IdentityAgent=none", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
         f"{user}@127.0.0.1", "echo", "keypaird-login-ok"],
        capture_output=True, text=True, timeout=timeout)


def logged_in(result):
    return result.returncode == 0 and result.stdout.strip() == "keypaird-login-ok"


class Sshd:
    """A throwaway sshd on a free loopback port, as the C++ tests' harness starts it
    (src/testing/openssh_harness.h): `extra_config` lines come first, so they win (sshd takes
    the first value of a keyword). Needs root (privilege separation, logins as root)."""

    def __init__(self, workdir, extra_config="", authorized_keys="none"):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # privilege separation's chroot
        host_key = self.dir / "host_key"
        if not host_key.exists():
            run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.config = self.dir / "sshd_config"
        self.config.write_text(
            extra_config
            + f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {host_key}\n"
            + f"PidFile {self.dir / 'sshd.pid'}\nAuthorizedKeysFile {authorized_keys}\n"
            + "UsePAM no\nStrictModes no\nPasswordAuthentication no\n"
            + "KbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
            + "PermitRootLogin prohibit-password\nLogLevel VERBOSE\n")
        os.chmod(self.config, 0o600)
        run("/usr/sbin/sshd", "-t", "-f", str(self.config))
        self.log_path = self.dir / "sshd.log"
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(self.config)],
                                     stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited early:\n{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"sshd did not start:\n{self.log()}")
                time.sleep(0.05)

    def log(self):
        return self.log_path.read_text(errors="replace")

    def login(self, key, user="root"):
        return ssh_login(key, self.port, user)

    def stop(self):
        stop_process(self.proc)
        self._log.close()
