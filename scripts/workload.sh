#!/usr/bin/env bash
# Prepare one of the project's real C/C++ workloads: write DIR/Makefile, which compiles every
# translation unit of a real code base with $(CC) (C) or $(CXX) (C++) into DIR/obj/.
#
#   bash scripts/workload.sh NAME DIR        NAME: lua | zstd | sqlite | gtest
#   bash scripts/workload.sh --list          the names, one a line
#
# This is the one preparation the demo, the tests (dcc-testkit::workload) and the benchmarks
# (dcc-bench, bench/secure) use. The sources come from packages of the registries the project's
# machines reach, never from a directory beside the project:
#   lua, zstd, sqlite  crates.io crates that bundle the C sources; `cargo fetch` puts them in
#                      cargo's registry cache ($CARGO_HOME/registry/src), so the download happens
#                      once per machine;
#   gtest              GoogleTest and GoogleMock (C++: templates, the STL, iostreams) from
#                      Debian's googletest package, which installs their sources in /usr/src
#                      (scripts/install-deps.sh installs it).
#
# The Makefile is also read by programs, so its shape is fixed: `SRC := <dir>` (compiles run
# there, with paths relative to it), `FLAGS := <flags>`, `UNIT_LANG := c|c++`, and one rule a unit:
# `obj/<unit>.o: $(SRC)/<path>`.
set -euo pipefail

names="lua zstd sqlite gtest"
die() { echo "workload.sh: $*" >&2; exit 1; }

if [ "${1:-}" = --list ]; then
  printf '%s\n' $names
  exit 0
fi
[ $# -eq 2 ] || die "usage: workload.sh NAME DIR (NAME: ${names// / | }), or workload.sh --list"
name=$1
out=$(realpath -m "$2")

# The crates that ship the C sources, pinned so that every machine compiles the same code.
crate_lua=lua-src@551.1.0
crate_zstd=zstd-sys@2.1.3+zstd.1.5.7
crate_sqlite=libsqlite3-sys@0.40.0

# Print the unpacked source directory of crate NAME@VERSION, fetching it from crates.io first
# when this machine does not have it yet.
crate_dir() {
  local spec=$1 crate=${1%@*} version=${1#*@}
  local registry="${CARGO_HOME:-$HOME/.cargo}/registry/src"
  local dir
  dir=$(find "$registry" -mindepth 2 -maxdepth 2 -type d -name "$crate-$version" 2>/dev/null | head -n 1)
  if [ -z "$dir" ]; then
    # A throw-away crate that depends on the one we want; `cargo fetch` downloads and unpacks
    # it. It lives outside any workspace (cargo would otherwise take it for a member).
    local scratch=${WORKLOAD_SCRATCH:-${TMPDIR:-/tmp}/distcc-rs-workload-fetch}/$crate
    mkdir -p "$scratch/src"
    printf '[package]\nname = "fetch-%s"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\n%s = "=%s"\n' \
      "$crate" "$crate" "${version%%+*}" > "$scratch/Cargo.toml"
    : > "$scratch/src/lib.rs"
    if ! cargo fetch -q --manifest-path "$scratch/Cargo.toml" >&2; then
      die "cannot fetch $spec from crates.io (cargo fetch failed above): the $name workload needs the registry once per machine"
    fi
    dir=$(find "$registry" -mindepth 2 -maxdepth 2 -type d -name "$crate-$version" | head -n 1)
    [ -n "$dir" ] || die "cargo fetched $spec but $registry has no $crate-$version"
  fi
  echo "$dir"
}

case $name in
  lua)
    src=$(crate_dir $crate_lua)/lua-5.4.9
    lang=c
    flags='-O2 -Wall -DLUA_COMPAT_5_3 -DLUA_USE_LINUX'
    units=$(cd "$src" && ls -- *.c) ;;
  zstd)
    src=$(crate_dir $crate_zstd)/zstd/lib
    lang=c
    flags='-O3 -DZSTD_DISABLE_ASM -DXXH_NAMESPACE=ZSTD_ -I. -Icommon'
    units=$(cd "$src" && find common compress decompress dictBuilder -name '*.c' | LC_ALL=C sort) ;;
  sqlite)
    src=$(crate_dir $crate_sqlite)/sqlite3
    lang=c
    flags='-O2 -DSQLITE_THREADSAFE=1'
    units=sqlite3.c ;;
  gtest)
    src=/usr/src/googletest
    [ -f "$src/googletest/src/gtest.cc" ] ||
      die "$src/googletest/src/gtest.cc is missing: install Debian's googletest package (apt-get install googletest)"
    lang=c++
    flags='-O2 -Wall -DGTEST_HAS_PTHREAD=1 -Igoogletest/include -Igoogletest -Igooglemock/include -Igooglemock'
    # The *-all.cc files only #include the others: leaving them out keeps each unit once.
    units=$(cd "$src" && ls googletest/src/*.cc googlemock/src/*.cc | grep -v -- '-all\.cc$' | LC_ALL=C sort) ;;
  *)
    die "unknown workload '$name' (known: $names)" ;;
esac
[ -d "$src" ] || die "$src is missing"

if [ $lang = c ]; then compiler='$(CC)'; else compiler='$(CXX)'; fi
mkdir -p "$out"
tmp=$(mktemp "$out/.Makefile.XXXXXX")
{
  echo "# $name: written by scripts/workload.sh; compiles every unit in SRC, objects in obj/"
  echo "SRC := $src"
  echo "FLAGS := $flags"
  echo "UNIT_LANG := $lang"
  echo "CC ?= gcc"
  echo "CXX ?= g++"
  objects=()
  for u in $units; do
    o=obj/$(printf '%s' "${u%.*}" | tr '/' '_').o
    objects+=("$o")
    printf '%s: $(SRC)/%s\n\t@mkdir -p obj\n\tcd $(SRC) && %s $(FLAGS) -c %s -o $(CURDIR)/%s\n' \
      "$o" "$u" "$compiler" "$u" "$o"
  done
  echo "objs: ${objects[*]}"
  echo ".DEFAULT_GOAL := objs"
  echo "clean:; rm -rf obj"
} > "$tmp"
# Renamed into place last, so a reader never sees half a Makefile.
mv "$tmp" "$out/Makefile"
echo "$name: $(echo "$units" | wc -w) translation units ($lang) -> $out/Makefile"
