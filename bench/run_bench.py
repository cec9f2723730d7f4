#!/usr/bin/env python3
"""Load harness for keypaird: wrk against keypaird and against a floor (nginx answering
every request with a fixed ~700-byte JSON body), alternately, for several rounds; prints
medians and the ratio service/floor per scenario, the raw Ed25519 keygen rate, and a
scaling run (get/list with 1k .. 1M stored keys, RSS at the largest size). With
--baseline-bin, the write scenarios also run against a second keypaird (a build of an
earlier revision), alternately with this one, each on a database seeded alike: what the
change between them cost the writes, in one run.

Everything listens on 127.0.0.1 only, every run is bounded by -d, and every process this
script starts is stopped at the end (also on errors or Ctrl-C). Exit status 1 if any
request failed (non-2xx or socket error; in akeys304 and krl304, any keypaird answer but
304) or a step failed; timings never fail it.

Usually run through scripts/bench.sh; see docs/BENCHMARKS.md.
"""

import argparse
import concurrent.futures
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
LUA = HERE / "lua" / "scenario.lua"
SCENARIOS = ["import", "generate", "cert", "get", "list", "nlist", "akeys", "akeys304", "krl",
             "krl304"]
WRITE_SCENARIOS = ["import", "generate", "cert"]
PROJECT = {"import": 1, "generate": 3, "cert": 2, "get": 2, "list": 2, "nlist": 2,
           "akeys": 4, "akeys304": 4, "krl": 5, "krl304": 5}
# The login path: what sshd's AuthorizedKeysCommand and a KRL timer ask. The *304 scenarios
# send the ETag of the answer with If-None-Match: keypaird answers 304 (anything else fails
# the run), the floor its usual 200 with a body.
LOGIN_SCENARIOS = {"akeys": "akeys", "akeys304": "akeys", "krl": "krl", "krl304": "krl"}
# --smoke's: every kind of step once (both fixtures, a full body, a 304) in a few seconds.
SMOKE_SCENARIOS = ["import", "generate", "cert", "get", "list", "nlist", "akeys304", "krl"]
AKEYS_LABELLED = 50  # keys labelled login=deploy in the authorized_keys projects
AKEYS_SELECTOR = "label_selector=" + urllib.parse.quote("login=deploy", safe="")

# The issues' targets, as ratios (reported, never asserted). nlist: the first page of 10
# of keypaird's own API (GET /api/v1/projects/2/keys?limit=10). cert: a user certificate
# of a stored key (POST /api/v1/projects/2/keys/{id}/certificates), measured against the
# service's own import rate in the same run, not against the floor. akeys: authorized_keys
# with a label selector (50 of 1 000 keys); krl: a KRL of 10 000 revoked certificates; each
# also with If-None-Match (akeys304, krl304; the issue sets no target for krl304).
TARGETS = {"import": 0.5, "get": 0.7, "list": 0.35, "generate": 0.5, "nlist": 0.35,
           "cert": 0.8, "akeys": 0.6, "akeys304": 0.8, "krl": 0.5, "krl304": None}

# A fixed JSON body of about 700 bytes, shaped like a keypair (nginx floor).
FLOOR_BODY = json.dumps({
    "id": "2b1f6c3e-8a4d-4e7b-9c55-0d2e3f4a5b6c",
    "name": "floor-key-000001",
    "public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBd0nXq4pYb3Ze8d9Yc2m1sVtK0aRr6wJf5hLgPq"
                  "uX7N floor-key-000001",
    "fingerprint": "9b:2e:41:0f:7a:c3:58:16:ad:e0:33:7c:91:b4:2d:6f",
    "private_key": None,
    "project_id": 1,
    "shared_in_project": True,
    "state": "ACTIVE",
    "created_at": "2026-05-15T10:11:12.123456Z",
    "region": "floor",
    "padding": "x" * 300,
}, separators=(",", ":"))

PROCS = []  # every process we started, stopped in cleanup()


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port}")


def start(args, log_path):
    out = open(log_path, "ab")
    proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    proc._log = out
    PROCS.append(proc)
    return proc


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    proc._log.close()
    if proc in PROCS:
        PROCS.remove(proc)


def cleanup():
    for proc in list(PROCS):
        stop(proc)


def run(args, timeout, **kw):
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))} failed ({r.returncode}): {r.stderr[-2000:]}")
    return r.stdout


def cpu_seconds(pid):
    """User + system CPU of a process (all its threads) and of its child processes
    (nginx's workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(c) for c in children.read_text().split()]
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def rss_kb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


class Nginx:
    def __init__(self, workdir):
        self.dir = workdir / "nginx"
        self.dir.mkdir()
        self.port = free_port()
        user = "user root;\n" if os.geteuid() == 0 else ""
        temp = "".join(f"  {k}_temp_path {self.dir / k};\n"
                       for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        conf = self.dir / "nginx.conf"
        conf.write_text(
            f"{user}worker_processes 2;\ndaemon off;\npid {self.dir / 'nginx.pid'};\n"
            f"error_log {self.dir / 'error.log'} warn;\n"
            "events { worker_connections 4096; }\n"
            "http {\n  access_log off;\n  keepalive_requests 100000000;\n"
            f"  keepalive_timeout 120s;\n{temp}"
            f"  server {{\n    listen 127.0.0.1:{self.port};\n"
            f"    location / {{ default_type application/json; return 200 '{FLOOR_BODY}'; }}\n"
            "  }\n}\n")
        self.proc = start(["nginx", "-p", str(self.dir), "-e", str(self.dir / "error.log"),
                           "-c", str(conf)], self.dir / "stdout.log")
        wait_port(self.port, self.proc)


class Keypaird:
    # The RSA pools fill at start (some 20 RSA keys, tens of CPU seconds at the lowest
    # priority), which would count in every scenario's CPU per request: off except in the
    # RSA pool run, which sets its own.
    NO_POOLS = ("--rsa-pool-2048", "0", "--rsa-pool-3072", "0", "--rsa-pool-4096", "0")

    def __init__(self, opts, workdir, db, label, extra=NO_POOLS, binary=None):
        self.db = db
        self.port = free_port()
        self.log = workdir / f"keypaird-{label}.log"
        self.proc = start([binary or opts.bin, "serve", "--listen", f"127.0.0.1:{self.port}",
                           "--database", f"sqlite:{db}", "--threads", str(opts.threads),
                           "--io-threads", str(opts.io_threads), "--db-pool", str(opts.db_pool),
                           "--ca-kek-file", str(kek_file(opts, workdir)), *extra], self.log)
        wait_port(self.port, self.proc)

    def call(self, method, path, token=None, body=None, timeout=60, headers=None,
             answer_headers=None):
        """One request on its own connection: (status, body bytes, seconds taken); the
        answer's headers go to the dict `answer_headers` if one is given."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        headers = dict(headers or {})
        if token:
            headers["Authorization"] = f"APIKey {token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        t0 = time.monotonic()
        try:
            conn.request(method, path, body=data, headers=headers)
            r = conn.getresponse()
            payload = r.read()
            if answer_headers is not None:
                answer_headers.update(r.getheaders())
            return r.status, payload, time.monotonic() - t0
        finally:
            conn.close()


