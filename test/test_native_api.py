"""Black-box tests of keypaird's own API (/api/v1, openapi/keypaird.yaml): the key object, every
key type and private key format (checked with the real tools), labels and label
selectors, keyset pages, fingerprint lookups, ETags and If-Match, read-only tokens. Every
answer a test expects to succeed goes through Prism over openapi/keypaird.yaml (no
sl-violations allowed); error answers are checked against the documented body."""

import base64
import hashlib
import json
import subprocess
import time
from urllib.parse import quote

import pytest

from conftest import REPO, new_project, request, unique_name
from test_seed_operation import expect_error

ED25519 = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIjxL6g1II8NsO8odvBwGKvq2Dx/h/xrvsV9b9LVIYKm "
           "my-username@my-hostname")
NATIVE_FIELDS = {"id", "name", "project_id", "owner_id", "shared_in_project", "state", "type",
                 "bits", "comment", "public_key", "fingerprint_md5", "fingerprint_sha256",
                 "labels", "disabled", "expires_at", "created_at", "updated_at"}


def keys_url(project, rest=""):
    return f"/api/v1/projects/{project}/keys{rest}"


def fingerprints(public_key):
    blob = base64.b64decode(public_key.split()[1])
    md5 = hashlib.md5(blob).hexdigest()
    return (":".join(md5[i:i + 2] for i in range(0, 32, 2)),
            "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("="))


@pytest.fixture(scope="module")
def people(server):
    """alice: projects 1 and 2; bob: project 1; an admin; a read-only token of alice's."""
    return {"alice": server.token(11, [1, 2]), "bob": server.token(12, [1]),
            "admin": server.token(99, admin=True),
            "reader": server.token(11, [1, 2], read_only=True)}


def create(prism, token, project, body):
    r = prism.request("POST", keys_url(project), body, token)
    assert r.status == 201, r
    return r


# --- the key object and import -----------------------------------------------------------

def test_import_answers_the_key_object_with_an_etag(prism, people):
    name = unique_name("imp")
    r = create(prism, people["alice"], 1,
               {"name": name, "public_key": ED25519, "labels": {"team": "db"}})
    k = r.json()
    assert set(k) == NATIVE_FIELDS  # no private key for an imported key
    md5, sha256 = fingerprints(ED25519)
    assert k["type"] == "ssh-ed25519" and k["bits"] == 256
    assert k["comment"] == "my-username@my-hostname" and k["public_key"] == ED25519
    assert k["fingerprint_md5"] == md5 and k["fingerprint_sha256"] == sha256
    assert k["labels"] == {"team": "db"} and k["owner_id"] == 11 and k["project_id"] == 1
    assert k["disabled"] is False and k["expires_at"] is None
    assert k["created_at"] == k["updated_at"]
    assert r.header("ETag") == f'"{k["id"]}/1"'
    # The same key, by id and by name; If-None-Match answers 304.
    for ref in (k["id"], quote(name)):
        got = prism.request("GET", keys_url(1, f"/{ref}"), token=people["alice"])
        assert got.status == 200 and got.json() == k and got.header("ETag") == r.header("ETag")
    r304 = request(prism.port, "GET", keys_url(1, f"/{k['id']}"), token=people["alice"],
                   headers={"If-None-Match": r.header("ETag")})
    assert r304.status == 304 and r304.body == b""
    # The Gcore routes see it, without the native attributes.
    g = prism.request("GET", f"/cloud/v1/ssh_keys/1/{k['id']}", token=people["alice"])
    assert g.status == 200 and g.json()["name"] == name and "labels" not in g.json()


def test_sha256_fingerprint_is_what_ssh_keygen_prints(prism, people, tmp_path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ecdsa", "-b", "384", "-N", "", "-C", "fp check",
                    "-f", str(tmp_path / "k")], check=True)
    public = (tmp_path / "k.pub").read_text().strip()
    k = create(prism, people["alice"], 1, {"name": unique_name("fp"), "public_key": public}).json()
    out = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(tmp_path / "k.pub")],
                         capture_output=True, text=True, check=True).stdout.split()
    assert k["fingerprint_sha256"] == out[1] and k["bits"] == int(out[0]) == 384
    assert k["type"] == "ecdsa-sha2-nistp384" and k["comment"] == "fp check"


