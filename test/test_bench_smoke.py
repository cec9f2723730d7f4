"""Smoke test of the load harness (bench/run_bench.py --smoke): a very short run of every
scenario against keypaird and the nginx floor, one round, a small database. It checks
that the harness works end to end — every request answered 2xx, ratios printed — and
never asserts a timing (timings on shared machines flake; see docs/BENCHMARKS.md).

The harness makes its own SQLite databases, so it belongs to the SQLite pass of the
black-box tests only: in a PostgreSQL pass this module defines no test at all (rather than
a skipped one, which would blur the pass/fail totals)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import BIN, REPO

TOOL = os.environ.get("KEYPAIRD_BENCH_TOOL",
                      str(Path(BIN).resolve().parent / "bench" / "keypaird_bench_tool"))
# --smoke's scenarios: of the login path, one full body (krl) and one 304 (akeys304), which
# between them make both fixtures and check the 304 counting; the other two are the same
# requests with or without If-None-Match (docs/BENCHMARKS.md).
SCENARIOS = ("import", "generate", "cert", "get", "list", "nlist", "akeys304", "krl")


def _postgres_pass():
    backend = os.environ.get("KEYPAIRD_TEST_BACKEND", "")
    database = os.environ.get("KEYPAIRD_TEST_DATABASE", "")
    return backend.startswith("postgres") or database.startswith("postgres")


if not _postgres_pass():

    def test_bench_harness_smoke_run_answers_every_request_and_prints_ratios(tmp_path):
        r = subprocess.run(
            [sys.executable, str(REPO / "bench" / "run_bench.py"), "--smoke", "--bin", BIN,
             "--tool", TOOL, "--cache-dir", str(tmp_path / "cache"),
             "--json", str(tmp_path / "results.json")],
            capture_output=True, text=True, timeout=300)
        out = r.stdout + r.stderr
        # Exit status 1 means a non-2xx answer or a socket error somewhere in the run.
        assert r.returncode == 0, out[-4000:]
        assert "FAILED requests" not in out
        for s in SCENARIOS:
            assert f"ratio {s} service/floor = " in r.stdout, out[-4000:]
        assert "RSS at 2000 keys" in r.stdout, out[-4000:]
        results = json.loads((tmp_path / "results.json").read_text())
        runs = results["runs"]
        # get also against a keypaird without the token cache (what the cache buys).
        assert {(x["scenario"], x["target"]) for x in runs} == {
            (s, t) for s in SCENARIOS for t in ("floor", "service")} | {("get", "service-nocache")}
        assert all(x["requests"] > 0 and x["non2xx"] == 0 and x["errors"] == 0 for x in runs)
        assert "get without the token cache" in r.stdout, out[-4000:]
        # The write targets' inputs: the disk's fsync and an import at one connection (the
        # store alone is not measured in --smoke: its micro-benchmark seeds 100k keys).
        ceiling = results["write_ceiling"]
        assert ceiling["fsync_p50_ms"] > 0 and ceiling["store_inserts_per_s"] is None
        one = ceiling["one_connection"]
        assert one["requests"] > 0 and one["non2xx"] == 0 and one["errors"] == 0
        # The native list cells and authorized_keys at every size, and the RSA pool run (a
        # tiny rsa-2048 pool).
        for e in results["scaling"]:
            for cell in ("first", "deep", "fpr", "label", "akeys"):
                assert e[cell]["requests"] > 0 and e[cell]["non2xx"] == 0, (e["keys"], cell)
        assert "native list spread at 2000 keys" in out, out[-4000:]
        assert "scaling akeys 500 -> 2000 keys" in r.stdout, out[-4000:]
        # The KRL of the smoke's 2 000 revoked certificates, one serial a line.
        assert "2000 serials as ssh-keygen -Q -l reads it" in out, out[-4000:]
        rsa = results["rsa"]
        assert rsa["type"] == "rsa-2048" and rsa["raw_per_s"] > 0
        assert rsa["refill"]["requests"] > 0 and rsa["refill"]["non2xx"] == 0
        assert rsa["burst_p99_ms"] > 0 and "## RSA pool" in r.stdout

    def test_bench_harness_compares_two_builds_on_the_write_scenarios(tmp_path):
        # The same build on both sides: this checks the comparison's plumbing (each build
        # seeds, serves and is measured on its own database), not a ratio.
        r = subprocess.run(
            [sys.executable, str(REPO / "bench" / "run_bench.py"), "--smoke", "--bin", BIN,
             "--tool", TOOL, "--baseline-bin", BIN, "--baseline-tool", TOOL, "--scenarios", "",
             "--scaling", "", "--rsa-type", "", "--cache-dir", str(tmp_path / "cache"),
             "--json", str(tmp_path / "results.json")],
            capture_output=True, text=True, timeout=300)
        out = r.stdout + r.stderr
        assert r.returncode == 0, out[-4000:]
        assert "## keypaird vs floor" not in r.stdout
        writes = ("import", "generate", "cert")
        for s in writes:
            assert f"ratio {s} this/baseline = " in r.stdout, out[-4000:]
        runs = json.loads((tmp_path / "results.json").read_text())["baseline"]["runs"]
        assert {(x["scenario"], x["target"]) for x in runs} == {
            (s, t) for s in writes for t in ("this", "baseline")}
        assert all(x["requests"] > 0 and x["non2xx"] == 0 and x["errors"] == 0 for x in runs)
