#!/usr/bin/env bash
# A bounded fuzz pass over every target: bash fuzz/run.sh [SECONDS_PER_TARGET]
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`); works on stable with RUSTC_BOOTSTRAP=1.
# Findings land in fuzz/artifacts/<target>/ and fail the run.
#
# By default a pass is a regression run: a fixed seed (DISTCC_RS_FUZZ_SEED, default 1) and at
# most DISTCC_RS_FUZZ_RUNS inputs per target (default 300000), so CI tries the same inputs on
# every machine (a slow one a prefix of them) and only a change to the code can turn it red.
# To explore, take a random seed and no cap: DISTCC_RS_FUZZ_SEED=0 DISTCC_RS_FUZZ_RUNS=-1
# bash fuzz/run.sh 600
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-10}
seed=${DISTCC_RS_FUZZ_SEED:-1}
runs=${DISTCC_RS_FUZZ_RUNS:-300000}
export RUSTC_BOOTSTRAP=1
cargo fuzz build -O
for t in $(cargo fuzz list); do
  echo "== fuzz $t: seed $seed, at most $runs inputs or ${secs}s"
  # A scratch corpus dir seeded from the committed seeds keeps the tree clean.
  work=$(mktemp -d)
  cp corpus/"$t"/seed-* "$work"/ 2>/dev/null || true
  log="$work.log"
  if ! cargo fuzz run -O "$t" "$work" -- -max_total_time="$secs" \
      -seed="$seed" -runs="$runs" -rss_limit_mb=2048 >"$log" 2>&1; then
    # The finding: the panic message, the input and how to reproduce it.
    grep -A 3 -e 'panicked' -e '==ERROR' "$log" | head -n 20 || true
    grep -v -e '^#' -e '^"' "$log" | grep -A 12 'Test unit written' || tail -n 40 "$log"
    rm -rf "$work" "$log"
    exit 1
  fi
  tail -n 1 "$log"
  rm -rf "$work" "$log"
done
