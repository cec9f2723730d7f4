"""The agent commands end to end (docs/ssh-access.md: authorized_keys for sshd and the KRL
of the SSH certificate authority): a real keypaird, a real sshd whose AuthorizedKeysCommand is
`keypaird authorized-keys --label-selector login=%u`, logins with ssh; and `keypaird krl`
writing a list that `ssh-keygen -Q` reads.

sshd runs its AuthorizedKeysCommand only from a path whose every directory is root's and
writable by nobody else, as the AuthorizedKeysCommandUser (nobody here): the binary is copied
into a fresh root-owned 0755 directory under /run, with the fleet's token file (nobody's, 0600)
and the cache directory (nobody's, 0700). Needs root, as the sshd tests of the C++ suite do."""

import http.client
import json
import os
import pwd
import re
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import BIN, Server, new_project, unique_name
from sshtools import KeyDir, Sshd, logged_in, run

NOBODY = pwd.getpwnam("nobody")


@pytest.fixture(scope="module")
def agent_bin():
    """The keypaird binary where sshd will run it: a root-owned 0755 directory whose every
    parent is root's and not writable by others (/run)."""
    assert os.geteuid() == 0, "these tests start sshd and log in as root: run them as root"
    d = Path(tempfile.mkdtemp(prefix="keypaird-akc-", dir="/run"))
    os.chmod(d, 0o755)
    shutil.copy2(BIN, d / "keypaird")
    os.chmod(d / "keypaird", 0o755)
    yield d / "keypaird"
    shutil.rmtree(d)


@pytest.fixture(scope="module")
def keydir():
    k = KeyDir()
    yield k
    k.close()