def kek_file(opts, workdir):
    """One key-encryption key for every keypaird of the run (their SSH CAs; the cert
    scenario)."""
    path = workdir / "ca.kek"
    if not path.exists():
        run([opts.bin, "ca", "new-kek", str(path)], 60)
    return path


def make_token(opts, db, binary=None):
    """User 1's token for projects 1-5 (user 1 owns the seeded keys), which may be issued
    certificates for the principal deploy."""
    return run([binary or opts.bin, "token", "create", "--user", "1", "--projects", "1,2,3,4,5",
                "--principals", "deploy", "--database", f"sqlite:{db}"], 60).strip()


def seed(opts, db, n, ids_path, tool=None, project=PROJECT["get"]):
    t0 = time.monotonic()
    run([tool or opts.tool, "seed", str(db), str(project), "1", str(n), str(ids_path)], 1800)
    log(f"  seeded {n} keys in project {project} in {time.monotonic() - t0:.1f} s")


def label_logins(opts, db, project):
    """AKEYS_LABELLED keys of the project, spread over it, get the label login=deploy."""
    run([opts.tool, "label", str(db), str(project), "login", "deploy", str(AKEYS_LABELLED)], 600)


def akeys_path(project):
    return f"/api/v1/projects/{project}/authorized_keys?{AKEYS_SELECTOR}"


def krl_path(project):
    return f"/api/v1/projects/{project}/ssh_ca/krl"


def login_fixture(opts, server, db, token, scenarios, workdir):
    """The login-path scenarios' data in a running service: project 4's 1 000 keys (50
    labelled login=deploy) were seeded before it started; project 5 gets its CA here, and
    the tool records --krl-revoked revoked certificates of it. Returns {"akeys": (path,
    ETag), "krl": (path, ETag)} for the scenarios asked, each answer checked (a 200 with
    the labelled keys or a KRL, a 304 to its own ETag)."""
    out = {}
    for kind in sorted({LOGIN_SCENARIOS[s] for s in scenarios if s in LOGIN_SCENARIOS}):
        if kind == "akeys":
            path, project = akeys_path(PROJECT["akeys"]), PROJECT["akeys"]
        else:
            project = PROJECT["krl"]
            status, body, _ = server.call("POST", f"/api/v1/projects/{project}/ssh_ca", token)
            if status not in (200, 201):
                raise RuntimeError(f"making project {project}'s CA: {status} {body[:300]!r}")
            t0 = time.monotonic()
            run([opts.tool, "revoked", str(db), str(project), "1", str(opts.krl_revoked)], 600)
            log(f"  recorded {opts.krl_revoked} revoked certificates in project {project} in "
                f"{time.monotonic() - t0:.1f} s")
            path = krl_path(project)
        answer = {}
        status, body, _ = server.call("GET", path, token, answer_headers=answer)
        etag = answer.get("ETag")
        if status != 200 or not etag:
            raise RuntimeError(f"GET {path}: {status}, ETag {etag!r}: {body[:300]!r}")
        if kind == "akeys" and len(body.splitlines()) != AKEYS_LABELLED:
            raise RuntimeError(f"GET {path}: {len(body.splitlines())} keys, not "
                               f"{AKEYS_LABELLED}")
        if kind == "krl":
            krl = workdir / "krl.bin"
            krl.write_bytes(body)
            # ssh-keygen -Q -l prints one line per serial listed, after a few of its own.
            listed = (run(["ssh-keygen", "-Q", "-l", "-f", str(krl)], 60).count("\nserial: ")
                      if shutil.which("ssh-keygen") else "?")
            log(f"  the KRL: {len(body)} bytes, {listed} serials as ssh-keygen -Q -l reads it")
        status, body, _ = server.call("GET", path, token, headers={"If-None-Match": etag})
        if status != 304 or body:
            raise RuntimeError(f"GET {path} with If-None-Match {etag}: {status}")
        out[kind] = (path, etag)
    return out


def login_env(scenario, target, fixture):
    """The environment of a login-path scenario's wrk run."""
    path, etag = fixture[LOGIN_SCENARIOS[scenario]]
    env = {"PATH_Q": path}
    if scenario.endswith("304"):
        env["IF_NONE_MATCH"] = etag
        if target == "service":
            env["EXPECT_STATUS"] = "304"
    return env


