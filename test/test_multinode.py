"""Several keypaird nodes on one PostgreSQL database, and database outages.

Collected only in the PostgreSQL pass (KEYPAIRD_TEST_BACKEND=postgres; see conftest.py):
two `keypaird serve` processes on different ports share one fresh database and must
answer as one node would; the cluster is stopped and started again under a stream of
requests. The outage test runs last in this file and restarts the shared test cluster
(scripts/postgres.sh stop/start on its directory, same port)."""

import json
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import (BIN, PG_DIR, REPO, Server, free_port, new_postgres_database, psql,
                      unique_name)

PROJECT = 4100  # no other test file uses it
PROMPT = 8.0    # seconds: the longest any answer may take, also during an outage


@pytest.fixture(scope="module")
def shared_db():
    return new_postgres_database()


@pytest.fixture(scope="module")
def nodes(tmp_path_factory, shared_db):
    a = Server(tmp_path_factory.mktemp("node-a"), database=shared_db).start()
    b = Server(tmp_path_factory.mktemp("node-b"), database=shared_db).start()
    yield a, b
    a.stop()
    b.stop()


@pytest.fixture(scope="module")
def people(nodes):
    a, _ = nodes
    return {
        "owner": a.token(1, [PROJECT]),
        "peer": a.token(2, [PROJECT]),
        "admin": a.token(100, admin=True),
    }


def body_without_private_key(r):
    return {k: v for k, v in r.json().items() if k != "private_key"}


def assert_error(r, status, exception_class):
    assert r.status == status, r
    body = r.json()
    assert body["exception_class"] == exception_class, body
    assert isinstance(body["message"], str) and body["message"]
    assert len(body["request_id"]) == 32


# --- one database, two nodes ------------------------------------------------------------

def test_key_written_on_one_node_is_read_shared_and_deleted_on_the_other(nodes, people):
    a, b = nodes
    owner, peer = people["owner"], people["peer"]
    v1 = f"/cloud/v1/keypairs/{PROJECT}/1"
    name = unique_name("multi")

    r = a.request("POST", v1, {"sshkey_name": name, "shared_in_project": False}, owner)
    assert r.status == 200, r
    created = r.json()
    key_id = created["id"]

    # Read on B: the owner sees it at once, through every family; the peer does not.
    r = b.request("GET", f"{v1}/{key_id}", token=owner)
    assert r.status == 200, r
    assert body_without_private_key(r) == {k: v for k, v in created.items() if k != "private_key"}
    assert b.request("GET", f"/cloud/v1/ssh_keys/{PROJECT}/{key_id}", token=owner).status == 200
    assert_error(b.request("GET", f"{v1}/{key_id}", token=peer), 404, "NotFoundError")

    # Shared on B: visible to the peer on A.
    r = b.request("PATCH", f"{v1}/{key_id}/share", {"shared_in_project": True}, owner)
    assert r.status == 200 and r.json()["shared_in_project"] is True, r
    r = a.request("GET", f"{v1}/{key_id}", token=peer)
    assert r.status == 200 and r.json()["shared_in_project"] is True, r

    # Both nodes list the same keys.
    lists = [n.request("GET", f"/cloud/v1/ssh_keys/{PROJECT}?limit=1000&order_by=name.asc",
                       token=owner).json() for n in (a, b)]
    assert lists[0] == lists[1]
    assert key_id in [k["id"] for k in lists[0]["results"]]

    # Deleted on B: gone on A, and the name is free again there.
    assert b.request("DELETE", f"{v1}/{key_id}", token=owner).status == 204
    assert_error(a.request("GET", f"{v1}/{key_id}", token=owner), 404, "NotFoundError")
    assert_error(a.request("DELETE", f"{v1}/{key_id}", token=owner), 404, "NotFoundError")
    r = a.request("POST", v1, {"sshkey_name": name}, owner)
    assert r.status == 200, r


