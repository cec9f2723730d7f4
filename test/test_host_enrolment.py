"""Black-box tests of host enrolment (docs/ssh-access.md "Hosts"; tag "Hosts" in
openapi/keypaird.yaml), on both backends, through Prism: a server enrols with a join token and
gets host certificates that real OpenSSH reads as such, signed by the project's host CA; its
host token renews its own certificates and reads what sshd needs, and nothing else; a deleted
host's token stops and its certificates are in the KRL as ssh-keygen reads it."""

import re
import subprocess
from pathlib import Path

import pytest

from conftest import new_project
from sshtools import KeyDir, run
from test_seed_operation import expect_error

HOST_TOKEN = re.compile(r"^kph_([0-9a-f]{16})_([0-9a-f]{64})$")


@pytest.fixture
def admin(server):
    return server.token(8200, admin=True)


@pytest.fixture
def keys():
    d = KeyDir()
    yield d
    d.close()


def join_token(prism, admin, project, hostnames, uses=2):
    r = prism.request("POST", f"/api/v1/projects/{project}/host_join_tokens",
                      {"hostnames": hostnames, "uses": uses}, token=admin)
    assert r.status == 201, r
    return r.json()


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def enroll(client, token, project, hostnames, public_keys):
    return client.request("POST", "/api/v1/hosts/enroll",
                          {"project_id": project, "hostnames": hostnames,
                           "public_keys": public_keys}, headers=bearer(token))


def host_keys(keys, *types):
    return [keys.keygen(t, comment="root@web-1") for t in types]


def pub(path):
    """The public key line ssh-keygen wrote beside the private key."""
    return Path(str(path) + ".pub").read_text().strip()


def listing(cert_line, tmp_path, name="cert-cert.pub"):
    f = tmp_path / name
    f.write_text(cert_line + "\n")
    return run("ssh-keygen", "-L", "-f", str(f))


def test_a_server_enrols_and_gets_host_certificates_from_the_host_ca(prism, admin, keys,
                                                                     tmp_path):
    p = new_project()
    join = join_token(prism, admin, p, ["web-1.example.com", "*.db.example.com"])
    ed, ec = host_keys(keys, "ed25519", "ecdsa")
    r = enroll(prism, join["token"], p, ["Web-1.example.com", "pg-1.db.example.com"],
               [pub(ed), pub(ec)])
    assert r.status == 201, r
    assert r.header("Cache-Control") == "no-store"
    a = r.json()
    m = HOST_TOKEN.match(a["host_token"])
    assert m and m.group(1) == a["host_id"]
    assert a["hostnames"] == ["web-1.example.com", "pg-1.db.example.com"]
    host_ca = prism.request("GET", f"/api/v1/projects/{p}/ssh_host_ca", token=admin)
    assert host_ca.status == 200, host_ca
    user_ca = prism.request("GET", f"/api/v1/projects/{p}/ssh_ca", token=admin).json()
    assert host_ca.json()["public_key"] != user_ca["public_key"]
    assert a["user_ca_public_keys"] == [user_ca["public_key"]]
    assert a["known_hosts"] == ("@cert-authority web-1.example.com,pg-1.db.example.com "
                                f"{host_ca.json()['public_key']}\n")
    # Real OpenSSH reads each as a host certificate of its key, for the names, by the host CA.
    assert len(a["certificates"]) == 2
    for key, c in zip((ed, ec), a["certificates"]):
        out = listing(c["certificate"], tmp_path)
        assert "host certificate" in out, out
        assert re.search(r"Principals:\s+web-1\.example\.com\s+pg-1\.db\.example\.com\s", out), out
        fp = run("ssh-keygen", "-l", "-f", str(key) + ".pub").split()[1]
        assert fp in out, out
        ca_fp = host_ca.json()["fingerprint_sha256"]
        assert f"Signing CA: ED25519 {ca_fp}" in out, out
    assert [c["serial"] for c in a["certificates"]] == ["1", "2"]
    # One use spent; the administrator lists the host, with its keys' fingerprints.
    [t] = prism.request("GET", f"/api/v1/projects/{p}/host_join_tokens",
                        token=admin).json()["results"]
    assert t["uses_left"] == 1
    [h] = prism.request("GET", f"/api/v1/projects/{p}/hosts", token=admin).json()["results"]
    assert h["id"] == a["host_id"] and h["hostnames"] == a["hostnames"]
    assert h["key_fingerprints"] == [run("ssh-keygen", "-l", "-f", str(k) + ".pub").split()[1]
                                     for k in (ed, ec)]
    assert h["valid_before"] == a["certificates"][0]["valid_before"]
    assert h["join_token_id"] == join["id"]
    # The enrolment is an event of the host, naming its join token and never a secret.
    r = prism.request("GET", f"/api/v1/events?project_id={p}&resource_id={a['host_id']}",
                      token=admin)
    [e] = r.json()["results"]
    assert e["action"] == "host.enroll" and e["actor"]["via"] == "host"
    assert e["actor"]["token_id"] == join["id"]
    assert e["details"]["serials"] == [1, 2]
    assert m.group(2) not in r.body.decode()