def wrk(opts, port, scenario, duration, env_extra, timeout_s=10, connections=None):
    threads = opts.wrk_threads if connections is None else min(opts.wrk_threads, connections)
    env = dict(os.environ, SCENARIO=scenario, WRK_THREADS=str(threads), **env_extra)
    out = run(["wrk", "-t", str(threads), "-c", str(connections or opts.connections),
               "-d", f"{duration:g}s", "--timeout", f"{timeout_s}s", "-s", str(LUA),
               f"http://127.0.0.1:{port}"], duration + 60, env=env)
    result, bad = None, ""
    for line in out.splitlines():
        if line.startswith("RESULT "):
            result = {k: float(v) for k, v in (f.split("=") for f in line.split()[1:])}
        elif line.startswith("FIRST_BAD "):
            bad = line[len("FIRST_BAD "):]
    if result is None:
        raise RuntimeError(f"wrk printed no RESULT line:\n{out}")
    result["errors"] = sum(result[k] for k in ("err_connect", "err_read", "err_write",
                                               "err_timeout"))
    result["first_bad"] = bad
    return result


def measured_run(opts, port, pid, scenario, env, rnd, target, failures):
    """One wrk run of a round, with the CPU per request of the process `pid` (the target)
    over it; logged, and its failures noted."""
    cpu0 = cpu_seconds(pid)
    duration = opts.duration
    if scenario in LOGIN_SCENARIOS and opts.login_duration:
        duration = opts.login_duration
    r = wrk(opts, port, scenario, duration, env)
    r["cpu_us_per_request"] = (cpu_seconds(pid) - cpu0) * 1e6 / max(1.0, r["requests"])
    r.update(round=rnd, scenario=scenario, target=target)
    log(f"  {scenario:8} {target:8} {r['req_s']:9.0f} req/s  p50 {fmt_ms(r['p50_us'])} ms  "
        f"p99 {fmt_ms(r['p99_us'])} ms  cpu/request {r['cpu_us_per_request']:.0f} us  "
        f"non-2xx {int(r['non2xx'])}  errors {int(r['errors'])}")
    note_failures(r, f"{scenario}/{target} round {rnd + 1}", failures)
    return r


def note_failures(r, what, failures):
    """A wrk run with any non-2xx answer (any but EXPECT_STATUS when it was set) or socket
    error fails the harness."""
    if r["non2xx"] or r["errors"]:
        failures.append(f"{what}: {int(r['non2xx'])} non-2xx, {int(r['errors'])} errors "
                        f"{r['first_bad']}")


def keygen_rate(opts, seconds, key_type=None):
    """Raw keys per second on every core: Ed25519 public keys, or key_type (rsa-3072) as
    the service generates them."""
    out = run([opts.tool, "keygen-rate", str(os.cpu_count() or 2), str(seconds),
               *([key_type] if key_type else [])], seconds + 600)
    return float(out.strip().split("=")[1])


