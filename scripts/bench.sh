#!/usr/bin/env bash
# Builds keypaird with the benchmarks into build-bench/ (RelWithDebInfo) and runs them:
# the Google Benchmark micro-benchmarks, then the load harness (keypaird vs an nginx
# floor, alternately, several rounds; scaling run 1k..1M keys). Prints markdown tables
# with medians and ratios; docs/BENCHMARKS.md explains them.
#
#   scripts/bench.sh                 the full run (about 10 minutes on 2 cores)
#   scripts/bench.sh --smoke         a quick check that everything works (about 30 s)
#   scripts/bench.sh --no-micro ...  skip the micro-benchmarks
#   scripts/bench.sh --baseline REV ...
#                                    also build revision REV (git archive into
#                                    build-bench/baseline-REV/) and run the write scenarios
#                                    against both builds, alternately, in the same run
# Other options go to bench/run_bench.py (--rounds, --duration, --threads, --json FILE,
# --scaling 1000,100000,1000000, ...; see `python3 bench/run_bench.py --help`).
# Everything listens on 127.0.0.1 and is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

micro=1
smoke=0
baseline=""
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-micro) micro=0 ;;
    --smoke) smoke=1; args+=("$1") ;;
    --baseline) baseline=${2:?--baseline needs a revision}; shift ;;
    *) args+=("$1") ;;
  esac
  shift
done

BUILD_DIR=${BUILD_DIR:-build-bench}
if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null ||
   ! dpkg-query -W -f='${Status}' libbenchmark-dev 2>/dev/null | grep -q "install ok installed"; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    wrk nginx libbenchmark-dev >/dev/null
fi
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKEYPAIRD_BENCH=ON >/dev/null
cmake --build "$BUILD_DIR" -j2 --target keypaird keypaird_bench_tool keypaird_micro_bench
if [ -n "$baseline" ]; then
  rev=$(git rev-parse --short "$baseline^{commit}")
  base_dir="$BUILD_DIR/baseline-$rev"
  if [ ! -f "$base_dir/src/CMakeLists.txt" ]; then
    rm -rf "$base_dir"
    mkdir -p "$base_dir/src"
    git archive --format=tar "$rev" | tar -x -C "$base_dir/src"
  fi
  cmake -S "$base_dir/src" -B "$base_dir/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DKEYPAIRD_BENCH=ON >/dev/null
  cmake --build "$base_dir/build" -j2 --target keypaird keypaird_bench_tool
  args+=(--baseline-bin "$base_dir/build/keypaird"
         --baseline-tool "$base_dir/build/bench/keypaird_bench_tool")
fi

echo "== machine"
echo "nproc: $(nproc); cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
echo "disk: $(df --output=source,fstype . | tail -1) ($(lsblk -dno NAME,ROTA,MODEL 2>/dev/null | head -1))"

if [ "$micro" -eq 1 ]; then
  echo "== micro-benchmarks"
  min_time=0.5
  [ "$smoke" -eq 1 ] && min_time=0.01
  "$BUILD_DIR/bench/keypaird_micro_bench" --benchmark_min_time="$min_time"
fi

echo "== load harness"
exec /usr/bin/python3 bench/run_bench.py --bin "$BUILD_DIR/keypaird" \
  --tool "$BUILD_DIR/bench/keypaird_bench_tool" --cache-dir "$BUILD_DIR/bench-cache" "${args[@]}"
