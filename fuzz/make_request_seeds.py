#!/usr/bin/env python3
"""Writes the seeds of fuzz/corpus/fuzz_request/: representative requests for every route
of src/http/api.cc (kRoutes) and their documented failures, in the input format described
at the top of fuzz/fuzz_request.cc, against the state its Seed() makes. Deterministic;
rerun after adding a route."""
import base64
import hashlib
import json
import os
import pathlib
import struct
import urllib.parse

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "corpus" / "fuzz_request"
KEYS = HERE / "corpus" / "fuzz_public_key"
SEED_ID = "11111111-1111-4111-8111-111111111111"      # "seed-key", user 1, shared, project 1
PRIVATE_ID = "22222222-2222-4222-8222-222222222222"   # "private-key", user 2, unshared
DISABLED_ID = "33333333-3333-4333-8333-333333333333"  # "disabled-key", user 1, disabled
EXPIRED_ID = "44444444-4444-4444-8444-444444444444"   # "expired-key", user 1, project 2
NOW_US = 1_780_000_000_000_000                        # kNow of fuzz_request.cc
# The seed key's public key (also the expired key's) and its fingerprints.
SEED_LINE = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIjxL6g1II8NsO8odvBwGKvq2Dx/h/xrvsV9b9LVIYKm "
             "my-username@my-hostname")
SEED_BLOB = base64.b64decode(SEED_LINE.split()[1])
# Keys ssh_ca/sign certifies without storing them (made by ssh-keygen), and a DSA key it refuses.
LOGIN_LINE = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILxJ1muk1bBi4Fvs3C3p3dDit4XfeUsDN4nlNN/0gvKk "
              "login@laptop")
ECDSA_LINE = ("ecdsa-sha2-nistp256 "
              "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBKiZoAWzImVCO99QZL/67ID21wLC"
              "x4pFdav25UucBv6+iC2bZ2Sb5+SGIfdiXlp87pPXhYhppmhBhdunWbgxp70="
              " ecdsa@host")
DSA_LINE = ("ssh-dss "
            "AAAAB3NzaC1kc3MAAACBAJcgrTdi8vW39LWM1oF4XFvLo8dVvf2KXyoRJrMzwlNAV3p2oWdX6x36iA4K"
            "2vhLthFqHfdk9H+cBsrX28FMJm2zZk10I1CCIAqsgXZ8/d+Wi5+yPngv7DwNI6/UphiFOGJWWkfz48N1"
            "KNKcvrpibC4U3QdtB0SAc1elNywDcj2lAAAAFQDBNeH0RhMSkXtbzouJkEP9WTndewAAAIASMv446QEI"
            "70+9JmwmozOx68OINYKtuJrlez0xwD48ooja4pyBUUgL+/DResjnrLEkLS5XK4KVs/oLPHQo6QGNE46Q"
            "m0B+34R0LppKSNvLChXnZ/W69r0/+JEqW3F2hHheXnvdo6oHssJJycluZj02cAOK3ofC3xpiu0L/9PJv"
            "+gAAAIBPRZKhm2Y4IQXvhoBGS0+7bU//58g4xk+xc2dwa9hj11Q0rUKMwVkKBUXKBzIaDRke0uT8XMoD"
            "h4EElK7wMuWwbxppQrVQq7VgijX4IV3TitDEWIaf2uhjWxOo+U0GBLKgKuzERbIbXseDycX+6Tx+44N9"
            "slLxO553i0YNPZgWFw=="
            " dsa@host")
SEED_MD5 = ":".join(f"{b:02x}" for b in hashlib.md5(SEED_BLOB).digest())
SEED_SHA256 = "SHA256:" + base64.b64encode(hashlib.sha256(SEED_BLOB).digest()).decode().rstrip("=")
# The seeded keys as (order key fields): created_at_us, id, name.
SEEDED = [(NOW_US - 4, SEED_ID, "seed-key"), (NOW_US - 3, PRIVATE_ID, "private-key"),
          (NOW_US - 2, DISABLED_ID, "disabled-key"), (NOW_US - 1, EXPIRED_ID, "expired-key")]
ORDERS = {"created_at.asc": 0, "created_at.desc": 1, "name.asc": 2, "name.desc": 3}


def key(name):
    return (KEYS / name).read_text()


def q(value):
    """Percent-encodes a query value ('+' and '/' included)."""
    return urllib.parse.quote(value, safe="")


def cursor(order, created_at_us, key_id, name):
    """A list cursor as src/http/native_codec.cc EncodeCursor writes it."""
    def string(b):
        return struct.pack(">I", len(b)) + b
    payload = (struct.pack(">BQ", ORDERS[order], created_at_us) + string(key_id.encode())
               + string(name.encode()))
    checksum = hashlib.sha256(b"keypaird-cursor/" + payload).digest()[:8]
    return "c1." + base64.urlsafe_b64encode(payload + checksum).decode().rstrip("=")


def etag(key_id, revision=1):
    return f'"{key_id}/{revision}"'


def content_etag(data):
    """The ETag of a generated text answer (authorized_keys) or a console file."""
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


CONSOLE_INDEX_ETAG = content_etag((ROOT / "console" / "index.html").read_bytes())
# $USER's authorized_keys of project 1: only the seed key is usable and visible to it.
USER_AUTHORIZED_KEYS_ETAG = content_etag((SEED_LINE + "\n").encode())


def empty_krl(project):
    """The KRL of a project without a CA as sshkey::EncodeKrl writes it (PROTOCOL.krl): the
    magic, format version 1, version 0 (no serials), date 0 (no CA key), no flags, an
    empty reserved string, the comment, no sections. Nothing of the clock, so its ETag is
    fixed."""
    def string(b):
        return struct.pack(">I", len(b)) + b
    return (b"SSHKRL\n\0" + struct.pack(">IQQQ", 1, 0, 0, 0) + string(b"")
            + string(f"keypaird project {project}".encode()))


PROJECT_2_KRL_ETAG = content_etag(empty_krl(2))


def req(method, target, body=None, auth="$USER", ctype="application/json", extra=()):
    lines = [f"{method} {target}"]
    if ctype is not None:
        lines.append(f"Content-Type: {ctype}")
    if auth is not None:
        lines.append(f"Authorization: APIKey {auth}" if auth.startswith("$") else
                     f"Authorization: {auth}")
    lines.extend(extra)
    text = "\n".join(lines) + "\n\n"
    if body is not None:
        text += body if isinstance(body, str) else json.dumps(body)
    return text


