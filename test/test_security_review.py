"""Black-box tests of the findings of the outside security review (issue 17), each one as
the reviewer probed it: a KRL another member could poison, HTTP framing a proxy and the
service could read differently, secrets a cache could keep, a read that wrote. They run on
both backends (the pytest pass of each) and read what the service hands out with the real
OpenSSH tools."""

import json
import socket
from pathlib import Path

import pytest

from conftest import new_project, request, unique_name
from test_seed_operation import expect_error
from test_ssh_ca import fetch_krl, inspect, keydir, krl_says, save_certificate  # noqa: F401


@pytest.fixture(scope="module")
def team(server):
    """A project of its own: alice (principals alice, deploy), bob (bob, deploy), a reader."""
    p = new_project()
    return {"project": p,
            "alice": server.token(61, [p], principals=["alice", "deploy"]),
            "bob": server.token(62, [p], principals=["bob", "deploy"]),
            "reader": server.token(61, [p], read_only=True)}


def url(team, rest):
    return f"/api/v1/projects/{team['project']}{rest}"


# --- 1. the KRL revokes certificates by serial, never a key --------------------------------

def test_a_copy_of_anothers_public_key_cannot_revoke_it(server, prism, team, keydir, tmp_path):
    """The reviewer's attack: bob imports alice's public key as his own unshared key, has it
    certified and deletes it. Alice's key and certificate stay valid in the KRL sshd reads;
    only bob's certificate is revoked."""
    priv = keydir.keygen("ed25519")
    public = Path(f"{priv}.pub").read_text().strip()
    r = prism.request("POST", url(team, "/keys"),
                      {"name": unique_name("alice"), "public_key": public,
                       "labels": {"login": "alice"}}, team["alice"])
    assert r.status == 201, r
    alice_key = r.json()["id"]
    r = prism.request("POST", url(team, f"/keys/{alice_key}/certificates"),
                      {"principals": ["alice"], "valid_for": 600}, team["alice"])
    assert r.status == 201, r
    alice_cert = save_certificate(priv, r.json()["certificate"])

    r = prism.request("POST", url(team, "/keys"),
                      {"name": unique_name("copy"), "shared_in_project": False,
                       "public_key": public}, team["bob"])
    assert r.status == 201, r
    copy = r.json()["id"]
    r = prism.request("POST", url(team, f"/keys/{copy}/certificates"),
                      {"principals": ["bob"], "valid_for": 60}, team["bob"])
    assert r.status == 201, r
    bob_cert = tmp_path / "bob-cert.pub"
    bob_cert.write_text(r.json()["certificate"] + "\n")
    assert prism.request("DELETE", url(team, f"/keys/{copy}"), token=team["bob"]).status == 204

    krl = fetch_krl(prism, server, team, tmp_path)
    assert krl_says(krl, f"{priv}.pub", alice_cert, bob_cert) == {
        Path(f"{priv}.pub").name: False, alice_cert.name: False, bob_cert.name: True}
    # And keypaird still hands alice's key to sshd.
    r = prism.request("GET", url(team, "/authorized_keys?label_selector=login%3Dalice"),
                      token=team["reader"])
    assert r.body.decode().split()[:2] == public.split()[:2]


# --- 3. a read never writes; certificate requests --------------------------------------------

