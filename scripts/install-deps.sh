#!/usr/bin/env bash
# Install what the tests, the demo and the benchmarks need on a fresh Debian machine with Rust.
# Idempotent: skips what is already there. Needs root (or sudo) for apt-get.
set -euo pipefail

packages=(
  distcc              # the reference implementation: distcc, distccd, distccmon-text
  distcc-pump         # the upgrade test: it must stay installed when our package replaces distcc
  gcc g++ make perl python3
  googletest          # the C++ workload (sources under /usr/src/googletest)
  iproute2            # ip netns, tc: the farm tests
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross   # the cross-compiling farm test
  makepkg pacman-package-manager libarchive-tools fakeroot  # the makepkg farm test
  systemd             # systemd-analyze verify of our units
  groff-base          # man page lint
  lintian             # the .deb is lintian clean
  logrotate           # the shipped logrotate file against a running daemon
  chromium            # the helper web page test (headless)
  tmux                # the live monitor test
  hyperfine valgrind  # benchmarks
  python3-matplotlib  # benchmark charts
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's package leaves distccd enabled only if STARTDISTCC=true; make sure no system daemon
# is running (tests start their own on free ports).
if command -v systemctl >/dev/null && systemctl is-active --quiet distcc 2>/dev/null; then
  systemctl stop distcc || true
fi

rustup component add clippy rustfmt >/dev/null 2>&1 || true
# The Debian package (crates/dcc-package): built and installed by crates/dcc-tools/tests/deb.rs.
if ! cargo deb --version >/dev/null 2>&1; then
  echo "installing cargo-deb"
  cargo install cargo-deb --version 3.8.0 --locked --quiet
fi
if ! cargo fuzz --help >/dev/null 2>&1; then
  echo "installing cargo-fuzz"
  cargo install cargo-fuzz --locked --quiet
fi
