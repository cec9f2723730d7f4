"""Hosts with real OpenSSH (docs/ssh-access.md "Hosts"), on both backends: an sshd configured
only from what `keypaird host enroll` wrote accepts a user certificate of the project and
presents its host certificate; `ssh -o StrictHostKeyChecking=yes` with a known_hosts holding
only the `@cert-authority` line of `keypaird ssh-config` connects without a prompt; a name
outside the certificate, a deleted host (the client's RevokedHostKeys from the KRL) and an
expired host certificate are refused. Needs root (sshd)."""

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import BIN, Server, new_project
from sshtools import Sshd, run

VALIDITY = 12  # seconds: `serve --host-cert-validity`, so that expiry is seen in the test


def start_site(d, *flags):
    s = Server(d)
    kek = d / "ca.kek"
    s.cli("ca", "new-kek", str(kek))
    return s.start("--ca-kek-file", str(kek), *flags)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    s = start_site(tmp_path_factory.mktemp("host-site"))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def short_site(tmp_path_factory):
    """Host certificates valid for VALIDITY seconds: expiry within the test."""
    s = start_site(tmp_path_factory.mktemp("short-host-site"), "--host-cert-validity",
                   f"{VALIDITY}s")
    yield s
    s.stop()


def keypaird(*args, check=True, binary=BIN):
    r = subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=120)
    if check:
        assert r.returncode == 0, f"keypaird {' '.join(args)}: {r.stderr}"
    return r


class Host:
    """A server's /etc/ssh in miniature: host keys, an sshd_config that includes the drop-in
    directory `keypaird host enroll` writes into, and nothing about certificates itself."""

    def __init__(self, root):
        self.root = root
        self.ssh_dir = root / "ssh"
        self.config_dir = root / "sshd_config.d"
        self.state_dir = root / "state"
        self.ssh_dir.mkdir(parents=True)
        self.config_dir.mkdir()
        for t in ("ed25519", "ecdsa"):
            run("ssh-keygen", "-q", "-t", t, "-N", "", "-C", "root@web-1",
                "-f", str(self.ssh_dir / f"ssh_host_{t}_key"))
        self.sshd = None

    def enroll(self, site, project, join_token, *names, extra=(), binary=BIN):
        token_file = self.root / "join-token"
        token_file.write_text(join_token + "\n")
        os.chmod(token_file, 0o600)
        args = ["host", "enroll", "--url", f"http://127.0.0.1:{site.port}", "--project",
                str(project), "--join-token-file", str(token_file), "--ssh-dir",
                str(self.ssh_dir), "--config-dir", str(self.config_dir), "--state-dir",
                str(self.state_dir)]
        for n in names:
            args += ["--hostname", n]
        return keypaird(*args, *extra, binary=binary)

    def start(self):
        self.sshd = Sshd(self.root / "sshd",
                         f"Include {self.config_dir}/*.conf\n"
                         f"HostKey {self.ssh_dir / 'ssh_host_ed25519_key'}\n"
                         f"HostKey {self.ssh_dir / 'ssh_host_ecdsa_key'}\n")
        return self.sshd

    def stop(self):
        if self.sshd:
            self.sshd.stop()


def ssh(port, key, known_hosts, alias, *extra):
    """`ssh -o StrictHostKeyChecking=yes` as root to 127.0.0.1:port, verifying the host as
    `alias` against `known_hosts` only."""
    return subprocess.run(
        ["ssh", "-F", "/dev/null", "-i", str(key), "-p", str(port),
         "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
         "-o", f"UserKnownHostsFile={known_hosts}", "-o", "GlobalKnownHostsFile=/dev/null",
         "-o", f"HostKeyAlias={alias}", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
         "-o", "ConnectTimeout=10", *extra, "root@127.0.0.1", "echo", "keypaird-login-ok"],
        capture_output=True, text=True, timeout=60)


def ok(r):
    return r.returncode == 0 and r.stdout.strip() == "keypaird-login-ok"


