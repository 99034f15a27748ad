#!/usr/bin/env bash
# Builds gearmand from a source tree or a release tarball into a cache folder outside the clone,
# so the test suite can run against it: GEARMAND="$(scripts/build-gearmand.sh SRC)" bun test
#
#   scripts/build-gearmand.sh SOURCE [VERSION]
#
#   SOURCE   a gearmand source directory (a git checkout, or a `git archive` of a tag) or a
#            release tarball (.tar.gz, .tgz, .tar.xz, .tar.bz2, .tar)
#   VERSION  the version SOURCE holds; needed only when the script cannot tell (a source tree
#            without .git and without a generated configure names no version)
#
# Output: the last line on stdout is the path of the built binary,
#   ${GEARBUN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gearbun}/gearmand-VERSION/sbin/gearmand
# next to which gearmand-VERSION/build-info records what was built (version=, source=, built=).
# The test suite reads that record when the binary itself reports no version (gearmand takes its
# version from `git describe` at configure time, so a build from a tree without .git reports "").
#
# Needs no network and installs nothing on the system. Build dependencies (Debian/Ubuntu):
#   apt-get install automake autoconf libtool gperf g++ libboost-dev \
#     libboost-program-options-dev libevent-dev uuid-dev
# The compiler runs at the lowest priority (nice -n 19) with MAKE_JOBS jobs (default 2); a failed
# step prints the end of its log; KEEP_BUILD=1 keeps the build folder for a closer look.
#
# Exit codes: 0 built (or already built), 1 build failed, 2 bad arguments or missing tools.
set -euo pipefail

usage() {
  echo "usage: scripts/build-gearmand.sh SOURCE_DIR_OR_TARBALL [VERSION]" >&2
  exit 2
}
fail() {
  echo "build-gearmand: $1" >&2
  exit "${2:-1}"
}

[ $# -ge 1 ] && [ $# -le 2 ] || usage
source_arg="$1"
version="${2:-}"
[ -e "$source_arg" ] || fail "no such source: $source_arg" 2
source_abs="$(cd "$(dirname "$source_arg")" && pwd)/$(basename "$source_arg")"

need() {
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 ||
      fail "$tool is missing; install the build dependencies listed at the top of this script" 2
  done
}

cache="${GEARBUN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gearbun}"
mkdir -p "$cache"
# Prints the binary and exits when `gearmand-$1` is already built.
reuse_if_built() {
  local prefix="$cache/gearmand-${1#v}"
  if [ -x "$prefix/sbin/gearmand" ] && [ -f "$prefix/build-info" ]; then
    echo "build-gearmand: gearmand ${1#v} is already built (remove $prefix to rebuild)" >&2
    echo "$prefix/sbin/gearmand"
    exit 0
  fi
}
# The version names a folder: letters, digits and . _ + - only.
check_version() {
  case "$1" in
    "" | .* | *[!A-Za-z0-9._+-]*) fail "not a version: '$1' (e.g. 2.0.0)" 2 ;;
  esac
}
[ -z "$version" ] || { check_version "$version" && reuse_if_built "$version"; }
work="$(mktemp -d "$cache/build-XXXXXX")"
# A failed build leaves its tree for inspection only when asked; the work folder is removed otherwise.
cleanup() { [ "${KEEP_BUILD:-0}" = 1 ] || rm -rf "$work"; }
trap cleanup EXIT

# 1. A private copy of the source: the build writes into its tree, and it must not sit inside a
#    git work tree other than its own (configure would take that repository's `git describe`).
if [ -d "$source_abs" ]; then
  [ -f "$source_abs/configure.ac" ] || fail "$source_arg has no configure.ac: not a gearmand source tree" 2
  if [ -z "$version" ] && [ -e "$source_abs/.git" ]; then
    version="$(git -C "$source_abs" describe --tags --always 2>/dev/null || true)"
  fi
  cp -a "$source_abs/." "$work/src"
else
  mkdir -p "$work/unpack"
  tar -xf "$source_abs" -C "$work/unpack" || fail "cannot unpack $source_arg" 2
  top="$(find "$work/unpack" -mindepth 1 -maxdepth 2 -name configure.ac -printf '%h\n' | head -n 1)"
  [ -n "$top" ] || fail "$source_arg holds no configure.ac: not a gearmand source tarball" 2
  mv "$top" "$work/src"
fi
src="$work/src"

# 2. A release tarball carries a generated configure with its version in it; a source tree gets one.
if [ ! -x "$src/configure" ]; then
  need autoreconf libtoolize
  echo "build-gearmand: autoreconf" >&2
  (cd "$src" && autoreconf --force --install >"$work/autoreconf.log" 2>&1) ||
    { cat "$work/autoreconf.log" >&2; fail "autoreconf failed"; }
fi
if [ -z "$version" ]; then
  version="$(sed -n "s/^PACKAGE_VERSION='\(.*\)'$/\1/p" "$src/configure" | head -n 1)"
fi
[ -n "$version" ] || fail "cannot tell which version $source_arg is: pass it as the second argument, e.g. 2.0.0" 2
check_version "$version"
version="${version#v}"
prefix="$cache/gearmand-$version"
binary="$prefix/sbin/gearmand"

reuse_if_built "$version"

# 3. Only what gearmand needs: no database queues, no SSL, no man pages.
need gperf g++ make
echo "build-gearmand: configure (log: $work/configure.log)" >&2
(cd "$src" && ./configure --prefix="$prefix" --disable-dependency-tracking \
  --disable-libmemcached --disable-libpq --disable-libdrizzle --disable-hiredis \
  --disable-libtokyocabinet --without-mysql --without-sqlite3 \
  >"$work/configure.log" 2>&1) || { tail -n 40 "$work/configure.log" >&2; fail "configure failed"; }

echo "build-gearmand: make gearmand (log: $work/make.log)" >&2
(cd "$src" && nice -n 19 make -j"${MAKE_JOBS:-2}" gearmand/gearmand >"$work/make.log" 2>&1) ||
  (cd "$src" && nice -n 19 make -j"${MAKE_JOBS:-2}" >>"$work/make.log" 2>&1) ||
  { tail -n 40 "$work/make.log" >&2; fail "make failed"; }

built="$src/gearmand/gearmand"
# libtool leaves a wrapper script when the program links shared libraries of the build tree.
[ -x "$src/gearmand/.libs/gearmand" ] && built="$src/gearmand/.libs/gearmand"
[ -x "$built" ] || fail "make finished but $src/gearmand/gearmand is missing"

mkdir -p "$prefix/sbin"
install -m 0755 "$built" "$binary"
{
  echo "version=$version"
  echo "source=$source_abs"
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "reports=$("$binary" --version 2>&1 | grep -m 1 . || true)"
} >"$prefix/build-info"
echo "$binary"