def test_reads_never_make_a_ca(server, prism, keydir, tmp_path):
    p = new_project()
    reader = server.token(71, [p], read_only=True)
    writer = server.token(72, [p])
    for token in (reader, writer):
        for path in ("/ssh_ca", "/ssh_ca/public_key"):
            r = expect_error(request(prism.port, "GET", f"/api/v1/projects/{p}{path}",
                                     token=token), 404, "NotFoundError")
            assert f"POST /api/v1/projects/{p}/ssh_ca" in r["message"], r
        # The KRL of a project without a CA is empty, and ssh-keygen reads it.
        assert prism.request("GET", f"/api/v1/projects/{p}/ssh_ca/krl", token=token).status == 200
        body = server.request("GET", f"/api/v1/projects/{p}/ssh_ca/krl", token=token).body
        krl = tmp_path / "empty.krl"
        krl.write_bytes(body)
        key = keydir.keygen("ed25519")
        assert krl_says(krl, f"{key}.pub") == {Path(f"{key}.pub").name: False}
    expect_error(request(prism.port, "POST", f"/api/v1/projects/{p}/ssh_ca", token=reader,
                         content_type=None), 403, "ForbiddenError")
    expect_error(request(prism.port, "GET", f"/api/v1/projects/{p}/ssh_ca", token=writer),
                 404, "NotFoundError")  # still none
    r = prism.request("POST", f"/api/v1/projects/{p}/ssh_ca", token=writer, content_type=None)
    assert r.status == 201, r
    assert prism.request("GET", f"/api/v1/projects/{p}/ssh_ca", token=reader).json() == r.json()


def test_certificate_requests_collapse_principals_and_name_the_nul(prism, team, keydir):
    priv = keydir.keygen("ed25519")
    r = prism.request("POST", url(team, "/keys"),
                      {"name": unique_name("cert"),
                       "public_key": Path(f"{priv}.pub").read_text().strip()}, team["alice"])
    assert r.status == 201, r
    key = r.json()["id"]
    r = prism.request("POST", url(team, f"/keys/{key}/certificates"),
                      {"principals": ["alice", "deploy", "alice"]}, team["alice"])
    assert r.status == 201, r
    assert r.json()["principals"] == ["alice", "deploy"]
    out = save_certificate(priv, r.json()["certificate"])
    assert inspect(out)["Principals"] == ["alice", "deploy"]
    r = request(prism.port, "POST", url(team, f"/keys/{key}/certificates"),
                {"principals": ["alice"], "force_command": "ls\u0000rm -rf /"}, team["alice"])
    b = expect_error(r, 400, "ValidationError", "force_command")
    assert "principals" not in b["invalid_fields"], b


# --- 3. caches and sniffing ------------------------------------------------------------------

def test_secrets_are_never_stored_by_a_cache_and_nothing_is_sniffed(server, prism, team,
                                                                      keydir):
    r = prism.request("POST", url(team, "/keys"),
                      {"name": unique_name("gen"), "generate": {"type": "ed25519",
                                                                "passphrase": "pw-pw-pw-pw"}},
                      team["alice"])
    assert r.status == 201 and r.json()["private_key"], r
    assert r.header("Cache-Control") == "no-store"
    key = r.json()["id"]
    r = prism.request("POST", f"/cloud/v1/keypairs/{team['project']}/1",
                      {"sshkey_name": unique_name("gcore")}, team["alice"])
    assert r.status == 200 and r.json()["private_key"], r
    assert r.header("Cache-Control") == "no-store"
    r = prism.request("POST", url(team, f"/keys/{key}/certificates"),
                      {"principals": ["alice"]}, team["alice"])
    assert r.status == 201 and r.header("Cache-Control") == "no-store", r
    got = prism.request("GET", url(team, f"/keys/{key}"), token=team["alice"])
    assert got.status == 200 and got.header("Cache-Control") is None
    for r in (got, r, request(server.port, "GET", "/nothing"),
              request(server.port, "GET", "/healthz"),
              request(server.port, "PUT", "/healthz", token=team["alice"]),
              request(server.port, "GET", url(team, "/keys"), token="wrong")):
        assert r.header("X-Content-Type-Options") == "nosniff", r


# --- 2. HTTP framing and strictness, on raw sockets ------------------------------------------

