"""Black-box tests of the SSH access routes (docs/ssh-access.md: authorized_keys for sshd and
the SSH certificate authority): every answer goes through Prism over openapi/keypaird.yaml,
and what the service hands out is read by the real OpenSSH tools: `ssh-keygen -L` reads the
certificates, `ssh-keygen -Q` the KRLs, `ssh-keygen -l` fingerprints the CA. Logins against
a real sshd that trusts the CA are in test_ssh_logins.py."""

import os
import re
import stat
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from conftest import Server, new_project, request, unique_name
from sshtools import KeyDir, run
from test_seed_operation import expect_error


@pytest.fixture(scope="module")
def keydir():
    k = KeyDir()
    yield k
    k.close()


@pytest.fixture(scope="module")
def team(server):
    """A project of its own: alice (principals alice, deploy), bob (deploy), an admin and
    a read-only token."""
    p = new_project()
    return {"project": p,
            "alice": server.token(31, [p], principals=["alice", "deploy"]),
            "bob": server.token(32, [p], principals=["deploy"]),
            "admin": server.token(39, admin=True),
            "reader": server.token(31, [p], read_only=True)}


def url(team, rest):
    return f"/api/v1/projects/{team['project']}{rest}"


def import_key(prism, team, who, keydir, labels=None, ktype="ed25519"):
    """A key made by ssh-keygen, imported by `who`: (its private key path, its id)."""
    priv = keydir.keygen(ktype)
    body = {"name": unique_name("ca"), "public_key": Path(f"{priv}.pub").read_text().strip()}
    if labels:
        body["labels"] = labels
    r = prism.request("POST", url(team, "/keys"), body, team[who])
    assert r.status == 201, r
    return priv, r.json()["id"]


def sign(prism, team, who, key_id, body):
    return prism.request("POST", url(team, f"/keys/{key_id}/certificates"), body, team[who])


def save_certificate(priv, certificate):
    cert = Path(f"{priv}-cert.pub")
    cert.write_text(certificate + "\n")
    return cert


def inspect(cert):
    """`ssh-keygen -L -f CERT` as a dict of its fields (principals as a list)."""
    out = run("ssh-keygen", "-L", "-f", str(cert))
    fields, section = {}, None
    for line in out.splitlines()[1:]:
        m = re.match(r"^\s+([A-Za-z ]+):\s*(.*)$", line)
        if m:
            section = m.group(1)
            fields[section] = m.group(2).strip()
            if m.group(2).strip() == "":
                fields[section] = []
        elif section and isinstance(fields.get(section), list):
            fields[section].append(line.strip())
    return fields


def krl_says(krl, *paths):
    """`ssh-keygen -Q -f KRL FILE...`: {file name: revoked?}."""
    r = subprocess.run(["ssh-keygen", "-Q", "-f", str(krl), *map(str, paths)],
                       capture_output=True, text=True, timeout=60)
    verdicts = {}
    for line in r.stdout.splitlines():  # "PATH (COMMENT): ok" or "...: REVOKED"
        verdicts[Path(line.split(" ", 1)[0]).name] = line.endswith(": REVOKED")
    assert set(verdicts) == {Path(p).name for p in paths}, (r.stdout, r.stderr)
    return verdicts


def fetch_krl(prism, server, team, tmp_path, who="bob"):
    """The KRL, checked against the spec by Prism, its bytes from the service itself (Prism
    re-encodes binary bodies as text)."""
    r = prism.request("GET", url(team, "/ssh_ca/krl"), token=team[who])
    assert r.status == 200, r
    r = server.request("GET", url(team, "/ssh_ca/krl"), token=team[who])
    assert r.status == 200 and r.header("Content-Type") == "application/octet-stream"
    f = tmp_path / f"krl-{os.urandom(4).hex()}"
    f.write_bytes(r.body)
    return f


