#!/usr/bin/env bash
# distcc-rs against Debian's distcc 3.4, measured side by side in one run on this machine.
#
#   bash bench/run.sh           the full run (20-25 minutes on 2 cores): writes
#                               docs/benchmarks.md, docs/benchmarks/*.png and the raw samples
#                               docs/benchmarks/results.jsonl
#   bash bench/run.sh --smoke   CI: tiny repetitions and a small farm; everything goes to a
#                               temporary directory, docs/ is never touched, and no timing is
#                               ever checked: it fails only if a benchmark step breaks
#
# Knobs (repetitions, sizes, sections) are BENCH_* environment variables: see bench/README.md.
# The farm simulation needs root (network namespaces); without root it is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

smoke=0
case "${1:-}" in
  --smoke) smoke=1 ;;
  "") ;;
  *) echo "usage: bash bench/run.sh [--smoke]" >&2; exit 2 ;;
esac

missing=()
for t in gcc make perl /usr/bin/distcc /usr/bin/distccd /usr/bin/python3; do
  command -v "$t" >/dev/null || missing+=("$t")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench: missing ${missing[*]} (bash scripts/install-deps.sh installs them)" >&2
  exit 1
fi
# Debian's python3, not a pyenv or venv one: the charts use Debian's python3-matplotlib.
py=/usr/bin/python3
charts=1
if ! "$py" -c 'import matplotlib' 2>/dev/null; then
  if [ $smoke = 1 ]; then
    echo "bench: python3-matplotlib is missing: the smoke run skips the charts" >&2
    charts=0
  else
    echo "bench: python3-matplotlib is missing (apt-get install -y python3-matplotlib)" >&2
    exit 1
  fi
fi

target=${CARGO_TARGET_DIR:-$root/target}
if [ $smoke = 1 ]; then
  # Timings do not matter in a smoke run: reuse the debug build the tests already made.
  echo "== building (debug)"
  cargo build --quiet --bins
  bin=$target/debug
  out=$(mktemp -d /tmp/dcc-bench-smoke.XXXXXX)
  docs=$out
else
  echo "== building (release)"
  cargo build --quiet --release --bins
  bin=$target/release
  out=$(mktemp -d /tmp/dcc-bench.XXXXXX)
  docs=$root/docs
fi
chmod 755 "$out"  # daemons drop root and must reach their logs and TMPDIR under it
work=$out/work
mkdir -p "$work"

sections=${BENCH_SECTIONS:-loopback master wire daemon farm}
link=/usr/lib/distcc/sleep-gcc
made_link=0
status=1
cleanup() {
  # Daemons the harness started, by process group, if it was interrupted before stopping them.
  if [ -f "$work/daemons.pids" ]; then
    while read -r g; do
      for p in $(pgrep -g "$g" 2>/dev/null || true); do
        case $(readlink "/proc/$p/exe" 2>/dev/null) in
          *distccd) kill -KILL "$p" 2>/dev/null || true ;;
        esac
      done
    done < "$work/daemons.pids"
  fi
  if [ $made_link = 1 ]; then rm -f "$link"; fi
  if [ $status = 0 ]; then
    rm -rf "$work"
  else
    echo "bench: failed; logs and builds are kept in $work" >&2
  fi
}
trap cleanup EXIT

if [[ " $sections " == *" farm "* ]] && { [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null; }; then
  echo "bench: the farm simulation needs root and iproute2: skipping it" >&2
  sections=${sections//farm/}
fi
if [[ " $sections " == *" farm "* || " $sections " == *" daemon "* ]] && [ "$(id -u)" -eq 0 ] &&
   [ ! -e "$link" ] && [ ! -L "$link" ]; then
  # Debian's distccd runs only compilers named in /usr/lib/distcc: whitelist the stand-in
  # compiler (farm, and the daemon's null-compiler load) for this run only.
  ln -s ../../bin/distcc "$link"
  made_link=1
fi

if [ -n "${BENCH_WAIT_QUIET:-}" ]; then
  # On a shared machine: wait (up to 30 minutes) until the 1-minute load average is below
  # this, so that other work does not swamp the timings.
  for _ in $(seq 180); do
    load=$(cut -d' ' -f1 /proc/loadavg)
    awk -v l="$load" -v q="$BENCH_WAIT_QUIET" 'BEGIN { exit !(l < q) }' && break
    echo "bench: load average $load, waiting for it to fall below $BENCH_WAIT_QUIET" >&2
    sleep 10
  done
fi
if [ -z "${BENCH_COMMIT:-}" ] && git -C "$root" rev-parse HEAD >/dev/null 2>&1; then
  BENCH_COMMIT=$(git -C "$root" rev-parse --short=12 HEAD)
  [ -z "$(git -C "$root" status --porcelain --untracked-files=no)" ] || BENCH_COMMIT+=+dirty
fi
export BENCH_COMMIT=${BENCH_COMMIT:-}

echo "== benchmarks: $sections (results in $out)"
# shellcheck disable=SC2086  # sections is a word list
BENCH_SMOKE=$smoke BENCH_WORK=$work BENCH_OUT=$out/results.jsonl \
  BENCH_WORKLOAD_SCRIPT=$root/scripts/workload.sh \
  BENCH_WORKLOAD_CACHE=${BENCH_WORKLOAD_CACHE:-$target/bench-workloads} \
  "$bin/dcc-bench" $sections

echo "== report"
mkdir -p "$docs/benchmarks"
report_args=(--results "$out/results.jsonl" --markdown "$docs/benchmarks.md" --charts "$docs/benchmarks")
[ $charts = 1 ] || report_args+=(--no-charts)
[ $smoke = 1 ] && report_args+=(--smoke)
"$py" bench/report.py "${report_args[@]}"
if [ $smoke = 0 ]; then
  cp "$out/results.jsonl" "$docs/benchmarks/results.jsonl"
fi
status=0
echo "== done: $docs/benchmarks.md"