def get(target, auth="$USER", extra=()):
    return req("GET", target, auth=auth, ctype=None, extra=extra)


P1 = "/api/v1/projects/1"
SEEDS = {
    # Unauthenticated routes.
    "healthz": req("GET", "/healthz", auth=None, ctype=None),
    "readyz": req("GET", "/readyz", auth=None, ctype=None),
    "metrics": req("GET", "/metrics", auth=None, ctype=None),
    # v1 keypairs.
    "v1-create-generate": req("POST", "/cloud/v1/keypairs/1/1", {"sshkey_name": "key-1"}),
    "v1-create-generate-null": req("POST", "/cloud/v1/keypairs/1/1",
                                   {"sshkey_name": "k-null", "public_key": None,
                                    "shared_in_project": None}),
    "v1-create-import-ed25519": req("POST", "/cloud/v1/keypairs/1/7",
                                    {"sshkey_name": "imported.key_1",
                                     "public_key": key("openssh-ed25519.pub"),
                                     "shared_in_project": False}),
    "v1-create-import-rfc4716": req("POST", "/cloud/v1/keypairs/2/1",
                                    {"sshkey_name": "rfc", "public_key": key("rfc4716-ecdsa384.txt")}),
    "v1-create-import-pem": req("POST", "/cloud/v1/keypairs/1/1",
                                {"sshkey_name": "pem", "public_key": key("pem-rsa2048.pem")}),
    "v1-create-import-sk": req("POST", "/cloud/v1/keypairs/1/1",
                               {"sshkey_name": "sk-key", "public_key": key("openssh-sk-ecdsa256.pub")}),
    "v1-create-conflict": req("POST", "/cloud/v1/keypairs/1/1", {"sshkey_name": "seed-key"}),
    "v1-create-bad-name": req("POST", "/cloud/v1/keypairs/1/1", {"sshkey_name": "-x"}),
    "v1-create-bad-key": req("POST", "/cloud/v1/keypairs/1/1",
                             {"sshkey_name": "bad", "public_key": key("reject-cert-ed25519.pub")}),
    "v1-create-private-key": req("POST", "/cloud/v1/keypairs/1/1",
                                 {"sshkey_name": "priv", "public_key": key("reject-private-header.txt")}),
    "v1-create-unknown-field": req("POST", "/cloud/v1/keypairs/1/1",
                                   {"sshkey_name": "x1y", "extra": 1, "shared_in_project": "yes"}),
    "v1-create-not-object": req("POST", "/cloud/v1/keypairs/1/1", "[1,2,3]"),
    "v1-create-bad-json": req("POST", "/cloud/v1/keypairs/1/1", '{"sshkey_name": "a'),
    "v1-create-no-ctype": req("POST", "/cloud/v1/keypairs/1/1", {"sshkey_name": "key-1"}, ctype=None),
    "v1-create-text-ctype": req("POST", "/cloud/v1/keypairs/1/1", "x", ctype="text/plain"),
    "v1-create-ctype-params": req("POST", "/cloud/v1/keypairs/1/1", {"sshkey_name": "key-1"},
                                  ctype=" Application/JSON ; charset=utf-8"),
    "v1-create-forbidden": req("POST", "/cloud/v1/keypairs/3/1", {"sshkey_name": "key-1"}),
    "v1-create-admin": req("POST", "/cloud/v1/keypairs/99/1", {"sshkey_name": "key-1"}, auth="$ADMIN"),
    "v1-create-bad-region": req("POST", "/cloud/v1/keypairs/1/0", {"sshkey_name": "key-1"}),
    "v1-create-too-large": req("POST", "/cloud/v1/keypairs/1/1",
                               '{"sshkey_name": "big", "public_key": "' + "A" * 66000 + '"}'),
    "v1-list": req("GET", "/cloud/v1/keypairs/1/1", ctype=None),
    "v1-list-other": req("GET", "/cloud/v1/keypairs/1/2/", auth="$OTHER", ctype=None),
    "v1-get-by-id": req("GET", f"/cloud/v1/keypairs/1/1/{SEED_ID}", ctype=None),
    "v1-get-by-name": req("GET", "/cloud/v1/keypairs/1/1/seed-key", ctype=None),
    "v1-get-escaped": req("GET", "/cloud/v1/keypairs/1/1/seed%2Dkey", ctype=None),
    "v1-get-hidden": req("GET", f"/cloud/v1/keypairs/1/1/{PRIVATE_ID}", ctype=None),
    "v1-get-bad-escape": req("GET", "/cloud/v1/keypairs/1/1/%zz", ctype=None),
    "v1-delete": req("DELETE", "/cloud/v1/keypairs/1/1/seed-key", ""),
    "v1-delete-not-owner": req("DELETE", "/cloud/v1/keypairs/1/1/seed-key", "", auth="$OTHER"),
    "v1-share": req("PATCH", f"/cloud/v1/keypairs/1/1/{SEED_ID}/share", {"shared_in_project": False}),
    "v1-share-admin": req("PATCH", f"/cloud/v1/keypairs/1/1/{PRIVATE_ID}/share",
                          {"shared_in_project": True}, auth="$ADMIN"),
    "v1-share-bad": req("PATCH", "/cloud/v1/keypairs/1/1/seed-key/share", {"shared_in_project": 1}),
    "v1-method-not-allowed": req("PUT", "/cloud/v1/keypairs/1/1", {"sshkey_name": "key-1"}),
    # v2 keypairs.
    "v2-create": req("POST", "/cloud/v2/keypairs", {"sshkey_name": "key-2", "project_id": 1}),
    "v2-create-import": req("POST", "/cloud/v2/keypairs",
                            {"sshkey_name": "key-2i", "project_id": 2,
                             "public_key": key("openssh-ecdsa521.pub")}),
    "v2-create-bad-project": req("POST", "/cloud/v2/keypairs",
                                 {"sshkey_name": "key-2", "project_id": 18446744073709551615}),
    "v2-create-no-project": req("POST", "/cloud/v2/keypairs", {"sshkey_name": "key-2"}),
    "v2-list": req("GET", "/cloud/v2/keypairs?project_id=1&user_id=1", ctype=None),
    "v2-list-admin": req("GET", "/cloud/v2/keypairs", auth="$ADMIN", ctype=None),
    "v2-list-no-project": req("GET", "/cloud/v2/keypairs", ctype=None),
    "v2-list-dup-param": req("GET", "/cloud/v2/keypairs?project_id=1&project_id=2", ctype=None),
    "v2-list-bad-query": req("GET", "/cloud/v2/keypairs?project_id=%4", ctype=None),
    "v2-get-by-id": req("GET", f"/cloud/v2/keypairs/{SEED_ID}", ctype=None),
    "v2-get-by-name": req("GET", "/cloud/v2/keypairs/seed-key?project_id=1", ctype=None,
                          auth="$OTHER"),
    "v2-delete": req("DELETE", f"/cloud/v2/keypairs/{PRIVATE_ID}", auth="$OTHER", ctype=None),
    "v2-delete-hidden": req("DELETE", f"/cloud/v2/keypairs/{PRIVATE_ID.upper()}", ctype=None),
    # v1 ssh_keys.
    "ssh-create": req("POST", "/cloud/v1/ssh_keys/1", {"name": "key-3"}),
    "ssh-create-import": req("POST", "/cloud/v1/ssh_keys/2",
                             {"name": "k3 with spaces", "public_key": key("openssh-rsa3072.pub")}),
    "ssh-create-wrong-field": req("POST", "/cloud/v1/ssh_keys/1", {"sshkey_name": "k3"}),
    "ssh-list": req("GET", "/cloud/v1/ssh_keys/1", ctype=None),
    "ssh-list-page": req("GET", "/cloud/v1/ssh_keys/1?limit=1&offset=1&name=KEY&order_by=name.asc",
                         ctype=None),
    "ssh-list-plus": req("GET", "/cloud/v1/ssh_keys/1?name=seed+k&order_by=created_at.asc",
                         ctype=None),
    "ssh-list-bad-limit": req("GET", "/cloud/v1/ssh_keys/1?limit=0&offset=-1", ctype=None),
    "ssh-list-bad-order": req("GET", "/cloud/v1/ssh_keys/1?order_by=id", ctype=None),
    "ssh-get": req("GET", f"/cloud/v1/ssh_keys/1/{SEED_ID}", ctype=None, extra=(
        "X-Request-ID: 0123456789abcdef0123456789ABCDEF",)),
    "ssh-get-uuid-request-id": req("GET", f"/cloud/v1/ssh_keys/1/{SEED_ID}", ctype=None, extra=(
        "X-Request-ID: 01234567-89ab-cdef-0123-456789abcdef",)),
    "ssh-get-not-uuid": req("GET", "/cloud/v1/ssh_keys/1/seed-key", ctype=None),
    "ssh-share": req("PATCH", f"/cloud/v1/ssh_keys/1/{SEED_ID}", {"shared_in_project": True}),
    "ssh-share-not-owner": req("PATCH", f"/cloud/v1/ssh_keys/1/{SEED_ID}",
                               {"shared_in_project": False}, auth="$OTHER"),
    "ssh-delete": req("DELETE", f"/cloud/v1/ssh_keys/1/{SEED_ID}", ""),
    "ssh-delete-admin": req("DELETE", f"/cloud/v1/ssh_keys/1/{PRIVATE_ID}", "", auth="$ADMIN"),
    # Authentication.
    "auth-missing": req("GET", "/cloud/v1/ssh_keys/1", auth=None, ctype=None),
    "auth-lowercase-scheme": req("GET", "/cloud/v1/ssh_keys/1", auth="apikey $USER", ctype=None),
    "auth-bearer": req("GET", "/cloud/v1/ssh_keys/1", auth="Bearer $USER", ctype=None),
    "auth-garbage": req("GET", "/cloud/v1/ssh_keys/1",
                        auth="APIKey kpd_0123456789abcdef_00", ctype=None),
    # Routing.
    "unknown-route": req("GET", "/cloud/v3/keypairs", ctype=None),
    "root": req("GET", "/", ctype=None),
    "double-slash": req("GET", "//cloud//v1/ssh_keys/1", ctype=None),
}