def check_ed25519_certificate(prism, team, priv, c, key_id, before, valid_for):
    """What `ssh-keygen -L` reads in the answer `c` of a certificate request made at `before`
    for the ed25519 key `priv`: the answer's serial, key id and principals, no options,
    ssh-keygen's default extensions, the project's CA, and valid from five minutes back to
    `valid_for` seconds on."""
    fields = inspect(save_certificate(priv, c["certificate"]))
    assert fields["Type"].startswith("ssh-ed25519-cert-v01@openssh.com user certificate")
    assert fields["Serial"] == c["serial"]
    assert fields["Key ID"] == f'"{key_id}"'
    assert fields["Principals"] == c["principals"]
    assert fields["Critical Options"] == "(none)"
    assert fields["Extensions"] == ["permit-X11-forwarding", "permit-agent-forwarding",
                                    "permit-port-forwarding", "permit-pty", "permit-user-rc"]
    ca = prism.request("GET", url(team, "/ssh_ca"), token=team["alice"]).json()
    assert fields["Signing CA"].split()[1] == ca["fingerprint_sha256"]
    after = datetime.fromisoformat(c["valid_after"].replace("Z", "+00:00"))
    until = datetime.fromisoformat(c["valid_before"].replace("Z", "+00:00"))
    assert abs((before - after).total_seconds() - 300) <= 5
    assert abs((until - before).total_seconds() - valid_for) <= 5
    assert fields["Valid"] == (f"from {after.astimezone().strftime('%Y-%m-%dT%H:%M:%S')} "
                               f"to {until.astimezone().strftime('%Y-%m-%dT%H:%M:%S')}")
    return fields


# --- the CA ------------------------------------------------------------------------------

def test_the_ca_is_one_ed25519_key_per_project(prism, team, tmp_path):
    r = prism.request("POST", url(team, "/ssh_ca"), token=team["alice"], content_type=None)
    assert r.status == 201, r
    ca = r.json()
    assert prism.request("GET", url(team, "/ssh_ca"), token=team["alice"]).json() == ca
    assert ca["public_key"].startswith("ssh-ed25519 ")
    text = prism.request("GET", url(team, "/ssh_ca/public_key"), token=team["reader"])
    assert text.status == 200 and text.header("Content-Type").startswith("text/plain")
    assert text.body.decode() == ca["public_key"] + "\n"
    (tmp_path / "ca.pub").write_text(text.body.decode())
    assert run("ssh-keygen", "-l", "-f", str(tmp_path / "ca.pub")).split()[1] == \
        ca["fingerprint_sha256"]
    # The same CA every time; another project has another one.
    assert prism.request("GET", url(team, "/ssh_ca"), token=team["bob"]).json() == ca
    r = prism.request("POST", url(team, "/ssh_ca"), {}, team["bob"])
    assert r.status == 200 and r.json() == ca  # made already: the same one
    other = prism.request("POST", "/api/v1/projects/1/ssh_ca", token=team["admin"],
                          content_type=None).json()
    assert other["public_key"] != ca["public_key"]
    expect_error(request(prism.port, "GET", "/api/v1/projects/1/ssh_ca", token=team["alice"]),
                 403, "ForbiddenError")


def test_a_certificate_is_what_ssh_keygen_reads(prism, team, keydir, tmp_path):
    priv, key_id = import_key(prism, team, "alice", keydir)
    before = datetime.now(timezone.utc).replace(microsecond=0)
    r = sign(prism, team, "alice", key_id, {"principals": ["deploy", "alice"], "valid_for": 900})
    assert r.status == 201, r
    c = r.json()
    assert re.fullmatch(r"[1-9][0-9]*", c["serial"])
    assert c["principals"] == ["deploy", "alice"]
    check_ed25519_certificate(prism, team, priv, c, c["key_id"], before, 900)
    # Every key type certifies.
    for ktype in ("ecdsa", "rsa"):
        other, other_id = import_key(prism, team, "alice", keydir, ktype=ktype)
        r = sign(prism, team, "alice", other_id, {"principals": ["deploy"]})
        assert r.status == 201, r
        assert inspect(save_certificate(other, r.json()["certificate"]))["Serial"] == \
            r.json()["serial"]


def test_options_and_extensions_reach_the_certificate(prism, team, keydir):
    priv, key_id = import_key(prism, team, "bob", keydir)
    r = sign(prism, team, "bob", key_id,
             {"principals": ["deploy"], "extensions": ["permit-pty"],
              "force_command": "/usr/bin/uptime", "source_address": "10.0.0.0/8,127.0.0.1/32"})
    assert r.status == 201, r
    fields = inspect(save_certificate(priv, r.json()["certificate"]))
    assert fields["Extensions"] == ["permit-pty"]
    assert fields["Critical Options"] == ["force-command /usr/bin/uptime",
                                          "source-address 10.0.0.0/8,127.0.0.1/32"]
    r = sign(prism, team, "bob", key_id, {"principals": ["deploy"], "extensions": []})
    assert inspect(save_certificate(priv, r.json()["certificate"]))["Extensions"] == "(none)"


