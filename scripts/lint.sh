#!/usr/bin/env bash
# The blocking linters, each one check of the summary line:
#   clang-tidy (the curated checks in .clang-tidy) over every non-test source file, two at a
#     time; needs a configured build directory with compile_commands.json (or its output
#     from an earlier `scripts/lint.sh --tidy-only FILE`, named by TIDY_OUT=FILE);
#   ESLint (tools/eslint.config.mjs: recommended rules, browser ES modules) over console/;
#   Prettier (tools/.prettierrc.json) --check over console/ (its JavaScript, CSS and HTML);
#   Spectral (tools/.spectral.yaml: spectral:oas) over openapi/keypaird.yaml, warnings too;
#   check_references.py: comments, docstrings and documents name only files the tree holds.
# Their configs are in tools/, not console/: every file of console/ is embedded and served.
# The npm tools come from tools/node_modules (scripts/setup.sh --test installs them).
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
BIN=tools/node_modules/.bin
out=$(mktemp)
trap 'rm -f "$out"' EXIT
passed=0
failed=0

ok() { echo "lint: $1"; passed=$((passed + 1)); }
bad() { echo "lint: $1"; failed=$((failed + 1)); }

files=$(git ls-files 'src/*.cc' | grep -v '_test\.cc$')
# TIDY_OUT=FILE: clang-tidy ran already (scripts/test.sh starts `scripts/lint.sh --tidy-only
# FILE` in the background, at the lowest priority, while the tests run); its output is in
# FILE and its exit status in FILE.rc. Otherwise it runs here.
run_tidy() {  # run_tidy OUT: clang-tidy over $files into OUT, its status into OUT.rc
  # The build may be configured with GCC-only options (-Wno-error=restrict for GCC 12's false
  # positives); clang, which clang-tidy runs, does not know them and must not count that.
  # shellcheck disable=SC2086
  printf '%s\n' $files | xargs -P2 -n1 clang-tidy -p "$BUILD_DIR" --quiet \
    --extra-arg=-Wno-unknown-warning-option >"$1" 2>&1
  echo $? >"$1.rc"
}
if [ "${1:-}" = --tidy-only ]; then
  # Started in a session of its own (setsid), it is in a scheduler autogroup of its own too
  # (kernel.sched_autogroup_enabled), where its nice value counts only against itself and the
  # group would take a full share of the CPU from the tests. Lowering the group's own weight
  # makes it take only what the tests leave idle. Not every kernel has autogroups.
  if [ -w /proc/self/autogroup ]; then echo 19 >/proc/self/autogroup 2>/dev/null || true; fi
  run_tidy "$2"
  exit 0
fi
tidy=${TIDY_OUT:-}
if [ -z "$tidy" ] || [ ! -s "$tidy.rc" ]; then
  tidy=$out.tidy
  run_tidy "$tidy"
fi
if [ "$(cat "$tidy.rc")" -ne 0 ] || grep -qE '(error|warning):' "$tidy"; then
  grep -E '(error|warning):' -A3 "$tidy"
  bad "clang-tidy found problems"
else
  ok "clang-tidy clean ($(printf '%s\n' $files | wc -l) files)"
fi
rm -f "$out.tidy" "$out.tidy.rc"

if [ ! -x "$BIN/eslint" ]; then
  bad "eslint missing: run scripts/setup.sh --test (npm ci in tools/)"
elif "$BIN/eslint" --config tools/eslint.config.mjs --max-warnings 0 console >"$out" 2>&1; then
  ok "eslint clean (console/)"
else
  cat "$out"
  bad "eslint found problems in console/"
fi

if [ ! -x "$BIN/prettier" ]; then
  bad "prettier missing: run scripts/setup.sh --test (npm ci in tools/)"
elif "$BIN/prettier" --config tools/.prettierrc.json --check console >"$out" 2>&1; then
  ok "prettier clean (console/)"
else
  cat "$out"
  bad "prettier found unformatted files (fix: $BIN/prettier --config tools/.prettierrc.json --write console)"
fi

if [ ! -x "$BIN/spectral" ]; then
  bad "spectral missing: run scripts/setup.sh --test (npm ci in tools/)"
elif "$BIN/spectral" lint --quiet --ruleset tools/.spectral.yaml --fail-severity=warn \
     openapi/keypaird.yaml >"$out" 2>&1; then
  ok "spectral clean (openapi/keypaird.yaml)"
else
  cat "$out"
  bad "spectral found problems in openapi/keypaird.yaml"
fi

if /usr/bin/python3 scripts/check_references.py >"$out" 2>&1; then
  ok "$(tail -1 "$out" | sed 's/^check_references: //')"
else
  cat "$out"
  bad "references to files the tree does not hold"
fi

echo "lint: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
