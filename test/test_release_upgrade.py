"""Upgrading from the previous release: a database written by keypaird at commit e43834a
(schema version 3, before keypaird's own API; test/fixtures/make_release_fixture.py made
it) is migrated by this build and every key is intact through both APIs: the Gcore
routes answer byte for byte what the release stored, and the native API shows the
details migration 4 derived (type, bits, comment, SHA-256 fingerprint). Runs on the
backend of the pass (SQLite, or PostgreSQL from a pg_dump of the release's database)."""

import base64
import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest

from conftest import BACKEND, PG_URL, Server, new_postgres_database

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "release-e43834a"
GCORE_FIELDS = ["id", "name", "public_key", "fingerprint", "project_id", "shared_in_project",
                "state", "created_at"]
BITS = {"ssh-ed25519": 256, "sk-ssh-ed25519@openssh.com": 256,
        "sk-ecdsa-sha2-nistp256@openssh.com": 256, "ecdsa-sha2-nistp256": 256,
        "ecdsa-sha2-nistp384": 384, "ecdsa-sha2-nistp521": 521}


def sha256_fingerprint(public_key):
    blob = base64.b64decode(public_key.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


@pytest.fixture
def upgraded(tmp_path):
    manifest = json.loads((FIXTURE / "manifest.json").read_text())
    if BACKEND == "postgres":
        url = new_postgres_database()
        r = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qf",
                            str(FIXTURE / "postgres.sql")], capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0, r.stderr
        database, contents = url, manifest["postgres"]
    else:
        db = tmp_path / "data" / "keypaird.db"
        db.parent.mkdir()
        shutil.copy(FIXTURE / "keypaird.db", db)
        db.chmod(0o600)
        database, contents = f"sqlite:{db}", manifest["sqlite"]
    s = Server(tmp_path, database=database)
    # The release's schema is behind: serve refuses nothing, migrate brings it up to date.
    r = s.cli("migrate")
    assert "schema is current" in r.stderr
    s.start()
    yield s, contents
    s.stop()


def test_every_key_of_the_release_is_intact_through_both_apis(upgraded):
    s, contents = upgraded
    tokens, keys = contents["tokens"], contents["keys"]
    assert len(keys) == 11
    owners = {"alice": 1, "bob": 2}
    admin = tokens["admin"]
    for key in keys:
        # Gcore: exactly what the release answered when the key was made.
        r = s.request("GET", f"/cloud/v1/ssh_keys/{key['project_id']}/{key['id']}", token=admin)
        assert r.status == 200, r
        assert {f: r.json()[f] for f in GCORE_FIELDS} == {f: key[f] for f in GCORE_FIELDS}
        # Native: the same key, with what migration 4 derived from the public key.
        r = s.request("GET", f"/api/v1/projects/{key['project_id']}/keys/{key['id']}",
                      token=admin)
        assert r.status == 200, r
        k = r.json()
        assert k["public_key"] == key["public_key"] and k["name"] == key["name"]
        assert k["fingerprint_md5"] == key["fingerprint"]
        assert k["fingerprint_sha256"] == sha256_fingerprint(key["public_key"])
        key_type = key["public_key"].split()[0]
        assert k["type"] == key_type
        if key_type == "ssh-rsa":
            assert k["bits"] in (2048, 4096) and key["name"].endswith(str(k["bits"]))
        else:
            assert k["bits"] == BITS[key_type]
        words = key["public_key"].split(" ", 2)
        assert k["comment"] == (words[2] if len(words) == 3 else "")
        assert k["owner_id"] == owners[key["owner"]]
        assert k["labels"] == {} and k["disabled"] is False and k["expires_at"] is None
        assert k["created_at"] == key["created_at"] == k["updated_at"]
        assert r.header("ETag") == f'"{key["id"]}/1"'
    # The release's tokens still work as they did; the revoked one still does not.
    r = s.request("GET", "/cloud/v1/ssh_keys/1?limit=100", token=tokens["bob"])
    assert r.status == 200
    visible_to_bob = {k["id"] for k in keys if k["project_id"] == 1 and
                      (k["shared_in_project"] or k["owner"] == "bob")}
    assert {k["id"] for k in r.json()["results"]} == visible_to_bob
    assert s.request("GET", "/cloud/v1/ssh_keys/1", token=tokens["revoked"]).status == 401
    # A lookup by the new SHA-256 fingerprint finds a migrated key (its index is filled).
    key = keys[0]
    r = s.request("GET", "/api/v1/keys?fingerprint=" + quote(sha256_fingerprint(key["public_key"]),
                                                              safe=""),
                  token=tokens["alice"])
    assert r.status == 200 and [k["id"] for k in r.json()["results"]] == [key["id"]]