# --- generation: every type, every format, checked by the real tools --------------------

def check_private_key(tmp_path, fmt, private_key, public_key, passphrase):
    path = tmp_path / "private"
    path.write_text(private_key)
    path.chmod(0o600)
    type_and_base64 = " ".join(public_key.split()[:2])
    if fmt == "ppk":
        args = ["puttygen", str(path), "-O", "public-openssh", "-o", str(tmp_path / "pub")]
        if passphrase:
            (tmp_path / "pass").write_text(passphrase)
            args += ["--old-passphrase", str(tmp_path / "pass")]
        subprocess.run(args, check=True, capture_output=True, timeout=120)
        got = (tmp_path / "pub").read_text()
    else:
        args = ["ssh-keygen", "-y", "-f", str(path)] + (["-P", passphrase] if passphrase else [])
        r = subprocess.run(args, capture_output=True, text=True, timeout=120)
        if r.returncode != 0 and fmt == "pkcs8" and public_key.startswith("ssh-ed25519"):
            # OpenSSH 9.2 cannot read Ed25519 PKCS#8: openssl reads it; compare the point.
            args = ["openssl", "pkey", "-in", str(path), "-pubout", "-outform", "DER"]
            if passphrase:
                args += ["-passin", f"pass:{passphrase}"]
            der = subprocess.run(args, capture_output=True, check=True, timeout=60).stdout
            blob = base64.b64decode(public_key.split()[1])
            assert der[-32:] == blob[-32:]
            return
        assert r.returncode == 0, r.stderr
        got = r.stdout
    assert " ".join(got.split()[:2]) == type_and_base64