def test_name_race_over_both_nodes_and_all_three_families_has_one_winner(nodes, people):
    a, b = nodes
    token = people["owner"]
    name = unique_name("race")
    creates = [
        ("POST", f"/cloud/v1/keypairs/{PROJECT}/1", {"sshkey_name": name}, 200),
        ("POST", "/cloud/v2/keypairs", {"sshkey_name": name, "project_id": PROJECT}, 200),
        ("POST", f"/cloud/v1/ssh_keys/{PROJECT}", {"name": name}, 201),
    ]
    n = 200
    barrier = threading.Barrier(n)

    def attempt(i):
        node = (a, b)[i % 2]
        method, path, body, ok_status = creates[i % 3]
        barrier.wait(timeout=60)
        r = node.request(method, path, body, token, timeout=60)
        return r, ok_status

    with ThreadPoolExecutor(max_workers=n) as pool:
        outcomes = list(pool.map(attempt, range(n)))
    winners = [r for r, ok_status in outcomes if r.status == ok_status]
    conflicts = [r for r, _ in outcomes if r.status == 409]
    assert len(winners) == 1, [r for r, _ in outcomes if r.status not in (200, 201, 409)][:3]
    assert len(conflicts) == n - 1
    for r in conflicts:
        assert r.json()["exception_class"] == "ConflictError"
        assert r.header("x-should-retry") == "false"
    for node in (a, b):
        r = node.request("GET", f"/cloud/v1/ssh_keys/{PROJECT}?name={name}&limit=1000", token=token)
        assert r.status == 200 and r.json()["count"] == 1, r
        assert r.json()["results"][0]["id"] == winners[0].json()["id"]


def test_token_revoked_with_the_cli_fails_on_both_nodes_at_once(nodes):
    a, b = nodes
    token = a.token(7, [PROJECT])
    token_id = token.split("_")[1]
    path = f"/cloud/v1/ssh_keys/{PROJECT}"
    for node in (a, b):
        assert node.request("GET", path, token=token).status == 200

    a.cli("token", "revoke", token_id)  # a separate process, as an operator would

    for node in (a, b):
        assert_error(node.request("GET", path, token=token), 401, "NotAuthenticated")
        assert_error(node.request("POST", path, {"name": unique_name()}, token), 401,
                     "NotAuthenticated")
    listed = a.cli("token", "list").stdout
    assert token_id in listed


def test_a_user_disabled_on_one_node_is_refused_on_both_at_once(nodes, people):
    a, b = nodes
    token = a.token(8, [PROJECT])
    path = f"/api/v1/projects/{PROJECT}/keys"
    for node in (a, b):
        assert node.request("GET", path, token=token).status == 200

    r = a.request("PATCH", "/api/v1/users/8", {"disabled": True}, token=people["admin"])
    assert r.status == 200, r

    for node in (a, b):  # the very next request, on either node
        r = node.request("GET", path, token=token)
        assert r.status == 401 and "disabled" in r.json()["message"], r
    r = b.request("PATCH", "/api/v1/users/8", {"disabled": False}, token=people["admin"])
    assert r.status == 200, r
    for node in (a, b):
        assert node.request("GET", path, token=token).status == 200


def test_nodes_started_together_on_a_fresh_database_all_come_up(tmp_path):
    db = new_postgres_database()
    servers = [Server(tmp_path / f"n{i}", database=db) for i in range(3)]
    for s in servers:
        s.workdir.mkdir()
    errors = []

    def start(s):
        try:
            s.start()
        except Exception as e:  # reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=start, args=(s,)) for s in servers]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert errors == []
        for s in servers:
            assert s.request("GET", "/readyz").status == 200
        versions = psql(db, "SELECT version FROM schema_migrations ORDER BY version").split()
        assert versions == [str(v) for v in range(1, len(versions) + 1)] and versions
    finally:
        for s in servers:
            s.stop()


