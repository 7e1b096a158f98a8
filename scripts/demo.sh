#!/usr/bin/env bash
# The main job, on one machine: two distccd helpers on loopback, and our distcc client building
# Lua (a real C project) through them with make -j. Prints where each job ran, checks every
# object against a local build, links and runs the result.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
command -v gcc >/dev/null && command -v make >/dev/null || {
  echo "demo needs gcc and make: apt-get install -y gcc make" >&2; exit 1; }

echo "== building distcc-rs (release)"
cargo build --release --quiet --bin distcc --bin distccd
bin=$root/target/release

work=$(mktemp -d /tmp/distcc-rs-demo.XXXXXX)
chmod 755 "$work"
mkdir -m 1777 "$work/tmp" "$work/logs"
mkdir -p "$work/whitelist" "$work/distcc"
for c in gcc cc x86_64-linux-gnu-gcc; do ln -s "$bin/distcc" "$work/whitelist/$c"; done
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# A port nothing listens on (distccd exits 102 if it was taken meanwhile: the demo then fails
# loudly rather than silently using another helper).
free_port() {
  local p
  while :; do
    p=$(( 20000 + RANDOM % 40000 ))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}
ports=()
for i in 1 2; do
  p=$(free_port); ports+=("$p")
  DISTCC_RS_WHITELIST_DIR=$work/whitelist TMPDIR=$work/tmp \
    "$bin/distccd" --no-detach --daemon --listen 127.0.0.1 --port "$p" --allow 127.0.0.1 \
      --jobs 2 --log-file "$work/logs/helper$i.log" &
  pids+=($!)
done
for i in 1 2; do
  for _ in $(seq 100); do grep -q "listening on" "$work/logs/helper$i.log" 2>/dev/null && break; sleep 0.05; done
done
hosts="127.0.0.1:${ports[0]}/2,lzo 127.0.0.1:${ports[1]}/2"
echo "== helpers: $hosts"

echo "== preparing the Lua workload"
bash "$root/scripts/workload.sh" lua "$work/lua" >/dev/null
mk=$work/lua/Makefile

echo "== make -j4 CC=\"distcc gcc\" through the helpers"
mkdir -p "$work/remote" "$work/local"
start=$(date +%s%N)
DISTCC_HOSTS="$hosts" DISTCC_DIR=$work/distcc DISTCC_FALLBACK=0 \
  make -s -C "$work/remote" -f "$mk" -j4 CC="$bin/distcc gcc" 2>&1 || { echo "build failed" >&2; exit 1; }
end=$(date +%s%N)
make -s -C "$work/local" -f "$mk" -j4 CC=gcc
# A helper logs a job's summary line once the job's directory is gone, just after the client
# has its object: wait (at most 5 s) until every unit's line is there.
want=$(grep -c ': $(SRC)/' "$mk")
for _ in $(seq 100); do
  [ "$(cat "$work"/logs/helper*.log | grep -c " COMPILE_OK ")" -ge "$want" ] && break
  sleep 0.05
done

echo
echo "where each job ran:"
for i in 1 2; do
  n=$(grep -c " COMPILE_OK " "$work/logs/helper$i.log" || true)
  printf '  helper %d (127.0.0.1:%s): %2d jobs\n' "$i" "${ports[$((i-1))]}" "$n"
  awk '/ COMPILE_OK /{printf "%s ", $NF}' "$work/logs/helper$i.log" | fold -w 88 -s | sed 's/^/      /'
  echo
done
units=$(ls "$work/local/obj" | wc -l)
same=0
for o in "$work"/local/obj/*.o; do cmp -s "$o" "$work/remote/obj/$(basename "$o")" && same=$((same+1)); done
printf 'objects identical to a local gcc build: %d of %d\n' "$same" "$units"
ms=$(( (end - start) / 1000000 ))
printf 'distributed build took %d.%03d s\n' $((ms / 1000)) $((ms % 1000))
# lua-src ships the library only: link it with a tiny main of our own and run it.
src=$(sed -n 's/^SRC := //p' "$mk")
cat > "$work/main.c" <<'C'
#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"
int main(int argc, char **argv) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  int bad = argc > 1 && luaL_dostring(L, argv[1]);
  if (bad) fprintf(stderr, "%s\n", lua_tostring(L, -1));
  lua_close(L);
  return bad;
}
C
gcc -O2 -I"$src" -include stdio.h -o "$work/lua-bin" "$work/main.c" "$work"/remote/obj/*.o -lm -ldl
echo "the linked interpreter runs:"
"$work/lua-bin" 'print("  " .. _VERSION .. " built by distcc-rs, 2^10 = " .. 2^10)'
[ "$same" -eq "$units" ] || { echo "objects differ" >&2; exit 1; }
rm -rf "$work"
