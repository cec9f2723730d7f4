"""Fixtures for the black-box tests: the real keypaird binary, a Prism validation proxy
over keypaird's OpenAPI description (openapi/keypaird.yaml), and helpers to call them.
Every process is started on a free loopback port with a fresh database and stopped at the
end."""

import http.client
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BIN = os.environ.get("KEYPAIRD_BIN", str(REPO / "build" / "keypaird"))
OPENAPI_SPEC = REPO / "openapi" / "keypaird.yaml"
# Gcore's own OpenAPI files, the reference openapi/keypaird.yaml is checked against. CI has
# them in ../shared/spec/ next to the repository; KEYPAIRD_SHARED_SPEC_DIR points elsewhere.
GCORE_SPEC_DIR = Path(os.environ.get("KEYPAIRD_SHARED_SPEC_DIR",
                                     REPO.parent / "shared" / "spec"))
PRISM = REPO / "tools" / "node_modules" / ".bin" / "prism"

# Which database the servers use: "sqlite" (default: a file per server) or "postgres" (a
# fresh database per server on the cluster at KEYPAIRD_TEST_POSTGRES_URL, which
# scripts/test.sh starts with scripts/postgres.sh in KEYPAIRD_TEST_POSTGRES_DIR).
BACKEND = os.environ.get("KEYPAIRD_TEST_BACKEND", "sqlite")
PG_URL = os.environ.get("KEYPAIRD_TEST_POSTGRES_URL", "")
PG_DIR = os.environ.get("KEYPAIRD_TEST_POSTGRES_DIR", "")
if BACKEND not in ("sqlite", "postgres"):
    raise RuntimeError(f"KEYPAIRD_TEST_BACKEND must be sqlite or postgres, not {BACKEND!r}")

# Tests about PostgreSQL itself (several nodes, database outages) exist only in the
# PostgreSQL pass: not collected at all in the SQLite pass (nothing is skipped).
collect_ignore = [] if BACKEND == "postgres" else ["test_multinode.py"]

# The comparison with Gcore's files exists only where they do: without them (a lone clone of
# the repository) test_openapi_equivalence.py is not collected at all, so nothing is skipped;
# every other test still runs, through Prism over openapi/keypaird.yaml.
if not GCORE_SPEC_DIR.is_dir():
    collect_ignore.append("test_openapi_equivalence.py")

# Tests about the SQLite file itself; the PostgreSQL pass deselects them (its own
# counterparts are in test_multinode.py). Mark new ones @pytest.mark.sqlite_only.
SQLITE_ONLY = {"test_database_is_wal_and_holds_no_secrets"}


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only: runs only when the backend is SQLite")


def pytest_collection_modifyitems(config, items):
    if BACKEND != "postgres":
        return
    keep, drop = [], []
    for item in items:
        sqlite_only = item.get_closest_marker("sqlite_only") or item.name in SQLITE_ONLY
        (drop if sqlite_only else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pg_url_with_database(url, name):
    """`url` with its database (the URI path) replaced by `name`."""
    from urllib.parse import urlsplit, urlunsplit
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def psql(url, sql):
    """Runs `sql` with psql against `url`; returns stdout (unaligned, tuples only)."""
    r = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"psql failed: {r.stderr.strip()}")
    return r.stdout


_pg_databases = []


def new_postgres_database():
    """A fresh, empty database on the test cluster (dropped at the end of the session)."""
    if not PG_URL:
        raise RuntimeError("KEYPAIRD_TEST_BACKEND=postgres needs KEYPAIRD_TEST_POSTGRES_URL "
                           "(scripts/test.sh starts a cluster with scripts/postgres.sh)")
    name = f"kpd_{uuid.uuid4().hex}"
    psql(PG_URL, f"CREATE DATABASE {name}")
    _pg_databases.append(name)
    return pg_url_with_database(PG_URL, name)