def test_migrate_once_then_nodes_need_no_migration_rights(tmp_path):
    db = new_postgres_database()
    r = subprocess.run([BIN, "migrate", "--database", db], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    before = psql(db, "SELECT version, applied_at FROM schema_migrations ORDER BY version")
    s = Server(tmp_path, database=db).start()
    try:
        assert s.request("GET", "/readyz").status == 200
    finally:
        s.stop()
    assert psql(db, "SELECT version, applied_at FROM schema_migrations ORDER BY version") == before


def test_the_database_holds_no_secrets(nodes, people):
    a, _ = nodes
    token = a.token(3, [PROJECT])
    r = a.request("POST", f"/cloud/v1/keypairs/{PROJECT}/1", {"sshkey_name": unique_name()},
                  people["owner"])
    assert r.status == 200
    dump = psql(a.database, "COPY keys TO STDOUT") + psql(a.database, "COPY tokens TO STDOUT")
    assert token.split("_")[1] in dump          # the token id is stored ...
    assert token.split("_")[2] not in dump      # ... its secret is not
    assert r.json()["id"] in dump
    assert r.json()["private_key"].splitlines()[1] not in dump


def test_two_nodes_share_one_ca_and_never_hand_out_a_serial_twice(tmp_path):
    """The CA is made on first use by whichever node asks first (both ask at once here);
    certificates signed concurrently on both nodes get distinct serials; a revocation on
    one node is in the KRL the other serves."""
    db = new_postgres_database()
    kek = tmp_path / "ca.kek"
    a = Server(tmp_path / "a", database=db)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a.cli("ca", "new-kek", str(kek))
    a.start("--ca-kek-file", str(kek))
    b = Server(tmp_path / "b", database=db).start("--ca-kek-file", str(kek))
    try:
        token = a.token(5, [PROJECT], principals=["deploy"])
        base = f"/api/v1/projects/{PROJECT}"
        with ThreadPoolExecutor(8) as pool:
            cas = list(pool.map(lambda n: n.request("POST", f"{base}/ssh_ca", token=token,
                                                    content_type=None),
                                [a, b] * 4))
        assert sorted(r.status for r in cas) == [200] * 7 + [201], cas  # one made it
        assert len({r.json()["public_key"] for r in cas}) == 1
        assert {b.request("GET", f"{base}/ssh_ca", token=token).json()["public_key"]} == \
            {r.json()["public_key"] for r in cas}
        r = a.request("POST", f"{base}/keys", {"name": "multi-ca", "generate": {}}, token)
        assert r.status == 201, r

        def sign(node):
            r = node.request("POST", f"{base}/keys/multi-ca/certificates",
                             {"principals": ["deploy"]}, token)
            assert r.status == 201, r
            return int(r.json()["serial"])

        with ThreadPoolExecutor(8) as pool:
            serials = list(pool.map(sign, [a, b] * 20))
        assert len(set(serials)) == 40, sorted(serials)
        assert b.request("POST", f"{base}/certificates/{serials[0]}/revoke",
                         token=token, content_type=None).status == 204
        krl = tmp_path / "krl"
        krl.write_bytes(a.request("GET", f"{base}/ssh_ca/krl", token=token).body)
        out = subprocess.run(["ssh-keygen", "-Q", "-l", "-f", str(krl)], capture_output=True,
                             text=True, timeout=60).stdout
        assert f"serial: {serials[0]}\n" in out and f"serial: {serials[1]}\n" not in out, out
    finally:
        a.stop()
        b.stop()


def test_two_nodes_share_the_host_ca_and_never_overspend_a_join_token(tmp_path):
    """Eight servers enrol at once, over both nodes, with a join token of three uses:
    exactly three get in, every certificate is signed by one host CA, with distinct
    serials; a host deleted on one node is refused by the other at once; a rotation on one
    node is the other's at its next signature."""
    db = new_postgres_database()
    kek = tmp_path / "ca.kek"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = Server(tmp_path / "a", database=db)
    a.cli("ca", "new-kek", str(kek))
    a.start("--ca-kek-file", str(kek))
    b = Server(tmp_path / "b", database=db).start("--ca-kek-file", str(kek))
    try:
        admin = a.token(6, admin=True)
        r = b.request("POST", f"/api/v1/projects/{PROJECT}/host_join_tokens",
                      {"hostnames": ["*.example.com"], "uses": 3}, admin)
        assert r.status == 201, r
        join = r.json()["token"]
        key = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIjxL6g1II8NsO8odvBwGKvq2Dx/h/xrvsV9b9LVIYKm"
               " root@host")

        def enroll(i):
            node = (a, b)[i % 2]
            return node.request("POST", "/api/v1/hosts/enroll",
                                {"project_id": PROJECT, "hostnames": [f"web-{i}.example.com"],
                                 "public_keys": [key]},
                                headers={"Authorization": f"Bearer {join}"})

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(enroll, range(8)))
        assert sorted(r.status for r in answers) == [201] * 3 + [401] * 5, answers
        made = [r.json() for r in answers if r.status == 201]
        assert len({m["known_hosts"].split(" ", 2)[2] for m in made}) == 1  # one host CA
        assert len({m["certificates"][0]["serial"] for m in made}) == 3
        hosts = a.request("GET", f"/api/v1/projects/{PROJECT}/hosts", token=admin).json()
        assert len(hosts["results"]) == 3
        gone = made[0]
        assert a.request("DELETE", f"/api/v1/projects/{PROJECT}/hosts/{gone['host_id']}",
                         token=admin).status == 204
        r = b.request("POST", f"/api/v1/hosts/{gone['host_id']}/renew", {},
                      token=gone["host_token"])
        assert r.status == 401, r
        # The host CA rotated on one node: the other signs the next renewal with the new key
        # at once, and both list both keys, new first.
        r = a.request("POST", f"/api/v1/projects/{PROJECT}/ssh_host_ca/rotate", {}, admin)
        assert r.status == 200, r
        rotated = r.json()
        kept = made[1]
        r = b.request("POST", f"/api/v1/hosts/{kept['host_id']}/renew", {},
                      token=kept["host_token"])
        assert r.status == 201, r
        trusted = [line.split(" ", 2)[2].split(" ")[1]
                   for line in r.json()["known_hosts"].splitlines()]
        assert trusted == [k["public_key"].split()[1] for k in rotated["keys"]]
        assert len(trusted) == 2
        listing = subprocess.run(["ssh-keygen", "-L", "-f", "/dev/stdin"],
                                 input=r.json()["certificates"][0]["certificate"] + "\n",
                                 capture_output=True, text=True, check=True).stdout
        assert rotated["fingerprint_sha256"] in listing
        assert b.request("GET", f"/api/v1/projects/{PROJECT}/ssh_host_ca",
                         token=admin).json()["keys"] == rotated["keys"]
    finally:
        a.stop()
        b.stop()