GENERATE_TYPES = ["ed25519", "ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "rsa-2048", "rsa-3072",
                  "rsa-4096"]
IMPORTS = {"ed25519": "openssh-ed25519.pub", "ecdsa256": "openssh-ecdsa256.pub",
           "ecdsa384": "openssh-ecdsa384.pub", "ecdsa521": "openssh-ecdsa521.pub",
           "rsa2048": "openssh-rsa2048.pub", "rsa3072": "openssh-rsa3072.pub",
           "rsa4096": "openssh-rsa4096.pub", "sk-ed25519": "openssh-sk-ed25519.pub",
           "sk-ecdsa256": "openssh-sk-ecdsa256.pub", "rfc4716": "rfc4716-ed25519.txt",
           "pem": "pem-ecdsa384.pem"}

# keypaird's own API (/api/v1): keys.
SEEDS.update({
    f"native-create-import-{name}": req("POST", f"{P1}/keys",
                                       {"name": f"imp-{name}", "public_key": key(file)})
    for name, file in IMPORTS.items()
})
SEEDS.update({
    f"native-create-generate-{t}": req("POST", f"{P1}/keys",
                                       {"name": f"gen-{t}", "generate": {"type": t}})
    for t in GENERATE_TYPES
})
SEEDS.update({
    f"native-create-generate-{f}{'-passphrase' if p else ''}": req(
        "POST", f"{P1}/keys",
        {"name": f"fmt-{f}", "generate": {"type": "ecdsa-p256", "format": f,
                                          "passphrase": "correct horse" if p else None}})
    for f in ("openssh", "pkcs8", "ppk") for p in (False, True)
})
SEEDS.update({
    "native-create-defaults": req("POST", f"{P1}/keys", {"name": "plain"}),
    "native-create-full": req("POST", "/api/v1/projects/2/keys",
                              {"name": "full", "public_key": key("openssh-ed25519.pub"),
                               "shared_in_project": False, "disabled": True,
                               "labels": {"env": "prod", "app.example/role": "web", "empty": ""},
                               "expires_at": "2030-01-31T12:00:00Z"}),
    "native-create-generate-null": req("POST", f"{P1}/keys",
                                       {"name": "gen-null", "public_key": None, "generate": None}),
    "native-create-admin": req("POST", "/api/v1/projects/42/keys", {"name": "adm"}, auth="$ADMIN"),
    "native-create-both": req("POST", f"{P1}/keys", {"name": "both", "public_key": SEED_LINE,
                                                     "generate": {"type": "ed25519"}}),
    "native-create-bad-type": req("POST", f"{P1}/keys", {"name": "bad-type", "generate": {"type": "dsa"}}),
    "native-create-bad-format": req("POST", f"{P1}/keys",
                                    {"name": "bad-format", "generate": {"format": "putty2"}}),
    "native-create-short-passphrase": req("POST", f"{P1}/keys",
                                          {"name": "short-phrase", "generate": {"passphrase": "short"}}),
    "native-create-generate-extra": req("POST", f"{P1}/keys",
                                        {"name": "gen-extra", "generate": {"bits": 4096}}),
    "native-create-generate-not-object": req("POST", f"{P1}/keys", {"name": "gen-not-object", "generate": 1}),
    "native-create-bad-labels": req("POST", f"{P1}/keys",
                                    {"name": "bad-labels", "labels": {"Env": "x", "k": "-bad-"}}),
    "native-create-labels-not-strings": req("POST", f"{P1}/keys", {"name": "bad-labels", "labels": {"k": 1}}),
    "native-create-expired": req("POST", f"{P1}/keys",
                                 {"name": "expired-new", "expires_at": "2020-01-01T00:00:00Z"}),
    "native-create-bad-time": req("POST", f"{P1}/keys", {"name": "bad-time", "expires_at": "tomorrow"}),
    "native-create-offset-time": req("POST", f"{P1}/keys",
                                     {"name": "offset-time", "expires_at": "2031-02-03T04:05:06.123456789+02:00"}),
    "native-create-conflict": req("POST", f"{P1}/keys", {"name": "seed-key"}),
    "native-create-no-name": req("POST", f"{P1}/keys", {"public_key": SEED_LINE}),
    "native-create-forbidden": req("POST", "/api/v1/projects/3/keys", {"name": "renamed-x"}),
    "native-create-bad-project": req("POST", "/api/v1/projects/0/keys", {"name": "renamed-x"}),
    "native-create-read-only": req("POST", f"{P1}/keys", {"name": "read-only"}, auth="$READER"),
    "native-create-no-ctype": req("POST", f"{P1}/keys", {"name": "renamed-x"}, ctype=None),
    # Lists: filters, orders, pages and cursors.
    "native-list": get(f"{P1}/keys"),
    "native-list-admin": get(f"{P1}/keys", auth="$ADMIN"),
    "native-list-other": get(f"{P1}/keys", auth="Bearer $OTHER"),
    "native-list-project-2": get("/api/v1/projects/2/keys?usable=false"),
    "native-list-page": get(f"{P1}/keys?limit=1&order_by=name.asc"),
    "native-list-cursor": get(f"{P1}/keys?limit=1&order_by=name.asc&cursor="
                              + cursor("name.asc", *SEEDED[2])),
    "native-list-cursor-desc": get(f"{P1}/keys?limit=1&cursor="
                                   + cursor("created_at.desc", *SEEDED[2])),
    "native-list-cursor-asc": get(f"{P1}/keys?order_by=created_at.asc&limit=2&cursor="
                                  + cursor("created_at.asc", *SEEDED[0]), auth="$ADMIN"),
    "native-list-cursor-name-desc": get(f"{P1}/keys?order_by=name.desc&cursor="
                                        + cursor("name.desc", *SEEDED[0])),
    "native-list-cursor-wrong-order": get(f"{P1}/keys?order_by=name.desc&cursor="
                                          + cursor("name.asc", *SEEDED[0])),
    "native-list-cursor-edited": get(f"{P1}/keys?cursor=c1.AAAAAAAAAAAAAAAA"),
    "native-list-labels": get(f"{P1}/keys?label_selector=" + q("env=prod,team==ops")),
    "native-list-labels-not": get(f"{P1}/keys?label_selector=" + q("env!=prod, !team")),
    "native-list-labels-exists": get(f"{P1}/keys?label_selector=app.example/role", auth="$ADMIN"),
    "native-list-labels-bad": get(f"{P1}/keys?label_selector=" + q("Env=x,,")),
    "native-list-labels-empty": get(f"{P1}/keys?label_selector="),
    "native-list-fingerprint-md5": get(f"{P1}/keys?fingerprint=" + q(SEED_MD5)),
    "native-list-fingerprint-sha256": get(f"{P1}/keys?fingerprint=" + q(SEED_SHA256)),
    "native-list-fingerprint-bad": get(f"{P1}/keys?fingerprint=md5"),
    "native-list-usable": get(f"{P1}/keys?usable=true"),
    "native-list-usable-bad": get(f"{P1}/keys?usable=yes"),
    "native-list-type": get(f"{P1}/keys?type=ecdsa-sha2-nistp256&owner_id=1&name=KEY"),
    "native-list-type-bad": get(f"{P1}/keys?type=ssh-dss"),
    "native-list-limit-bad": get(f"{P1}/keys?limit=1001"),
    "native-list-owner-bad": get(f"{P1}/keys?owner_id=x"),
    "native-list-forbidden": get("/api/v1/projects/2/keys", auth="$OTHER"),
    # By fingerprint, in every project.
    "native-find-md5": get("/api/v1/keys?fingerprint=" + q(SEED_MD5)),
    "native-find-sha256": get("/api/v1/keys?limit=1&fingerprint=" + q(SEED_SHA256)),
    "native-find-admin": get("/api/v1/keys?order_by=name.asc&fingerprint=" + q(SEED_MD5),
                             auth="$ADMIN"),
    "native-find-no-fingerprint": get("/api/v1/keys"),
    # One key: reads, conditional reads.
    "native-get": get(f"{P1}/keys/{SEED_ID}"),
    "native-get-by-name": get(f"{P1}/keys/disabled-key", auth="$READER"),
    "native-get-upper-id": get(f"{P1}/keys/{SEED_ID.upper()}"),
    "native-get-not-modified": get(f"{P1}/keys/{SEED_ID}",
                                   extra=(f"If-None-Match: {etag(SEED_ID)}",)),
    "native-get-not-modified-weak": get(f"{P1}/keys/seed-key",
                                        extra=(f'If-None-Match: "x", W/{etag(SEED_ID)}',)),
    "native-get-not-modified-star": get(f"{P1}/keys/seed-key", extra=("If-None-Match: *",)),
    "native-get-modified": get(f"{P1}/keys/seed-key", extra=(f"If-None-Match: {etag(SEED_ID, 2)}",)),
    "native-get-hidden": get(f"{P1}/keys/{PRIVATE_ID}"),
    "native-get-other-project": get(f"/api/v1/projects/2/keys/{SEED_ID}"),
    "native-get-forbidden": get(f"/api/v1/projects/2/keys/{EXPIRED_ID}", auth="$OTHER"),
    # Changes.
    "native-patch": req("PATCH", f"{P1}/keys/{SEED_ID}",
                        {"name": "renamed", "labels": {"env": "dev"}, "disabled": True,
                         "shared_in_project": False, "expires_at": "2031-01-01T00:00:00.5Z"}),
    "native-patch-if-match": req("PATCH", f"{P1}/keys/seed-key", {"labels": {}},
                                 extra=(f"If-Match: {etag(SEED_ID)}",)),
    "native-patch-if-match-list": req("PATCH", f"{P1}/keys/seed-key", {"disabled": False},
                                      extra=(f'If-Match: "x/1", {etag(SEED_ID)}',)),
    "native-patch-if-match-star": req("PATCH", f"{P1}/keys/disabled-key", {"expires_at": None},
                                      extra=("If-Match: *",)),
    "native-patch-stale": req("PATCH", f"{P1}/keys/{SEED_ID}", {"name": "renamed-x"},
                              extra=(f"If-Match: {etag(SEED_ID, 2)}",)),
    "native-patch-weak-etag": req("PATCH", f"{P1}/keys/{SEED_ID}", {"name": "renamed-x"},
                                  extra=(f"If-Match: W/{etag(SEED_ID)}",)),
    "native-patch-other-key-etag": req("PATCH", f"{P1}/keys/{SEED_ID}", {"name": "renamed-x"},
                                       extra=(f"If-Match: {etag(DISABLED_ID)}",)),
    "native-patch-not-owner": req("PATCH", f"{P1}/keys/{SEED_ID}", {"name": "renamed-x"}, auth="$OTHER"),
    "native-patch-admin": req("PATCH", f"{P1}/keys/{PRIVATE_ID}", {"shared_in_project": True},
                              auth="$ADMIN"),
    "native-patch-conflict": req("PATCH", f"{P1}/keys/seed-key", {"name": "disabled-key"}),
    "native-patch-bad": req("PATCH", f"{P1}/keys/seed-key",
                            {"labels": {"k": "v v"}, "expires_at": "2001-01-01T00:00:00Z"}),
    "native-patch-unknown-field": req("PATCH", f"{P1}/keys/seed-key", {"public_key": SEED_LINE}),
    "native-patch-empty": req("PATCH", f"{P1}/keys/seed-key", {}),
    "native-patch-read-only": req("PATCH", f"{P1}/keys/seed-key", {"name": "renamed-x"}, auth="$READER"),
    "native-delete": req("DELETE", f"{P1}/keys/{SEED_ID}", ctype=None),
    "native-delete-by-name": req("DELETE", f"{P1}/keys/disabled-key", ctype=None,
                                 extra=(f"If-Match: {etag(DISABLED_ID)}",)),
    "native-delete-stale": req("DELETE", f"{P1}/keys/{SEED_ID}", ctype=None,
                               extra=(f"If-Match: {etag(SEED_ID, 7)}",)),
    "native-delete-not-owner": req("DELETE", f"{P1}/keys/{SEED_ID}", ctype=None, auth="$OTHER"),
    "native-delete-read-only": req("DELETE", f"{P1}/keys/{SEED_ID}", ctype=None, auth="$READER"),
    "native-delete-missing": req("DELETE", f"{P1}/keys/nope", ctype=None, auth="$ADMIN"),
    # The token, the description, the console.
    "me": get("/api/v1/me"),
    "me-bearer-reader": get("/api/v1/me", auth="Bearer $READER"),
    "me-admin": get("/api/v1/me", auth="$ADMIN"),
    "me-no-token": get("/api/v1/me", auth=None),
    "me-post": req("POST", "/api/v1/me", {}),
    "auth-login": get("/auth/login?return_to=%2Fconsole%2F", auth=None),
    "auth-callback": get("/auth/callback?code=c&state=s", auth=None),
    "auth-logout": req("POST", "/auth/logout", None, ctype=None),
    "auth-info": get("/auth/info", auth=None),
    "device-start": req("POST", "/auth/device", {}, auth=None),
    "device-token": req("POST", "/auth/device/token", {"device_code": "x"}, auth=None),
    "device-approve": req("POST", "/auth/device/approve",
                          {"user_code": "BCDF-GHJK", "approve": True}),
    "openapi": get("/api/v1/openapi.yaml", auth=None),
    "console": get("/console", auth=None),
    "console-slash": get("/console/", auth=None),
    "console-index": get("/console/index.html", auth=None),
    "console-script": get("/console/app.js", auth=None),
    "console-style": get("/console/style.css", auth=None),
    "console-icon": get("/console/icon.svg", auth=None),
    "console-not-modified": get("/console/index.html", auth=None,
                                extra=(f"If-None-Match: {CONSOLE_INDEX_ETAG}",)),
    "console-missing": get("/console/nope.js", auth=None),
    "console-dot-dot": get("/console/%2E%2E%2Fsecret", auth=None),
    # authorized_keys.
    "authorized-keys": get(f"{P1}/authorized_keys"),
    "authorized-keys-other": get(f"{P1}/authorized_keys", auth="$OTHER"),
    "authorized-keys-admin-owner": get(f"{P1}/authorized_keys?owner_id=2", auth="$ADMIN"),
    "authorized-keys-labels": get(f"{P1}/authorized_keys?label_selector=" + q("env=prod,!team"),
                                  auth="$READER"),
    "authorized-keys-bad-selector": get(f"{P1}/authorized_keys?label_selector=" + q("a b")),
    "authorized-keys-bad-owner": get(f"{P1}/authorized_keys?owner_id=0"),
    "authorized-keys-not-modified": get(f"{P1}/authorized_keys",
                                        extra=(f"If-None-Match: {USER_AUTHORIZED_KEYS_ETAG}",)),
    "authorized-keys-project-2": get("/api/v1/projects/2/authorized_keys"),
    "authorized-keys-forbidden": get("/api/v1/projects/2/authorized_keys", auth="$OTHER"),
    # The SSH CA: its public key, KRL, certificates, revocations.
    "ca-info": get(f"{P1}/ssh_ca"),
    "ca-create-exists": req("POST", f"{P1}/ssh_ca", ctype=None),
    "ca-create-new": req("POST", "/api/v1/projects/2/ssh_ca", {}),
    "ca-create-reader": req("POST", f"{P1}/ssh_ca", ctype=None, auth="$READER"),
    "ca-create-bad-body": req("POST", "/api/v1/projects/2/ssh_ca", {"type": "rsa"}),
    "ca-info-head": req("HEAD", f"{P1}/ssh_ca", ctype=None, auth="$READER"),
    "head-key": req("HEAD", f"{P1}/keys/{SEED_ID}", ctype=None),
    "head-authorized-keys": req("HEAD", f"{P1}/authorized_keys", ctype=None, auth="$READER",
                                extra=[f"If-None-Match: {USER_AUTHORIZED_KEYS_ETAG}"]),
    "head-post-only": req("HEAD", f"{P1}/certificates/2/revoke", ctype=None),
    "json-member-twice": req("POST", f"{P1}/keys", '{"name":"twice","name":"twice-b"}'),
    "json-member-twice-nested": req("POST", f"{P1}/keys",
                                    '{"name":"n1","labels":{"a":"1","a":"2"}}'),
    "cert-sign-principal-twice": req("POST", f"{P1}/keys/seed-key/certificates",
                                     {"principals": ["deploy", "alice", "deploy"]}),
    "cert-sign-nul-command": req("POST", f"{P1}/keys/seed-key/certificates",
                                 {"principals": ["deploy"], "force_command": "ls\u0000rm"}),
    "ca-info-new-project": get("/api/v1/projects/2/ssh_ca"),
    "ca-info-forbidden": get("/api/v1/projects/3/ssh_ca"),
    "ca-public-key": get(f"{P1}/ssh_ca/public_key", auth="$READER"),
    "ca-public-key-admin": get("/api/v1/projects/7/ssh_ca/public_key", auth="$ADMIN"),
    "ca-krl": get(f"{P1}/ssh_ca/krl"),
    "ca-krl-empty": get("/api/v1/projects/2/ssh_ca/krl"),
    "ca-krl-forbidden": get("/api/v1/projects/2/ssh_ca/krl", auth="$OTHER"),
    "ca-krl-not-modified": get("/api/v1/projects/2/ssh_ca/krl",
                               extra=(f"If-None-Match: {PROJECT_2_KRL_ETAG}",)),
    "cert-sign": req("POST", f"{P1}/keys/{SEED_ID}/certificates", {"principals": ["deploy"]}),
    "cert-sign-every-field": req("POST", f"{P1}/keys/seed-key/certificates",
                                 {"principals": ["deploy", "alice"], "valid_for": 86400,
                                  "extensions": ["permit-pty", "permit-pty", "permit-user-rc"],
                                  "force_command": "/usr/bin/true",
                                  "source_address": "10.0.0.0/8,2001:db8::/32"}),
    "cert-sign-no-extensions": req("POST", f"{P1}/keys/seed-key/certificates",
                                   {"principals": ["alice"], "extensions": [], "valid_for": 60,
                                    "force_command": None, "source_address": None}),
    "cert-sign-admin": req("POST", f"{P1}/keys/{PRIVATE_ID}/certificates",
                           {"principals": ["root", "anyone@example.com"]}, auth="$ADMIN"),
    "cert-sign-admin-project-2": req("POST", "/api/v1/projects/2/keys/expired-key/certificates",
                                     {"principals": ["root"]}, auth="$ADMIN"),
    "cert-sign-principal-denied": req("POST", f"{P1}/keys/seed-key/certificates",
                                      {"principals": ["root"]}),
    "cert-sign-not-owner": req("POST", f"{P1}/keys/seed-key/certificates",
                               {"principals": ["bob"]}, auth="$OTHER"),
    "cert-sign-disabled": req("POST", f"{P1}/keys/disabled-key/certificates",
                              {"principals": ["deploy"]}),
    "cert-sign-expired": req("POST", "/api/v1/projects/2/keys/expired-key/certificates",
                             {"principals": ["deploy"]}),
    "cert-sign-hidden": req("POST", f"{P1}/keys/{PRIVATE_ID}/certificates", {"principals": ["deploy"]}),
    "cert-sign-empty-principals": req("POST", f"{P1}/keys/seed-key/certificates", {"principals": []}),
    "cert-sign-bad-principal": req("POST", f"{P1}/keys/seed-key/certificates",
                                   {"principals": ["a b", ""]}),
    "cert-sign-no-principals": req("POST", f"{P1}/keys/seed-key/certificates", {"valid_for": 600}),
    "cert-sign-principals-not-array": req("POST", f"{P1}/keys/seed-key/certificates",
                                          {"principals": "deploy"}),
    "cert-sign-too-long": req("POST", f"{P1}/keys/seed-key/certificates",
                              {"principals": ["deploy"], "valid_for": 86401}),
    "cert-sign-too-short": req("POST", f"{P1}/keys/seed-key/certificates",
                               {"principals": ["deploy"], "valid_for": 59}),
    "cert-sign-huge-validity": req("POST", f"{P1}/keys/seed-key/certificates",
                                   '{"principals": ["deploy"], "valid_for": 18446744073709551615}'),
    "cert-sign-bad-validity": req("POST", f"{P1}/keys/seed-key/certificates",
                                  {"principals": ["deploy"], "valid_for": -5}),
    "cert-sign-bad-extension": req("POST", f"{P1}/keys/seed-key/certificates",
                                   {"principals": ["deploy"], "extensions": ["permit-everything"]}),
    "cert-sign-bad-source": req("POST", f"{P1}/keys/seed-key/certificates",
                                {"principals": ["deploy"], "source_address": "10.0.0.1/8"}),
    "cert-sign-empty-command": req("POST", f"{P1}/keys/seed-key/certificates",
                                   {"principals": ["deploy"], "force_command": ""}),
    "cert-sign-unknown-field": req("POST", f"{P1}/keys/seed-key/certificates",
                                   {"principals": ["deploy"], "serial": 5}),
    "cert-sign-missing-key": req("POST", f"{P1}/keys/nope/certificates", {"principals": ["deploy"]}),
    "cert-sign-no-body": req("POST", f"{P1}/keys/seed-key/certificates", ctype=None),
    "cert-sign-read-only": req("POST", f"{P1}/keys/seed-key/certificates",
                               {"principals": ["deploy"]}, auth="$READER"),
    "cert-revoke": req("POST", f"{P1}/certificates/1/revoke", ctype=None),
    "cert-revoke-empty-object": req("POST", f"{P1}/certificates/3/revoke", {}),
    "cert-revoke-again": req("POST", f"{P1}/certificates/2/revoke", "", auth="$OTHER"),
    "cert-revoke-admin": req("POST", f"{P1}/certificates/2/revoke", ctype=None, auth="$ADMIN"),
    "cert-revoke-not-owner": req("POST", f"{P1}/certificates/2/revoke", ctype=None),
    "cert-revoke-fields": req("POST", f"{P1}/certificates/1/revoke", {"reason": "lost"}),
    "cert-revoke-not-object": req("POST", f"{P1}/certificates/1/revoke", "[]"),
    "cert-revoke-body-no-ctype": req("POST", f"{P1}/certificates/1/revoke", "{}", ctype=None),
    "cert-revoke-bad-serial": req("POST", f"{P1}/certificates/0x1/revoke", ctype=None),
    "cert-revoke-zero": req("POST", f"{P1}/certificates/0/revoke", ctype=None),
    "cert-revoke-huge": req("POST", f"{P1}/certificates/9223372036854775808/revoke", ctype=None),
    "cert-revoke-missing": req("POST", f"{P1}/certificates/99/revoke", ctype=None),
    "cert-revoke-read-only": req("POST", f"{P1}/certificates/1/revoke", ctype=None, auth="$READER"),
    "cert-revoke-forbidden": req("POST", "/api/v1/projects/2/certificates/1/revoke", ctype=None,
                                 auth="$OTHER"),
    # ssh_ca/sign: a public key the store does not hold (keypaird login's).
    "key-sign": req("POST", f"{P1}/ssh_ca/sign", {"public_key": SEED_LINE}),
    "key-sign-every-field": req("POST", f"{P1}/ssh_ca/sign",
                                {"public_key": LOGIN_LINE, "principals": ["alice", "deploy", "alice"],
                                 "valid_for": "8h"}),
    "key-sign-seconds": req("POST", f"{P1}/ssh_ca/sign",
                            {"public_key": ECDSA_LINE, "principals": ["deploy"], "valid_for": 600},
                            auth="Bearer $USER"),
    "key-sign-admin-any": req("POST", "/api/v1/projects/2/ssh_ca/sign",
                              {"public_key": LOGIN_LINE, "principals": ["root"]}, auth="$ADMIN"),
    "key-sign-admin-no-principals": req("POST", f"{P1}/ssh_ca/sign", {"public_key": LOGIN_LINE},
                                        auth="$ADMIN"),
    "key-sign-other": req("POST", f"{P1}/ssh_ca/sign", {"public_key": LOGIN_LINE}, auth="$OTHER"),
    "key-sign-principal-denied": req("POST", f"{P1}/ssh_ca/sign",
                                     {"public_key": LOGIN_LINE, "principals": ["root"]}),
    "key-sign-forbidden": req("POST", "/api/v1/projects/2/ssh_ca/sign",
                              {"public_key": LOGIN_LINE}, auth="$OTHER"),
    "key-sign-read-only": req("POST", f"{P1}/ssh_ca/sign", {"public_key": LOGIN_LINE},
                              auth="$READER"),
    "key-sign-project-3": req("POST", "/api/v1/projects/3/ssh_ca/sign", {"public_key": LOGIN_LINE}),
    "key-sign-dsa": req("POST", f"{P1}/ssh_ca/sign", {"public_key": DSA_LINE}),
    "key-sign-certificate": req("POST", f"{P1}/ssh_ca/sign",
                                {"public_key": "ssh-ed25519-cert-v01@openssh.com AAAA x"}),
    "key-sign-malformed": req("POST", f"{P1}/ssh_ca/sign", {"public_key": "ssh-ed25519 AAAA"}),
    "key-sign-no-key": req("POST", f"{P1}/ssh_ca/sign", {"principals": ["deploy"]}),
    "key-sign-bad-duration": req("POST", f"{P1}/ssh_ca/sign",
                                 {"public_key": LOGIN_LINE, "valid_for": "90m30s"}),
    "key-sign-too-long": req("POST", f"{P1}/ssh_ca/sign",
                             {"public_key": LOGIN_LINE, "valid_for": "2d"}),
    "key-sign-empty-principals": req("POST", f"{P1}/ssh_ca/sign",
                                     {"public_key": LOGIN_LINE, "principals": []}),
    "key-sign-extensions": req("POST", f"{P1}/ssh_ca/sign",
                               {"public_key": LOGIN_LINE, "extensions": []}),
    # Read-only tokens on the Gcore routes.
    "v1-create-read-only": req("POST", "/cloud/v1/keypairs/1/1", {"sshkey_name": "ro"},
                               auth="$READER"),
    "v2-delete-read-only": req("DELETE", f"/cloud/v2/keypairs/{SEED_ID}", ctype=None,
                               auth="$READER"),
    "ssh-share-read-only": req("PATCH", f"/cloud/v1/ssh_keys/1/{SEED_ID}",
                               {"shared_in_project": False}, auth="$READER"),
    "ssh-list-read-only": get("/cloud/v1/ssh_keys/1", auth="$READER"),
    "v1-method-not-allowed-native": req("PUT", f"{P1}/keys/seed-key", {"name": "renamed-x"}),
    "header-case": "GET /api/v1/me\nauthorization: bearer $USER\nx-request-id: ABCDEF0123456789ABCDEF0123456789\n\n",
    # The audit trail, users and grants: administrators only.
    "events": get("/api/v1/events?limit=5&project_id=1", auth="$ADMIN"),
    "events-forbidden": get("/api/v1/events"),
    "events-bad-limit": get("/api/v1/events?limit=0", auth="$ADMIN"),
    "user-actions": get("/cloud/v1/user_actions?api_group=ssh_key&limit=5", auth="$ADMIN"),
    "grants": get("/api/v1/grants", auth="$ADMIN"),
    "grants-forbidden": get("/api/v1/grants"),
    "grant-create": req("POST", "/api/v1/grants",
                        {"group": "ops", "projects": [2, 1, 2], "role": "editor",
                         "principals": ["deploy"]}, auth="$ADMIN"),
    "grant-create-user": req("POST", "/api/v1/grants",
                             {"user_id": 2, "projects": [1], "role": "admin"}, auth="$ADMIN"),
    "grant-create-unknown-user": req("POST", "/api/v1/grants",
                                     {"user_id": 99, "projects": [1], "role": "admin"},
                                     auth="$ADMIN"),
    "grant-create-two-subjects": req("POST", "/api/v1/grants",
                                     {"group": "g", "user_email": "a@b.c", "projects": [1],
                                      "role": "viewer"}, auth="$ADMIN"),
    "grant-create-forbidden": req("POST", "/api/v1/grants",
                                  {"group": "g", "projects": [1], "role": "viewer"}),
    "grant-delete-missing": req("DELETE", "/api/v1/grants/nope", ctype=None, auth="$ADMIN"),
    "users": get("/api/v1/users", auth="$ADMIN"),
    "user-disable": req("PATCH", "/api/v1/users/2", {"disabled": True}, auth="$ADMIN"),
    "user-enable-missing": req("PATCH", "/api/v1/users/99", {"disabled": False}, auth="$ADMIN"),
    "user-disable-bad-body": req("PATCH", "/api/v1/users/2", {"disabled": "yes"}, auth="$ADMIN"),
    "user-disable-forbidden": req("PATCH", "/api/v1/users/1", {"disabled": True}),
    # Hosts: a project's join tokens, its administrators only.
    "join-tokens": get(f"{P1}/host_join_tokens", auth="$ADMIN"),
    "join-tokens-forbidden": get(f"{P1}/host_join_tokens"),
    "join-token-create": req("POST", f"{P1}/host_join_tokens",
                             {"hostnames": ["Web-1.example.com", "*.db.example.com"],
                              "uses": 3, "expires_in": "2h"}, auth="$ADMIN"),
    "join-token-create-bad": req("POST", f"{P1}/host_join_tokens",
                                 {"hostnames": ["*.*.x"], "uses": 0}, auth="$ADMIN"),
    "join-token-create-read-only": req("POST", f"{P1}/host_join_tokens",
                                       {"hostnames": ["web-1"]}, auth="$READER"),
    "join-token-delete-missing": req("DELETE", f"{P1}/host_join_tokens/0123456789abcdef",
                                     ctype=None, auth="$ADMIN"),
    # Hosts: enrolment with a join token (none the fuzzer knows), renewal with a host token.
    "host-enroll": req("POST", "/api/v1/hosts/enroll",
                       {"project_id": 1, "hostnames": ["web-1.example.com"],
                        "public_keys": [LOGIN_LINE]},
                       auth="Bearer kpj_0123456789abcdef_" + "ab" * 32),
    "host-enroll-no-token": req("POST", "/api/v1/hosts/enroll",
                                {"project_id": 1, "hostnames": ["web-1"],
                                 "public_keys": [LOGIN_LINE]}, auth=None),
    "host-enroll-bad": req("POST", "/api/v1/hosts/enroll",
                           {"project_id": 0, "hostnames": ["*.x"], "public_keys": []},
                           auth="Bearer kpj_0123456789abcdef_" + "ab" * 32),
    "host-renew": req("POST", "/api/v1/hosts/0123456789abcdef/renew", {},
                      auth="Bearer kph_0123456789abcdef_" + "cd" * 32),
    "host-renew-api-token": req("POST", "/api/v1/hosts/0123456789abcdef/renew", ctype=None),
    "hosts": get(f"{P1}/hosts", auth="$ADMIN"),
    "hosts-forbidden": get(f"{P1}/hosts"),
    "host-delete-missing": req("DELETE", f"{P1}/hosts/0123456789abcdef", ctype=None,
                               auth="$ADMIN"),
    "host-ca": get(f"{P1}/ssh_host_ca"),
    "host-ca-other-project": get("/api/v1/projects/2/ssh_host_ca"),
    "host-ca-create": req("POST", "/api/v1/projects/2/ssh_host_ca", ctype=None),
    "known-hosts": get(f"{P1}/ssh_host_ca/known_hosts?hosts=*.example.com,!bad.example.com"),
    "known-hosts-all": get(f"{P1}/ssh_host_ca/known_hosts"),
    "known-hosts-bad": get(f"{P1}/ssh_host_ca/known_hosts?hosts=a%20b"),
    "ca-rotate": req("POST", f"{P1}/ssh_ca/rotate", ctype=None, auth="$ADMIN"),
    "ca-rotate-empty-body": req("POST", f"{P1}/ssh_ca/rotate", {}, auth="$ADMIN"),
    "ca-rotate-writer": req("POST", f"{P1}/ssh_ca/rotate", ctype=None),
    "ca-rotate-no-ca": req("POST", "/api/v1/projects/2/ssh_ca/rotate", ctype=None, auth="$ADMIN"),
    "host-ca-rotate": req("POST", f"{P1}/ssh_host_ca/rotate", ctype=None, auth="$ADMIN"),
    "ca-key-delete-unknown": req("DELETE", f"{P1}/ssh_ca/keys/SHA256%3AAAAA%2Fbbbb", ctype=None,
                                 auth="$ADMIN"),
    "host-ca-key-delete-writer": req("DELETE", f"{P1}/ssh_host_ca/keys/AAAA", ctype=None),
})


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in SEEDS.items():
        (OUT / name).write_bytes(text.encode())
    print(len(SEEDS), "seeds in", os.path.relpath(OUT))


if __name__ == "__main__":
    main()
