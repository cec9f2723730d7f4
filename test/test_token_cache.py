"""The token cache (docs/BENCHMARKS.md "The token cache") never outlives a revocation.

A client hammers the server with one credential, keep-alive, one request after another, and
records when it sent each request and what came back. The credential is stopped through
each path that stops one — the API (a user disabled, a host deleted), the command line
(another process) and, on PostgreSQL, another node (test_multinode.py) — and the test counts
the requests sent after the deadline that were still accepted: there must be none. The
issue that allowed the cache allowed a second for a change made elsewhere; the cache is
exact (the generation is read in each request's snapshot), so every deadline here is the
moment the change returned. On SQLite the test also shows that the cache was in use while
the credential worked (its hits on /metrics grew by the requests made), so what is tested
is the cache and not the read it replaces; PostgreSQL has no token cache (see
auth/token_cache.h) and runs the same tests.

Runs on both backends, on the session's server."""

import http.client
import re
import subprocess
import time

from conftest import BACKEND, new_project, unique_name
from hammer import Hammer

WARM = 300   # accepted requests before the change (the cache holds the credential)
AFTER = 1.5  # seconds of hammering after the deadline


def cache_hits(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    m = re.search(r'^keypaird_auth_cache_total\{result="hit"\} (\d+)$', text, re.M)
    assert m, "no keypaird_auth_cache_total on /metrics"
    return int(m.group(1))


def hammer_through(port, path, headers, stop, cached=True):
    """Hammers `path` until WARM requests were accepted, calls `stop()`, hammers on for
    AFTER seconds; asserts that no request sent after `stop()` returned was accepted, and
    (on SQLite, for a `cached` credential) that the accepted ones were the cache's hits."""
    hits_before = cache_hits(port)
    with Hammer(port, path, headers) as h:
        h.warm(WARM, "the credential never worked")
        hits_warm = cache_hits(port)
        stop()
        stopped = time.monotonic()
        time.sleep(AFTER)
    if cached and BACKEND == "sqlite":
        assert hits_warm - hits_before >= WARM - 1, (hits_before, hits_warm)
    else:
        assert hits_warm == hits_before, (hits_before, hits_warm)
    late = [(t - stopped, s) for t, _, s, _ in h.records if t > stopped]
    assert len(late) >= 10, f"too few requests after the deadline to tell: {len(late)}"
    accepted = [x for x in late if x[1] == 200]
    assert not accepted, f"{len(accepted)} of {len(late)} requests after the change accepted"
    assert {s for _, s in late} == {401}, {s for _, s in late}


def key_of(server, token, project):
    """A key of the token's own in `project`, and the path that gets it (a route answered
    from one snapshot, where the cache works)."""
    r = server.request("POST", f"/cloud/v1/keypairs/{project}/1",
                       {"sshkey_name": unique_name("cache")}, token)
    assert r.status == 200, r
    return f"/cloud/v1/ssh_keys/{project}/{r.json()['id']}"


def bearer(token):
    return {"Authorization": f"APIKey {token}"}


def token_id(token):
    return token.split("_")[1]


_user = [8600]


def new_user():
    _user[0] += 1
    return _user[0]


def test_a_token_revoked_on_the_command_line_stops_at_the_next_request(server):
    p = new_project()
    token = server.token(new_user(), [p])
    hammer_through(server.port, key_of(server, token, p), bearer(token),
                   lambda: server.cli("token", "revoke", token_id(token)))


def disable_user_on(node, uid, admin):
    """What stops the credential: `uid` disabled through `node`'s API."""
    def disable():
        r = node.request("PATCH", f"/api/v1/users/{uid}", {"disabled": True}, admin)
        assert r.status == 200, r
    return disable


def test_a_user_disabled_through_the_api_stops_at_the_next_request(server):
    p, uid = new_project(), new_user()
    token = server.token(uid, [p])
    admin = server.token(8599, admin=True)
    hammer_through(server.port, key_of(server, token, p), bearer(token),
                   disable_user_on(server, uid, admin))
    # Enabled again: the same token works again (the cache kept no refusal either).
    r = server.request("PATCH", f"/api/v1/users/{uid}", {"disabled": False}, admin)
    assert r.status == 200, r
    assert server.request("GET", f"/api/v1/projects/{p}/keys", token=token).status == 200


def test_a_host_deleted_through_the_api_stops_at_the_next_request(server, tmp_path):
    p = new_project()
    admin = server.token(8598, admin=True)
    assert server.request("POST", f"/api/v1/projects/{p}/ssh_host_ca", token=admin).status == 201
    r = server.request("POST", f"/api/v1/projects/{p}/host_join_tokens",
                       {"hostnames": ["cache-1.example.com"], "uses": 1}, admin)
    assert r.status == 201, r
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "host")],
                   check=True, timeout=30)
    host_key = (tmp_path / "host.pub").read_text().strip()
    r = server.request("POST", "/api/v1/hosts/enroll",
                       {"project_id": p, "hostnames": ["cache-1.example.com"],
                        "public_keys": [host_key]},
                       headers={"Authorization": f"Bearer {r.json()['token']}"})
    assert r.status == 201, r
    host_token, host_id = r.json()["host_token"], r.json()["host_id"]

    def delete():
        r = server.request("DELETE", f"/api/v1/projects/{p}/hosts/{host_id}", token=admin)
        assert r.status == 204, r

    # A host's token is read on every request (its routes run on the request workers).
    hammer_through(server.port, f"/api/v1/projects/{p}/authorized_keys", bearer(host_token),
                   delete, cached=False)
