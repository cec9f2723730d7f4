"""CA rotation with real OpenSSH (docs/ssh-access.md "Rotating a CA"), on both backends: after
`POST …/ssh_ca/rotate` an sshd whose CA keys `keypaird host renew` refreshed lets in both the
certificates of the old key and those of the new one; once the old key is deleted, its
certificates are refused (it is no longer trusted, and the KRL revokes them). After
`…/ssh_host_ca/rotate` a client whose known_hosts `keypaird ssh-config` refreshed trusts the
host's old certificate and its renewed one; a client that kept only the old line refuses
the renewed one. Needs root (sshd)."""

import os
import subprocess
import time
import urllib.parse

import pytest

from sshtools import run
from test_host_sshd import Host, keypaird, make_world, ok, ssh, start_site


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    s = start_site(tmp_path_factory.mktemp("rotation-site"))
    yield s
    s.stop()


def certify(site, world, tmp_path, name):
    """A new user key certified for root by the project's current user CA."""
    key = tmp_path / name
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key))
    r = site.request("POST", f"/api/v1/projects/{world['project']}/ssh_ca/sign",
                     {"public_key": (tmp_path / f"{name}.pub").read_text().strip(),
                      "principals": ["root"], "valid_for": 3600}, world["admin"])
    assert r.status == 201, r
    (tmp_path / f"{name}-cert.pub").write_text(r.json()["certificate"] + "\n")
    return key


def ca_key_of(cert_path):
    """The fingerprint of the CA that signed a certificate, as ssh-keygen -L says it."""
    for line in run("ssh-keygen", "-L", "-f", str(cert_path)).splitlines():
        line = line.strip()
        if line.startswith("Signing CA:"):
            return line.split()[3]  # "Signing CA: ED25519 SHA256:… (using ssh-ed25519)"
    raise AssertionError("no signing CA")


def known_hosts(site, world, tmp_path, name):
    token_file = tmp_path / "admin-token"
    token_file.write_text(world["admin"] + "\n")
    os.chmod(token_file, 0o600)
    out = tmp_path / name
    keypaird("ssh-config", "--url", f"http://127.0.0.1:{site.port}", "--project",
             str(world["project"]), "--hosts", "*.example.com", "--token-file", str(token_file),
             "--write", str(out))
    return out


def test_user_ca_rotation_keeps_old_certificates_working_until_the_old_key_goes(
        site, tmp_path):
    world = make_world(site, tmp_path)
    p, admin = world["project"], world["admin"]
    host = Host(tmp_path / "web-1")
    host.enroll(site, p, world["join"], "web-1.example.com")
    sshd = host.start()
    try:
        old_user = world["user_key"]
        assert sshd.login(old_user).returncode == 0, sshd.log()
        before = site.request("GET", f"/api/v1/projects/{p}/ssh_ca", token=admin).json()
        assert [k["fingerprint_sha256"] for k in before["keys"]] == [before["fingerprint_sha256"]]

        # Not for a project's writer; for its administrators.
        writer = site.token(8301, projects=[p])
        assert site.request("POST", f"/api/v1/projects/{p}/ssh_ca/rotate", {},
                            writer).status == 403
        r = site.request("POST", f"/api/v1/projects/{p}/ssh_ca/rotate", {}, admin)
        assert r.status == 200, r
        after = r.json()
        assert after["fingerprint_sha256"] != before["fingerprint_sha256"]
        assert [k["fingerprint_sha256"] for k in after["keys"]] == [
            after["fingerprint_sha256"], before["fingerprint_sha256"]]
        assert after["keys"][0]["retires_at"] is None
        assert after["keys"][1]["retires_at"] is not None
        text = site.request("GET", f"/api/v1/projects/{p}/ssh_ca/public_key", token=admin)
        assert text.body.decode().splitlines() == [after["public_key"], before["public_key"]]

        # New certificates come from the new key; the host refreshes its CA keys.
        new_user = certify(site, world, tmp_path, "id_new")
        assert ca_key_of(tmp_path / "id_new-cert.pub") == after["fingerprint_sha256"]
        assert ca_key_of(tmp_path / "id_ed25519-cert.pub") == before["fingerprint_sha256"]
        keypaird("host", "renew", "--state-dir", str(host.state_dir), "--force")
        assert sshd.login(old_user).returncode == 0, sshd.log()
        assert sshd.login(new_user).returncode == 0, sshd.log()

        # The signing key cannot be deleted; the old one can, early.
        fp = urllib.parse.quote(after["fingerprint_sha256"], safe="")
        r = site.request("DELETE", f"/api/v1/projects/{p}/ssh_ca/keys/{fp}", token=admin)
        assert r.status == 409, r
        fp = urllib.parse.quote(before["fingerprint_sha256"], safe="")
        assert site.request("DELETE", f"/api/v1/projects/{p}/ssh_ca/keys/{fp}",
                            token=writer).status == 403
        r = site.request("DELETE", f"/api/v1/projects/{p}/ssh_ca/keys/{fp}", token=admin)
        assert r.status == 204, r
        assert site.request("DELETE", f"/api/v1/projects/{p}/ssh_ca/keys/{fp}",
                            token=admin).status == 404
        # Its certificates are in the KRL at once, under the old key.
        krl = tmp_path / "krl"
        krl.write_bytes(site.request("GET", f"/api/v1/projects/{p}/ssh_ca/krl",
                                     token=admin).body)
        revoked = subprocess.run(
            ["ssh-keygen", "-Q", "-f", str(krl), str(tmp_path / "id_ed25519-cert.pub")],
            capture_output=True, text=True)
        assert "REVOKED" in revoked.stdout, (revoked.stdout, revoked.stderr)
        kept = subprocess.run(
            ["ssh-keygen", "-Q", "-f", str(krl), str(tmp_path / "id_new-cert.pub")],
            capture_output=True, text=True)
        assert kept.returncode == 0 and "REVOKED" not in kept.stdout, kept.stdout
        keypaird("host", "renew", "--state-dir", str(host.state_dir), "--force")
        r = sshd.login(old_user)
        assert r.returncode != 0, r.stdout
        assert sshd.login(new_user).returncode == 0, sshd.log()
        events = site.request("GET", f"/api/v1/events?project_id={p}", token=admin).json()
        actions = [e["action"] for e in events["results"]]
        assert "ca.rotate" in actions and "ca.key_delete" in actions, actions
    finally:
        host.stop()


