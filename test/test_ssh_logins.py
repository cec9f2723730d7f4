"""Certificates from keypaird's SSH CA against a real sshd (docs/ssh-access.md, "Certificates"): an sshd on loopback trusts one project's CA (`TrustedUserCAKeys`, from
`ssh_ca/public_key`) and reads that project's KRL (`RevokedKeys`, from `ssh_ca/krl`), with no
authorized_keys at all, so a certificate is the only way in. Requests go through Prism over
openapi/keypaird.yaml; the KRL's bytes come from the service itself (Prism re-encodes binary
bodies). Needs root, as the other sshd tests do."""

import os
import time
from datetime import datetime
from pathlib import Path

import pytest

from conftest import new_project, unique_name
from sshtools import KeyDir, Sshd, logged_in, ssh_login


@pytest.fixture(scope="module")
def keydir():
    k = KeyDir()
    yield k
    k.close()


class Project:
    """A project with its own CA, and an sshd trusting that CA and reading its KRL."""

    def __init__(self, server, prism, workdir):
        self.server, self.prism = server, prism
        self.id = new_project()
        self.token = server.token(41, [self.id], principals=["root", "deploy"])
        r = prism.request("POST", self.url("/ssh_ca"), token=self.token, content_type=None)
        assert r.status == 201, r
        r = prism.request("GET", self.url("/ssh_ca/public_key"), token=self.token)
        assert r.status == 200, r
        workdir.mkdir(parents=True, exist_ok=True)
        self.ca_file = workdir / "ca.pub"
        self.ca_file.write_bytes(r.body)
        self.krl_file = workdir / "revoked.krl"
        self.refresh_krl()
        self.sshd = Sshd(workdir / "sshd", f"TrustedUserCAKeys {self.ca_file}\n"
                                           f"RevokedKeys {self.krl_file}\n")

    def url(self, rest):
        return f"/api/v1/projects/{self.id}{rest}"

    def refresh_krl(self):
        """What `keypaird krl` does for a fleet: the project's current KRL, in place."""
        assert self.prism.request("GET", self.url("/ssh_ca/krl"), token=self.token).status == 200
        r = self.server.request("GET", self.url("/ssh_ca/krl"), token=self.token)
        assert r.status == 200 and r.body.startswith(b"SSHKRL\n"), r
        tmp = self.krl_file.with_suffix(".new")
        tmp.write_bytes(r.body)
        os.replace(tmp, self.krl_file)

    def import_key(self, keydir):
        priv = keydir.keygen("ed25519")
        r = self.prism.request("POST", self.url("/keys"),
                               {"name": unique_name("login"),
                                "public_key": Path(f"{priv}.pub").read_text().strip()},
                               self.token)
        assert r.status == 201, r
        return priv, r.json()["id"]

    def certify(self, priv, key_id, principals, **extra):
        """Signs the key and puts the certificate where ssh looks for it (KEY-cert.pub)."""
        r = self.prism.request("POST", self.url(f"/keys/{key_id}/certificates"),
                               {"principals": principals, **extra}, self.token)
        assert r.status == 201, r
        Path(f"{priv}-cert.pub").write_text(r.json()["certificate"] + "\n")
        return r.json()

    def certify_public_key(self, priv, principals=None):
        """POST ssh_ca/sign with the key's public half, which the project does not store; the
        certificate goes next to the key, as with certify."""
        body = {"public_key": Path(f"{priv}.pub").read_text().strip()}
        if principals is not None:
            body["principals"] = principals
        r = self.prism.request("POST", self.url("/ssh_ca/sign"), body, self.token)
        assert r.status == 201, r
        Path(f"{priv}-cert.pub").write_text(r.json()["certificate"] + "\n")
        return r.json()

    def revoke(self, serial):
        r = self.prism.request("POST", self.url(f"/certificates/{serial}/revoke"),
                               token=self.token, content_type=None)
        assert r.status == 204, r

    def login(self, priv, user="root"):
        return logged_in(self.sshd.login(priv, user))

    def explain(self):
        return f"sshd log:\n{self.sshd.log()[-3000:]}"

    def close(self):
        self.sshd.stop()


@pytest.fixture(scope="module")
def expiring(server, prism, tmp_path_factory, keydir):
    """A certificate of the shortest validity the CA issues (60 s), made when the module
    starts: it logs in now, and the last test of the module, a minute later, sees it
    refused, without a minute spent waiting for it alone."""
    p = Project(server, prism, tmp_path_factory.mktemp("expiring"))
    priv, key_id = p.import_key(keydir)
    cert = p.certify(priv, key_id, ["root"], valid_for=60)
    assert p.login(priv), p.explain()
    yield p, priv, cert
    p.close()


@pytest.fixture
def project(server, prism, tmp_path):
    p = Project(server, prism, tmp_path / "a")
    yield p
    p.close()


