#!/usr/bin/env bash
# A bounded fuzz pass over every target: bash fuzz/run.sh [SECONDS_PER_TARGET]
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`); works on stable with RUSTC_BOOTSTRAP=1.
# Findings land in fuzz/artifacts/<target>/ and fail the run.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-10}
export RUSTC_BOOTSTRAP=1
cargo fuzz build -O
for t in $(cargo fuzz list); do
  echo "== fuzz $t for ${secs}s"
  # A scratch corpus dir seeded from the committed seeds keeps the tree clean.
  work=$(mktemp -d)
  cp corpus/"$t"/seed-* "$work"/ 2>/dev/null || true
  log="$work.log"
  if ! cargo fuzz run -O "$t" "$work" -- -max_total_time="$secs" -rss_limit_mb=2048 >"$log" 2>&1; then
    # The finding: the panic message, the input and how to reproduce it.
    grep -A 3 -e 'panicked' -e '==ERROR' "$log" | head -n 20 || true
    grep -v -e '^#' -e '^"' "$log" | grep -A 12 'Test unit written' || tail -n 40 "$log"
    rm -rf "$work" "$log"
    exit 1
  fi
  tail -n 1 "$log"
  rm -rf "$work" "$log"
done