def test_enrolment_refusals_spend_no_use(prism, server, admin, keys):
    p = new_project()
    join = join_token(prism, admin, p, ["web-1.example.com", "*.db.example.com"], uses=1)
    [k] = host_keys(keys, "ed25519")
    good = [pub(k)]
    expect_error(server.request("POST", "/api/v1/hosts/enroll",
                                {"project_id": p, "hostnames": ["web-1.example.com"],
                                 "public_keys": good}), 401, "NotAuthenticated")
    for token in ("kpj_nope", join["token"][:-1] + ("0" if join["token"][-1] != "0" else "1"),
                  server.token(8201, admin=True)):
        expect_error(enroll(server, token, p, ["web-1.example.com"], good), 401,
                     "NotAuthenticated")
    expect_error(enroll(server, join["token"], new_project(), ["web-1.example.com"], good),
                 401, "NotAuthenticated")  # another project's token
    expect_error(enroll(prism, join["token"], p, ["web-2.example.com"], good),
                 403, "ForbiddenError")
    expect_error(enroll(prism, join["token"], p, ["db.example.com"], good),
                 403, "ForbiddenError")
    for names, public_keys, field in (
            (["*.db.example.com"], good, "hostnames"),
            (["bad_name"], good, "hostnames"),
            ([], good, "hostnames"),
            (["web-1.example.com"], [], "public_keys"),
            (["web-1.example.com"], ["ssh-ed25519 AAAA"], "public_keys"),
            (["web-1.example.com"], good * 17, "public_keys")):
        expect_error(enroll(server, join["token"], p, names, public_keys), 400,
                     "ValidationError", field)
    sk = ("sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIJUhMYh4koH5fD"
          "AM8M1mMoSKTmxTwrhaoEymElAk3ijUAAAABHNzaDo=")
    expect_error(enroll(server, join["token"], p, ["web-1.example.com"], [sk]), 400,
                 "ValidationError", "public_keys")
    expect_error(server.request("POST", "/api/v1/hosts/enroll", {"project_id": p},
                                headers=bearer(join["token"])), 400, "ValidationError",
                 "hostnames")
    [t] = prism.request("GET", f"/api/v1/projects/{p}/host_join_tokens",
                        token=admin).json()["results"]
    assert t["uses_left"] == 1
    assert prism.request("GET", f"/api/v1/projects/{p}/hosts", token=admin).json() == \
        {"results": []}
    # Its one use, then it is used up.
    assert enroll(prism, join["token"], p, ["pg-1.db.example.com"], good).status == 201
    expect_error(enroll(server, join["token"], p, ["web-1.example.com"], good), 401,
                 "NotAuthenticated")


def test_a_host_token_renews_its_own_host_and_reads_only_what_sshd_needs(prism, server, admin,
                                                                         keys):
    p = new_project()
    join = join_token(prism, admin, p, ["web-1", "web-2"])
    ed, ec = host_keys(keys, "ed25519", "ecdsa")
    one = enroll(prism, join["token"], p, ["web-1"], [pub(ed)]).json()
    two = enroll(prism, join["token"], p, ["web-2"], [pub(ec)]).json()
    host = one["host_token"]
    r = prism.request("POST", f"/api/v1/hosts/{one['host_id']}/renew", {}, token=host)
    assert r.status == 201, r
    renewed = r.json()
    assert "host_token" not in renewed
    assert [c["serial"] for c in renewed["certificates"]] == ["3"]
    assert renewed["user_ca_public_keys"] == one["user_ca_public_keys"]
    # With no body, and with its keys now.
    r = server.request("POST", f"/api/v1/hosts/{one['host_id']}/renew", token=host,
                       content_type=None)
    assert r.status == 201, r
    r = prism.request("POST", f"/api/v1/hosts/{one['host_id']}/renew",
                      {"public_keys": [pub(ec)]}, token=host)
    assert r.status == 201, r
    [listed] = [h for h in prism.request("GET", f"/api/v1/projects/{p}/hosts",
                                         token=admin).json()["results"]
                if h["id"] == one["host_id"]]
    assert listed["key_fingerprints"] == [run("ssh-keygen", "-l", "-f",
                                              str(ec) + ".pub").split()[1]]
    assert listed["renewed_at"] > listed["enrolled_at"]
    # What sshd needs: the user CA key, the KRL, authorized_keys, the host CA.
    base = f"/api/v1/projects/{p}"
    assert prism.request("GET", f"{base}/ssh_ca/public_key", token=host).body.decode() == \
        one["user_ca_public_keys"][0] + "\n"
    assert prism.request("GET", f"{base}/ssh_ca/krl", token=host).status == 200
    assert prism.request("GET", f"{base}/authorized_keys", token=host).status == 200
    assert prism.request("GET", f"{base}/ssh_host_ca", token=host).status == 200
    # Nothing else: another host's renewal, keys, tokens, events, another project.
    expect_error(prism.request("POST", f"/api/v1/hosts/{two['host_id']}/renew", {},
                               token=host), 403, "ForbiddenError")
    for method, path in (("GET", f"{base}/keys"), ("GET", f"{base}/hosts"),
                         ("GET", f"{base}/host_join_tokens"), ("GET", "/api/v1/events"),
                         ("GET", f"/cloud/v1/ssh_keys/{p}"),
                         ("GET", f"/api/v1/projects/{new_project()}/ssh_ca/public_key")):
        expect_error(server.request(method, path, token=host), 403, "ForbiddenError")
    expect_error(server.request("POST", f"{base}/ssh_ca/sign",
                                {"public_key": pub(ed), "principals": ["root"]}, token=host),
                 403, "ForbiddenError")
    # Nobody else renews a host.
    expect_error(prism.request("POST", f"/api/v1/hosts/{one['host_id']}/renew", {},
                               token=admin), 403, "ForbiddenError")