@pytest.mark.parametrize("key_type,fmt,passphrase,begins", [
    ("ed25519", "openssh", None, "-----BEGIN OPENSSH PRIVATE KEY-----"),
    ("ecdsa-p256", "pkcs8", None, "-----BEGIN PRIVATE KEY-----"),
    ("ecdsa-p384", "openssh", "correct horse battery", "-----BEGIN OPENSSH PRIVATE KEY-----"),
    ("ecdsa-p521", "ppk", "correct horse battery", "PuTTY-User-Key-File-3: ecdsa-sha2-nistp521"),
    ("rsa-2048", "pkcs8", "correct horse battery", "-----BEGIN ENCRYPTED PRIVATE KEY-----"),
    ("rsa-3072", "openssh", None, "-----BEGIN OPENSSH PRIVATE KEY-----"),
    ("rsa-4096", "ppk", None, "PuTTY-User-Key-File-3: ssh-rsa"),
    ("ed25519", "pkcs8", "correct horse battery", "-----BEGIN ENCRYPTED PRIVATE KEY-----"),
])
def test_generate_every_type_and_format(prism, people, tmp_path, key_type, fmt, passphrase,
                                        begins):
    generate = {"type": key_type, "format": fmt}
    if passphrase:
        generate["passphrase"] = passphrase
    name = unique_name("gen")
    r = create(prism, people["alice"], 1, {"name": name, "generate": generate})
    k = r.json()
    assert set(k) == NATIVE_FIELDS | {"private_key", "private_key_format"}
    assert k["private_key_format"] == fmt and k["private_key"].startswith(begins)
    assert k["comment"] == name
    expected_bits = {"rsa-2048": 2048, "rsa-3072": 3072, "rsa-4096": 4096, "ecdsa-p384": 384,
                     "ecdsa-p521": 521}.get(key_type, 256)
    assert k["bits"] == expected_bits
    check_private_key(tmp_path, fmt, k["private_key"], k["public_key"], passphrase)
    if passphrase and fmt == "openssh":
        bad = tmp_path / "private"
        r = subprocess.run(["ssh-keygen", "-y", "-P", "wrong passphrase", "-f", str(bad)],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode != 0
    # The private key is in the create answer only.
    got = prism.request("GET", keys_url(1, f"/{k['id']}"), token=people["alice"]).json()
    assert "private_key" not in got and got["public_key"] == k["public_key"]


def test_generate_defaults_to_ed25519_openssh(prism, people):
    k = create(prism, people["alice"], 1, {"name": unique_name("gdef")}).json()
    assert k["type"] == "ssh-ed25519" and k["private_key_format"] == "openssh"


def test_generate_and_create_refuse_bad_requests(server, people):
    t = people["alice"]
    cases = [
        ({"name": "np-1", "generate": {"type": "dsa"}}, "generate.type"),
        ({"name": "np-2", "generate": {"format": "jks"}}, "generate.format"),
        ({"name": "np-3", "generate": {"passphrase": "short"}}, "generate.passphrase"),
        ({"name": "np-4", "generate": {"passphrase": "x" * 1025}}, "generate.passphrase"),
        ({"name": "np-5", "generate": {"bits": 1}}, "generate.bits"),
        ({"name": "np-6", "public_key": ED25519, "generate": {}}, "generate"),
        ({"name": "np-7", "labels": {"Bad Key": "x"}}, "labels"),
        ({"name": "np-8", "labels": {"ok": "bad value!"}}, "labels"),
        ({"name": "np-9", "labels": {f"k{i}": "v" for i in range(33)}}, "labels"),
        ({"name": "np-10", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"name": "np-11", "expires_at": "tomorrow"}, "expires_at"),
        ({"name": "np-12", "unknown": 1}, "unknown"),
        ({"name": "x"}, "name"),
    ]
    for body, field in cases:
        r = server.request("POST", keys_url(1), body, t)
        expect_error(r, 400, "ValidationError", field)
    # A passphrase never comes back, not even in an error.
    r = server.request("POST", keys_url(1),
                       {"name": "np-13", "generate": {"passphrase": "tiny-secret"[:5]}}, t)
    assert b"tiny" not in r.body


# --- lists: keyset pages, filters, label selectors ---------------------------------------

def make_keys(server, token, project, n, labels=lambda i: {}):
    ids = []
    for i in range(n):
        r = server.request("POST", keys_url(project),
                           {"name": f"page-{i:03d}", "labels": labels(i)}, token)
        assert r.status == 201, r
        ids.append(r.json()["id"])
    return ids


def walk(prism, token, path, limit):
    seen, cursor, pages = [], None, 0
    while True:
        sep = "&" if "?" in path else "?"
        url = f"{path}{sep}limit={limit}" + (f"&cursor={quote(cursor)}" if cursor else "")
        r = prism.request("GET", url, token=token)
        assert r.status == 200, r
        seen += [k["id"] for k in r.json()["results"]]
        cursor = r.json()["next_cursor"]
        pages += 1
        if cursor is None:
            return seen, pages


def test_keyset_pages_visit_every_key_once_in_every_order(server, prism, people):
    project = new_project()
    admin = people["admin"]
    ids = make_keys(server, admin, project, 23, labels=lambda i: {"team": "db"} if i % 3 else {})
    for order, expect in [("created_at.asc", ids), ("created_at.desc", ids[::-1]),
                          ("name.asc", ids), ("name.desc", ids[::-1])]:
        seen, pages = walk(prism, admin, keys_url(project, f"?order_by={order}"), 5)
        assert seen == expect and pages == 5, order
    labelled = [k for i, k in enumerate(ids) if i % 3]
    seen, _ = walk(prism, admin, keys_url(project, "?label_selector=team%3Ddb"), 4)
    assert seen == labelled[::-1]
    seen, _ = walk(prism, admin, keys_url(project, "?label_selector=%21team"), 4)
    assert seen == [k for i, k in enumerate(ids) if not i % 3][::-1]


def test_a_walk_is_not_disturbed_by_creates_and_deletes(server, prism, people):
    project = new_project()
    admin = people["admin"]
    ids = make_keys(server, admin, project, 12)
    r = prism.request("GET", keys_url(project, "?limit=5&order_by=created_at.asc"), token=admin)
    first = [k["id"] for k in r.json()["results"]]
    # Meanwhile: a new key (after the walk's end), and one already seen is deleted.
    assert server.request("POST", keys_url(project), {"name": "late-comer"}, admin).status == 201
    assert server.request("DELETE", keys_url(project, f"/{first[0]}"), token=admin).status == 204
    cursor = r.json()["next_cursor"]
    rest = []
    while cursor:
        r = prism.request("GET", keys_url(project, f"?limit=5&order_by=created_at.asc&cursor="
                                                   f"{quote(cursor)}"), token=admin)
        rest += [k["id"] for k in r.json()["results"]]
        cursor = r.json()["next_cursor"]
    assert first + rest[:7] == ids  # every key that existed throughout, once, in order


def test_bad_cursors_and_selectors_are_400(server, people):
    t = people["admin"]
    project = new_project()
    make_keys(server, t, project, 3)
    r = server.request("GET", keys_url(project, "?limit=1&order_by=name.asc"), token=t)
    cursor = r.json()["next_cursor"]
    bad_cursors = [cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB"), "c1.", "garbage",
                   cursor + "x"]
    for bad in bad_cursors:
        r = server.request("GET", keys_url(project, f"?order_by=name.asc&cursor={quote(bad)}"),
                           token=t)
        expect_error(r, 400, "ValidationError", "cursor")
    r = server.request("GET", keys_url(project, f"?order_by=created_at.asc&cursor={quote(cursor)}"),
                       token=t)
    expect_error(r, 400, "ValidationError", "cursor")  # another order's cursor
    for selector in ["=db", "a,,b", "Team=x", "a=b!", "!", "a!=b=c", ",a", "a b=c"]:
        r = server.request("GET", keys_url(project, f"?label_selector={quote(selector)}"), token=t)
        expect_error(r, 400, "ValidationError", "label_selector")
    for query, field in [("limit=0", "limit"), ("limit=1001", "limit"), ("usable=yes", "usable"),
                         ("type=ssh-dss", "type"), ("fingerprint=xx", "fingerprint"),
                         ("order_by=size", "order_by"), ("owner_id=0", "owner_id")]:
        r = server.request("GET", keys_url(project, f"?{query}"), token=t)
        expect_error(r, 400, "ValidationError", field)


def test_filters_by_fingerprint_type_owner_and_usability(server, prism, people, tmp_path):
    project = 1
    alice, bob = people["alice"], people["bob"]
    subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f",
                    str(tmp_path / "rsa")], check=True)
    rsa = (tmp_path / "rsa.pub").read_text().strip()
    k_rsa = create(prism, alice, project, {"name": unique_name("rsa"), "public_key": rsa}).json()
    soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 2))
    k_exp = create(prism, bob, project, {"name": unique_name("exp"), "expires_at": soon}).json()
    k_off = create(prism, bob, project, {"name": unique_name("off"), "disabled": True}).json()
    md5, sha256 = fingerprints(rsa)
    for fp in (md5, sha256):
        r = prism.request("GET", keys_url(project, f"?fingerprint={quote(fp, safe='')}"), token=bob)
        assert [k["id"] for k in r.json()["results"]] == [k_rsa["id"]]
    r = prism.request("GET", keys_url(project, "?type=ssh-rsa&limit=1000"), token=alice)
    assert k_rsa["id"] in {k["id"] for k in r.json()["results"]}
    assert all(k["type"] == "ssh-rsa" for k in r.json()["results"])
    r = prism.request("GET", keys_url(project, "?owner_id=12&limit=1000"), token=alice)
    assert {k_exp["id"], k_off["id"]} <= {k["id"] for k in r.json()["results"]}
    assert all(k["owner_id"] == 12 for k in r.json()["results"])
    time.sleep(2.5)  # k_exp expires
    usable = {k["id"] for k in prism.request(
        "GET", keys_url(project, "?usable=true&limit=1000"), token=alice).json()["results"]}
    unusable = {k["id"] for k in prism.request(
        "GET", keys_url(project, "?usable=false&limit=1000"), token=alice).json()["results"]}
    assert k_rsa["id"] in usable and not {k_exp["id"], k_off["id"]} & usable
    assert {k_exp["id"], k_off["id"]} <= unusable


