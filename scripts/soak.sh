#!/usr/bin/env bash
# The daemon's soak (issue 10): bash scripts/soak.sh [SECONDS]   (default 1800, 30 minutes)
#
# Honest clients (plain protocols 1, 2 and zstd, and pump) compile on a distccd at -j 2 while
# hostile ones send the fuzz seeds and mutations of them, zstd decompression bombs, idle and
# trickling sockets, and abandon compiles mid-way. Fails (non-zero) unless every honest job
# completes and the daemon's memory, descriptors and TMPDIR stay flat. Bounded: the run ends
# after SECONDS, then waits at most 30 s for the daemon to go quiet. scripts/test.sh runs one
# minute of it; the driver is crates/dcc-server/tests/soak.rs (an ignored test).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-1800}
case "$secs" in
  ''|*[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac
cargo build -p dcc-server --locked
DISTCC_RS_SOAK_SECONDS="$secs" timeout "$((secs + 600))" \
  cargo test -p dcc-server --locked --test soak -- --ignored --nocapture
