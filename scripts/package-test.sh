#!/usr/bin/env bash
# The proof of the Debian package, a step of scripts/test.sh (run as root, as CI does):
#   1. scripts/package.sh with warnings as errors: a Release build with Debian's hardening
#      flags whose unit tests run there (each ctest test counts here), and lintian;
#   2. the packages unpacked (dpkg-deb -x): their version is CMake's, each file is in its
#      package (keypaird: the service; keypaird-client: the command and the timers, alone
#      enough for an SSH server's and a laptop's commands), the env file is 0600, the binaries
#      are stripped and their symbols are in -dbgsym;
#   3. from the unpacked tree, as the unprivileged user nobody in a state directory it owns:
#      keypaird --version, migrate, token create, then serve with every setting of the
#      packaged env file uncommented (its defaults must all be valid), one authenticated
#      request, /metrics' build_info, a clean stop on SIGTERM;
#   4. systemd-analyze verify on the units, keypaird.service's security exposure below 2.0;
#   5. the bash completion completes.
# Last line: "package: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
check() {  # check DESCRIPTION COMMAND...: runs it, counts it
  local what=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
    echo "package: ok: $what"
  else
    failed=$((failed + 1))
    echo "package: FAILED: $what"
  fi
}
finish() {
  echo "package: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit
}