def test_a_deleted_hosts_token_stops_and_its_certificates_are_revoked(prism, server, admin,
                                                                      keys, tmp_path):
    p = new_project()
    join = join_token(prism, admin, p, ["web-1", "web-2"])
    ed, ec = host_keys(keys, "ed25519", "ecdsa")
    gone = enroll(prism, join["token"], p, ["web-1"], [pub(ed)]).json()
    kept = enroll(prism, join["token"], p, ["web-2"], [pub(ec)]).json()
    editor = server.token(8202, [p])
    expect_error(prism.request("DELETE", f"/api/v1/projects/{p}/hosts/{gone['host_id']}",
                               token=editor), 403, "ForbiddenError")
    expect_error(prism.request("DELETE",
                               f"/api/v1/projects/{new_project()}/hosts/{gone['host_id']}",
                               token=admin), 404, "NotFoundError")
    assert prism.request("DELETE", f"/api/v1/projects/{p}/hosts/{gone['host_id']}",
                         token=admin).status == 204
    expect_error(prism.request("DELETE", f"/api/v1/projects/{p}/hosts/{gone['host_id']}",
                               token=admin), 404, "NotFoundError")
    expect_error(server.request("POST", f"/api/v1/hosts/{gone['host_id']}/renew", {},
                                token=gone["host_token"]), 401, "NotAuthenticated")
    assert prism.request("POST", f"/api/v1/hosts/{kept['host_id']}/renew", {},
                         token=kept["host_token"]).status == 201
    # The KRL, as ssh-keygen reads it: the deleted host's certificate, not the other's.
    krl = tmp_path / "krl"
    # (Straight from the service: the proxy does not pass binary bodies through unchanged.)
    krl.write_bytes(server.request("GET", f"/api/v1/projects/{p}/ssh_ca/krl",
                                   token=kept["host_token"]).body)
    for answer, revoked in ((gone, True), (kept, False)):
        cert = tmp_path / f"{answer['host_id']}-cert.pub"
        cert.write_text(answer["certificates"][0]["certificate"] + "\n")
        r = subprocess.run(["ssh-keygen", "-Q", "-f", str(krl), str(cert)],
                           capture_output=True, text=True, timeout=60)
        assert ("REVOKED" in r.stdout) == revoked, r.stdout
    events = prism.request("GET", f"/api/v1/events?project_id={p}&action=host.delete",
                           token=admin).json()["results"]
    assert [e["resource"]["id"] for e in events] == [gone["host_id"]]


def test_the_host_ca_is_made_ahead_and_gives_known_hosts_lines(prism, server, admin):
    p = new_project()
    base = f"/api/v1/projects/{p}/ssh_host_ca"
    expect_error(prism.request("GET", base, token=admin), 404, "NotFoundError")
    expect_error(prism.request("GET", f"{base}/known_hosts", token=admin), 404, "NotFoundError")
    made = prism.request("POST", base, token=admin, content_type=None)
    assert made.status == 201, made
    assert made.json()["public_key"].endswith(f" keypaird project {p} host CA")
    again = prism.request("POST", base, {}, token=admin)
    assert again.status == 200 and again.json() == made.json()
    r = prism.request("GET", f"{base}/known_hosts?hosts=*.example.com,!bad.example.com",
                      token=admin)
    assert r.status == 200, r
    assert r.body.decode() == \
        f"@cert-authority *.example.com,!bad.example.com {made.json()['public_key']}\n"
    assert prism.request("GET", f"{base}/known_hosts", token=admin).body.decode() == \
        f"@cert-authority * {made.json()['public_key']}\n"
    for bad in ("a%20b", "", "x,,y", "a;b"):
        expect_error(server.request("GET", f"{base}/known_hosts?hosts={bad}", token=admin),
                     400, "ValidationError", "hosts")
    expect_error(prism.request("POST", base, token=server.token(8203, [new_project()]),
                               content_type=None), 403, "ForbiddenError")


