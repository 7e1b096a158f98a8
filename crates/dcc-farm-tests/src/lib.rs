//! dcc-farm-tests: no code, only tests (`tests/`). Each test builds a small farm on this machine
//! with `dcc_testkit::netns` (a master, helpers and an outsider as network namespaces on a
//! private bridge, addresses in 10.3.0.0/16) and runs the distcc guide's scenarios on it:
//! spreading work, access control, cross compiling, a second daemon per helper, failing
//! helpers, a mixed fleet with Debian's distcc 3.4, and makepkg.
//!
//! The tests need root (CI runs as root), iproute2, make, gcc, Debian's distcc, and for two of
//! them gcc-aarch64-linux-gnu and makepkg (see each test's message). They run one at a time
//! (a machine-wide lock in `dcc_testkit::netns`).