def make_world(site, tmp_path):
    """A project with an admin, a join token for *.example.com, and a user key certified for
    root."""
    p = new_project()
    admin = site.token(8300, admin=True)
    r = site.request("POST", f"/api/v1/projects/{p}/host_join_tokens",
                     {"hostnames": ["*.example.com"], "uses": 5}, admin)
    assert r.status == 201, r
    join = r.json()["token"]
    user_key = tmp_path / "id_ed25519"
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(user_key))
    r = site.request("POST", f"/api/v1/projects/{p}/ssh_ca/sign",
                     {"public_key": (tmp_path / "id_ed25519.pub").read_text().strip(),
                      "principals": ["root"], "valid_for": 3600}, admin)
    assert r.status == 201, r
    (tmp_path / "id_ed25519-cert.pub").write_text(r.json()["certificate"] + "\n")
    return {"project": p, "admin": admin, "join": join, "user_key": user_key}


@pytest.fixture
def world(site, tmp_path):
    return make_world(site, tmp_path)


def known_hosts_of(site, world, tmp_path):
    token_file = tmp_path / "admin-token"
    token_file.write_text(world["admin"] + "\n")
    os.chmod(token_file, 0o600)
    out = tmp_path / "known_hosts"
    keypaird("ssh-config", "--url", f"http://127.0.0.1:{site.port}", "--project",
             str(world["project"]), "--hosts", "*.example.com", "--token-file", str(token_file),
             "--write", str(out))
    lines = out.read_text().splitlines()
    assert len(lines) == 1 and lines[0].startswith("@cert-authority *.example.com ssh-ed25519 ")
    return out


def test_an_enrolled_sshd_is_trusted_by_name_and_lets_a_certified_user_in(site, world, tmp_path):
    host = Host(tmp_path / "web-1")
    first = host.enroll(site, world["project"], world["join"], "web-1.example.com")
    # Everything sshd needs, and never a private key rewritten.
    for t in ("ed25519", "ecdsa"):
        assert (host.ssh_dir / f"ssh_host_{t}_key-cert.pub").exists()
    dropins = list(host.config_dir.glob("*.conf"))
    assert len(dropins) == 1
    conf = dropins[0].read_text()
    assert "HostCertificate" in conf and "TrustedUserCAKeys" in conf and "RevokedKeys" in conf
    # Again: nothing that is current changes (no second use of the join token).
    before = {f: f.stat().st_mtime_ns for f in host.ssh_dir.glob("*-cert.pub")}
    host.enroll(site, world["project"], world["join"], "web-1.example.com")
    assert {f: f.stat().st_mtime_ns for f in host.ssh_dir.glob("*-cert.pub")} == before
    hosts = site.request("GET", f"/api/v1/projects/{world['project']}/hosts",
                         token=world["admin"]).json()["results"]
    assert len(hosts) == 1, (first.stdout, hosts)

    sshd = host.start()
    try:
        known = known_hosts_of(site, world, tmp_path)
        r = ssh(sshd.port, world["user_key"], known, "web-1.example.com")
        assert ok(r), (r.stderr, sshd.log())
        # ssh-keyscan sees the host certificate, signed by the host CA.
        scan = run("ssh-keyscan", "-c", "-p", str(sshd.port), "127.0.0.1")
        assert "ssh-ed25519-cert-v01@openssh.com" in scan
        # A name the certificate does not hold: no prompt, a refusal.
        r = ssh(sshd.port, world["user_key"], known, "web-2.example.com")
        assert not ok(r) and "Host key verification failed" in r.stderr, r.stderr
        # Without the @cert-authority line, strict checking refuses too.
        empty = tmp_path / "empty_known_hosts"
        empty.write_text("")
        assert not ok(ssh(sshd.port, world["user_key"], empty, "web-1.example.com"))
    finally:
        host.stop()


