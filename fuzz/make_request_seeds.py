#!/usr/bin/env python3
"""Writes the seeds of fuzz/corpus/fuzz_request/: representative requests for every route
of src/http/api.cc (kRoutes) and their documented failures, in the input format described
at the top of fuzz/fuzz_request.cc. Deterministic; rerun after adding a route."""
import json
import os
import pathlib

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE / "corpus" / "fuzz_request"
KEYS = HERE / "corpus" / "fuzz_public_key"
SEED_ID = "11111111-1111-4111-8111-111111111111"     # "seed-key", user 1, shared
PRIVATE_ID = "22222222-2222-4222-8222-222222222222"  # "private-key", user 2, unshared


def key(name):
    return (KEYS / name).read_text()


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


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in SEEDS.items():
        (OUT / name).write_bytes(text.encode())
    print(len(SEEDS), "seeds in", os.path.relpath(OUT))


if __name__ == "__main__":
    main()
