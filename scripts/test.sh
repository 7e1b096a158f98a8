#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, every test (unit, wire, interop with
# Debian's distcc 3.4, farm tests in network namespaces), a bounded fuzz pass, a one-minute
# soak of the daemon (scripts/soak.sh) and a benchmark smoke run. Installs missing
# prerequisites first (scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

echo "== fmt";    cargo fmt --all --check
echo "== clippy"; cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== build";  cargo build --workspace --all-targets --locked
echo "== tests";  cargo test --workspace --locked -- --test-threads="${DISTCC_RS_TEST_THREADS:-4}"
echo "== fuzz";   bash fuzz/run.sh "${DISTCC_RS_FUZZ_SECONDS:-10}"
echo "== soak";   bash scripts/soak.sh "${DISTCC_RS_SOAK_SECONDS:-60}"
echo "== clone without neighbours"
# A user's `git clone` has nothing beside it: clone this repository into an empty directory and
# run the README's main command (the demo) and the suite's workload preparation there, in the
# clone's own target directory. This proves the committed tree; uncommitted changes are not in
# the clone.
alone=$(mktemp -d /tmp/distcc-rs-alone.XXXXXX)
git clone -q "$PWD" "$alone/distcc-rs"
(cd "$alone/distcc-rs" && unset CARGO_TARGET_DIR && bash scripts/demo.sh &&
  cargo test -q -p dcc-testkit --test standalone --locked)
rm -rf "$alone"
if [ -f bench/run.sh ]; then
  echo "== bench smoke"; bash bench/run.sh --smoke
fi
echo "all green"