def test_serials_are_unique_and_count_up(prism, team, keydir):
    _, key_id = import_key(prism, team, "alice", keydir)
    serials = [int(sign(prism, team, "alice", key_id, {"principals": ["deploy"]}).json()["serial"])
               for _ in range(5)]
    assert serials == sorted(set(serials)) and serials[-1] - serials[0] == 4


def test_who_may_sign_what(prism, team, keydir):
    _, key_id = import_key(prism, team, "alice", keydir)
    p = prism.port

    def sign_raw(who, body, key=key_id):
        return request(p, "POST", url(team, f"/keys/{key}/certificates"), body, team[who])

    expect_error(sign_raw("bob", {"principals": ["deploy"]}), 403, "ForbiddenError")  # not his
    expect_error(sign_raw("alice", {"principals": ["root"]}), 403, "ForbiddenError")
    expect_error(sign_raw("reader", {"principals": ["alice"]}), 403, "ForbiddenError")
    assert sign(prism, team, "admin", key_id, {"principals": ["root"]}).status == 201
    expect_error(sign_raw("alice", {"principals": ["deploy"]}, key="no-such-key"), 404,
                 "NotFoundError")
    for body, field in [({}, "principals"), ({"principals": []}, "principals"),
                        ({"principals": ["a b"]}, "principals"),
                        ({"principals": ["deploy"], "valid_for": 30}, "valid_for"),
                        ({"principals": ["deploy"], "valid_for": 86401}, "valid_for"),
                        ({"principals": ["deploy"], "valid_for": "1h"}, "valid_for"),
                        ({"principals": ["deploy"], "extensions": ["permit-root"]}, "extensions"),
                        ({"principals": ["deploy"], "source_address": "nowhere"},
                         "source_address"),
                        ({"principals": ["deploy"], "force_command": ""}, "force_command"),
                        ({"principals": ["deploy"], "lifetime": 5}, "lifetime")]:
        expect_error(sign_raw("alice", body), 400, "ValidationError", field)
    # A key that is not usable is not certified.
    r = prism.request("PATCH", url(team, f"/keys/{key_id}"), {"disabled": True}, team["alice"])
    assert r.status == 200, r
    expect_error(sign_raw("alice", {"principals": ["deploy"]}), 400, "ValidationError", "key")


def test_revoked_serials_and_certificates_of_retired_keys_are_in_the_krl(server, prism, team, keydir, tmp_path):
    kept, kept_id = import_key(prism, team, "alice", keydir)
    revoked, revoked_id = import_key(prism, team, "alice", keydir)
    deleted, deleted_id = import_key(prism, team, "bob", keydir)
    disabled, disabled_id = import_key(prism, team, "bob", keydir)
    never, _ = import_key(prism, team, "bob", keydir)  # never certified
    certs = {}
    for name, priv, key_id, who in [("kept", kept, kept_id, "alice"),
                                    ("revoked", revoked, revoked_id, "alice"),
                                    ("deleted", deleted, deleted_id, "bob"),
                                    ("disabled", disabled, disabled_id, "bob")]:
        r = sign(prism, team, who, key_id, {"principals": ["deploy"]})
        assert r.status == 201, r
        certs[name] = (save_certificate(priv, r.json()["certificate"]), r.json()["serial"])

    everything = [c for c, _ in certs.values()] + [f"{never}.pub"]
    assert not any(krl_says(fetch_krl(prism, server, team, tmp_path), *everything).values())

    serial = certs["revoked"][1]
    expect_error(request(prism.port, "POST", url(team, f"/certificates/{serial}/revoke"),
                         token=team["bob"], content_type=None), 403, "ForbiddenError")
    r = prism.request("POST", url(team, f"/certificates/{serial}/revoke"), token=team["alice"],
                      content_type=None)
    assert r.status == 204, r
    assert prism.request("POST", url(team, f"/certificates/{serial}/revoke"), {},
                         team["admin"]).status == 204  # again: no error
    expect_error(request(prism.port, "POST", url(team, "/certificates/999999/revoke"),
                         token=team["alice"], content_type=None), 404, "NotFoundError")
    assert prism.request("DELETE", url(team, f"/keys/{deleted_id}"),
                         token=team["bob"]).status == 204
    assert prism.request("PATCH", url(team, f"/keys/{disabled_id}"), {"disabled": True},
                         team["bob"]).status == 200

    verdicts = krl_says(fetch_krl(prism, server, team, tmp_path), *everything)
    assert verdicts == {certs["kept"][0].name: False, certs["revoked"][0].name: True,
                        certs["deleted"][0].name: True, certs["disabled"][0].name: True,
                        Path(f"{never}.pub").name: False}
    # Certificates only, never the keys themselves: anyone may import anyone's public key.
    assert not any(krl_says(fetch_krl(prism, server, team, tmp_path), f"{deleted}.pub",
                            f"{disabled}.pub", f"{revoked}.pub").values())
    # Enabling the key again takes its certificate out.
    assert prism.request("PATCH", url(team, f"/keys/{disabled_id}"), {"disabled": False},
                         team["bob"]).status == 200
    assert krl_says(fetch_krl(prism, server, team, tmp_path), certs["disabled"][0]) == \
        {certs["disabled"][0].name: False}