def exchange(port, payload, timeout=10):
    """Sends `payload` on a new connection and reads until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as c:
        c.sendall(payload)
        out = b""
        while chunk := c.recv(65536):
            out += chunk
    return out


def split_responses(data, head_only=()):
    """The responses in `data`: (status, headers, body) each; a response whose index is in
    `head_only` has no body whatever its Content-Length says (a HEAD's)."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, data[:200]
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        n = 0 if len(out) in head_only else int(headers.get("content-length", 0))
        out.append((status, headers, rest[:n]))
        data = rest[n:]
    return out


def test_head_answers_every_get_route_with_headers_only(server, team):
    key = request(server.port, "POST", url(team, "/keys"), {"name": unique_name("head")},
                  team["alice"]).json()["id"]
    auth = f"Authorization: APIKey {team['reader']}\r\n".encode()
    get = request(server.port, "GET", url(team, f"/keys/{key}"), token=team["reader"])
    path = url(team, f"/keys/{key}").encode()
    data = exchange(server.port,
                    b"HEAD " + path + b" HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n" +
                    b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n" +
                    b"HEAD " + url(team, "/certificates/1/revoke").encode() +
                    b" HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n" +
                    b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    responses = split_responses(data, head_only={0, 1, 2})
    assert [r[0] for r in responses] == [200, 200, 405, 200], data
    (_, head, body), health, not_allowed, after = responses
    assert body == b"" and int(head["content-length"]) == len(get.body)
    assert head["content-type"] == get.header("Content-Type")
    assert head["etag"] == get.header("ETag")
    assert int(health[1]["content-length"]) > 0
    assert not_allowed[1]["allow"] == "POST"
    # Nothing after the HEAD answers: the last response is the GET's, whole.
    assert json.loads(after[2]) == {"status": "ok"}


def test_a_long_target_is_414(server):
    data = exchange(server.port, b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    status, headers, body = split_responses(data)[0]
    assert status == 414, data[:200]
    assert json.loads(body)["exception_class"] == "URITooLong"


@pytest.mark.parametrize("payload", [
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A\t: b\r\n\r\n",
    b"GET /healthz HTTP/1.1\nHost: x\n\n",
    b"GET /healthz HTTP/1.1\r\nHost: x\nX: y\r\n\r\n",
    b"GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n",
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    b"GET /healthz\r\n\r\n",
], ids=["space-before-colon", "tab-before-colon", "bare-lf", "bare-lf-in-fields", "http2",
        "h2-preface", "http09"])
def test_framing_rfc9112_forbids_is_400(server, payload):
    data = exchange(server.port, payload)
    status, headers, body = split_responses(data)[0]
    assert status == 400, data[:300]
    assert headers.get("connection") == "close"
    assert json.loads(body)["exception_class"] == "BadRequest"


def test_obs_fold_and_two_authorizations_do_not_authenticate(server, team):
    path = url(team, "/keys").encode()
    token = team["alice"].encode()
    ok = exchange(server.port, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nAuthorization: APIKey "
                  + token + b"\r\nConnection: close\r\n\r\n")
    assert split_responses(ok)[0][0] == 200
    for payload in [
        b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nAuthorization: APIKey\r\n " + token +
        b"\r\n\r\n",
        b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nAuthorization: APIKey " + token +
        b"\r\nAuthorization: APIKey " + token + b"\r\n\r\n",
        b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nauthorization: APIKey nothing\r\n"
        b"Authorization: APIKey " + token + b"\r\n\r\n",
    ]:
        data = exchange(server.port, payload)
        assert split_responses(data)[0][0] == 400, data[:300]


def test_a_json_member_named_twice_is_400_naming_it_and_stores_nothing(server, team):
    name = unique_name("twice")
    for raw, field in [
        (f'{{"name":"{name}","name":"{name}-b"}}', "name"),
        (f'{{"name":"{name}","labels":{{"team":"a","team":"b"}}}}', "labels.team"),
    ]:
        r = request(server.port, "POST", url(team, "/keys"), token=team["alice"],
                    raw_body=raw.encode())
        expect_error(r, 400, "ValidationError", field)
    r = request(server.port, "POST", f"/cloud/v1/ssh_keys/{team['project']}", token=team["alice"],
                raw_body=b'{"name":"twice-one","name":"twice-two"}')
    expect_error(r, 400, "ValidationError", "name")
    listed = request(server.port, "GET", url(team, "/keys?limit=1000"), token=team["alice"]).json()
    names = [k["name"] for k in listed["results"]]
    assert not any(n.startswith(name) or n.startswith("twice-") for n in names), names