def test_fingerprint_lookup_spans_the_tokens_projects(server, prism, people):
    alice = people["alice"]
    k1 = create(prism, alice, 1, {"name": unique_name("fpa"), "public_key": ED25519}).json()
    k2 = create(prism, alice, 2, {"name": unique_name("fpb"), "public_key": ED25519}).json()
    found = prism.request("GET", f"/api/v1/keys?fingerprint={quote(k1['fingerprint_sha256'])}"
                          "&limit=1000", token=alice).json()["results"]
    assert {k1["id"], k2["id"]} <= {k["id"] for k in found}
    # bob may use project 1 only: the project 2 key does not exist for him.
    found = prism.request("GET", f"/api/v1/keys?fingerprint={quote(k1['fingerprint_md5'])}"
                          "&limit=1000", token=people["bob"]).json()["results"]
    assert k1["id"] in {k["id"] for k in found} and k2["id"] not in {k["id"] for k in found}
    expect_error(server.request("GET", "/api/v1/keys", token=alice), 400, "ValidationError",
                 "fingerprint")


# --- PATCH, DELETE, ETags ----------------------------------------------------------------

def test_patch_changes_what_it_names_and_bumps_the_etag(prism, server, people):
    alice = people["alice"]
    r = create(prism, alice, 1, {"name": unique_name("patch"), "public_key": ED25519})
    k, etag = r.json(), r.header("ETag")
    later = "2031-02-03T04:05:06.789Z"
    r = prism.request("PATCH", keys_url(1, f"/{k['id']}"),
                      {"name": k["name"] + "-x", "labels": {"login": "deploy", "team": "web"},
                       "expires_at": later, "disabled": True, "shared_in_project": False},
                      alice, headers={"If-Match": etag})
    assert r.status == 200, r
    p = r.json()
    assert p["name"] == k["name"] + "-x" and p["labels"] == {"login": "deploy", "team": "web"}
    assert p["expires_at"] == "2031-02-03T04:05:06.789000Z" and p["disabled"] is True
    assert p["shared_in_project"] is False and p["public_key"] == k["public_key"]
    assert p["updated_at"] > k["updated_at"] and r.header("ETag") == f'"{k["id"]}/2"'
    # The old ETag is stale now: 412 for PATCH and DELETE, and nothing changes.
    expect_error(server.request("PATCH", keys_url(1, f"/{k['id']}"), {"disabled": False}, alice,
                                headers={"If-Match": etag}), 412, "PreconditionFailed")
    expect_error(server.request("DELETE", keys_url(1, f"/{k['id']}"), token=alice,
                                headers={"If-Match": etag}), 412, "PreconditionFailed")
    # Another key's ETag does not fit either.
    other = create(prism, alice, 1, {"name": unique_name("other")})
    expect_error(server.request("DELETE", keys_url(1, f"/{k['id']}"), token=alice,
                                headers={"If-Match": other.header("ETag")}),
                 412, "PreconditionFailed")
    # Clearing: expires_at null, labels {}.
    r = prism.request("PATCH", keys_url(1, f"/{k['id']}"), {"expires_at": None, "labels": {}},
                      alice)
    assert r.json()["expires_at"] is None and r.json()["labels"] == {}
    assert prism.request("DELETE", keys_url(1, f"/{k['id']}"), token=alice,
                         headers={"If-Match": r.header("ETag")}).status == 204
    expect_error(server.request("GET", keys_url(1, f"/{k['id']}"), token=alice), 404,
                 "NotFoundError")