# --- ssh_ca/sign: a public key that is not stored ---------------------------------------

def sign_public_key(prism, team, who, body):
    return prism.request("POST", url(team, "/ssh_ca/sign"), body, team[who])


def public_line(priv):
    return Path(f"{priv}.pub").read_text().strip()


def sha256_fingerprint(pub_path):
    return run("ssh-keygen", "-l", "-E", "sha256", "-f", str(pub_path)).split()[1]


def test_a_public_key_not_stored_is_certified_for_all_the_callers_principals(prism, team,
                                                                             keydir):
    """What `keypaird login` does with a key it holds in memory: ssh-keygen reads the
    certificate, for every principal of the token, for the validity asked as a duration."""
    priv = keydir.keygen("ed25519")
    before = datetime.now(timezone.utc).replace(microsecond=0)
    r = sign_public_key(prism, team, "alice", {"public_key": public_line(priv),
                                               "valid_for": "8h"})
    assert r.status == 201, r
    assert r.header("Cache-Control") == "no-store"
    c = r.json()
    assert "key_id" not in c
    assert sorted(c["principals"]) == ["alice", "deploy"]
    assert c["fingerprint_sha256"] == sha256_fingerprint(f"{priv}.pub")
    fields = check_ed25519_certificate(
        prism, team, priv, c, f"keypaird:project={team['project']}:user=31:serial={c['serial']}",
        before, 8 * 3600)
    assert fields["Public key"].split()[1] == c["fingerprint_sha256"]
    # The key was not stored.
    keys = prism.request("GET", url(team, "/keys?limit=1000"), token=team["admin"]).json()
    assert c["fingerprint_sha256"] not in [k["fingerprint_sha256"] for k in keys["results"]]
    # Principals named, validity in seconds, ECDSA and RSA keys.
    for ktype, bits in (("ecdsa", None), ("rsa", 2048)):
        other = keydir.keygen(ktype, bits=bits)
        r = sign_public_key(prism, team, "bob", {"public_key": public_line(other),
                                                 "principals": ["deploy"], "valid_for": 600})
        assert r.status == 201, r
        fields = inspect(save_certificate(other, r.json()["certificate"]))
        assert fields["Principals"] == ["deploy"] and fields["Serial"] == r.json()["serial"]
        assert r.json()["fingerprint_sha256"] == sha256_fingerprint(f"{other}.pub")


