#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ in the sanitized build (scripts/sanitized-build.sh:
# clang, build-fuzz/, libraries instrumented with -fsanitize=fuzzer-no-link,address,undefined;
# scripts/sanitize.sh runs the tests on the same build) and runs each one for a
# bounded time on its seed corpus fuzz/corpus/<target>/. Exits non-zero if a target
# crashes (an ASan/UBSan report, a leak, a timeout, or one of the target's invariant
# checks); the crashing input and the log are kept in build-fuzz/artifacts/.
# Last line: "fuzz: N passed, N failed".
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     SECONDS per target, default 30
#
# Environment:
#   FUZZ_CORPUS_DIR  keep the working corpora here (new inputs accumulate across runs);
#                    default: a temporary directory, removed at exit (seeds are never written)
#   FUZZ_ARTIFACTS   where crash/leak/timeout inputs go (default build-fuzz/artifacts/)
#   FUZZ_JOBS        parallel fuzzing processes per target (default 1)
#   FUZZ_PARALLEL    targets fuzzed at once (default 2, one per core of the CI machine;
#                    1 when FUZZ_JOBS > 1). Each still gets SECONDS of its own.
# docs/fuzzing.md says how to run them for hours, merge corpora and reproduce a crash.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_public_key fuzz_request fuzz_cert_krl fuzz_private_key fuzz_http)

BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
# The sanitized build (scripts/sanitize.sh has usually made it already: then this is quick).
scripts/sanitized-build.sh "${targets[@]}" || {
  echo "fuzz: build failed"; echo "fuzz: 0 passed, ${#targets[@]} failed"; exit 1; }

artifacts=${FUZZ_ARTIFACTS:-$BUILD_DIR/artifacts}
mkdir -p "$artifacts"
work=${FUZZ_CORPUS_DIR:-}
[ -n "$work" ] || work=$(mktemp -d)   # removed at exit (the trap below)

max_len() {
  case $1 in
    fuzz_public_key) echo 20000 ;;   # keys over 16 KiB are rejected (400)
    fuzz_request) echo 70000 ;;      # bodies over 64 KiB are 413
    fuzz_cert_krl) echo 8192 ;;      # a 16384-bit RSA certificate is about 2.2 KiB
    fuzz_private_key) echo 8192 ;;   # an RSA-4096 OpenSSH key file is about 3.4 KiB
    fuzz_http) echo 80000 ;;         # past the 64 KiB body limit, or a few pipelined requests
    *) echo 4096 ;;
  esac
}

jobs=${FUZZ_JOBS:-1}
parallel=${FUZZ_PARALLEL:-2}
[ "$jobs" -le 1 ] || parallel=1
results=$(mktemp -d)
trap 'rm -rf "$results"; [ -n "${FUZZ_CORPUS_DIR:-}" ] || rm -rf "$work"' EXIT

fuzz_one() {  # fuzz_one TARGET: fuzzes it; its report on stdout, its status as exit status
  local t=$1 bin="$BUILD_DIR/fuzz/$1" log="$artifacts/$1.log" stats execs rate
  mkdir -p "$work/$t"
  local args=(-max_total_time="$seconds" -max_len="$(max_len "$t")" -timeout=30 -rss_limit_mb=2560
              -print_final_stats=1 -artifact_prefix="$artifacts/$t-")
  [ -f "fuzz/$t.dict" ] && args+=(-dict="fuzz/$t.dict")
  if [ "$jobs" -gt 1 ]; then args+=(-fork="$jobs" -ignore_crashes=0); fi
  echo "== $t: ${seconds}s"
  # The working corpus first: new inputs go there, never into the committed seeds.
  if "$bin" "${args[@]}" "$work/$t" "fuzz/corpus/$t" >"$log" 2>&1; then
    stats=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    echo "$t: ok, ${execs:-?} runs (${rate:-?}/s); ${stats#*DONE }"
  else
    grep -E 'ERROR:|invariant violated|SUMMARY|Test unit written|detail:' "$log" | head -20
    echo "$t: FAILED (full log above is in $log; reproduce: $bin <input>)"
    tail -60 "$log"
    return 1
  fi
}

# $parallel at a time; each report is printed whole, in the targets' order.
running=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$parallel" ]; then
    wait -n
    running=$((running - 1))
  fi
  (fuzz_one "$t" >"$results/$t.out" 2>&1; echo $? >"$results/$t.rc") &
  running=$((running + 1))
done
wait
passed=0
failed=0
for t in "${targets[@]}"; do
  cat "$results/$t.out"
  if [ "$(cat "$results/$t.rc" 2>/dev/null)" = 0 ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
