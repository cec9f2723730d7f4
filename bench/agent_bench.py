#!/usr/bin/env python3
"""The agent per login: how long `keypaird authorized-keys`, as sshd's AuthorizedKeysCommand
runs it, takes from exec to exit — with the service up (warm) and with it stopped (the answer
from the cache), p50 and p99 over --runs invocations each. Measured in one run for:

  keypaird         the lean binary sshd runs (OpenSSL, http_parser, the flag table)
  keypaird-server  the same command in the binary that carries the service (libpq, SQLite,
                   libargon2, ...): what every login paid before the two were split
  curl             a shell script's answer (EC2 Instance Connect's approach): curl fetching
                   the same URL, with no cache, no checks and no fallback (warm only)

and `--version` of both binaries, which is the cost of starting them and nothing else.
The project holds --keys keys, --matching of them labelled login=deploy; the service serves
HTTPS on loopback (a self-signed P-256 certificate the agent and curl are given with
--ca-file / --cacert), or plain HTTP with --plain. Prints a markdown table
(docs/BENCHMARKS.md, "The agent per login") and the targets of issue 22: p99 <= 10 ms warm,
<= 5 ms from the cache, for the lean binary.

  python3 bench/agent_bench.py --build build [--runs 1000] [--plain]
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing on port {port}")


# What sshd gives an AuthorizedKeysCommand: a minimal environment (no SSL_CERT_FILE and the
# like from the benchmark's own shell, which would change what OpenSSL reads).
SSHD_ENV = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin"}


def timed(cmd, runs):
    """Milliseconds from exec to exit of `cmd`, `runs` times (after 20 unmeasured runs), in
    sshd's environment."""
    out = []
    for i in range(runs + 20):
        t0 = time.perf_counter()
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           env=SSHD_ENV)
        ms = (time.perf_counter() - t0) * 1000
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}")
        if i >= 20:
            out.append(ms)
    return out


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--build", default="build", help="the build directory (keypaird, keypaird-server)")
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--keys", type=int, default=1000)
    ap.add_argument("--matching", type=int, default=50)
    ap.add_argument("--plain", action="store_true", help="plain HTTP instead of HTTPS")
    ap.add_argument("--json", help="also write the figures here")
    a = ap.parse_args()
    build = Path(a.build).resolve()
    lean, full = build / "keypaird", build / "keypaird-server"
    work = Path(tempfile.mkdtemp(prefix="keypaird-agent-bench-"))
    server = None
    try:
        db = f"sqlite:{work / 'k.db'}"
        env = dict(os.environ, KEYPAIRD_DATABASE=db)

        def cli(*args):
            return subprocess.run([str(lean), *args], env=env, capture_output=True, text=True,
                                  check=True).stdout.strip()

        writer = cli("token", "create", "--user", "1", "--projects", "1")
        reader = cli("token", "create", "--user", "2", "--projects", "1", "--read-only")
        token_file = work / "fleet.token"
        token_file.write_text(reader + "\n")
        os.chmod(token_file, 0o600)
        port = free_port()
        tls, trust, curl_trust = [], [], []
        scheme = "http" if a.plain else "https"
        if not a.plain:
            cert, key = work / "cert.pem", work / "key.pem"
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key), "-out",
                            str(cert), "-days", "2", "-subj", "/CN=keypaird", "-addext",
                            "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
            tls = ["--tls-cert", str(cert), "--tls-key", str(key)]
            trust = ["--ca-file", str(cert)]
            curl_trust = ["--cacert", str(cert)]
        server = subprocess.Popen([str(lean), "serve", "--listen", f"127.0.0.1:{port}",
                                   "--database", db, *tls], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(port)
        base = f"{scheme}://127.0.0.1:{port}"
        context = None
        if not a.plain:
            import ssl
            context = ssl.create_default_context(cafile=str(work / "cert.pem"))
        for i in range(a.keys):
            body = {"name": f"key-{i:07d}", "generate": {"type": "ed25519"}}
            if i < a.matching:
                body["labels"] = {"login": "deploy"}
            req = urllib.request.Request(f"{base}/api/v1/projects/1/keys",
                                         data=json.dumps(body).encode(), method="POST",
                                         headers={"Authorization": f"Bearer {writer}",
                                                  "Content-Type": "application/json"})
            urllib.request.urlopen(req, context=context).read()

        def agent(binary, cache):
            return [str(binary), "authorized-keys", "--url", base,
                    "--token-file", str(token_file), "--project", "1",
                    "--label-selector", "login=deploy", "--cache-file", str(cache),
                    "--max-stale", "1h", *trust]

        rows = {}
        for name, binary in (("keypaird", lean), ("keypaird-server", full)):
            cache = work / f"{name}.cache"
            rows[f"{name} authorized-keys, warm"] = timed(agent(binary, cache), a.runs)
        curl = shutil.which("curl")
        if curl:
            rows["curl (no cache, no checks), warm"] = timed(
                [curl, "-sf", *curl_trust, "-H", f"Authorization: Bearer {reader}",
                 f"{base}/api/v1/projects/1/authorized_keys?label_selector=login%3Ddeploy"],
                a.runs)
        server.terminate()
        server.wait(timeout=30)
        server = None
        for name, binary in (("keypaird", lean), ("keypaird-server", full)):
            cache = work / f"{name}.cache"
            rows[f"{name} authorized-keys, from the cache"] = timed(agent(binary, cache), a.runs)
        for name, binary in (("keypaird", lean), ("keypaird-server", full)):
            rows[f"{name} --version"] = timed([str(binary), "--version"], a.runs)
        libs = {}
        for name, binary in (("keypaird", lean), ("keypaird-server", full)):
            out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True).stdout
            libs[name] = sum(1 for line in out.splitlines() if "=>" in line)

        print(f"\nThe agent per login ({a.runs} runs each, {a.keys} keys, {a.matching} matching, "
              f"{'plain HTTP' if a.plain else 'HTTPS'} on loopback)\n")
        print("| what | p50 ms | p99 ms | mean ms |")
        print("|---|---:|---:|---:|")
        for what, ms in rows.items():
            print(f"| {what} | {pct(ms, 50):.2f} | {pct(ms, 99):.2f} | {statistics.mean(ms):.2f} |")
        print(f"\nshared libraries: keypaird {libs['keypaird']}, "
              f"keypaird-server {libs['keypaird-server']}")
        for what, target in (("keypaird authorized-keys, warm", 10.0),
                             ("keypaird authorized-keys, from the cache", 5.0)):
            p99 = pct(rows[what], 99)
            print(f"target: {what} p99 <= {target:g} ms: {p99:.2f} ms, "
                  f"{'met' if p99 <= target else 'missed'}")
        if a.json:
            Path(a.json).write_text(json.dumps(
                {"runs": a.runs, "libraries": libs,
                 "rows": {k: {"p50": pct(v, 50), "p99": pct(v, 99)} for k, v in rows.items()}},
                indent=2))
    finally:
        if server is not None:
            server.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
