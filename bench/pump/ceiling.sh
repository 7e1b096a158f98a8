#!/usr/bin/env bash
# Master CPU per unit, plain (`,lzo`: cpp here) against `,cpp,lzo` (the client's include
# scanner, protocol 3), first build (empty $DISTCC_DIR/include-cache) and second build (warm),
# and the distribution ceiling on lua: local compile CPU / master CPU (docs/benchmarks.md).
# Master CPU = user + sys of make and all its children (clients, cpp, compiler probes); the
# daemon is not a child, so the remote compiles do not count. A benchmark, never a test.
#
#   bash bench/pump/ceiling.sh [WORKLOAD]       (default lua; needs target/debug binaries)
set -euo pipefail
name=${1:-lua}
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$root/target/debug
work=$(mktemp -d /tmp/pump-ceiling.XXXXXX)
chmod 777 "$work"
trap 'kill "$dpid" 2>/dev/null || true; rm -rf "$work"' EXIT
bash "$root/scripts/workload.sh" "$name" "$work/wl" >/dev/null
units=$(grep -c '^obj/.*: \$(SRC)/' "$work/wl/Makefile")
mkdir -p "$work/tmp" "$work/wl-bin" && chmod 777 "$work/tmp"
ln -s /usr/bin/distcc "$work/wl-bin/x86_64-linux-gnu-gcc"
port=$((20000 + RANDOM % 20000))
env -i PATH=/usr/bin:/bin TMPDIR="$work/tmp" DISTCC_RS_WHITELIST_DIR="$work/wl-bin" \
  "$bin/distccd" --no-detach --daemon --listen 127.0.0.1 --port "$port" --allow 127.0.0.1 \
  --log-file "$work/d.log" &
dpid=$!
sleep 1
# CPU seconds (user+sys) of the make runs: the shell's children times, before and after.
measure() {
  local label=$1; shift
  local before after
  # `times` in this shell (a command substitution would be a fresh process with no children).
  times > "$work/t"; before=$(awk 'NR==2{gsub(/[ms]/," "); print ($1*60+$2)+($3*60+$4)}' "$work/t")
  mkdir -p "$work/out"
  ( cd "$work" && env "$@" make -s -C "$work/out" -f "$work/wl/Makefile" -j2 >/dev/null )
  times > "$work/t"; after=$(awk 'NR==2{gsub(/[ms]/," "); print ($1*60+$2)+($3*60+$4)}' "$work/t")
  printf '%-34s %8.2f ms/unit\n' "$label" "$(echo "($after - $before) * 1000 / $units" | bc -l)"
  rm -rf "$work/out"
}
export DISTCC_DIR=$work/dd DISTCC_FALLBACK=0
mkdir -p "$work/dd"
cc="$bin/distcc gcc"
measure "local gcc -c (compile CPU)" CC=gcc PATH="$PATH"
measure "plain ,lzo (cpp on the master)" DISTCC_HOSTS="127.0.0.1:$port/4,lzo" CC="$cc" PATH="$PATH"
measure ",cpp,lzo first build (cold cache)" DISTCC_HOSTS="127.0.0.1:$port/4,lzo,cpp" CC="$cc" PATH="$PATH"
measure ",cpp,lzo second build (warm)" DISTCC_HOSTS="127.0.0.1:$port/4,lzo,cpp" CC="$cc" PATH="$PATH"