def test_who_may_have_a_public_key_certified_and_which(server, prism, team, keydir):
    priv = keydir.keygen("ed25519")
    key = public_line(priv)
    p = prism.port

    def raw(who, body, path=url(team, "/ssh_ca/sign")):
        token = who if who.startswith("kpd_") else team[who]
        return request(p, "POST", path, body, token)

    expect_error(raw("alice", {"public_key": key, "principals": ["root"]}), 403, "ForbiddenError")
    expect_error(raw("bob", {"public_key": key, "principals": ["alice"]}), 403, "ForbiddenError")
    expect_error(raw("reader", {"public_key": key}), 403, "ForbiddenError")
    expect_error(raw("alice", {"public_key": key}, path="/api/v1/projects/1/ssh_ca/sign"), 403,
                 "ForbiddenError")  # not alice's project, as for the certificates route
    nobody = server.token(33, [team["project"]])
    r = raw(nobody, {"public_key": key})  # a token without principals may be issued none
    expect_error(r, 403, "ForbiddenError")
    assert "no principals" in r.json()["message"]
    # An admin may ask for any principal, and must name them when its token has none.
    expect_error(raw("admin", {"public_key": key}), 400, "ValidationError", "principals")
    assert sign_public_key(prism, team, "admin", {"public_key": key,
                                                  "principals": ["root"]}).status == 201
    # Keys an import refuses, with the import's reasons.
    short_rsa = public_line(keydir.keygen("rsa", bits=1024))
    dsa = public_line(keydir.keygen("dsa"))
    certificate = sign_public_key(prism, team, "alice", {"public_key": key}).json()["certificate"]
    for bad, reason in [(dsa, "DSA"), (short_rsa, "2048"), (certificate, "certificate"),
                        ("ssh-ed25519 AAAA", None), (key.split()[1], None), ("", None)]:
        r = raw("alice", {"public_key": bad})
        expect_error(r, 400, "ValidationError", "public_key")
        if reason:
            assert reason in " ".join(r.json()["invalid_fields"]["public_key"]), r.json()
    for body, field in [({}, "public_key"), ({"public_key": key, "principals": []}, "principals"),
                        ({"public_key": key, "valid_for": 30}, "valid_for"),
                        ({"public_key": key, "valid_for": "25h"}, "valid_for"),
                        ({"public_key": key, "valid_for": "8"}, "valid_for"),
                        ({"public_key": key, "extensions": []}, "extensions")]:
        expect_error(raw("alice", body), 400, "ValidationError", field)


def test_a_certificate_of_a_key_not_stored_is_revoked_by_serial_into_the_krl(server, prism,
                                                                             team, keydir,
                                                                             tmp_path):
    kept, revoked = keydir.keygen("ed25519"), keydir.keygen("ed25519")
    certs = {}
    for priv in (kept, revoked):
        r = sign_public_key(prism, team, "bob", {"public_key": public_line(priv)})
        assert r.status == 201, r
        certs[priv] = (save_certificate(priv, r.json()["certificate"]), r.json()["serial"])
    files = [certs[kept][0], certs[revoked][0]]
    assert not any(krl_says(fetch_krl(prism, server, team, tmp_path), *files).values())
    serial = certs[revoked][1]
    # Bob's certificate: alice may not revoke it, bob may.
    expect_error(request(prism.port, "POST", url(team, f"/certificates/{serial}/revoke"),
                         token=team["alice"], content_type=None), 403, "ForbiddenError")
    r = prism.request("POST", url(team, f"/certificates/{serial}/revoke"), token=team["bob"],
                      content_type=None)
    assert r.status == 204, r
    assert krl_says(fetch_krl(prism, server, team, tmp_path), *files) == \
        {files[0].name: False, files[1].name: True}
    # The audit trail names the key by its fingerprint, never a key id.
    r = prism.request("GET", f"/api/v1/events?project_id={team['project']}&resource_id={serial}",
                      token=team["admin"])
    assert r.status == 200, r
    events = {e["action"]: e for e in r.json()["results"]}
    assert set(events) == {"certificate.issue", "certificate.revoke"}
    fingerprint = sha256_fingerprint(f"{revoked}.pub")
    for e in events.values():
        assert e["details"]["fingerprint_sha256"] == fingerprint and "key_id" not in e["details"]
        assert e["resource"]["type"] == "certificate" and e["resource"]["id"] == serial
    assert events["certificate.issue"]["actor"]["user_id"] == 32


def krl_version(krl):
    """The version `ssh-keygen -Q -l` reads in a KRL file."""
    out = run("ssh-keygen", "-Q", "-l", "-f", str(krl))
    return int(re.search(r"^# KRL version (\d+)$", out, re.M).group(1))