def test_patch_follows_the_gcore_rules(prism, server, people):
    alice, bob = people["alice"], people["bob"]
    k = create(prism, alice, 1, {"name": unique_name("rules")}).json()
    taken = create(prism, alice, 1, {"name": unique_name("taken")}).json()
    expect_error(server.request("PATCH", keys_url(1, f"/{k['id']}"), {"name": taken["name"]},
                                alice), 409, "ConflictError")
    expect_error(server.request("PATCH", keys_url(1, f"/{k['id']}"), {"disabled": True}, bob),
                 403, "ForbiddenError")  # bob sees it (shared) but does not own it
    expect_error(server.request("DELETE", keys_url(1, f"/{k['id']}"), token=bob), 403,
                 "ForbiddenError")
    expect_error(server.request("PATCH", keys_url(1, "/no-such-key"), {"disabled": True}, alice),
                 404, "NotFoundError")
    expect_error(server.request("PATCH", keys_url(1, f"/{k['id']}"), {"public_key": ED25519},
                                alice), 400, "ValidationError", "public_key")
    expect_error(server.request("PATCH", keys_url(1, f"/{k['id']}"),
                                {"expires_at": "2000-01-01T00:00:00Z"}, alice),
                 400, "ValidationError", "expires_at")
    expect_error(server.request("GET", keys_url(3, f"/{k['id']}"), token=alice), 403,
                 "ForbiddenError")
    # An admin may change anyone's key.
    assert prism.request("PATCH", keys_url(1, f"/{k['id']}"), {"disabled": True},
                         people["admin"]).status == 200


