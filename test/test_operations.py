"""Black-box tests of hardening and operations: metrics, JSON access logs, secrets
never written down, rate limits, TLS, hostile clients (slowloris, idle floods, oversized
requests), graceful shutdown and crash safety under a stream of creates."""

import concurrent.futures
import http.client
import json
import re
import signal
import socket
import ssl
import subprocess
import threading
import time

import pytest

from conftest import BIN, Server, request, unique_name
from test_seed_operation import expect_error

URL = "/cloud/v1/keypairs/1/1"


def log_lines(server):
    out = []
    for raw in server.log_path.read_text().splitlines():
        try:
            out.append(json.loads(raw))
        except ValueError:
            pytest.fail(f"log line is not JSON: {raw!r}")
    return out


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


# --- metrics and logs ----------------------------------------------------------------

def test_metrics_count_requests_generations_and_connections(fresh_server):
    s = fresh_server.start()
    t = s.token(1, [1])
    for _ in range(3):
        assert s.request("POST", URL, {"sshkey_name": unique_name("m")}, t).status == 200
    assert s.request("GET", "/cloud/v1/ssh_keys/1", token=t).status == 200
    assert s.request("GET", "/nowhere").status == 404
    # One connection held open while /metrics is read.
    held = socket.create_connection(("127.0.0.1", s.port))
    try:
        r = s.request("GET", "/metrics")
    finally:
        held.close()
    assert r.status == 200 and r.header("Content-Type").startswith("text/plain")
    text = r.body.decode()
    assert 'keypaird_http_requests_total{route="/cloud/v1/keypairs/{project_id}/{region_id}",' \
           'method="POST",status="200"} 3' in text
    assert 'route="unmatched",method="GET",status="404"} 1' in text
    assert 'keypaird_key_generations_total{type="ed25519"} 3' in text
    assert re.search(r'keypaird_key_generation_duration_seconds_count\{type="ed25519"\} 3', text)
    assert re.search(r"keypaird_http_request_duration_seconds_bucket\{.*le=\"\+Inf\"\} \d+", text)
    open_now = int(re.search(r"^keypaird_open_connections (\d+)$", text, re.M).group(1))
    assert open_now >= 2  # the held one and the one asking
    assert t.split("_")[2] not in text


def test_one_json_log_line_per_request_without_secrets(fresh_server):
    s = fresh_server.start()
    t = s.token(1, [1])
    rid = "0123456789abcdef0123456789abcdef"
    r = s.request("POST", URL, {"sshkey_name": "logged-key"}, t, headers={"X-Request-ID": rid})
    assert r.status == 200
    private = r.json()["private_key"]
    s.request("GET", URL + "/logged-key", token=t)
    s.request("GET", URL + "/logged-key", token="kpd_0000000000000000_" + "1" * 64)
    s.stop()
    # Lines are written after each response is sent, so their order may differ.
    lines = sorted((line for line in log_lines(s) if line["msg"] == "request"),
                   key=lambda line: (line["method"] != "POST", line["status"]))
    assert len(lines) == 3
    post, get_ok, get_denied = lines
    assert post["request_id"] == rid and post["method"] == "POST" and post["status"] == 200
    assert post["route"] == "/cloud/v1/keypairs/{project_id}/{region_id}"
    assert post["token_id"] == t.split("_")[1]
    assert isinstance(post["duration_ms"], (int, float)) and post["duration_ms"] >= 0
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$", post["time"])
    assert get_ok["route"] == "/cloud/v1/keypairs/{project_id}/{region_id}/{keypair_id}"
    assert get_ok["status"] == 200 and get_ok["token_id"] == t.split("_")[1]
    assert get_denied["status"] == 401 and get_denied["token_id"] == ""
    raw = s.log_path.read_text()
    for secret in [t.split("_")[2], "1" * 64, "APIKey", "Authorization"] + private.splitlines()[1:-1]:
        assert secret not in raw, secret


def test_secrets_reach_neither_logs_nor_database(fresh_server):
    s = fresh_server.start("--log-level", "debug")
    admin = s.token(9, admin=True)
    user = s.token(1, [1])
    privates = []
    for i in range(5):
        r = s.request("POST", f"/cloud/v1/ssh_keys/1", {"name": f"sec-{i}"}, user)
        privates.append(r.json()["private_key"])
    s.request("POST", "/cloud/v1/ssh_keys/1", {"name": "bad", "public_key": privates[0]}, user)
    s.request("GET", "/cloud/v2/keypairs", token=admin)
    s.stop()
    db = s.database.removeprefix("sqlite:")
    blobs = b"".join(open(p, "rb").read() for p in (db, db + "-wal")
                     if __import__("os").path.exists(p))
    dump = subprocess.run(["sqlite3", db, ".dump"], capture_output=True, text=True).stdout
    logs = s.log_path.read_text()
    secrets = [admin.split("_")[2], user.split("_")[2], admin, user]
    for p in privates:
        secrets += [line for line in p.splitlines()[1:-1] if len(line) > 20]
    for secret in secrets:
        assert secret not in logs and secret not in dump and secret.encode() not in blobs