def test_the_krl_is_revalidated_by_an_etag_that_only_a_change_moves(server, prism, keydir,
                                                                      tmp_path):
    p = new_project()
    team = {"project": p, "alice": server.token(33, [p], principals=["deploy"]),
            "reader": server.token(33, [p], read_only=True)}
    certs = []
    for _ in range(2):
        priv, key_id = import_key(prism, team, "alice", keydir)
        r = sign(prism, team, "alice", key_id, {"principals": ["deploy"]})
        assert r.status == 201, r
        certs.append((save_certificate(priv, r.json()["certificate"]), r.json()["serial"]))
    first = fetch_krl(prism, server, team, tmp_path, who="reader")
    r = prism.request("GET", url(team, "/ssh_ca/krl"), token=team["reader"])
    etag = r.header("ETag")
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag) and r.header("Cache-Control") == "no-cache"
    # A second later (the version and date used to be the clock's): the same bytes and tag.
    time.sleep(1.1)
    r = server.request("GET", url(team, "/ssh_ca/krl"), token=team["reader"])
    assert r.status == 200 and r.header("ETag") == etag and r.body == first.read_bytes()
    r = prism.request("GET", url(team, "/ssh_ca/krl"), token=team["reader"],
                      headers={"If-None-Match": etag})
    assert r.status == 304 and r.header("ETag") == etag and r.body == b""

    # The higher serial first, then the lower: each revocation a new tag, a higher version.
    versions, tags = [krl_version(first)], [etag]
    for cert, serial in reversed(certs):
        r = prism.request("POST", url(team, f"/certificates/{serial}/revoke"),
                          token=team["alice"], content_type=None)
        assert r.status == 204, r
        r = server.request("GET", url(team, "/ssh_ca/krl"), token=team["reader"],
                           headers={"If-None-Match": tags[-1]})
        assert r.status == 200 and r.header("ETag") not in tags, r
        tags.append(r.header("ETag"))
        f = tmp_path / f"krl-{serial}"
        f.write_bytes(r.body)
        assert krl_says(f, cert) == {cert.name: True}
        versions.append(krl_version(f))
    assert versions == sorted(set(versions)), versions
    r = server.request("GET", url(team, "/ssh_ca/krl"), token=team["reader"],
                       headers={"If-None-Match": tags[-1]})
    assert r.status == 304 and r.body == b""


# --- authorized_keys ---------------------------------------------------------------------

def test_authorized_keys_lists_usable_keys_oldest_first_with_an_etag(server, prism, keydir):
    p = new_project()
    alice = server.token(41, [p])
    bob = server.token(42, [p])
    team = {"project": p, "alice": alice, "bob": bob}
    a, _ = import_key(prism, team, "alice", keydir, labels={"login": "deploy"})
    b, b_id = import_key(prism, team, "bob", keydir, labels={"login": "deploy"})
    c, _ = import_key(prism, team, "alice", keydir, labels={"login": "root"})
    r = prism.request("PATCH", url(team, f"/keys/{b_id}"), {"shared_in_project": False}, bob)
    assert r.status == 200, r

    def lines(path):
        return [" ".join(Path(f"{k}.pub").read_text().split()[:3]) for k in path]

    r = prism.request("GET", url(team, "/authorized_keys"), token=alice)
    assert r.status == 200 and r.header("Content-Type") == "text/plain; charset=utf-8"
    assert r.body.decode().splitlines() == lines([a, c])  # bob's key is his alone now
    assert r.body.endswith(b"\n")
    etag = r.header("ETag")
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    assert prism.request("GET", url(team, "/authorized_keys"), token=bob).body.decode() \
        .splitlines() == lines([a, b, c])
    r = prism.request("GET", url(team, "/authorized_keys?label_selector=login%3Ddeploy"),
                      token=bob)
    assert r.body.decode().splitlines() == lines([a, b])
    r = prism.request("GET", url(team, "/authorized_keys?owner_id=41&label_selector=login"),
                      token=bob)
    assert r.body.decode().splitlines() == lines([a, c])

    # Unchanged: 304 with the same tag; a change makes a new one.
    r = prism.request("GET", url(team, "/authorized_keys"), token=alice,
                      headers={"If-None-Match": etag})
    assert r.status == 304 and r.header("ETag") == etag and r.body == b""
    import_key(prism, team, "alice", keydir)
    r = prism.request("GET", url(team, "/authorized_keys"), token=alice,
                      headers={"If-None-Match": etag})
    assert r.status == 200 and r.header("ETag") != etag

    expect_error(request(prism.port, "GET", url(team, "/authorized_keys?label_selector=%3D"),
                         token=alice), 400, "ValidationError", "label_selector")
    expect_error(request(prism.port, "GET", "/api/v1/projects/1/authorized_keys", token=alice),
                 403, "ForbiddenError")
    empty = new_project()
    r = prism.request("GET", f"/api/v1/projects/{empty}/authorized_keys",
                      token=server.token(43, [empty]))
    assert r.status == 200 and r.body == b""