def key_pool(opts, n):
    """A file of n real Ed25519 public keys, cached between runs (they cost ~120 µs each)."""
    cache = Path(opts.cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"ed25519-pub-{n}.txt"
    if not path.exists():
        log(f"making {n} Ed25519 keys for the import scenario (cached in {cache})")
        tmp = path.with_suffix(".tmp")
        run([opts.tool, "keys", str(n), str(tmp)], 3600)
        tmp.rename(path)
    return path


def fmt_ms(us):
    return f"{us / 1000:.2f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="keypaird binary")
    ap.add_argument("--tool", required=True, help="keypaird_bench_tool binary")
    ap.add_argument("--duration", type=float, default=10, help="seconds per wrk run")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--wrk-threads", type=int, default=2)
    # Every request holds a worker while the store commits; with keypaird's default (one
    # worker per core) at most that many creates can share a commit. 64 lets each of the
    # 64 connections wait for its commit on its own worker (docs/BENCHMARKS.md).
    ap.add_argument("--threads", type=int, default=0,
                    help="keypaird --threads (0 = keypaird's default)")
    ap.add_argument("--io-threads", type=int, default=0,
                    help="keypaird --io-threads (0 = keypaird's default, one per core)")
    ap.add_argument("--db-pool", type=int, default=4)
    ap.add_argument("--list-keys", type=int, default=100000, help="keys in the listed project")
    ap.add_argument("--akeys-keys", type=int, default=1000,
                    help=f"keys in the authorized_keys project ({AKEYS_LABELLED} labelled "
                         "login=deploy)")
    ap.add_argument("--krl-revoked", type=int, default=10000,
                    help="revoked certificates in the KRL project")
    ap.add_argument("--login-duration", type=float,
                    help="seconds per wrk run of akeys, akeys304, krl, krl304 (default: "
                         "--duration; wrk takes whole seconds)")
    ap.add_argument("--key-pool", type=int, default=300000, help="distinct keys for import")
    ap.add_argument("--scaling", default="1000,100000,1000000",
                    help="stored-key counts for the scaling run ('' to skip)")
    ap.add_argument("--scaling-duration", type=float, default=5)
    ap.add_argument("--scenarios", default=",".join(SCENARIOS),
                    help="the scenarios against the floor ('' to skip that part)")
    ap.add_argument("--baseline-bin",
                    help="a second keypaird (e.g. an earlier revision's build) to run the write "
                         "scenarios against too, alternately with --bin (scripts/bench.sh "
                         "--baseline REV builds one)")
    ap.add_argument("--baseline-tool", help="that build's keypaird_bench_tool (to seed its "
                                            "database in its own schema)")
    ap.add_argument("--baseline-scenarios", default=",".join(WRITE_SCENARIOS))
    ap.add_argument("--rsa-type", default="rsa-3072",
                    help="the RSA pool run's key type ('' to skip the run)")
    ap.add_argument("--rsa-pool", type=int, default=64,
                    help="the RSA pool run's pool depth (--rsa-pool-BITS), also its burst")
    ap.add_argument("--rsa-duration", type=float, default=30,
                    help="seconds of the raw keygen and of the refilling run")
    ap.add_argument("--cache-dir", default=str(HERE.parent / "build-bench" / "bench-cache"))
    ap.add_argument("--json", help="write all results here")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--smoke", action="store_true",
                    help="a quick check that the harness works: 1 s runs, 1 round, small data")
    if "--smoke" in sys.argv[1:]:  # smaller defaults; options given explicitly still win
        ap.set_defaults(duration=1, rounds=1, list_keys=2000, key_pool=3000, scaling="500,2000",
                        scaling_duration=1, rsa_type="rsa-2048", rsa_pool=4, rsa_duration=2,
                        krl_revoked=2000, login_duration=1,
                        scenarios=",".join(SMOKE_SCENARIOS))
    opts = ap.parse_args()
    if bool(opts.baseline_bin) != bool(opts.baseline_tool):
        ap.error("--baseline-bin and --baseline-tool go together")
    for exe in ("wrk", "nginx"):
        if shutil.which(exe) is None:
            sys.exit(f"{exe} is not installed (scripts/setup.sh installs it)")
    scenarios = [s for s in opts.scenarios.split(",") if s]
    workdir = Path(tempfile.mkdtemp(prefix="keypaird-bench-"))
    try:
        return bench(opts, scenarios, workdir)
    finally:
        cleanup()
        if opts.keep:
            log(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def bench(opts, scenarios, workdir):
    failures = []
    results = {"machine": machine(), "options": vars(opts), "runs": [], "keygen": []}
    baseline_scenarios = ([s for s in opts.baseline_scenarios.split(",") if s]
                          if opts.baseline_bin else [])
    unsupported = [s for s in baseline_scenarios if s in LOGIN_SCENARIOS]
    if unsupported:
        sys.exit(f"--baseline-scenarios: {', '.join(unsupported)} need the login path's fixture, "
                 "which only the comparison with the floor sets up")
    keys_file = (key_pool(opts, opts.key_pool)
                 if "import" in scenarios + baseline_scenarios else None)
    if scenarios:
        against_floor(opts, scenarios, workdir, keys_file, results, failures)
    if baseline_scenarios:
        results["baseline"] = against_baseline(opts, baseline_scenarios, workdir, keys_file,
                                               failures)
    results["scaling"] = scaling(opts, workdir, failures)
    results["rsa"] = rsa_pool(opts, workdir, failures) if opts.rsa_type else None
    report(opts, results, scenarios)
    if opts.json:
        Path(opts.json).write_text(json.dumps(results, indent=2))
    if failures:
        print("\nFAILED requests:\n  " + "\n  ".join(failures))
        return 1
    return 0


def against_floor(opts, scenarios, workdir, keys_file, results, failures):
    log(f"seeding the service database ({opts.list_keys} keys in project {PROJECT['list']})")
    db = workdir / "service" / "keys.db"
    ids = workdir / "ids.txt"
    seed(opts, db, opts.list_keys, ids)
    if any(LOGIN_SCENARIOS.get(s) == "akeys" for s in scenarios):
        seed(opts, db, opts.akeys_keys, workdir / "akeys-ids.txt", project=PROJECT["akeys"])
        label_logins(opts, db, PROJECT["akeys"])
    token = make_token(opts, db)
    nginx = Nginx(workdir)
    service = Keypaird(opts, workdir, db, "main")
    # get is also measured on a second keypaird of the same database without the token
    # cache (idle while the other is measured): what the cache buys, in the same run.
    nocache = (Keypaird(opts, workdir, db, "nocache", extra=Keypaird.NO_POOLS +
                        ("--no-token-cache",)) if "get" in scenarios else None)
    results["service_cmdline"] = " ".join(map(str, service.proc.args))
    fixture = login_fixture(opts, service, db, token, scenarios, workdir)
    log(f"floor: nginx on :{nginx.port}; service: keypaird on :{service.port} "
        f"(threads={opts.threads or 'default'}, io-threads={opts.io_threads or 'default'}, "
        f"db-pool={opts.db_pool})")

    key_offset = 0
    for rnd in range(opts.rounds):
        rate = keygen_rate(opts, 1 if opts.smoke else 3)
        results["keygen"].append(rate)
        log(f"round {rnd + 1}/{opts.rounds}: raw Ed25519 keygen on 2 threads {rate:.0f}/s")
        for scenario in scenarios:
            # Alternate which target goes first, so slow drift hits both alike.
            order = [("floor", nginx.port), ("service", service.port)]
            if rnd % 2:
                order.reverse()
            for target, port in order:
                env = {"TOKEN": token, "PROJECT": str(PROJECT[scenario]),
                       "NAME_PREFIX": f"r{rnd}-{target}-{scenario}",
                       "IDS_FILE": str(ids)}
                if keys_file:
                    env.update(KEYS_FILE=str(keys_file), KEY_OFFSET=str(key_offset))
                if scenario in LOGIN_SCENARIOS:
                    env.update(login_env(scenario, target, fixture))
                pid = (nginx if target == "floor" else service).proc.pid
                r = measured_run(opts, port, pid, scenario, env, rnd, target, failures)
                if scenario == "import" and target == "service":
                    key_offset += int(r["requests"]) // opts.wrk_threads + 1
                results["runs"].append(r)
            if scenario == "get" and nocache is not None:
                env = {"TOKEN": token, "PROJECT": str(PROJECT["get"]), "IDS_FILE": str(ids)}
                results["runs"].append(measured_run(opts, nocache.port, nocache.proc.pid, "get",
                                                    env, rnd, "service-nocache", failures))
    if "import" in scenarios:
        results["write_ceiling"] = write_ceiling(opts, workdir, service, token, keys_file,
                                                 key_offset, failures)
    results["service_rss_kb_after_load"] = rss_kb(service.proc.pid)
    if nocache is not None:
        stop(nocache.proc)
    if keys_file and key_offset * opts.wrk_threads > opts.key_pool:
        log(f"note: import used {key_offset * opts.wrk_threads} requests over a pool of "
            f"{opts.key_pool} keys: keys repeated (names never do)")
    stop(service.proc)
    stop(nginx.proc)


def fsync_ms(workdir, n):
    """The disk's durable-write time: `n` times, a 4 KiB write at the end of a file and its
    fdatasync (what a WAL commit asks of the disk); median and p99 in ms."""
    path = workdir / "fsync-probe"
    times = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        block = os.urandom(4096)
        for _ in range(n):
            os.write(fd, block)
            t0 = time.perf_counter()
            os.fdatasync(fd)
            times.append((time.perf_counter() - t0) * 1000)
    finally:
        os.close(fd)
        path.unlink()
    times.sort()
    return median(times), times[min(len(times) - 1, int(0.99 * len(times)))]


def store_ceiling(opts):
    """The store alone, as the service writes an import (the key with its event, a
    time-ordered id, 100k keys stored, 64 writers, durable): inserts/s, from the
    micro-benchmark beside the bench tool."""
    micro = Path(opts.tool).parent / "keypaird_micro_bench"
    out = run([str(micro),
               "--benchmark_filter=^BM_SqliteInsertWithEventUuid7/100000/real_time/threads:64$",
               f"--benchmark_min_time={0.5 if opts.smoke else 3}", "--benchmark_format=json"],
              1800)
    bench = json.loads(out[out.index("{"):])["benchmarks"]
    return bench[0]["items_per_second"]


def write_ceiling(opts, workdir, service, token, keys_file, key_offset, failures):
    """Issue 22's write targets, in the same run: the durable import against the store's own
    ceiling (>= 0.85 x) and its p99 at one connection against the disk's fsync (<= 3 x)."""
    fsync_p50, fsync_p99 = fsync_ms(workdir, 50 if opts.smoke else 300)
    log(f"  fsync of a 4 KiB append: p50 {fsync_p50:.2f} ms, p99 {fsync_p99:.2f} ms")
    env = {"TOKEN": token, "PROJECT": str(PROJECT["import"]), "NAME_PREFIX": "one-connection",
           "KEYS_FILE": str(keys_file), "KEY_OFFSET": str(key_offset)}
    cpu0 = cpu_seconds(service.proc.pid)
    one = wrk(opts, service.port, "import", opts.duration, env, connections=1)
    one["cpu_us_per_request"] = (cpu_seconds(service.proc.pid) - cpu0) * 1e6 / max(
        1.0, one["requests"])
    note_failures(one, "import at one connection", failures)
    log(f"  import at 1 connection: {one['req_s']:.0f} req/s, p50 {fmt_ms(one['p50_us'])} ms, "
        f"p99 {fmt_ms(one['p99_us'])} ms")
    # Not in --smoke: the micro-benchmark seeds 100k keys first (a minute).
    ceiling = None if opts.smoke else store_ceiling(opts)
    if ceiling:
        log(f"  the store alone (key + event, 64 writers, 100k keys): {ceiling:.0f} inserts/s")
    return {"fsync_p50_ms": fsync_p50, "fsync_p99_ms": fsync_p99, "one_connection": one,
            "store_inserts_per_s": ceiling}


def against_baseline(opts, scenarios, workdir, keys_file, failures):
    """The write scenarios against this build and --baseline-bin, alternately (which one goes
    first alternates by round), each serving its own database seeded alike by its own
    tool (--list-keys keys in project 2, the cert scenario's keys)."""
    targets = {}
    for label, binary, tool in (("this", opts.bin, opts.tool),
                                ("baseline", opts.baseline_bin, opts.baseline_tool)):
        log(f"seeding the database of {'this build' if label == 'this' else 'the baseline'} "
            f"({opts.list_keys} keys)")
        db = workdir / f"vs-{label}" / "keys.db"
        ids = workdir / f"vs-{label}-ids.txt"
        seed(opts, db, opts.list_keys, ids, tool)
        targets[label] = {"server": Keypaird(opts, workdir, db, f"vs-{label}", binary=binary),
                          "token": make_token(opts, db, binary), "ids": ids, "key_offset": 0}
    runs = []
    try:
        for rnd in range(opts.rounds):
            log(f"against the baseline, round {rnd + 1}/{opts.rounds}")
            for scenario in scenarios:
                order = ["this", "baseline"] if rnd % 2 == 0 else ["baseline", "this"]
                for label in order:
                    t = targets[label]
                    env = {"TOKEN": t["token"], "PROJECT": str(PROJECT[scenario]),
                           "NAME_PREFIX": f"r{rnd}-{label}-{scenario}", "IDS_FILE": str(t["ids"])}
                    if keys_file:
                        env.update(KEYS_FILE=str(keys_file), KEY_OFFSET=str(t["key_offset"]))
                    r = measured_run(opts, t["server"].port, t["server"].proc.pid, scenario, env,
                                     rnd, label, failures)
                    if scenario == "import":
                        t["key_offset"] += int(r["requests"]) // opts.wrk_threads + 1
                    runs.append(r)
    finally:
        for t in targets.values():
            stop(t["server"].proc)
    return {"scenarios": scenarios, "runs": runs}


def scaling(opts, workdir, failures):
    sizes = [int(s) for s in opts.scaling.split(",") if s]
    out = []
    for n in sizes:
        log(f"scaling: {n} keys")
        db = workdir / f"scale-{n}" / "keys.db"
        ids = workdir / f"scale-{n}-ids.txt"
        seed(opts, db, n, ids)
        label_logins(opts, db, PROJECT["get"])
        token = make_token(opts, db)
        server = Keypaird(opts, workdir, db, f"scale-{n}")
        entry = {"keys": n}
        try:
            for scenario in ("get", "list"):
                env = {"TOKEN": token, "PROJECT": str(PROJECT[scenario]), "IDS_FILE": str(ids)}
                warm_up(opts, server, scenario, env)
                r = wrk(opts, server.port, scenario, opts.scaling_duration, env)
                entry[scenario] = r
                log(f"  {scenario:5} {r['req_s']:9.0f} req/s  p50 {fmt_ms(r['p50_us'])} ms  "
                    f"p99 {fmt_ms(r['p99_us'])} ms  non-2xx {int(r['non2xx'])}")
                note_failures(r, f"scaling {n} {scenario}", failures)
            cells = native_paths(server, token, n, ids) + [("akeys", akeys_path(PROJECT["get"]))]
            for cell, path in cells:
                env = {"TOKEN": token, "PATH_Q": path}
                warm_up(opts, server, "path", env)
                r = wrk(opts, server.port, "path", opts.scaling_duration, env)
                entry[cell] = r
                log(f"  {cell:9} {r['req_s']:9.0f} req/s  p50 {fmt_ms(r['p50_us'])} ms  "
                    f"p99 {fmt_ms(r['p99_us'])} ms  non-2xx {int(r['non2xx'])}")
                note_failures(r, f"scaling {n} {cell}", failures)
            entry["rss_kb"] = rss_kb(server.proc.pid)
            log(f"  RSS {entry['rss_kb'] / 1024:.1f} MiB")
        finally:
            stop(server.proc)
        out.append(entry)
        shutil.rmtree(db.parent, ignore_errors=True)
    return out


def warm_up(opts, server, scenario, env):
    """A second of a scaling cell's requests before it is measured (the caches of a server
    just started); not in --smoke, which measures nothing it asserts, so that the smoke
    stays quick."""
    if not opts.smoke:
        wrk(opts, server.port, scenario, min(1, opts.scaling_duration), env)


NATIVE_CELLS = ("first", "deep", "fpr", "label")


def native_paths(server, token, n, ids):
    """keypaird's own list, four ways, each a page of 10 (openapi/keypaird.yaml, listKeys): the first
    page; the page after a cursor min(50 000, n - 10) keys deep (walked to with pages of
    1000); a SHA-256 fingerprint lookup across projects (the seed reuses up to 20 000
    distinct keys, so at 1M keys a fingerprint has 50 matches); a label selector page
    (tier=7: 1 % of the keys)."""
    base = f"/api/v1/projects/{PROJECT['get']}/keys"
    depth, seen, cursor = min(50000, n - 10), 0, None
    while seen < depth:
        step = min(1000, depth - seen)
        q = f"?limit={step}" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
        status, body, _ = server.call("GET", base + q, token)
        if status != 200:
            raise RuntimeError(f"walking to the deep page: {status} {body[:300]!r}")
        page = json.loads(body)
        seen += len(page["results"])
        cursor = page["next_cursor"]
    first_id = Path(ids).read_text().split()[0]
    status, body, _ = server.call("GET", f"{base}/{first_id}", token)
    if status != 200:
        raise RuntimeError(f"reading key {first_id}: {status} {body[:300]!r}")
    fpr = json.loads(body)["fingerprint_sha256"]
    return [("first", f"{base}?limit=10"),
            ("deep", f"{base}?limit=10&cursor={urllib.parse.quote(cursor, safe='')}"),
            ("fpr", f"/api/v1/keys?limit=10&fingerprint={urllib.parse.quote(fpr, safe='')}"),
            ("label", f"{base}?limit=10&label_selector={urllib.parse.quote('tier=7')}")]


def pool_depth(server, key_type):
    status, body, _ = server.call("GET", "/metrics")
    if status != 200:
        raise RuntimeError(f"/metrics answered {status}")
    for line in body.decode().splitlines():
        if line.startswith(f'keypaird_key_pool_depth{{type="{key_type}"}}'):
            return int(float(line.split()[-1]))
    return 0


def rsa_pool(opts, workdir, failures):
    """The RSA key pool (issue: "An RSA key pool"): raw keygen of the type on every core;
    then a keypaird whose pool of that type holds --rsa-pool keys answers a burst of as many
    generate requests, 64 at once (latency while the pool has keys), and then wrk's 64
    connections for --rsa-duration seconds while the pool is being refilled (rate against
    the raw rate)."""
    key_type, depth = opts.rsa_type, opts.rsa_pool
    log(f"rsa pool: raw {key_type} keygen on {os.cpu_count()} threads for {opts.rsa_duration:g} s")
    raw = keygen_rate(opts, opts.rsa_duration, key_type)
    log(f"  raw {raw:.2f}/s")
    db = workdir / "rsa" / "keys.db"
    db.parent.mkdir()
    run([opts.bin, "migrate", "--database", f"sqlite:{db}"], 60)
    token = make_token(opts, db)
    sizes = {t: (depth if t == key_type else 0) for t in ("rsa-2048", "rsa-3072", "rsa-4096")}
    server = Keypaird(opts, workdir, db, "rsa",
                      [a for t, d in sizes.items() for a in (f"--{t.replace('rsa-', 'rsa-pool-')}",
                                                             str(d))])
    out = {"type": key_type, "raw_per_s": raw, "pool": depth}
    try:
        t0 = time.monotonic()
        while pool_depth(server, key_type) < depth:
            if time.monotonic() - t0 > 900:
                raise RuntimeError(f"the {key_type} pool did not fill in 900 s")
            time.sleep(0.5)
        out["fill_s"] = time.monotonic() - t0
        log(f"  pool of {depth} filled in {out['fill_s']:.1f} s; burst of {depth} requests")

        def one(i):
            return server.call("POST", f"/api/v1/projects/{PROJECT['generate']}/keys", token,
                               {"name": f"rsa-burst-{i}", "generate": {"type": key_type}})
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(64, depth)) as ex:
            answers = list(ex.map(one, range(depth)))
        bad = [a for a in answers if a[0] != 201]
        if bad:
            failures.append(f"rsa burst: {len(bad)} answers not 201, e.g. {bad[0][0]} "
                            f"{bad[0][1][:200]!r}")
        lat = sorted(a[2] for a in answers)
        out["burst_p50_ms"] = lat[len(lat) // 2] * 1000
        out["burst_p99_ms"] = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
        out["burst_max_ms"] = lat[-1] * 1000
        log(f"  burst p50 {out['burst_p50_ms']:.1f} ms  p99 {out['burst_p99_ms']:.1f} ms")
        env = {"TOKEN": token, "PROJECT": str(PROJECT["generate"]), "GEN_TYPE": key_type,
               "NAME_PREFIX": "rsa-refill"}
        # 64 connections over a few keys a second: each request queues for ~64 / rate
        # seconds (about 17 s for rsa-3072 on 2 cores), which is the point of the run, not
        # a failure: wrk waits up to 120 s for an answer.
        r = wrk(opts, server.port, "native_generate", opts.rsa_duration, env, timeout_s=120)
        out["refill"] = r
        out["ratio"] = r["req_s"] / raw if raw else float("nan")
        log(f"  refilling: {r['req_s']:.2f} req/s ({out['ratio']:.2f} x raw), p99 "
            f"{fmt_ms(r['p99_us'])} ms, non-2xx {int(r['non2xx'])}")
        note_failures(r, "rsa refill", failures)
    finally:
        stop(server.proc)
    return out


def machine():
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "kernel": platform.release()}


