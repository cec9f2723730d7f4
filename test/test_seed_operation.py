"""Black-box tests of the seed operation, POST /cloud/v1/keypairs/{project_id}/{region_id},
against the running binary. Successful calls go through Prism over openapi/keypaird.yaml and
fail on any reported violation; bad requests go to the server directly."""

import re
import signal
import sqlite3
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from conftest import Server, unique_name
from sshtools import (KeyDir, md5_fingerprint, public_from_private, run, sk_ecdsa_line,
                      sk_ed25519_line)

URL = "/cloud/v1/keypairs/1/7"
RFC3339_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


@pytest.fixture(scope="module")
def keys():
    k = KeyDir()
    yield k
    k.close()


def check_keypair_body(b, name, project_id=1):
    assert set(b) == {"id", "name", "public_key", "fingerprint", "private_key", "project_id",
                      "shared_in_project", "state", "created_at"}
    # A UUID, time-ordered (version 7, issue 22): its first 48 bits are the millisecond of
    # created_at.
    assert uuid.UUID(b["id"]).version == 7 and str(uuid.UUID(b["id"])) == b["id"]
    assert b["name"] == name
    assert b["project_id"] == project_id
    assert b["state"] == "ACTIVE"
    assert RFC3339_Z.match(b["created_at"]), b["created_at"]
    created = datetime.strptime(b["created_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=timezone.utc)
    created_ms = (created - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(milliseconds=1)
    assert int(b["id"].replace("-", "")[:12], 16) == created_ms, (b["id"], b["created_at"])
    assert re.fullmatch(r"([0-9a-f]{2}:){15}[0-9a-f]{2}", b["fingerprint"])


def expect_error(r, status, exception_class, field=None):
    assert r.status == status, r
    b = r.json()
    assert b["exception_class"] == exception_class, b
    assert isinstance(b["message"], str) and b["message"]
    assert re.fullmatch(r"[0-9a-f]{32}", b["request_id"])
    assert r.header("X-Request-ID") == b["request_id"]
    if status in (400, 409):
        assert r.header("x-should-retry") == "false"
    if status == 400:
        assert isinstance(b["invalid_fields"], dict)
        if field is not None:
            assert field in b["invalid_fields"], b
            assert all(isinstance(m, str) for m in b["invalid_fields"][field])
    else:
        assert "invalid_fields" not in b
    return b


# --- imports of every accepted type, checked against ssh-keygen ---------------------

KEYGEN_TYPES = [("ed25519", None), ("ecdsa", 256), ("ecdsa", 384), ("ecdsa", 521),
                ("rsa", 2048), ("rsa", 4096)]


@pytest.mark.parametrize("ktype,bits", KEYGEN_TYPES)
def test_import_of_each_ssh_keygen_type_matches_openssh(prism_v1, tokens, keys, ktype, bits):
    f = keys.keygen(ktype, bits, comment="alice@laptop with spaces")
    line = f.with_suffix(".pub").read_text().strip()
    name = unique_name(ktype)
    r = prism_v1.request("POST", URL, {"sshkey_name": name, "public_key": line + "\n"},
                         tokens["user1"])
    assert r.status == 200, r
    b = r.json()
    check_keypair_body(b, name)
    assert b["public_key"] == line
    assert b["private_key"] is None
    assert b["shared_in_project"] is True
    assert b["fingerprint"] == md5_fingerprint(f.with_suffix(".pub"))


@pytest.mark.parametrize("maker", [sk_ed25519_line, sk_ecdsa_line])
def test_import_of_security_key_types(prism_v1, tokens, keys, maker):
    base = keys.keygen("ed25519" if maker is sk_ed25519_line else "ecdsa", None if maker is sk_ed25519_line else 256)
    line = maker(base.with_suffix(".pub").read_text())
    pub = keys.write(line + "\n")
    r = prism_v1.request("POST", URL, {"sshkey_name": unique_name("sk"), "public_key": line},
                         tokens["user1"])
    assert r.status == 200, r
    assert r.json()["public_key"] == line
    assert r.json()["fingerprint"] == md5_fingerprint(pub)


def test_import_normalises_blanks_and_line_endings(prism_v1, tokens, keys):
    f = keys.keygen("ed25519", comment="me@host")
    typ, b64, comment = f.with_suffix(".pub").read_text().split()
    messy = f"  {typ} \t  {b64}   {comment}\r\n"
    r = prism_v1.request("POST", URL, {"sshkey_name": unique_name(), "public_key": messy},
                         tokens["user1"])
    assert r.status == 200, r
    assert r.json()["public_key"] == f"{typ} {b64} {comment}"


@pytest.mark.parametrize("ktype,bits", [("ed25519", None), ("ecdsa", 384), ("rsa", 3072)])
def test_rfc4716_and_pem_imports_are_converted(prism_v1, tokens, keys, ktype, bits):
    f = keys.keygen(ktype, bits)
    pub = f.with_suffix(".pub")
    typ, b64 = pub.read_text().split()[:2]
    rfc4716 = run("ssh-keygen", "-e", "-f", str(pub))
    r = prism_v1.request("POST", URL, {"sshkey_name": unique_name("rfc"), "public_key": rfc4716},
                         tokens["user1"])
    assert r.status == 200, r
    assert r.json()["public_key"].split()[:2] == [typ, b64]
    assert r.json()["fingerprint"] == md5_fingerprint(pub)
    if ktype != "ed25519":  # OpenSSH 9.2 cannot export Ed25519 as PKCS8
        pem = run("ssh-keygen", "-e", "-m", "PKCS8", "-f", str(pub))
        r = prism_v1.request("POST", URL, {"sshkey_name": unique_name("pem"), "public_key": pem},
                             tokens["user1"])
        assert r.status == 200, r
        assert r.json()["public_key"] == f"{typ} {b64}"


# --- generation -------------------------------------------------------------------

def test_generated_key_is_accepted_by_ssh_keygen_and_shown_once(prism_v1, tokens, keys, server):
    name = unique_name("gen")
    r = prism_v1.request("POST", URL, {"sshkey_name": name}, tokens["user1"])
    assert r.status == 200, r
    b = r.json()
    check_keypair_body(b, name)
    priv = b["private_key"]
    assert priv.startswith("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    assert priv.endswith("-----END OPENSSH PRIVATE KEY-----\n")
    assert b["public_key"].startswith("ssh-ed25519 ") and b["public_key"].endswith(" " + name)
    f = keys.write(priv)
    assert public_from_private(f) == " ".join(b["public_key"].split()[:2])
    pub = keys.write(b["public_key"] + "\n")
    assert md5_fingerprint(pub) == b["fingerprint"]

    # Explicit null generates too.
    r2 = prism_v1.request("POST", URL, {"sshkey_name": unique_name("gen"), "public_key": None,
                                        "shared_in_project": None}, tokens["user1"])
    assert r2.status == 200 and r2.json()["private_key"] and r2.json()["shared_in_project"]

    # The private key is nowhere else: not in the database, not in the log.
    body_line = priv.splitlines()[2]
    db = server.database.removeprefix("sqlite:")
    for path in (db, db + "-wal"):
        try:
            data = open(path, "rb").read()
        except FileNotFoundError:
            continue
        assert body_line.encode() not in data
    assert body_line.encode() not in server.log_path.read_bytes()


def test_twenty_generated_keys_all_verify(server, tokens, keys):
    for _ in range(20):
        r = server.request("POST", URL, {"sshkey_name": unique_name("many")}, tokens["user1"])
        assert r.status == 200, r
        f = keys.write(r.json()["private_key"])
        assert public_from_private(f) == " ".join(r.json()["public_key"].split()[:2])


def test_shared_in_project_false(prism_v1, tokens):
    r = prism_v1.request("POST", URL, {"sshkey_name": unique_name(), "shared_in_project": False},
                         tokens["user1"])
    assert r.status == 200 and r.json()["shared_in_project"] is False


# --- every rejection ----------------------------------------------------------------

def test_bad_public_keys_are_400_with_a_message_per_reason(server, tokens, keys):
    ed = keys.keygen("ed25519").with_suffix(".pub").read_text().strip()
    typ, b64, _ = ed.split()
    rsa1024 = keys.keygen("rsa", 1024).with_suffix(".pub").read_text().strip()
    priv = keys.keygen("ed25519")
    private_text = priv.read_text()
    ecdsa = keys.keygen("ecdsa", 256).with_suffix(".pub").read_text().strip()
    cases = {
        "empty": "",
        "blank": "  \n",
        "private key": private_text,
        "dss": "ssh-dss AAAAB3NzaC1kc3MAAACBAP== x",
        "certificate": "ssh-ed25519-cert-v01@openssh.com " + b64 + " x",
        "rsa 1024": rsa1024,
        "two keys": ed + "\n" + ed,
        "options prefix": 'command="rm -rf /" ' + ed,
        "bad base64": f"{typ} {b64[:-2]}!! c",
        "type mismatch": f"ecdsa-sha2-nistp256 {b64} c",
        "declared rsa inner ecdsa": "ssh-rsa " + ecdsa.split()[1],
        "control char in comment": f"{typ} {b64} evil\x1bcomment",
        "newline injection": f"{typ} {b64} a\nssh-ed25519 {b64} b",
        "too long": f"{typ} {b64} " + "c" * (16 * 1024),
        "unknown type": f"ssh-foo {b64}",
    }
    messages = {}
    for what, value in cases.items():
        r = server.request("POST", URL, {"sshkey_name": unique_name(), "public_key": value},
                           tokens["user1"])
        b = expect_error(r, 400, "ValidationError", field="public_key")
        messages[what] = " ".join(b["invalid_fields"]["public_key"])
        assert "PRIVATE" not in r.body.decode() and private_text.splitlines()[1] not in r.body.decode()
    assert ".pub" in messages["private key"] or "public" in messages["private key"].lower()
    # Distinct reasons get distinct messages.
    for a, b in [("dss", "certificate"), ("rsa 1024", "two keys"), ("options prefix", "bad base64"),
                 ("type mismatch", "control char in comment"), ("empty", "too long")]:
        assert messages[a] != messages[b], (a, b, messages[a])


@pytest.mark.parametrize("body,field", [
    ({}, "sshkey_name"),
    ({"sshkey_name": 12}, "sshkey_name"),
    ({"sshkey_name": "ab"}, "sshkey_name"),
    ({"sshkey_name": "-starts-with-dash"}, "sshkey_name"),
    ({"sshkey_name": "a" * 64}, "sshkey_name"),
    ({"sshkey_name": "bad/char"}, "sshkey_name"),
    ({"sshkey_name": "okname", "public_key": 5}, "public_key"),
    ({"sshkey_name": "okname", "shared_in_project": "yes"}, "shared_in_project"),
    ({"sshkey_name": "okname", "surprise": True}, "surprise"),
])
def test_invalid_bodies_are_400_naming_the_field(server, tokens, body, field):
    expect_error(server.request("POST", URL, body, tokens["user1"]), 400, "ValidationError", field)


@pytest.mark.parametrize("raw", [b"{", b"[1,2]", b"\"str\"", b"", b"{\"sshkey_name\": \"\xff\xfe\"}"])
def test_malformed_json_is_400(server, tokens, raw):
    expect_error(server.request("POST", URL, token=tokens["user1"], raw_body=raw), 400,
                 "ValidationError")


@pytest.mark.parametrize("path,field", [("/cloud/v1/keypairs/abc/7", "project_id"),
                                        ("/cloud/v1/keypairs/0/7", "project_id"),
                                        ("/cloud/v1/keypairs/1/-3", "region_id"),
                                        ("/cloud/v1/keypairs/1/1.5", "region_id")])
def test_bad_path_values_are_400(server, tokens, path, field):
    expect_error(server.request("POST", path, {"sshkey_name": unique_name()}, tokens["user1"]),
                 400, "ValidationError", field)


def test_missing_unknown_and_revoked_tokens_are_401(server):
    body = {"sshkey_name": unique_name()}
    expect_error(server.request("POST", URL, body), 401, "NotAuthenticated")
    expect_error(server.request("POST", URL, body, "kpd_0000000000000000_" + "0" * 64), 401,
                 "NotAuthenticated")
    expect_error(server.request("POST", URL, body, headers={"Authorization": "Bearer x"}), 401,
                 "NotAuthenticated")
    t = server.token(7, [1])
    assert server.request("POST", URL, {"sshkey_name": unique_name()}, t).status == 200
    token_id = t.split("_")[1]
    server.cli("token", "revoke", token_id)
    expect_error(server.request("POST", URL, body, t), 401, "NotAuthenticated")
    listing = server.cli("token", "list").stdout
    assert token_id in listing and t.split("_")[2] not in listing


def test_scheme_word_is_case_insensitive(server, tokens):
    r = server.request("POST", URL, {"sshkey_name": unique_name()},
                       headers={"Authorization": "apikey " + tokens["user1"]})
    assert r.status == 200, r


def test_project_outside_the_token_is_403(server, tokens):
    expect_error(server.request("POST", "/cloud/v1/keypairs/3/7", {"sshkey_name": unique_name()},
                                tokens["user1"]), 403, "ForbiddenError")


def test_unknown_route_is_404_json(server, tokens):
    expect_error(server.request("GET", "/cloud/v9/nothing", token=tokens["user1"]), 404,
                 "NotFoundError")


def test_wrong_method_is_405_with_allow(server, tokens):
    r = server.request("PUT", URL, {"sshkey_name": "x"}, tokens["user1"])
    expect_error(r, 405, "HTTPError")
    assert set(m.strip() for m in r.header("Allow").split(",")) == {"GET", "HEAD", "POST"}


def test_duplicate_name_is_409_in_the_same_project_only(server, tokens):
    name = unique_name("dup")
    assert server.request("POST", URL, {"sshkey_name": name}, tokens["user1"]).status == 200
    expect_error(server.request("POST", "/cloud/v1/keypairs/1/99", {"sshkey_name": name},
                                tokens["user2"]), 409, "ConflictError")
    assert server.request("POST", "/cloud/v1/keypairs/2/7", {"sshkey_name": name},
                          tokens["user1"]).status == 200
    assert server.request("POST", URL, {"sshkey_name": name.upper()},
                          tokens["user1"]).status == 200


def test_body_over_64_kib_is_413(server, tokens):
    raw = b'{"sshkey_name":"big-one","public_key":"' + b"A" * (65 * 1024) + b'"}'
    expect_error(server.request("POST", URL, token=tokens["user1"], raw_body=raw), 413,
                 "PayloadTooLarge")


def test_non_json_body_is_415(server, tokens):
    expect_error(server.request("POST", URL, token=tokens["user1"], raw_body=b"sshkey_name=x",
                                content_type="application/x-www-form-urlencoded"),
                 415, "UnsupportedMediaType")
    expect_error(server.request("POST", URL, token=tokens["user1"], raw_body=b"{}",
                                content_type=None), 415, "UnsupportedMediaType")


def test_client_request_id_is_reused(server, tokens):
    rid = uuid.uuid4().hex
    r = server.request("POST", URL, {"sshkey_name": 1}, tokens["user1"],
                       headers={"X-Request-ID": rid})
    assert r.header("X-Request-ID") == rid and r.json()["request_id"] == rid


def test_health_and_readiness(server):
    assert server.request("GET", "/healthz").status == 200
    assert server.request("GET", "/readyz").status == 200


# --- durability and the embedded database ------------------------------------------

def test_keys_survive_sigkill_and_restart(fresh_server):
    s = fresh_server.start()
    token = s.token(1, [1])
    created = {}
    for i in range(25):
        r = s.request("POST", URL, {"sshkey_name": f"durable-{i}"}, token)
        assert r.status == 200, r
        created[r.json()["id"]] = r.json()
    s.stop(signal.SIGKILL)
    s.start()
    for key_id, b in created.items():
        r = s.request("GET", f"{URL}/{key_id}", token=token)
        assert r.status == 200, r
        got = r.json()
        assert got["private_key"] is None
        assert {k: v for k, v in got.items() if k != "private_key"} == \
            {k: v for k, v in b.items() if k != "private_key"}


def test_database_is_wal_and_holds_no_secrets(fresh_server):
    s = fresh_server.start()
    token = s.token(1, [1])
    r = s.request("POST", URL, {"sshkey_name": "secret-check"}, token)
    assert r.status == 200
    s.stop()
    path = s.database.removeprefix("sqlite:")
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        dump = "\n".join(con.iterdump())
    finally:
        con.close()
    assert token not in dump and token.split("_")[2] not in dump
    assert r.json()["private_key"].splitlines()[1] not in dump


def test_first_start_creates_the_database(tmp_path):
    s = Server(tmp_path, database=f"sqlite:{tmp_path / 'new' / 'dir' / 'k.db'}")
    try:
        s.start()
        assert (tmp_path / "new" / "dir" / "k.db").exists()
        assert s.request("GET", "/readyz").status == 200
    finally:
        s.stop()


def test_cli_version_help_and_bad_flags():
    from conftest import BIN
    import subprocess
    assert subprocess.run([BIN, "--version"], capture_output=True, text=True).stdout.startswith("keypaird ")
    help_text = subprocess.run([BIN, "--help"], capture_output=True, text=True).stdout
    for word in ("serve", "token create", "token list", "token revoke", "migrate", "KEYPAIRD_DATABASE"):
        assert word in help_text
    r = subprocess.run([BIN, "serve", "--listen", "nonsense"], capture_output=True, text=True)
    assert r.returncode == 2 and "--listen" in r.stderr