# --- tokens ------------------------------------------------------------------------------

def test_read_only_tokens_may_only_read_on_every_route(prism, server, people):
    reader, alice = people["reader"], people["alice"]
    k = create(prism, alice, 1, {"name": unique_name("ro")}).json()
    assert prism.request("GET", keys_url(1, f"/{k['id']}"), token=reader).status == 200
    assert prism.request("GET", "/cloud/v1/ssh_keys/1", token=reader).status == 200
    me = prism.request("GET", "/api/v1/me", token=reader).json()
    assert me == {"user_id": 11, "token_id": reader.split("_")[1], "admin": False,
                  "read_only": True, "projects": [1, 2], "principals": [], "via": "token",
                  "issuer": None, "email": None, "name": None, "groups": [],
                  "roles": [{"project_id": 1, "role": "viewer", "principals": []},
                            {"project_id": 2, "role": "viewer", "principals": []}],
                  "csrf_token": None}
    writes = [("POST", keys_url(1), {"name": "ro-new"}),
              ("PATCH", keys_url(1, f"/{k['id']}"), {"disabled": True}),
              ("DELETE", keys_url(1, f"/{k['id']}"), None),
              ("POST", "/cloud/v1/ssh_keys/1", {"name": "ro-new"}),
              ("POST", "/cloud/v1/keypairs/1/1", {"sshkey_name": "ro-new"}),
              ("POST", "/cloud/v2/keypairs", {"sshkey_name": "ro-new", "project_id": 1}),
              ("PATCH", f"/cloud/v1/ssh_keys/1/{k['id']}", {"shared_in_project": False}),
              ("DELETE", f"/cloud/v1/keypairs/1/1/{k['id']}", None)]
    for method, path, body in writes:
        r = server.request(method, path, body, reader)
        expect_error(r, 403, "ForbiddenError")
        assert "read-only" in r.json()["message"], (method, path)
    assert server.request("GET", keys_url(1, f"/{k['id']}"), token=alice).json()["disabled"] is False
    out = server.cli("token", "list").stdout
    line = next(line for line in out.splitlines() if line.startswith(reader.split("_")[1]))
    assert "read-only" in line


def test_me_and_the_openapi_document(prism, people):
    me = prism.request("GET", "/api/v1/me", token=people["admin"]).json()
    assert me["admin"] is True and me["projects"] == [] and me["read_only"] is False
    r = prism.request("GET", "/api/v1/openapi.yaml")
    assert r.status == 200 and r.header("Content-Type").startswith("application/yaml")
    assert r.body == (REPO / "openapi" / "keypaird.yaml").read_bytes()