class Fleet:
    """One SSH server of a fleet: a keypaird (its own database), a read-only fleet token in a
    file sshd's command user owns, and an sshd asking `keypaird authorized-keys` which keys
    may log in as %u."""

    def __init__(self, tmp_path, agent_bin, max_stale="3s", timeout="1s"):
        self.project = new_project()
        (tmp_path / "keypaird").mkdir()
        self.server = Server(tmp_path / "keypaird").start()
        self.owner = self.server.token(1, [self.project])
        self.fleet_token = self.server.token(900, [self.project], read_only=True)
        self.dir = Path(tempfile.mkdtemp(prefix="fleet-", dir=agent_bin.parent))
        os.chmod(self.dir, 0o755)
        self.token_file = self.dir / "fleet.token"
        self.token_file.write_text(self.fleet_token + "\n")
        os.chmod(self.token_file, 0o600)
        os.chown(self.token_file, NOBODY.pw_uid, NOBODY.pw_gid)
        self.cache_dir = self.dir / "cache"
        self.cache_dir.mkdir(mode=0o700)
        os.chown(self.cache_dir, NOBODY.pw_uid, NOBODY.pw_gid)
        command = (f"{agent_bin} authorized-keys --url http://127.0.0.1:{self.server.port} "
                   f"--token-file {self.token_file} --project {self.project} "
                   f"--label-selector login=%u --cache-file {self.cache_dir}/%u.keys "
                   f"--max-stale {max_stale} --timeout {timeout}")
        self.sshd = Sshd(tmp_path / "sshd",
                         f"AuthorizedKeysCommand {command}\nAuthorizedKeysCommandUser nobody\n")

    def add_key(self, pub_path, labels):
        r = self.server.request("POST", f"/api/v1/projects/{self.project}/keys",
                                {"name": unique_name("agent"),
                                 "public_key": Path(pub_path).read_text().strip(),
                                 "labels": labels}, self.owner)
        assert r.status == 201, r
        return r.json()["id"]

    def patch(self, key_id, body):
        r = self.server.request("PATCH", f"/api/v1/projects/{self.project}/keys/{key_id}", body,
                                self.owner)
        assert r.status == 200, r

    def delete(self, key_id):
        r = self.server.request("DELETE", f"/api/v1/projects/{self.project}/keys/{key_id}",
                                token=self.owner)
        assert r.status == 204, r

    def login(self, key):
        r = self.sshd.login(key)
        return logged_in(r)

    def cache_file(self, login="root"):
        return self.cache_dir / f"{login}.keys"

    def explain(self):
        return f"sshd log:\n{self.sshd.log()[-3000:]}"

    def close(self):
        self.sshd.stop()
        self.server.stop(signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def fleet(tmp_path, agent_bin):
    f = Fleet(tmp_path, agent_bin)
    yield f
    f.close()


def test_a_key_labelled_for_the_login_logs_in_and_no_other(fleet, keydir):
    mine = keydir.keygen("ed25519")
    someone_elses = keydir.keygen("ed25519")
    unlabelled = keydir.keygen("ecdsa")
    fleet.add_key(f"{mine}.pub", {"login": "root", "team": "ops"})
    fleet.add_key(f"{someone_elses}.pub", {"login": "deploy"})
    fleet.add_key(f"{unlabelled}.pub", {})
    assert fleet.login(mine), fleet.explain()
    assert not fleet.login(someone_elses)
    assert not fleet.login(unlabelled)
    # The cache holds what was printed: the login's keys only, and is the command user's.
    cache = fleet.cache_file()
    st = cache.stat()
    assert (st.st_uid, st.st_mode & 0o777) == (NOBODY.pw_uid, 0o600)
    text = cache.read_text()
    assert Path(f"{mine}.pub").read_text().split()[1] in text
    assert Path(f"{someone_elses}.pub").read_text().split()[1] not in text


def test_a_disabled_or_deleted_key_no_longer_logs_in(fleet, keydir):
    key = keydir.keygen("ed25519")
    key_id = fleet.add_key(f"{key}.pub", {"login": "root"})
    assert fleet.login(key), fleet.explain()
    fleet.patch(key_id, {"disabled": True})
    assert not fleet.login(key)  # at once: the agent asks on every login
    fleet.patch(key_id, {"disabled": False})
    assert fleet.login(key), fleet.explain()
    fleet.delete(key_id)
    assert not fleet.login(key)


def test_a_disabled_persons_keys_no_longer_log_in(fleet, keydir):
    key = keydir.keygen("ed25519")
    fleet.add_key(f"{key}.pub", {"login": "root"})  # user 1's
    assert fleet.login(key), fleet.explain()
    admin = fleet.server.token(902, admin=True)
    fleet.server.set_user_disabled(1, True, admin)
    assert not fleet.login(key)  # at once, the key itself untouched
    fleet.server.set_user_disabled(1, False, admin)
    assert fleet.login(key), fleet.explain()


def test_with_keypaird_stopped_the_cached_answer_lets_the_key_in_until_max_stale(fleet, keydir):
    key = keydir.keygen("ed25519")
    fleet.add_key(f"{key}.pub", {"login": "root"})
    assert fleet.login(key), fleet.explain()
    confirmed = fleet.cache_file().stat().st_mtime  # when the service last said yes
    fleet.server.stop(signal.SIGKILL)  # gone at once: nothing listens on its port
    assert fleet.login(key), fleet.explain()  # keypaird is down: the copy is < 3 s old
    assert time.time() - confirmed < 3, "the cached login came too late to prove anything"
    assert fleet.cache_file().stat().st_mtime == confirmed  # an outage confirms nothing
    time.sleep(max(0.0, confirmed + 3.5 - time.time()))
    assert not fleet.login(key)  # --max-stale 3s has passed
    assert "more than --max-stale 3s; no keys printed" in fleet.sshd.log()


def test_a_keypaird_that_accepts_and_never_answers_counts_as_down(tmp_path, agent_bin, keydir):
    f = Fleet(tmp_path, agent_bin, max_stale="30s", timeout="500ms")
    try:
        key = keydir.keygen("ed25519")
        f.add_key(f"{key}.pub", {"login": "root"})
        assert f.login(key), f.explain()
        f.server.proc.send_signal(signal.SIGSTOP)  # the port still accepts; nothing answers
        try:
            started = time.monotonic()
            assert f.login(key), f.explain()
            assert time.monotonic() - started >= 0.5  # it did wait for the timeout
            assert "within 500ms; printing the cached copy" in f.sshd.log()
        finally:
            f.server.proc.send_signal(signal.SIGCONT)
    finally:
        f.close()


def test_a_revoked_token_denies_at_once_whatever_the_cache(fleet, keydir):
    key = keydir.keygen("ed25519")
    fleet.add_key(f"{key}.pub", {"login": "root"})
    assert fleet.login(key), fleet.explain()
    cached = fleet.cache_file().read_bytes()
    fleet.server.cli("token", "revoke", fleet.fleet_token)
    assert not fleet.login(key)  # the cache is seconds old, but a 401 is a no
    assert "answered 401" in fleet.sshd.log()
    assert fleet.cache_file().read_bytes() == cached  # left as it was


def test_a_token_file_others_can_read_denies(fleet, keydir):
    key = keydir.keygen("ed25519")
    fleet.add_key(f"{key}.pub", {"login": "root"})
    os.chmod(fleet.token_file, 0o640)
    assert not fleet.login(key)
    assert f"the token file {fleet.token_file} has mode 0640" in fleet.sshd.log()
    os.chmod(fleet.token_file, 0o600)
    assert fleet.login(key), fleet.explain()


def test_the_agent_prints_the_usable_keys_oldest_first(fleet, keydir):
    """What sshd reads, byte for byte: one normalised line per usable key."""
    first, second, disabled = (keydir.keygen("ed25519", comment="c1"),
                               keydir.keygen("ed25519", comment="c2"),
                               keydir.keygen("ed25519", comment="c3"))
    several = keydir.keygen("ed25519", comment="c4")
    fleet.add_key(f"{first}.pub", {"login": "root"})
    fleet.add_key(f"{second}.pub", {"login": "root"})
    fleet.patch(fleet.add_key(f"{disabled}.pub", {"login": "root"}), {"disabled": True})
    fleet.add_key(f"{several}.pub", {"login/root": "", "login/deploy": ""})
    token = fleet.dir / "root.token"
    token.write_text(fleet.fleet_token)
    os.chmod(token, 0o600)

    def agent(selector):
        r = subprocess.run([BIN, "authorized-keys", "--url",
                            f"http://localhost:{fleet.server.port}", "--token-file", str(token),
                            "--project", str(fleet.project), "--label-selector", selector],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0 and r.stderr == "", r.stderr
        return r.stdout

    assert agent("login=root") == "".join(Path(f"{k}.pub").read_text() for k in (first, second))
    # The convention for a key with several logins (docs/ssh-access.md): login/<user>.
    assert agent("login/deploy") == Path(f"{several}.pub").read_text()


def test_the_agent_verifies_keypaird_over_tls(tmp_path, keydir):
    """https:// with --ca-file against keypaird serving TLS; without the anchor, nothing."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=keypaird",
        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1")
    (tmp_path / "keypaird").mkdir()
    server = Server(tmp_path / "keypaird").start("--tls-cert", str(cert), "--tls-key", str(key))
    try:
        project = new_project()
        owner = server.token(1, [project])
        pub = keydir.keygen("ed25519")
        conn = http.client.HTTPSConnection(
            "127.0.0.1", server.port, timeout=30,
            context=ssl.create_default_context(cafile=str(cert)))
        conn.request("POST", f"/api/v1/projects/{project}/keys",
                     body=json.dumps({"name": unique_name("tls"),
                                      "public_key": Path(f"{pub}.pub").read_text().strip(),
                                      "labels": {"login": "root"}}),
                     headers={"Authorization": f"APIKey {owner}",
                              "Content-Type": "application/json"})
        assert conn.getresponse().status == 201
        conn.close()
        token = tmp_path / "fleet.token"
        token.write_text(server.token(900, [project], read_only=True))
        os.chmod(token, 0o600)
        args = [BIN, "authorized-keys", "--url", f"https://localhost:{server.port}",
                "--token-file", str(token), "--project", str(project),
                "--label-selector", "login=root"]
        r = subprocess.run(args + ["--ca-file", str(cert)], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 0, r.stderr
        assert r.stdout == Path(f"{pub}.pub").read_text()
        r = subprocess.run(args, capture_output=True, text=True, timeout=30)
        assert r.returncode == 1 and r.stdout == ""
        assert "is not trusted: self-signed certificate" in r.stderr, r.stderr
    finally:
        server.stop(signal.SIGKILL)


# ---- keypaird krl

def test_krl_writes_a_list_that_ssh_keygen_reads_and_keeps_it_on_failure(tmp_path, keydir):
    kek = tmp_path / "kek"
    run(BIN, "ca", "new-kek", str(kek))
    (tmp_path / "keypaird").mkdir()
    server = Server(tmp_path / "keypaird").start("--ca-kek-file", str(kek))
    try:
        project = new_project()
        owner = server.token(1, [project], principals=["deploy"])
        token_file = tmp_path / "fleet.token"
        token_file.write_text(server.token(900, [project], read_only=True) + "\n")
        os.chmod(token_file, 0o600)
        out = tmp_path / "revoked.krl"

        def krl(port=server.port, token=token_file):
            return subprocess.run([BIN, "krl", "--url", f"http://127.0.0.1:{port}",
                                   "--token-file", str(token), "--project", str(project),
                                   "--out", str(out)], capture_output=True, text=True, timeout=30)

        def add_and_certify(key):
            r = server.request("POST", f"/api/v1/projects/{project}/keys",
                               {"name": unique_name("krl"),
                                "public_key": Path(f"{key}.pub").read_text().strip()}, owner)
            assert r.status == 201, r
            key_id = r.json()["id"]
            c = server.request("POST", f"/api/v1/projects/{project}/keys/{key_id}/certificates",
                               {"principals": ["deploy"], "valid_for": 3600}, owner)
            assert c.status == 201, c
            cert = Path(f"{key}-cert.pub")
            cert.write_text(c.json()["certificate"] + "\n")
            return key_id, c.json()["serial"], cert

        revoked_cert_key, kept_key, deleted_key = (keydir.keygen("ed25519") for _ in range(3))
        _, serial, revoked_cert = add_and_certify(revoked_cert_key)
        _, _, kept_cert = add_and_certify(kept_key)
        deleted_id, _, deleted_cert = add_and_certify(deleted_key)
        r = server.request("POST", f"/api/v1/projects/{project}/certificates/{serial}/revoke",
                           token=owner)
        assert r.status == 204, r
        r = server.request("DELETE", f"/api/v1/projects/{project}/keys/{deleted_id}", token=owner)
        assert r.status == 204, r

        r = krl()
        assert r.returncode == 0, r.stderr
        assert oct(out.stat().st_mode & 0o777) == oct(0o644)
        # Again, unchanged: asked with the file's ETag, answered 304 — nothing sent, written
        # or said.
        def not_modified():
            text = server.request("GET", "/metrics").body.decode()
            m = re.search(r'^keypaird_http_requests_total\{route="/api/v1/projects/\{project_id\}'
                          r'/ssh_ca/krl",method="GET",status="304"\} (\d+)$', text, re.M)
            return int(m.group(1)) if m else 0
        inode, seen = out.stat().st_ino, not_modified()
        r = krl()
        assert r.returncode == 0 and r.stderr == "", r.stderr
        assert out.stat().st_ino == inode
        assert not_modified() == seen + 1

        def query(path):
            q = subprocess.run(["ssh-keygen", "-Q", "-f", str(out), str(path)],
                               capture_output=True, text=True, timeout=30)
            return q.returncode, q.stdout

        code, text = query(revoked_cert)
        assert code != 0 and "REVOKED" in text, text
        code, text = query(deleted_cert)  # a deleted key's certificates, by serial
        assert code != 0 and "REVOKED" in text, text
        code, text = query(f"{deleted_key}.pub")  # never the bare key (anyone may import it)
        assert code == 0 and "ok" in text, text
        code, text = query(kept_cert)
        assert code == 0 and "ok" in text, text

        # On any failure the list in place stays, byte for byte: a token of another project
        # (403), keypaird stopped.
        before = out.read_bytes()
        other = tmp_path / "other.token"
        other.write_text(server.token(901, [new_project()], read_only=True) + "\n")
        os.chmod(other, 0o600)
        r = krl(token=other)
        assert r.returncode == 1 and "answered 403" in r.stderr, r.stderr
        port = server.port
        server.stop()
        r = krl(port=port)
        assert r.returncode == 1 and "is left as it is" in r.stderr, r.stderr
        assert out.read_bytes() == before
    finally:
        server.stop(signal.SIGKILL)
