//! dcc-package: no code, only the Debian package recipe of distcc-rs in this crate's
//! `Cargo.toml` (`[package.metadata.deb]`, read by `cargo deb -p dcc-package`). It is a crate
//! of its own so the package gets distcc-rs's name and description rather than those of a
//! tool crate. Its assets are the binaries of `dcc-client`, `dcc-server`, `dcc-monitor` and
//! `dcc-tools`, and the files under `packaging/`; `dcc-tools`' tests check that every asset
//! exists and that the Arch PKGBUILD installs the same files.