work=$(mktemp -d)
server=""
cleanup() {
  [ -z "$server" ] || kill "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# ---- 1. build (the unit tests run inside) and lintian
if ! KEYPAIRD_WERROR=ON scripts/package.sh 2>&1 | tee "$work/package.log"; then
  failed=$((failed + 1))
  echo "package: FAILED: scripts/package.sh"
  finish
fi
read -r c_failed c_total < <(sed -n 's/.*tests passed, \([0-9]*\) tests\{0,1\} failed out of \([0-9]*\).*/\1 \2/p' "$work/package.log")
if [ -n "${c_total:-}" ]; then
  passed=$((passed + c_total - c_failed)); failed=$((failed + c_failed))
  echo "package: unit tests in the Release + hardening build: $((c_total - c_failed)) of $c_total passed"
else
  failed=$((failed + 1)); echo "package: FAILED: no unit test ran in the package build"
fi
check "lintian reports no errors" grep -q "^package: lintian: no errors" "$work/package.log"

version=$(sed -n 's/^project(keypaird VERSION \([0-9][0-9.]*\).*/\1/p' CMakeLists.txt)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb=dist/keypaird_${version}_${arch}.deb
dbgsym=dist/keypaird-dbgsym_${version}_${arch}.deb
client_deb=dist/keypaird-client_${version}_${arch}.deb
client_dbgsym=dist/keypaird-client-dbgsym_${version}_${arch}.deb
check "the packages' version is CMake's ($version)" \
  test "$(dpkg-deb -f "$deb" Version) $(dpkg-deb -f "$client_deb" Version)" = "$version $version"
check "keypaird depends on keypaird-client of its own version" \
  sh -c "dpkg-deb -f '$deb' Depends | grep -q 'keypaird-client (= $version)'"
check "keypaird-client replaces the files of an older keypaird (Replaces and Breaks)" \
  sh -c "dpkg-deb -f '$client_deb' Replaces | grep -q 'keypaird (<< 0.2.0~)' &&
         dpkg-deb -f '$client_deb' Breaks | grep -q 'keypaird (<< 0.2.0~)'"

# ---- 2. unpacked: the client alone, then both (an installed service)
client_root=$work/client-root
dpkg-deb -x "$client_deb" "$client_root" || { failed=$((failed + 1)); finish; }
for f in usr/bin/keypaird lib/systemd/system/keypaird-krl.service \
         lib/systemd/system/keypaird-krl.timer lib/systemd/system/keypaird-host-renew.service \
         lib/systemd/system/keypaird-host-renew.timer usr/share/man/man1/keypaird.1.gz \
         usr/share/bash-completion/completions/keypaird \
         usr/share/doc/keypaird-client/copyright; do
  check "keypaird-client holds /$f" test -s "$client_root/$f"
done
check "keypaird-client holds neither the server nor its unit nor its env file" \
  sh -c "[ ! -e '$client_root/usr/libexec/keypaird' ] &&
         [ ! -e '$client_root/lib/systemd/system/keypaird.service' ] &&
         [ ! -e '$client_root/etc/keypaird/keypaird.env' ]"
check "keypaird holds no /usr/bin/keypaird (keypaird-client's)" \
  sh -c "! dpkg-deb -c '$deb' | grep -q ' ./usr/bin/keypaird\$'"
for cmd in "authorized-keys --help" "krl --help" "host enroll --help" "host renew --help" \
           "login --help" "ssh-config --help"; do
  # shellcheck disable=SC2086
  check "the client alone runs keypaird $cmd" sh -c "'$client_root/usr/bin/keypaird' $cmd >/dev/null"
done
root=$work/root
dpkg-deb -x "$client_deb" "$root" && dpkg-deb -x "$deb" "$root" ||
  { failed=$((failed + 1)); finish; }
bin=$root/usr/bin/keypaird
unit=$root/lib/systemd/system/keypaird.service
check "keypaird --version says $version" test "$("$bin" --version)" = "keypaird $version"
for f in lib/systemd/system/keypaird.service lib/systemd/system/keypaird-krl.service \
         lib/systemd/system/keypaird-krl.timer lib/systemd/system/keypaird-host-renew.service \
         lib/systemd/system/keypaird-host-renew.timer usr/share/man/man1/keypaird.1.gz \
         usr/share/bash-completion/completions/keypaird etc/keypaird/keypaird.env \
         usr/share/doc/keypaird/copyright usr/libexec/keypaird/keypaird-server; do
  check "the package holds /$f" test -s "$root/$f"
done
# What sshd execs on every login links no database, no argon2, no JOSE: only what the agents
# need.
check "/usr/bin/keypaird links neither libpq nor SQLite nor libargon2 nor cjose" \
  sh -c "! ldd '$bin' | grep -qE 'libpq|libsqlite3|libargon2|libcjose'"
dpkg-deb -I "$deb" conffiles >"$work/conffiles" 2>&1
dpkg-deb -c "$dbgsym" >"$work/dbgsym.list" 2>&1
dpkg-deb -c "$client_dbgsym" >"$work/client-dbgsym.list" 2>&1
check "the env file is a conffile of mode 0600" \
  sh -c "[ \"\$(stat -c %a '$root/etc/keypaird/keypaird.env')\" = 600 ] &&
         grep -qx /etc/keypaird/keypaird.env '$work/conffiles'"
check "the man page is keypaird $version's and formats cleanly" \
  sh -c "zcat '$root/usr/share/man/man1/keypaird.1.gz' | grep -q '^.TH KEYPAIRD 1 .*keypaird $version' &&
         ! zcat '$root/usr/share/man/man1/keypaird.1.gz' | groff -man -Tutf8 -ww -z 2>&1 | grep -q ."
check "the binaries are stripped and their symbols are in each package's -dbgsym" \
  sh -c "[ \"\$(readelf -S '$bin' '$root/usr/libexec/keypaird/keypaird-server' | grep -c '\.debug_info')\" = 0 ] &&
         grep -q '/usr/lib/debug/.build-id/.*\.debug$' '$work/dbgsym.list' &&
         grep -q '/usr/lib/debug/.build-id/.*\.debug$' '$work/client-dbgsym.list'"

# ---- 3. run from the unpacked tree as nobody, with the packaged env file
chmod 0755 "$work"
state=$work/state
install -d -o nobody -g nogroup -m 0700 "$state"
db="sqlite:$state/keypaird.db"
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; }
check "migrate a new database as nobody" as_nobody "$bin" migrate --database "$db"
token=$(as_nobody "$bin" token create --user 1 --projects 1 --database "$db" 2>/dev/null)
check "token create prints a token" test -n "$token"

port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# Every setting of the env file uncommented with the default it shows (systemd's
# EnvironmentFile= reads KEY=VALUE lines); the address and database are this test's.
vars=()
while IFS= read -r line; do
  case $line in
    "#KEYPAIRD_"*=?*) vars+=("${line#\#}") ;;
  esac
done <"$root/etc/keypaird/keypaird.env"
vars+=("KEYPAIRD_LISTEN=127.0.0.1:$port" "KEYPAIRD_DATABASE=$db")
check "the env file sets every serve setting ($((${#vars[@]} - 2)) with defaults)" test "${#vars[@]}" -ge 12
# A simple command (not a function, which would run in a subshell): $! is keypaird itself.
setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
  env -i PATH=/usr/bin:/bin "${vars[@]}" "$bin" serve 2>"$work/serve.log" &