def test_a_deleted_host_is_refused_by_clients_with_the_krl(site, world, tmp_path):
    host = Host(tmp_path / "web-3")
    host.enroll(site, world["project"], world["join"], "web-3.example.com")
    sshd = host.start()
    try:
        known = known_hosts_of(site, world, tmp_path)
        krl = tmp_path / "krl"

        def fetch_krl():
            r = site.request("GET", f"/api/v1/projects/{world['project']}/ssh_ca/krl",
                             token=world["admin"])
            assert r.status == 200, r
            krl.write_bytes(r.body)

        fetch_krl()
        r = ssh(sshd.port, world["user_key"], known, "web-3.example.com",
                "-o", f"RevokedHostKeys={krl}")
        assert ok(r), (r.stderr, sshd.log())
        [h] = [h for h in site.request("GET", f"/api/v1/projects/{world['project']}/hosts",
                                       token=world["admin"]).json()["results"]
               if h["hostnames"] == ["web-3.example.com"]]
        assert site.request("DELETE", f"/api/v1/projects/{world['project']}/hosts/{h['id']}",
                            token=world["admin"]).status == 204
        fetch_krl()
        r = ssh(sshd.port, world["user_key"], known, "web-3.example.com",
                "-o", f"RevokedHostKeys={krl}")
        assert not ok(r), r.stdout
        # Its renewal stops too.
        r = keypaird("host", "renew", "--state-dir", str(host.state_dir), "--force",
                     check=False)
        assert r.returncode != 0 and "enrol it again" in r.stderr, r.stderr
    finally:
        host.stop()


def test_an_expired_host_certificate_is_refused_until_renewed(short_site, tmp_path):
    site = short_site
    world = make_world(site, tmp_path)
    host = Host(tmp_path / "web-4")
    host.enroll(site, world["project"], world["join"], "web-4.example.com")
    sshd = host.start()
    try:
        known = known_hosts_of(site, world, tmp_path)
        assert ok(ssh(sshd.port, world["user_key"], known, "web-4.example.com"))
        time.sleep(VALIDITY + 1)
        r = ssh(sshd.port, world["user_key"], known, "web-4.example.com")
        assert not ok(r) and "Host key verification failed" in r.stderr, r.stderr
        # Renewed (under a third of its validity is left: it is past), and sshd reloaded.
        keypaird("host", "renew", "--state-dir", str(host.state_dir),
                 "--reload-command", f"kill -HUP {sshd.proc.pid}")
        time.sleep(1)
        r = ssh(sshd.port, world["user_key"], known, "web-4.example.com")
        assert ok(r), (r.stderr, sshd.log())
    finally:
        host.stop()


def test_enrolled_with_authorized_keys_sshd_asks_keypaird_as_its_command_user(site, world):
    """`host enroll --authorized-keys login=%u`: sshd runs this keypaird binary as the command
    user (nobody here), with that user's own copy of the host token, and lets in the keys
    labelled for the login, no others. The binary and the host's files sit where sshd and
    nobody may reach them: a root-owned 0755 directory under /run."""
    nobody = pwd.getpwnam("nobody")
    run_dir = Path(tempfile.mkdtemp(prefix="keypaird-host-", dir="/run"))
    os.chmod(run_dir, 0o755)
    host = None
    try:
        binary = run_dir / "keypaird"
        shutil.copy2(BIN, binary)
        os.chmod(binary, 0o755)
        host = Host(run_dir / "web-5")
        host.enroll(site, world["project"], world["join"], "web-5.example.com",
                    extra=("--authorized-keys", "login=%u", "--authorized-keys-user", "nobody",
                           "--authorized-keys-cache", str(run_dir / "cache")),
                    binary=binary)
        agent_token = run_dir / "web-5" / "state-agent.token"
        st = agent_token.stat()
        assert (st.st_uid, st.st_mode & 0o777) == (nobody.pw_uid, 0o600)
        conf = next(host.config_dir.glob("*.conf")).read_text()
        assert f"AuthorizedKeysCommand {binary} authorized-keys " in conf, conf
        assert "AuthorizedKeysCommandUser nobody" in conf, conf
        labelled, other = run_dir / "id_labelled", run_dir / "id_other"
        for key, labels in ((labelled, {"login": "root"}), (other, {"login": "deploy"})):
            run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key))
            r = site.request("POST", f"/api/v1/projects/{world['project']}/keys",
                             {"name": key.name, "public_key": Path(f"{key}.pub").read_text().strip(),
                              "labels": labels}, world["admin"])
            assert r.status == 201, r
        sshd = host.start()
        r = sshd.login(labelled)
        assert r.returncode == 0, (r.stderr, sshd.log())
        assert sshd.login(other).returncode != 0
        assert (run_dir / "cache" / "root.keys").stat().st_uid == nobody.pw_uid
    finally:
        if host is not None:
            host.stop()
        shutil.rmtree(run_dir, ignore_errors=True)

