//! dcc-zeroconf: helpers found over mDNS/DNS-SD, both ends, and the one crate that uses
//! mdns-sd (distcc src/zeroconf.c, src/zeroconf-reg.c, src/gcc-id.c; reference §2.3, §4.1).
//!
//! How the pieces fit:
//! - [`id`]: what both ends share: the native compiler's identity (`cc -dumpversion`,
//!   `-dumpmachine`), the DNS-SD subtype built from it (a master only finds helpers with its
//!   own compiler), and the netlink check (mdns-sd lists interfaces through netlink).
//! - [`announce`]: `distccd --zeroconf`: the daemon registers `distcc@<host>` with distcc's
//!   TXT record and subtype, and withdraws it when the [`announce::Announcement`] is dropped.
//! - [`client`]: `+zeroconf` in a host list: the client reads the browser's
//!   `$DISTCC_DIR/zeroconf/hosts` under distcc's lock, starting a browser when none runs.
//! - [`browser`]: that background browser process, forked from a client, which keeps the
//!   file current.
//!
//! The client links this crate and so mdns-sd (and mio under it); only the forked browser
//! runs mdns-sd's code.

pub mod announce;
pub mod browser;
pub mod client;
pub mod id;

pub use id::{CompilerId, SERVICE_TYPE, netlink, subtype};