# --- rate limits ---------------------------------------------------------------------

def test_rate_limit_per_token_answers_429_with_retry_after(fresh_server):
    s = fresh_server.start("--rate-limit", "0.5", "--rate-burst", "3")
    a, b = s.token(1, [1]), s.token(2, [1])
    statuses = [s.request("GET", "/cloud/v1/ssh_keys/1", token=a).status for _ in range(3)]
    assert statuses == [200, 200, 200]
    r = s.request("GET", "/cloud/v1/ssh_keys/1", token=a)
    expect_error(r, 429, "RateLimitError")
    assert int(r.header("Retry-After")) >= 1
    assert s.request("GET", "/cloud/v1/ssh_keys/1", token=b).status == 200  # other tokens unaffected
    assert s.request("GET", "/healthz").status == 200  # unauthenticated endpoints too


def test_rate_limit_counts_enrolment_and_device_codes_per_client_address(fresh_server):
    """The open routes that make something or check a secret count against the client's
    address (here the forwarded one: the test's loopback is a trusted proxy)."""
    s = fresh_server.start("--rate-limit", "0.5", "--rate-burst", "3",
                           "--trusted-proxies", "127.0.0.1")

    def enroll(address):
        return s.request("POST", "/api/v1/hosts/enroll",
                         {"project_id": 1, "hostnames": ["h.example.com"], "public_keys": []},
                         headers={"Authorization": "Bearer not-a-join-token",
                                  "X-Forwarded-For": address})

    assert [enroll("198.51.100.7").status for _ in range(3)] == [401, 401, 401]
    r = enroll("198.51.100.7")
    expect_error(r, 429, "RateLimitError")
    assert int(r.header("Retry-After")) >= 1
    assert enroll("198.51.100.8").status == 401  # another address has its own
    r = s.request("POST", "/auth/device", raw_body=b"",
                  headers={"X-Forwarded-For": "198.51.100.7"})
    expect_error(r, 429, "RateLimitError")  # the same bucket, whatever the route
    assert s.request("GET", "/healthz", headers={"X-Forwarded-For": "198.51.100.7"}).status == 200


# --- TLS -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def test_tls_serves_modern_https_only(fresh_server, certificate):
    cert, key = certificate
    s = fresh_server.start("--tls-cert", str(cert), "--tls-key", str(key))
    t = s.token(1, [1])
    ctx = ssl.create_default_context(cafile=str(cert))
    conn = http.client.HTTPSConnection("127.0.0.1", s.port, context=ctx, timeout=10)
    conn.request("POST", URL, body=json.dumps({"sshkey_name": "over-tls"}),
                 headers={"Authorization": f"APIKey {t}", "Content-Type": "application/json"})
    r = conn.getresponse()
    assert r.status == 200 and json.loads(r.read())["private_key"]
    assert conn.sock.version() in ("TLSv1.2", "TLSv1.3")
    conn.close()
    # TLS 1.2 with a forward-secret AEAD suite.
    ctx12 = ssl.create_default_context(cafile=str(cert))
    ctx12.maximum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as raw:
        with ctx12.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            name, version, _ = tls.cipher()
            assert version == "TLSv1.2" and name.startswith("ECDHE-") and \
                ("GCM" in name or "CHACHA20" in name)
    # Plain HTTP to the TLS port gets no HTTP answer.
    with pytest.raises((http.client.HTTPException, ConnectionError, OSError)):
        r = request(s.port, "GET", "/healthz", timeout=5)
        assert r.status != 200