def test_a_certificate_logs_in_for_its_principals_and_no_other(project, keydir, expiring):
    for_root, root_id = project.import_key(keydir)
    assert not project.login(for_root)  # the key alone: no authorized_keys here
    project.certify(for_root, root_id, ["root"])
    assert project.login(for_root), project.explain()

    for_deploy, deploy_id = project.import_key(keydir)
    project.certify(for_deploy, deploy_id, ["deploy"])
    assert not project.login(for_deploy)  # a certificate for deploy is no way in as root
    assert "not in the list of valid principals" in project.sshd.log() or \
        "Certificate invalid" in project.sshd.log(), project.explain()


def test_a_certificate_of_another_projects_ca_is_refused(server, prism, project, keydir,
                                                         tmp_path):
    other = Project(server, prism, tmp_path / "b")
    try:
        priv, key_id = other.import_key(keydir)
        other.certify(priv, key_id, ["root"])
        assert other.login(priv), other.explain()  # a good certificate, of the other CA
        assert not project.login(priv)
    finally:
        other.close()


def test_revoked_certificates_and_retired_keys_are_refused_through_the_krl(project, keydir):
    keys = {name: project.import_key(keydir) for name in ("kept", "revoked", "deleted",
                                                          "disabled")}
    serials = {name: project.certify(priv, key_id, ["root"])["serial"]
               for name, (priv, key_id) in keys.items()}
    assert all(project.login(priv) for priv, _ in keys.values()), project.explain()

    r = project.prism.request("POST", project.url(f"/certificates/{serials['revoked']}/revoke"),
                              token=project.token, content_type=None)
    assert r.status == 204, r
    r = project.prism.request("DELETE", project.url(f"/keys/{keys['deleted'][1]}"),
                              token=project.token)
    assert r.status == 204, r
    r = project.prism.request("PATCH", project.url(f"/keys/{keys['disabled'][1]}"),
                              {"disabled": True}, project.token)
    assert r.status == 200, r
    # sshd knows only what the KRL in place says: until it is refreshed, all still log in.
    assert all(project.login(priv) for priv, _ in keys.values()), project.explain()

    project.refresh_krl()
    assert project.login(keys["kept"][0]), project.explain()
    for name in ("revoked", "deleted", "disabled"):
        assert not project.login(keys[name][0]), name
    assert "revoked" in project.sshd.log().lower(), project.explain()

    # Enabled again, the key is out of the next KRL and its certificate admits it again.
    r = project.prism.request("PATCH", project.url(f"/keys/{keys['disabled'][1]}"),
                              {"disabled": False}, project.token)
    assert r.status == 200, r
    project.refresh_krl()
    assert project.login(keys["disabled"][0]), project.explain()
    assert not project.login(keys["revoked"][0])


def test_a_certificate_of_a_key_not_stored_logs_in_until_the_krl_revokes_it(project, keydir):
    """`keypaird login`'s way: the key is made here and only its public half is sent; the
    certificate logs in for its principal, not for another, and no longer once the KRL in
    place lists its serial."""
    for_root, for_deploy, everything = (keydir.keygen("ed25519") for _ in range(3))
    root = project.certify_public_key(for_root, ["root"])
    project.certify_public_key(for_deploy, ["deploy"])
    assert sorted(project.certify_public_key(everything)["principals"]) == ["deploy", "root"]
    assert project.login(for_root), project.explain()
    assert project.login(everything), project.explain()  # all the token's principals
    assert not project.login(for_deploy)  # deploy's certificate is no way in as root

    project.revoke(root["serial"])
    assert project.login(for_root), project.explain()  # until the KRL in place says so
    project.refresh_krl()
    assert not project.login(for_root)
    assert "revoked" in project.sshd.log().lower(), project.explain()
    assert project.login(everything), project.explain()


def test_ssh_login_helper_uses_the_certificate_next_to_the_key(project, keydir):
    """The tests above rely on ssh picking up KEY-cert.pub by itself; without it the same
    key is refused, so a pass above is the certificate's doing."""
    priv, key_id = project.import_key(keydir)
    project.certify(priv, key_id, ["root"])
    assert logged_in(ssh_login(priv, project.sshd.port)), project.explain()
    Path(f"{priv}-cert.pub").unlink()
    assert not logged_in(ssh_login(priv, project.sshd.port))


def test_a_certificate_is_refused_after_its_valid_before(expiring):
    """Last in the module (see `expiring`)."""
    p, priv, cert = expiring
    valid_before = datetime.fromisoformat(cert["valid_before"].replace("Z", "+00:00"))
    assert valid_before.timestamp() - time.time() < 60
    time.sleep(max(0.0, valid_before.timestamp() + 1.5 - time.time()))
    assert not p.login(priv)
    assert "expired" in p.sshd.log(), p.explain()