server=$!
up=0
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then up=1; break; fi
  kill -0 "$server" 2>/dev/null || break
  sleep 0.1
done
check "serve starts as nobody with the packaged env file" test "$up" -eq 1
status=$(curl -s -m 10 -o "$work/list.json" -w '%{http_code}' -H "Authorization: APIKey $token" \
  "http://127.0.0.1:$port/cloud/v1/keypairs/1/1")
check "an authenticated request is answered (200 and a list)" \
  sh -c "[ '$status' = 200 ] && grep -q '\"count\"' '$work/list.json'"
check "an unauthenticated one is 401" \
  test "$(curl -s -m 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/cloud/v1/keypairs/1/1")" = 401
check "/metrics has keypaird_build_info{version=\"$version\"} 1" \
  sh -c "curl -s -m 10 'http://127.0.0.1:$port/metrics' | grep -qx 'keypaird_build_info{version=\"$version\"} 1'"
kill -TERM "$server" 2>/dev/null
wait "$server"
rc=$?
server=""
check "serve stops cleanly on SIGTERM" test "$rc" -eq 0
[ "$rc" -eq 0 ] && [ "$up" -eq 1 ] || tail -20 "$work/serve.log"

# ---- 4. the unit
if ! command -v systemd-analyze >/dev/null; then
  echo "package: installing systemd (for systemd-analyze)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd >/dev/null
fi
# verify looks for the binary at the unit's path (/usr/bin): a copy of the unit points at the
# unpacked one instead; MANPATH lets it find the packaged man page (Documentation=).
mkdir -p "$work/units"
for u in keypaird.service keypaird-krl.service keypaird-krl.timer keypaird-host-renew.service \
         keypaird-host-renew.timer; do
  sed "s|=/usr/bin/keypaird |=$bin |" "$root/lib/systemd/system/$u" >"$work/units/$u"
done
man_check=(); command -v man >/dev/null || man_check=(--man=no)
check "systemd-analyze verify accepts the units (keypaird; keypaird-krl, keypaird-host-renew service and timer)" \
  sh -c "out=\$(MANPATH='$root/usr/share/man' systemd-analyze verify ${man_check[*]} '$work/units/keypaird.service' '$work/units/keypaird-krl.service' '$work/units/keypaird-krl.timer' '$work/units/keypaird-host-renew.service' '$work/units/keypaird-host-renew.timer' 2>&1);
         [ -z \"\$out\" ] || { echo \"\$out\"; false; }"
check "the unit's exposure (systemd-analyze security) is below 2.0" \
  sh -c "systemd-analyze security --offline=true --root='$root' keypaird.service >'$work/security.log' 2>&1;
         grep 'Overall exposure' '$work/security.log'; grep -q 'Overall exposure level for keypaird.service: [01]\.' '$work/security.log'"
check "the unit runs the packaged binary and migrates first" \
  sh -c "grep -qx 'ExecStartPre=/usr/bin/keypaird migrate' '$unit' && grep -qx 'ExecStart=/usr/bin/keypaird serve' '$unit'"
check "keypaird-krl.service runs the packaged keypaird krl, only once /etc/keypaird/krl.env exists" \
  sh -c "grep -qx 'ExecStart=/usr/bin/keypaird krl' '$root/lib/systemd/system/keypaird-krl.service' &&
         grep -qx 'ConditionPathExists=/etc/keypaird/krl.env' '$root/lib/systemd/system/keypaird-krl.service'"

# ---- 5. bash completion
complete_words() {  # complete_words WORD...: what the completion offers for the last word
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _keypaird; echo "${COMPREPLY[*]}"' \
    _ "$root/usr/share/bash-completion/completions/keypaird" "$@"
}
check "bash completion: tok -> token" test "$(complete_words keypaird tok)" = "token"
check "bash completion: serve --li -> --listen" test "$(complete_words keypaird serve --li)" = "--listen"
check "bash completion: token c -> create" test "$(complete_words keypaird token c)" = "create"
check "bash completion: --log-level w -> warn" test "$(complete_words keypaird serve --log-level w)" = "warn"
finish
