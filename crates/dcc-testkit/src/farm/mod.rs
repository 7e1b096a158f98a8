//! distcc's world on a [`Network`](super::Network): what the farm tests (crate
//! `dcc-farm-tests`) put on its hosts.
//!
//! - [`helper`]: a distccd (ours or Debian's) listening on a host's real address and port (3632
//!   by default: each host has its own namespace, so the guide's fixed ports never collide),
//!   with its own whitelist directory and log, and readers for its job summaries.
//! - [`build`]: a workload built with `make -jN` on a host (the master) through a distcc client,
//!   [`Client`] choosing whose; and the local reference objects to compare with.
//! - [`silent`]: a helper that accepts connections and never answers.
//! - [`makepkg`]: Arch's masquerade directory `/usr/lib/distcc/bin` and a PKGBUILD of a real C
//!   program, for the guide's makepkg flow run as an unprivileged user.
//!
//! The guide's addresses are in [`addr`].

pub mod build;
pub mod helper;
pub mod makepkg;
pub mod silent;

pub use build::{Build, Built, CLIENT, Client};
pub use helper::{Helper, HelperOptions, Job};
pub use silent::SilentListener;

/// The addresses of the distcc guide's farm (a master and helpers in 10.3.0.0/24) and of an
/// outsider in the same /16 LAN but outside the helpers' `--allow 10.3.0.0/24`.
pub mod addr {
    use std::net::Ipv4Addr;

    pub const MASTER: Ipv4Addr = Ipv4Addr::new(10, 3, 0, 10);
    /// A second master (the mixed fleet).
    pub const MASTER2: Ipv4Addr = Ipv4Addr::new(10, 3, 0, 11);
    pub const HELPER_A: Ipv4Addr = Ipv4Addr::new(10, 3, 0, 2);
    pub const HELPER_B: Ipv4Addr = Ipv4Addr::new(10, 3, 0, 6);
    pub const OUTSIDER: Ipv4Addr = Ipv4Addr::new(10, 3, 1, 5);
    /// The helpers' access list.
    pub const ALLOW: &str = "10.3.0.0/24";
}

/// GET `/` from `addr:port` over a connection made inside `from`'s namespace (a stats page),
/// returning everything the server sent.
pub fn http_get(from: &super::Host, addr: std::net::Ipv4Addr, port: u16) -> String {
    use std::io::{Read, Write};
    let h = from.spawn(move || {
        let mut s = std::net::TcpStream::connect_timeout(
            &std::net::SocketAddr::from((addr, port)),
            std::time::Duration::from_secs(10),
        )
        .expect("connect to the stats port");
        s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .expect("timeout");
        s.write_all(b"GET / HTTP/1.0\r\n\r\n").expect("send");
        let mut v = Vec::new();
        let _ = s.read_to_end(&mut v);
        String::from_utf8_lossy(&v).into_owned()
    });
    h.join().expect("stats thread")
}