def median(values):
    return statistics.median(values) if values else float("nan")


def report(opts, results, scenarios):
    if scenarios:
        report_floor(opts, results, scenarios)
    if results.get("baseline"):
        report_baseline(opts, results["baseline"])
    report_scaling_and_rsa(opts, results)


def report_floor(opts, results, scenarios):
    runs = results["runs"]
    keygen = median(results["keygen"])
    m = results["machine"]
    print(f"\n## keypaird vs floor: {opts.rounds} round(s) x {opts.duration:g} s, "
          f"{opts.connections} connections, wrk -t{opts.wrk_threads}; "
          f"{m['nproc']} x {m['cpu']}")
    print(f"raw Ed25519 keygen on 2 threads (median): {keygen:.0f}/s\n")
    print("| scenario | floor req/s | service req/s | ratio | target | p50 ms | p99 ms | "
          "floor p99 ms | CPU us/request floor / service | non-2xx |")
    print("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|")
    summary = {}
    service_rps = {s: median([r["req_s"] for r in runs
                              if r["scenario"] == s and r["target"] == "service"])
                   for s in scenarios}
    for s in scenarios:
        fl = [r for r in runs if r["scenario"] == s and r["target"] == "floor"]
        sv = [r for r in runs if r["scenario"] == s and r["target"] == "service"]
        f_rps, s_rps = median([r["req_s"] for r in fl]), service_rps[s]
        ratio = s_rps / f_rps if f_rps else float("nan")
        p50, p99 = median([r["p50_us"] for r in sv]), median([r["p99_us"] for r in sv])
        if s == "cert":
            # Against the service's own import rate (a certificate is a signature and one
            # durable row, as an import is a parse and one durable row).
            imp = service_rps.get("import")
            met = bool(imp) and s_rps / imp >= TARGETS[s]
            target = (f">= {TARGETS[s]} x import (here {s_rps / imp:.2f})" if imp
                      else f">= {TARGETS[s]} x import (import not run)")
        elif TARGETS[s] is None:
            met, target = None, "none"
        else:
            base = min(f_rps, keygen) if s == "generate" else f_rps
            met = s_rps / base >= TARGETS[s] if base else False
            target = f">= {TARGETS[s]} x " + ("min(floor, keygen)" if s == "generate"
                                              else "floor")
            if s == "generate":
                ratio = s_rps / base if base else float("nan")
        if s == "import":
            target += ", p99 <= 10 ms"
            met = met and p99 <= 10000
        non2xx = int(sum(r["non2xx"] + r["errors"] for r in sv + fl))
        summary[s] = {"floor_req_s": f_rps, "service_req_s": s_rps, "ratio": ratio,
                      "p50_us": p50, "p99_us": p99, "met": met}
        verdict = "" if met is None else " (met)" if met else " (MISSED)"
        print(f"| {s} | {f_rps:.0f} | {s_rps:.0f} | {ratio:.2f} | {target}{verdict} | "
              f"{fmt_ms(p50)} | {fmt_ms(p99)} | "
              f"{fmt_ms(median([r['p99_us'] for r in fl]))} | "
              f"{median([r['cpu_us_per_request'] for r in fl]):.0f} / "
              f"{median([r['cpu_us_per_request'] for r in sv]):.0f} | {non2xx} |")
    results["summary"] = summary
    for s in scenarios:
        print(f"ratio {s} service/floor = {summary[s]['ratio']:.3f}")
    nc = [r for r in runs if r["target"] == "service-nocache"]
    if nc and "get" in summary:
        c = [r for r in runs if r["scenario"] == "get" and r["target"] == "service"]
        print(f"\nget without the token cache (--no-token-cache, same database, same rounds): "
              f"{median([r['req_s'] for r in nc]):.0f} req/s, CPU "
              f"{median([r['cpu_us_per_request'] for r in nc]):.0f} us/request; with it: "
              f"{median([r['req_s'] for r in c]):.0f} req/s, CPU "
              f"{median([r['cpu_us_per_request'] for r in c]):.0f} us/request")
    w = results.get("write_ceiling")
    if w and w["store_inserts_per_s"] and "import" in summary:
        imp = summary["import"]["service_req_s"]
        ratio = imp / w["store_inserts_per_s"]
        p99 = w["one_connection"]["p99_us"] / 1000
        print(f"\nwrite targets against the store's own ceiling (issue 22):")
        print(f"- durable import {imp:.0f} req/s / the store alone {w['store_inserts_per_s']:.0f} "
              f"inserts/s = {ratio:.2f} (>= 0.85: {'met' if ratio >= 0.85 else 'MISSED'})")
        # Tail against tail: the disk's p99 is what an unlucky import waits for; its median
        # is shown beside (on a disk with a cache in front the two are far apart).
        print(f"- import at 1 connection: p99 {p99:.2f} ms / the disk's fsync p99 "
              f"{w['fsync_p99_ms']:.2f} ms = {p99 / w['fsync_p99_ms']:.1f} x "
              f"(<= 3 x: {'met' if p99 <= 3 * w['fsync_p99_ms'] else 'MISSED'}); "
              f"{w['one_connection']['req_s']:.0f} req/s, p50 "
              f"{fmt_ms(w['one_connection']['p50_us'])} ms; fsync p50 {w['fsync_p50_ms']:.2f} ms")