def test_plain_http_on_a_public_address_is_refused():
    r = subprocess.run([BIN, "serve", "--listen", "0.0.0.0:1", "--database", "sqlite::memory:"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "--tls-cert" in r.stderr


def test_several_io_threads_serve_every_connection(fresh_server):
    s = fresh_server.start("--io-threads", "3")
    t = s.token(1, [1])
    conns = [http.client.HTTPConnection("127.0.0.1", s.port, timeout=10) for _ in range(24)]
    try:
        for round_ in range(3):  # keep-alive: the same connections again
            for c in conns:
                c.request("GET", "/cloud/v1/ssh_keys/1", headers={"Authorization": f"APIKey {t}"})
                r = c.getresponse()
                assert r.status == 200, (round_, r.status)
                assert json.loads(r.read())["count"] == 0
    finally:
        for c in conns:
            c.close()


def test_an_address_already_in_use_is_a_clear_error(tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        r = subprocess.run([BIN, "serve", "--listen", f"127.0.0.1:{port}", "--database",
                            f"sqlite:{tmp_path / 'k.db'}"], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode != 0
        assert f"cannot listen on 127.0.0.1:{port}" in r.stderr, r.stderr
    finally:
        taken.close()


# --- hostile clients -----------------------------------------------------------------

def test_slow_client_is_cut_off_and_blocks_nobody(fresh_server):
    s = fresh_server.start("--read-timeout", "2")
    t = s.token(1, [1])
    slow = socket.create_connection(("127.0.0.1", s.port))
    slow.sendall(b"POST /cloud/v1/keypairs/1/1 HTTP/1.1\r\nHost: x\r\n")
    started = time.monotonic()
    # Meanwhile everybody else is served.
    for _ in range(5):
        assert s.request("GET", "/cloud/v1/ssh_keys/1", token=t, timeout=5).status == 200
    # Dripping one header byte at a time does not keep the connection alive.
    slow.settimeout(0.5)
    closed = False
    for ch in b"X-Drip: " + b"a" * 40:
        try:
            slow.sendall(bytes([ch]))
            if slow.recv(1) == b"":
                closed = True
                break
        except socket.timeout:
            continue
        except OSError:
            closed = True
            break
        if time.monotonic() - started > 15:
            break
    assert closed, "the server kept a slowloris connection open"
    assert time.monotonic() - started < 15
    slow.close()


def test_idle_connection_flood_does_not_lock_others_out(fresh_server):
    s = fresh_server.start("--max-connections", "40", "--read-timeout", "2")
    t = s.token(1, [1])
    idle = []
    try:
        for _ in range(120):  # three times the limit
            c = socket.socket()
            c.setblocking(False)
            c.connect_ex(("127.0.0.1", s.port))
            idle.append(c)
        time.sleep(0.2)
        started = time.monotonic()
        r = s.request("GET", "/cloud/v1/ssh_keys/1", token=t, timeout=20)
        assert r.status == 200
        assert time.monotonic() - started < 15  # idle ones time out; nobody waits forever
    finally:
        for c in idle:
            c.close()
    assert s.request("GET", "/healthz").status == 200


def test_oversized_and_malformed_requests_leave_the_server_healthy(fresh_server):
    s = fresh_server.start()
    t = s.token(1, [1])
    many_headers = "".join(f"X-H{i}: v\r\n" for i in range(300))
    attacks = [
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + many_headers.encode() + b"\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n",
        b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /cloud/v1/keypairs/1/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n"
        b"Content-Type: application/json\r\n\r\n" + b"{" * 100000,
        b"NONSENSE\r\n\r\n",
        b"\x16\x03\x01\x00\x05hello",
    ]
    for payload in attacks:
        with socket.create_connection(("127.0.0.1", s.port), timeout=10) as c:
            try:
                c.sendall(payload)
                c.settimeout(5)
                answer = c.recv(100)
            except OSError:
                answer = b""
            assert not answer.startswith(b"HTTP/1.1 200"), payload[:40]
    assert s.proc.poll() is None
    assert s.request("GET", "/cloud/v1/ssh_keys/1", token=t).status == 200


def test_clients_that_close_early_or_ask_to_close_leave_the_server_healthy(fresh_server):
    """Answers given on the I/O thread that end their connection (Connection: close, a
    client that has said all it will say, one gone before its pipelined answers are written): the connection is freed only
    after its own code is done with it (the sanitizer build checks the memory)."""
    s = fresh_server.start()
    t = s.token(1, [1])
    key = s.request("POST", "/cloud/v1/ssh_keys/1", {"name": "early", "public_key": (
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIjxL6g1II8NsO8odvBwGKvq2Dx/h/xrvsV9b9LVIYKm a@b")},
        t)
    assert key.status == 201, key
    get = (f"GET /cloud/v1/ssh_keys/1/{key.json()['id']} HTTP/1.1\r\nHost: x\r\n"
           f"Authorization: APIKey {t}\r\n").encode()
    for _ in range(50):
        with socket.create_connection(("127.0.0.1", s.port), timeout=10) as c:
            c.sendall(get + b"Connection: close\r\n\r\n")
            answer = b""
            while chunk := c.recv(65536):
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 200") and b"Connection: close" in answer
    for _ in range(50):  # the request, then end of input (as `nc -N` does)
        with socket.create_connection(("127.0.0.1", s.port), timeout=10) as c:
            c.sendall(get + b"\r\n")
            c.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := c.recv(65536):
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 200"), answer[:100]
    for _ in range(50):
        c = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        c.sendall((get + b"\r\n") * 20 + b"GET /healthz HTTP/1.0\r\n\r\n")
        c.close()  # a reset: the answers have nowhere to go
    assert s.proc.poll() is None
    assert s.request("GET", "/cloud/v1/ssh_keys/1", token=t).status == 200


# --- shutdown and crashes ------------------------------------------------------------

def socket_fds(pid):
    import os
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            n += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except OSError:
            pass
    return n


def test_sigterm_finishes_received_requests_then_exits(fresh_server):
    s = fresh_server.start("--threads", "1")
    t = s.token(1, [1])
    n = 120
    baseline = socket_fds(s.proc.pid)
    conns = []
    for i in range(n):
        c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=60)
        c.request("POST", URL, body=json.dumps({"sshkey_name": f"shut-{i:03d}"}),
                  headers={"Authorization": f"APIKey {t}", "Content-Type": "application/json"})
        conns.append(c)
    # Once the server has accepted every connection (connections still in the kernel's
    # listen backlog are reset when the listener closes, as with any server), stop it.
    wait_until(lambda: socket_fds(s.proc.pid) >= baseline + n, 30, "all connections accepted")
    s.proc.send_signal(signal.SIGTERM)
    statuses = []
    for c in conns:
        try:
            statuses.append(c.getresponse().status)
        except (OSError, http.client.HTTPException) as e:
            statuses.append(repr(e))
        finally:
            c.close()
    assert s.proc.wait(timeout=60) == 0
    assert statuses == [200] * n, statuses
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", s.port), timeout=2).close()
    msgs = [line["msg"] for line in log_lines(s)]
    assert msgs[-1] == "stopped" and "stopping" in msgs
    # Every acknowledged key is stored.
    s.proc = None
    s.log.close()
    s.start()
    r = s.request("GET", "/cloud/v1/ssh_keys/1?limit=1000", token=t)
    assert r.json()["count"] == n


def test_every_acknowledged_create_survives_sigkill_mid_stream(fresh_server):
    s = fresh_server.start()
    t = s.token(1, [1])
    acked = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(w):
        n = 0
        while not stop.is_set() and n < 2000:
            name = f"crash-{w}-{n}"
            n += 1
            try:
                r = request(s.port, "POST", "/cloud/v1/ssh_keys/1", {"name": name}, t, timeout=10)
            except (OSError, http.client.HTTPException):
                return
            if r.status == 201:
                with lock:
                    acked.append((name, r.json()["id"]))

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for th in threads:
        th.start()
    wait_until(lambda: len(acked) >= 100, 60, "100 acknowledged creates")
    s.proc.send_signal(signal.SIGKILL)
    s.proc.wait()
    stop.set()
    for th in threads:
        th.join(30)
    s.proc = None
    s.log.close()
    s.start()
    for name, kid in acked:
        r = s.request("GET", f"/cloud/v1/ssh_keys/1/{kid}", token=t)
        assert r.status == 200 and r.json()["name"] == name, (name, r)


# --- installation --------------------------------------------------------------------

def test_cmake_install_lays_out_binary_unit_and_docs(tmp_path):

    build = __import__("pathlib").Path(BIN).parent
    r = subprocess.run(["cmake", "--install", str(build), "--prefix", str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    binary = tmp_path / "bin" / "keypaird"
    assert subprocess.run([str(binary), "--version"], capture_output=True,
                          text=True).stdout.startswith("keypaird ")
    # The lean binary runs the service's commands through keypaird-server, in libexec.
    assert (tmp_path / "libexec" / "keypaird" / "keypaird-server").is_file()
    listed = subprocess.run([str(binary), "token", "list", "--database",
                             f"sqlite:{tmp_path / 'k.db'}"], capture_output=True, text=True)
    assert listed.returncode == 0 and listed.stdout.startswith("ID "), listed.stderr
    libraries = subprocess.run(["ldd", str(binary)], capture_output=True, text=True).stdout
    assert "libpq" not in libraries and "libsqlite3" not in libraries, libraries
    unit = (tmp_path / "lib" / "systemd" / "system" / "keypaird.service").read_text()
    assert f"ExecStart={binary} serve" in unit
    assert f"ExecStartPre={binary} migrate" in unit
    assert "KillSignal=SIGTERM" in unit
    assert (tmp_path / "share" / "doc" / "keypaird" / "README.md").exists()