def pytest_sessionfinish(session, exitstatus):
    for name in _pg_databases:
        try:
            psql(PG_URL, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        except Exception:  # the cluster is thrown away anyway
            pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc=None, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on port {port} after {timeout}s")


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


def request(port, method, path, body=None, token=None, headers=None, raw_body=None,
            content_type="application/json", timeout=30):
    """One HTTP request on a fresh connection. `body` is JSON-encoded; `raw_body` is sent
    as is."""
    h = {}
    if token is not None:
        h["Authorization"] = f"APIKey {token}"
    data = raw_body
    if body is not None:
        data = json.dumps(body).encode()
    if data is not None and content_type is not None:
        h["Content-Type"] = content_type
    h.update(headers or {})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        return Response(r.status, r.getheaders(), r.read())
    finally:
        conn.close()


class Server:
    """A keypaird process on a database of its own (a SQLite file, or a fresh PostgreSQL
    database when BACKEND is postgres), unless `database` names one."""

    def __init__(self, workdir, database=None):
        self.workdir = Path(workdir)
        if database is None:
            database = (new_postgres_database() if BACKEND == "postgres"
                        else f"sqlite:{self.workdir / 'data' / 'keypaird.db'}")
        self.database = database
        self.port = None
        self.proc = None
        self.log_path = self.workdir / "server.log"

    def cli(self, *args, check=True):
        env = dict(os.environ, KEYPAIRD_DATABASE=self.database)
        r = subprocess.run([BIN, *args], env=env, capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise RuntimeError(f"keypaird {' '.join(args)} failed: {r.stderr}")
        return r

    def token(self, user, projects=None, admin=False, read_only=False, principals=None):
        args = ["token", "create", "--user", str(user)]
        args += ["--admin"] if admin else ["--projects", ",".join(map(str, projects))]
        if read_only:
            args.append("--read-only")
        if principals:
            args += ["--principals", ",".join(principals)]
        return self.cli(*args).stdout.strip()

    def start(self, *extra_args, port=None):
        """Starts `keypaird serve` on `port` (a free one by default); `extra_args` are more
        serve flags."""
        self.port = port or free_port()
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [BIN, "serve", "--listen", f"127.0.0.1:{self.port}", "--database", self.database,
             *extra_args],
            stdout=self.log, stderr=subprocess.STDOUT)
        wait_for_port(self.port, self.proc)
        return self

    def stop(self, sig=signal.SIGTERM):
        """Stops the server; a server that ignores SIGTERM for 20 s is killed and the test
        fails (an idle server stops in well under a second)."""
        hung = False
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                hung = True
        if self.proc:
            self.log.close()
        self.proc = None
        assert not hung, f"keypaird did not stop within 20 s of signal {sig}"

    def request(self, method, path, body=None, token=None, **kw):
        return request(self.port, method, path, body, token, **kw)

    def set_user_disabled(self, uid, disabled, admin):
        """User `uid` disabled or enabled by `admin` (a token) through the API."""
        r = self.request("PATCH", f"/api/v1/users/{uid}", {"disabled": disabled}, admin)
        assert r.status == 200 and r.json()["disabled"] is disabled, r


class Prism:
    """`prism proxy SPEC UPSTREAM` on a free port: forwards every call and reports any
    response that breaks the spec in the `sl-violations` header."""

    def __init__(self, spec, upstream_port, workdir):
        self.port = free_port()
        self.log_path = Path(workdir) / f"prism-{spec.stem}-{self.port}.log"
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(PRISM), "proxy", str(spec), f"http://127.0.0.1:{upstream_port}",
             "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=self.log, stderr=subprocess.STDOUT)
        wait_for_port(self.port, self.proc, timeout=90)

    def request(self, method, path, body=None, token=None, **kw):
        r = request(self.port, method, path, body, token, **kw)
        violations = r.header("sl-violations")
        assert violations is None, f"{method} {path}: Prism reports {violations}"
        return r

    def stop(self):
        stop_process(self.proc)
        self.log.close()


def stop_process(proc):
    """SIGTERM, and SIGKILL if it has not ended 10 s later; waits for it either way."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def workdir():
    with tempfile.TemporaryDirectory(prefix="keypaird-test-") as d:
        yield Path(d)


@pytest.fixture(scope="session")
def server(workdir):
    """The session's server, with the SSH certificate authority on (a KEK of its own)."""
    d = workdir / "main"
    d.mkdir()
    s = Server(d)
    kek = d / "ca.kek"
    s.cli("ca", "new-kek", str(kek))
    s.start("--ca-kek-file", str(kek))
    yield s
    s.stop()


@pytest.fixture(scope="session")
def tokens(server):
    """user1: projects 1 and 2; user2: project 1; admin."""
    return {
        "user1": server.token(1, [1, 2]),
        "user2": server.token(2, [1]),
        "admin": server.token(100, admin=True),
    }


@pytest.fixture(scope="session")
def prism(server, workdir):
    """Prism over openapi/keypaird.yaml, in front of the session's server."""
    p = Prism(OPENAPI_SPEC, server.port, workdir)
    yield p
    p.stop()


@pytest.fixture(scope="session")
def prism_v1(prism):
    """The seed operation's tests' name for `prism` (one proxy serves every route)."""
    return prism


@pytest.fixture
def fresh_server(tmp_path):
    s = Server(tmp_path)
    yield s
    s.stop(signal.SIGKILL)


_counter = [0]


def unique_name(prefix="key"):
    _counter[0] += 1
    return f"{prefix}-{os.getpid()}-{_counter[0]}"


@pytest.fixture(scope="session")
def prism_all(prism):
    """The family tests' name for `prism` (one proxy serves every route)."""
    return prism


_project = [1000]


def new_project():
    """A project number no other test uses, for tests that count keys."""
    _project[0] += 1
    return _project[0]