def test_both_cas_rotate_and_enrolments_trust_both_keys_new_first(prism, server, admin, keys):
    """docs/ssh-access.md "Rotating a CA", through Prism: each answer as documented."""
    p = new_project()
    base = f"/api/v1/projects/{p}"
    expect_error(prism.request("POST", f"{base}/ssh_ca/rotate", {}, token=admin), 404,
                 "NotFoundError")
    join = join_token(prism, admin, p, ["web-1", "web-2"])
    ed, ec = host_keys(keys, "ed25519", "ecdsa")
    first = enroll(prism, join["token"], p, ["web-1"], [pub(ed)]).json()
    host = first["host_token"]
    # A user certificate of the first key: it keeps that key trusted after the rotation (a
    # key that signed nothing retires at once).
    r = prism.request("POST", f"{base}/ssh_ca/sign",
                      {"public_key": pub(ec), "principals": ["root"], "valid_for": 600},
                      token=admin)
    assert r.status == 201, r
    user_cert = r.json()
    user_before = prism.request("GET", f"{base}/ssh_ca", token=admin).json()
    host_before = prism.request("GET", f"{base}/ssh_host_ca", token=admin).json()
    assert [k["retires_at"] for k in user_before["keys"]] == [None]
    # Neither a host token nor a project's writer rotates.
    expect_error(server.request("POST", f"{base}/ssh_ca/rotate", {}, token=host), 403,
                 "ForbiddenError")
    writer = server.token(8201, projects=[p])
    expect_error(prism.request("POST", f"{base}/ssh_host_ca/rotate", {}, token=writer), 403,
                 "ForbiddenError")
    expect_error(server.request("POST", f"{base}/ssh_ca/rotate", {"kind": "rsa"}, token=admin),
                 400, "ValidationError")
    user_after = prism.request("POST", f"{base}/ssh_ca/rotate", {}, token=admin).json()
    host_after = prism.request("POST", f"{base}/ssh_host_ca/rotate", None, token=admin).json()
    for before, after in ((user_before, user_after), (host_before, host_after)):
        assert after["public_key"] != before["public_key"]
        assert [k["public_key"] for k in after["keys"]] == [after["public_key"],
                                                            before["public_key"]]
        assert after["keys"][0]["retires_at"] is None
    # Each old key is trusted until the last certificate it signed expires.
    assert host_after["keys"][1]["retires_at"] == first["certificates"][0]["valid_before"]
    assert user_after["keys"][1]["retires_at"] == user_cert["valid_before"]
    # Enrolments and renewals hand out both keys, new first, and sign with the new one.
    second = enroll(prism, join["token"], p, ["web-2"], [pub(ec)]).json()
    assert second["user_ca_public_keys"] == [user_after["public_key"], user_before["public_key"]]
    assert [line.split(" ", 2)[2].split(" ")[1] for line in second["known_hosts"].splitlines()] \
        == [host_after["public_key"].split()[1], host_before["public_key"].split()[1]]
    assert host_after["fingerprint_sha256"] in listing(second["certificates"][0]["certificate"],
                                                       keys.path)
    r = prism.request("POST", f"/api/v1/hosts/{first['host_id']}/renew", {}, token=host)
    assert r.json()["user_ca_public_keys"] == second["user_ca_public_keys"]
    text = prism.request("GET", f"{base}/ssh_ca/public_key", token=host).body.decode()
    assert text == user_after["public_key"] + "\n" + user_before["public_key"] + "\n"
    # Deleting: not the signing key (409), not by a writer (403), an unknown one 404.
    signing = user_after["fingerprint_sha256"].replace("/", "%2F")
    expect_error(prism.request("DELETE", f"{base}/ssh_ca/keys/{signing}", token=admin), 409,
                 "ConflictError")
    old = user_before["fingerprint_sha256"].replace("/", "%2F")
    expect_error(prism.request("DELETE", f"{base}/ssh_ca/keys/{old}", token=writer), 403,
                 "ForbiddenError")
    expect_error(prism.request("DELETE", f"{base}/ssh_ca/keys/SHA256%3Anone", token=admin), 404,
                 "NotFoundError")
    assert prism.request("DELETE", f"{base}/ssh_ca/keys/{old}", token=admin).status == 204
    assert [k["public_key"] for k in prism.request("GET", f"{base}/ssh_ca", token=admin)
            .json()["keys"]] == [user_after["public_key"]]
