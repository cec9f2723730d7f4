#!/usr/bin/env bash
# Builds the Debian packages with Debian's own tooling (debian/, debhelper, dpkg-buildpackage):
# dist/keypaird_<version>_<arch>.deb (the service) and dist/keypaird-client_<version>_<arch>.deb
# (the keypaird command and an SSH server's timers), each with its -dbgsym.
# The version is CMake's project version (CMakeLists.txt), the one source: debian/changelog is
# written from it in a copy of the tree under build-deb/, where the build runs (dpkg-buildpackage
# writes its results beside the tree). The unit tests run in that build (Release, Debian's
# hardening flags). Then lintian, if installed. docs/packaging.md explains the choices.
#
#   scripts/package.sh
#
# Environment: KEYPAIRD_WERROR=ON makes warnings errors (the test command sets it);
# KEYPAIRD_TEST_POSTGRES_URL runs the PostgreSQL unit tests too (left out without it);
# DEB_BUILD_OPTIONS as usual (nocheck skips the unit tests; parallel= defaults to nproc).
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's/^project(keypaird VERSION \([0-9][0-9.]*\).*/\1/p' CMakeLists.txt)
if [ -z "$version" ]; then
  echo "package: no project(keypaird VERSION x.y.z) in CMakeLists.txt" >&2
  exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
install_missing() {
  [ $# -gt 0 ] || return 0
  echo "package: installing $*" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
if ! command -v dpkg-buildpackage >/dev/null || ! command -v dh >/dev/null; then
  install_missing build-essential debhelper
fi
# Build-Depends (debian/control) that are missing, without versions, profiles or alternatives.
missing=$(dpkg-checkbuilddeps 2>&1 | sed -n 's/.*Unmet build dependencies: //p' |
          sed 's/([^)]*)//g; s/<[^>]*>//g; s/|[^ ]*//g') || true
# shellcheck disable=SC2086
install_missing $missing

stage=build-deb
src="$stage/keypaird-$version"
rm -rf "$stage"
mkdir -p "$src"
# The tree as it is (tracked and new files, nothing git ignores: no build output).
if git rev-parse --git-dir >/dev/null 2>&1; then
  git ls-files -z --cached --others --exclude-standard |
    tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -C "$src" -xf -
  when=$(git log -1 --format=%cD 2>/dev/null || date -R)
else
  tar -C . --exclude='./build*' --exclude=./data --exclude=./dist --exclude=./tools/node_modules \
    -cf - . | tar -C "$src" -xf -
  when=$(date -R)
fi
maintainer=$(sed -n 's/^Maintainer: //p' debian/control)
cat >"$src/debian/changelog" <<EOF
keypaird ($version) unstable; urgency=medium

  * keypaird $version (the version in CMakeLists.txt).

 -- $maintainer  $when
EOF

echo "package: building keypaird $version in $src (log: $stage/build.log)"
start=$(date +%s)
DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-} parallel=$(nproc)"
export DEB_BUILD_OPTIONS
if ! (cd "$src" && KEYPAIRD_WERROR=${KEYPAIRD_WERROR:-OFF} dpkg-buildpackage -b --no-sign) \
     >"$stage/build.log" 2>&1; then
  tail -60 "$stage/build.log"
  echo "package: dpkg-buildpackage failed (log: $stage/build.log)"
  exit 1
fi
grep -E "tests passed|tests failed" "$stage/build.log" || true
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
mkdir -p dist
rm -f dist/keypaird_*.deb dist/keypaird-dbgsym_*.deb dist/keypaird-client_*.deb \
  dist/keypaird-client-dbgsym_*.deb
for pkg in keypaird keypaird-dbgsym keypaird-client keypaird-client-dbgsym; do
  cp "$stage/${pkg}_${version}_$arch.deb" dist/
done
echo "package: built in $(( $(date +%s) - start ))s: dist/keypaird_${version}_${arch}.deb," \
  "dist/keypaird-client_${version}_${arch}.deb (+ -dbgsym)"

if command -v lintian >/dev/null; then
  # Errors fail; warnings and overrides are listed (docs/packaging.md justifies those left).
  lintian --fail-on error --show-overrides "$stage"/keypaird_"${version}"_"$arch".changes ||
    { echo "package: lintian reports errors"; exit 1; }
  echo "package: lintian: no errors"
fi