def report_baseline(opts, baseline):
    runs = baseline["runs"]
    print(f"\n## this build vs the baseline ({opts.baseline_bin}): {opts.rounds} round(s) x "
          f"{opts.duration:g} s, {opts.connections} connections, {opts.list_keys} keys stored\n")
    print("| scenario | baseline req/s | this req/s | this / baseline | p99 ms baseline / this | "
          "CPU us/request baseline / this | non-2xx |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for s in baseline["scenarios"]:
        b = [r for r in runs if r["scenario"] == s and r["target"] == "baseline"]
        t = [r for r in runs if r["scenario"] == s and r["target"] == "this"]
        b_rps, t_rps = median([r["req_s"] for r in b]), median([r["req_s"] for r in t])
        ratio = t_rps / b_rps if b_rps else float("nan")
        baseline[f"{s}_ratio"] = ratio
        non2xx = int(sum(r["non2xx"] + r["errors"] for r in b + t))
        print(f"| {s} | {b_rps:.0f} | {t_rps:.0f} | {ratio:.2f} | "
              f"{fmt_ms(median([r['p99_us'] for r in b]))} / "
              f"{fmt_ms(median([r['p99_us'] for r in t]))} | "
              f"{median([r['cpu_us_per_request'] for r in b]):.0f} / "
              f"{median([r['cpu_us_per_request'] for r in t]):.0f} | {non2xx} |")
    for s in baseline["scenarios"]:
        print(f"ratio {s} this/baseline = {baseline[f'{s}_ratio']:.3f}")


def report_scaling_and_rsa(opts, results):
    if results["scaling"]:
        print("\n## scaling: get and list (limit 10) by stored keys "
              f"({opts.scaling_duration:g} s each, {opts.connections} connections)\n")
        print("| keys | get req/s | get p50 ms | get p99 ms | list req/s | list p50 ms | "
              "list p99 ms | RSS MiB |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for e in results["scaling"]:
            g, l = e["get"], e["list"]
            print(f"| {e['keys']} | {g['req_s']:.0f} | {fmt_ms(g['p50_us'])} | "
                  f"{fmt_ms(g['p99_us'])} | {l['req_s']:.0f} | {fmt_ms(l['p50_us'])} | "
                  f"{fmt_ms(l['p99_us'])} | {e['rss_kb'] / 1024:.1f} |")
        lo, hi = results["scaling"][0], results["scaling"][-1]
        for s in ("get", "list"):
            lat = hi[s]["p50_us"] / lo[s]["p50_us"] if lo[s]["p50_us"] else float("nan")
            thr = lo[s]["req_s"] / hi[s]["req_s"] if hi[s]["req_s"] else float("nan")
            print(f"scaling {s} {lo['keys']} -> {hi['keys']} keys: p50 x{lat:.2f}, "
                  f"req/s x{1 / thr if thr else float('nan'):.2f} (target: within 1.2x)")
        print(f"RSS at {hi['keys']} keys: {hi['rss_kb'] / 1024:.1f} MiB (target <= 64 MB)")

        print("\n## scaling: keypaird's own list, pages of 10: first, a cursor 50 000 keys deep "
              "(n - 10 if fewer), a SHA-256 fingerprint lookup, a label selector\n")
        print("| keys | " + " | ".join(f"{c} req/s | {c} p50 ms" for c in NATIVE_CELLS)
              + " | slowest / fastest p50 |")
        print("|---:|" + "---:|---:|" * len(NATIVE_CELLS) + "---:|")
        for e in results["scaling"]:
            p50s = [e[c]["p50_us"] for c in NATIVE_CELLS]
            spread = max(p50s) / min(p50s) if min(p50s) else float("nan")
            e["native_spread"] = spread
            print(f"| {e['keys']} | " + " | ".join(f"{e[c]['req_s']:.0f} | {fmt_ms(e[c]['p50_us'])}"
                                                   for c in NATIVE_CELLS)
                  + f" | x{spread:.2f} |")
            print(f"native list spread at {e['keys']} keys: x{spread:.2f} (target: within 1.2x)",
                  file=sys.stderr)

        print(f"\n## scaling: authorized_keys?label_selector=login=deploy ({AKEYS_LABELLED} "
              "labelled keys at every size)\n")
        print("| keys | req/s | p50 ms | p99 ms |")
        print("|---:|---:|---:|---:|")
        for e in results["scaling"]:
            a = e["akeys"]
            print(f"| {e['keys']} | {a['req_s']:.0f} | {fmt_ms(a['p50_us'])} | "
                  f"{fmt_ms(a['p99_us'])} |")
        a_lo, a_hi = lo["akeys"], hi["akeys"]
        print(f"scaling akeys {lo['keys']} -> {hi['keys']} keys: p50 "
              f"x{a_hi['p50_us'] / a_lo['p50_us'] if a_lo['p50_us'] else float('nan'):.2f}, "
              f"req/s x{a_hi['req_s'] / a_lo['req_s'] if a_lo['req_s'] else float('nan'):.2f} "
              "(target: within 1.2x)")

    rsa = results.get("rsa")
    if rsa:
        print(f"\n## RSA pool: {rsa['type']}, pool of {rsa['pool']}, {opts.connections} "
              "connections\n")
        print(f"raw keygen on all cores: {rsa['raw_per_s']:.2f}/s; pool filled in "
              f"{rsa['fill_s']:.1f} s")
        print(f"while the pool has keys (a burst of {rsa['pool']}): p50 "
              f"{rsa['burst_p50_ms']:.1f} ms, p99 {rsa['burst_p99_ms']:.1f} ms, max "
              f"{rsa['burst_max_ms']:.1f} ms (target: milliseconds)")
        r = rsa["refill"]
        print(f"while the pool is refilled: {r['req_s']:.2f} req/s = {rsa['ratio']:.2f} x raw "
              f"(target >= 0.9), p50 {fmt_ms(r['p50_us'])} ms, p99 {fmt_ms(r['p99_us'])} ms")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        cleanup()
        sys.exit(130)