# --- running without a CA, and the KEK ---------------------------------------------------

def test_without_a_kek_the_ca_routes_say_so(fresh_server):
    s = fresh_server.start()
    token = s.token(1, [1])
    assert s.request("POST", "/api/v1/projects/1/keys", {"name": "no-ca", "generate": {}},
                     token).status == 201
    for method, path in [("GET", "/api/v1/projects/1/ssh_ca"),
                         ("POST", "/api/v1/projects/1/ssh_ca"),
                         ("GET", "/api/v1/projects/1/ssh_ca/public_key"),
                         ("GET", "/api/v1/projects/1/ssh_ca/krl"),
                         ("POST", "/api/v1/projects/1/keys/no-ca/certificates"),
                         ("POST", "/api/v1/projects/1/certificates/1/revoke")]:
        body = {"principals": ["x"]} if path.endswith("/certificates") else None
        r = s.request(method, path, body, token)
        expect_error(r, 404, "NotFoundError")
        assert "--ca-kek-file" in r.json()["message"], r
    assert s.request("GET", "/api/v1/projects/1/authorized_keys", token=token).status == 200


def test_new_kek_writes_a_private_file_and_never_overwrites(tmp_path):
    s = Server(tmp_path)
    kek = tmp_path / "ca.kek"
    r = s.cli("ca", "new-kek", str(kek))
    assert "keep a copy" in r.stderr
    assert stat.S_IMODE(kek.stat().st_mode) == 0o600
    assert re.fullmatch(r"[0-9a-f]{64}\n", kek.read_text())
    first = kek.read_text()
    r = s.cli("ca", "new-kek", str(kek), check=False)
    assert r.returncode == 1 and kek.read_text() == first
    assert s.cli("ca", "new-kek", check=False).returncode == 2


def test_serve_refuses_a_kek_others_can_read(tmp_path):
    s = Server(tmp_path)
    kek = tmp_path / "ca.kek"
    s.cli("ca", "new-kek", str(kek))
    os.chmod(kek, 0o644)
    r = s.cli("serve", "--listen", "127.0.0.1:1", "--ca-kek-file", str(kek), check=False)
    assert r.returncode == 1 and str(kek) in r.stderr, r.stderr
    r = s.cli("serve", "--ca-kek-file", str(tmp_path / "missing"), check=False)
    assert r.returncode != 0 and "missing" in r.stderr


def test_the_ca_survives_a_restart_and_only_its_kek_opens_it(tmp_path):
    s = Server(tmp_path)
    kek = tmp_path / "ca.kek"
    s.cli("ca", "new-kek", str(kek))
    s.start("--ca-kek-file", str(kek))
    try:
        token = s.token(1, [1], principals=["deploy"])
        first = s.request("POST", "/api/v1/projects/1/ssh_ca", token=token,
                          content_type=None).json()
        r = s.request("POST", "/api/v1/projects/1/keys", {"name": "kek-test", "generate": {}},
                      token)
        assert r.status == 201, r
        s.stop()
        s.start("--ca-kek-file", str(kek))
        assert s.request("GET", "/api/v1/projects/1/ssh_ca", token=token).json() == first
        assert s.request("POST", "/api/v1/projects/1/keys/kek-test/certificates",
                         {"principals": ["deploy"]}, token).status == 201
    finally:
        s.stop()
    # Another KEK cannot open the CAs: serve refuses to start, saying so.
    other = tmp_path / "other.kek"
    s.cli("ca", "new-kek", str(other))
    r = s.cli("serve", "--listen", "127.0.0.1:1", "--ca-kek-file", str(other), check=False)
    assert r.returncode == 1 and "not the key-encryption key" in r.stderr, r.stderr
    # Neither key nor seed ever reaches the log or the database file.
    log = s.log_path.read_text()
    for secret in (kek.read_text().strip(), other.read_text().strip()):
        assert secret not in log and secret not in r.stderr
    if s.database.startswith("sqlite:"):
        db = Path(s.database.removeprefix("sqlite:"))
        raw = b"".join(p.read_bytes() for p in db.parent.iterdir() if p.is_file())
        assert bytes.fromhex(kek.read_text().strip()) not in raw