def test_serve_refuses_to_start_when_the_database_is_down(tmp_path):
    port = free_port()  # nothing listens there
    url = f"postgresql://keypaird:hunter2@127.0.0.1:{port}/keys"
    t0 = time.monotonic()
    r = subprocess.run([BIN, "serve", "--listen", f"127.0.0.1:{free_port()}", "--database", url],
                       capture_output=True, text=True, timeout=30)
    assert time.monotonic() - t0 < PROMPT
    assert r.returncode == 1
    assert "cannot connect to the database" in r.stderr
    assert "hunter2" not in r.stderr + r.stdout


# --- a stopped credential on a node hammered with it -----------------------------------

def test_a_user_disabled_on_one_node_stops_its_token_on_the_other_at_the_next_request(nodes):
    from test_token_cache import bearer, disable_user_on, hammer_through, key_of
    a, b = nodes
    token = a.token(4190, [PROJECT])
    hammer_through(a.port, key_of(a, token, PROJECT), bearer(token),
                   disable_user_on(b, 4190, a.token(4191, admin=True)))


# --- the database goes away and comes back ----------------------------------------------

def postgres_sh(action):
    r = subprocess.run(["bash", str(REPO / "scripts" / "postgres.sh"), action, PG_DIR],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_database_outage_gives_prompt_503s_and_the_nodes_recover_by_themselves(nodes, people):
    assert PG_DIR, "KEYPAIRD_TEST_POSTGRES_DIR is not set (scripts/test.sh sets it)"
    a, b = nodes
    token = people["owner"]
    path = f"/cloud/v1/ssh_keys/{PROJECT}"
    results = []   # (is_write, status, seconds, body, node index)
    acked = {}     # key id -> name, for every 201
    lock = threading.Lock()
    stop = threading.Event()

    def stream(worker):
        deadline = time.monotonic() + 180
        for i in range(5000):
            if stop.is_set() or time.monotonic() > deadline:
                return
            which = (worker + i) % 2
            node = (a, b)[which]
            write = i % 2 == 0
            t0 = time.monotonic()
            try:
                if write:
                    r = node.request("POST", path, {"name": f"outage-{worker}-{i}"}, token,
                                     timeout=30)
                else:
                    r = node.request("GET", f"{path}?limit=3", token=token, timeout=30)
                status, body = r.status, r.body
            except Exception as e:  # a reset, a refused connection, a timeout: all wrong
                status, body = None, repr(e).encode()
            took = time.monotonic() - t0
            with lock:
                results.append((write, status, took, body, which))
                if write and status == 201:
                    acked[json.loads(body)["id"]] = f"outage-{worker}-{i}"
            time.sleep(0.005)

    def wait_until(predicate, seconds, what):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        pytest.fail(f"not within {seconds}s: {what}")

    def count(pred):
        with lock:
            return sum(1 for r in results if pred(r))

    workers = [threading.Thread(target=stream, args=(w,)) for w in range(4)]
    for w in workers:
        w.start()
    stopped = False
    try:
        wait_until(lambda: len(acked) >= 20, 30, "20 keys created before the outage")
        acked_before = dict(acked)

        postgres_sh("stop")
        stopped = True
        seen = count(lambda r: r[1] == 503)
        wait_until(lambda: count(lambda r: r[1] == 503) >= seen + 20, 30,
                   "20 answers 503 while the database is down")
        for node in (a, b):
            t0 = time.monotonic()
            r = node.request("GET", "/readyz", timeout=30)
            assert time.monotonic() - t0 < PROMPT
            assert_error(r, 503, "ServiceUnavailable")
            assert_error(node.request("GET", f"{path}/{next(iter(acked_before))}", token=token),
                         503, "ServiceUnavailable")

        postgres_sh("start")
        stopped = False
        recovered = time.monotonic()
        # Each node on its own: one node's successes say nothing about the other's pool.
        # A node that failed to connect moments before the restart waits out its short
        # reconnect back-off (answering 503) before it tries again.
        ok_before = [count(lambda r, n=n: r[4] == n and r[1] in (200, 201)) for n in (0, 1)]
        wait_until(lambda: count(lambda r: r[0] and r[1] == 201) > 0 and
                   all(count(lambda r, n=n: r[4] == n and r[1] in (200, 201)) >= ok_before[n] + 10
                       for n in (0, 1)), 30,
                   "requests succeed again on both nodes after the database is back")
        for node in (a, b):
            r = node.request("GET", "/readyz", timeout=30)
            assert r.status == 200, r
        assert time.monotonic() - recovered < 30
    finally:
        stop.set()
        for w in workers:
            w.join(timeout=60)
        if stopped:
            postgres_sh("start")

    assert not any(w.is_alive() for w in workers), "a request hung"
    failures = [r for r in results if r[1] not in (200, 201, 503)]
    assert failures == [], failures[:5]
    slow = [r for r in results if r[2] >= PROMPT]
    assert slow == [], slow[:5]
    unavailable = [r for r in results if r[1] == 503]
    assert unavailable, "no request saw the outage"
    for _, _, _, body, _ in unavailable:
        b503 = json.loads(body)
        assert b503["exception_class"] == "ServiceUnavailable"
        assert set(b503) == {"exception_class", "message", "request_id"}
        assert "postgres" not in b503["message"].lower()

    # Every key acknowledged — before, during or after the outage — is there, on both nodes.
    assert set(acked_before) <= set(acked)
    for i, (key_id, name) in enumerate(sorted(acked.items())):
        node = (a, b)[i % 2]
        r = node.request("GET", f"{path}/{key_id}", token=token)
        assert r.status == 200 and r.json()["name"] == name, r
    listed = a.request("GET", f"{path}?name=outage-&limit=1000", token=token).json()
    assert listed["count"] >= len(acked)