def test_host_ca_rotation_is_trusted_by_clients_with_both_lines(site, tmp_path):
    world = make_world(site, tmp_path)
    p, admin = world["project"], world["admin"]
    host = Host(tmp_path / "web-2")
    host.enroll(site, p, world["join"], "web-2.example.com")
    sshd = host.start()
    try:
        old_only = known_hosts(site, world, tmp_path, "known_hosts_old")
        assert len(old_only.read_text().splitlines()) == 1
        assert ok(ssh(sshd.port, world["user_key"], old_only, "web-2.example.com"))

        r = site.request("POST", f"/api/v1/projects/{p}/ssh_host_ca/rotate", None, admin)
        assert r.status == 200, r
        rotated = r.json()
        assert len(rotated["keys"]) == 2
        both = known_hosts(site, world, tmp_path, "known_hosts_both")
        lines = both.read_text().splitlines()
        assert len(lines) == 2 and rotated["public_key"].split()[1] in lines[0], lines
        # The host's certificate is still the old key's: both clients trust it.
        assert ok(ssh(sshd.port, world["user_key"], both, "web-2.example.com"))
        assert ok(ssh(sshd.port, world["user_key"], old_only, "web-2.example.com"))

        # Renewed by the new key (and sshd reloaded): trusted with both lines, not with the
        # old line alone.
        keypaird("host", "renew", "--state-dir", str(host.state_dir), "--force",
                 "--reload-command", f"kill -HUP {sshd.proc.pid}")
        time.sleep(1)
        assert ca_key_of(host.ssh_dir / "ssh_host_ed25519_key-cert.pub") == \
            rotated["fingerprint_sha256"]
        r = ssh(sshd.port, world["user_key"], both, "web-2.example.com")
        assert ok(r), (r.stderr, sshd.log())
        r = ssh(sshd.port, world["user_key"], old_only, "web-2.example.com")
        assert not ok(r) and "Host key verification failed" in r.stderr, r.stderr

        # The old host CA key deleted: clients are told only the new one.
        old_fp = [k["fingerprint_sha256"] for k in rotated["keys"]][1]
        r = site.request("DELETE", f"/api/v1/projects/{p}/ssh_host_ca/keys/"
                         f"{urllib.parse.quote(old_fp.removeprefix('SHA256:'), safe='')}",
                         token=admin)
        assert r.status == 204, r
        now = known_hosts(site, world, tmp_path, "known_hosts_now")
        assert len(now.read_text().splitlines()) == 1
        assert ok(ssh(sshd.port, world["user_key"], now, "web-2.example.com"))
    finally:
        host.stop()
