//! Client access control (distcc src/access.c, src/srvnet.c `dcc_check_client`).
//!
//! `--allow` takes `IP` or `IP/BITS`, IPv4 or IPv6, and may repeat. `--allow-private` adds the
//! non-Internet ranges. An IPv4-mapped IPv6 client address (`::ffff:10.0.0.1`, what a dual-stack
//! socket reports for an IPv4 peer) is matched as the IPv4 address (distcc bug #443, fixed in
//! #444).
//!
//! Deliberate difference from distcc 3.4: with no `--allow` at all, 3.4 warns "Defaulting to
//! --allow-private" and then allows everyone (its private list is never installed). We do what
//! the warning says, as upstream HEAD does (commit a627b26).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// One `--allow` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllowEntry(IpNet);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllowError {
    #[error("can't parse internet address \"{0}\"")]
    Address(String),
    #[error("invalid mask \"{0}\"")]
    Mask(String),
}

impl FromStr for AllowEntry {
    type Err = AllowError;

    /// `10.0.0.0/8`, `10.1.2.3` (a single host), `::1`, `fe80::/10`. As distcc's
    /// `dcc_parse_mask`, host bits set under the mask are ignored (`10.1.2.3/8` = `10.0.0.0/8`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, bits) = match s.split_once('/') {
            Some((a, b)) => (a, Some(b)),
            None => (s, None),
        };
        let ip: IpAddr = addr
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .map_err(|_| AllowError::Address(s.to_owned()))?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let bits = match bits {
            None => max,
            Some(b) => match b.parse::<u8>() {
                Ok(n) if n <= max => n,
                _ => return Err(AllowError::Mask(b.to_owned())),
            },
        };
        let net = match ip {
            IpAddr::V4(v4) => {
                IpNet::V4(Ipv4Net::new(v4, bits).map_err(|_| AllowError::Mask(s.to_owned()))?)
            }
            IpAddr::V6(v6) => {
                IpNet::V6(Ipv6Net::new(v6, bits).map_err(|_| AllowError::Mask(s.to_owned()))?)
            }
        };
        Ok(AllowEntry(net.trunc()))
    }
}

impl fmt::Display for AllowEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The private ranges of `--allow-private` (distcc src/dopt.c).
pub fn private_ranges() -> Vec<AllowEntry> {
    [
        "192.168.0.0/16",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "127.0.0.0/8",
        "fe80::/10",
        "fc00::/7",
        "::1/128",
    ]
    .iter()
    .filter_map(|s| s.parse().ok())
    .collect()
}

/// The access list a daemon enforces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowList {
    entries: Vec<AllowEntry>,
}

impl AllowList {
    pub fn new(entries: Vec<AllowEntry>) -> Self {
        AllowList { entries }
    }

    pub fn entries(&self) -> &[AllowEntry] {
        &self.entries
    }

    /// Whether `ip` may connect.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.entries.iter().any(|e| e.0.contains(&ip))
    }
}

/// How a job's log lines name its client: `ip:port` (IPv4-mapped addresses as IPv4), or
/// distcc's `NOTSOCKET` for a pipe (ssh mode, inetd on a non-socket).
pub fn client_name(peer: Option<std::net::SocketAddr>) -> String {
    peer.map(|p| format!("{}:{}", canonical(p.ip()), p.port()))
        .unwrap_or_else(|| "NOTSOCKET".into())
}

/// An IPv4-mapped IPv6 address as the IPv4 address it carries; others unchanged.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// Whether `ip` is loopback (used for messages, never for access decisions).
pub fn is_loopback(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => v4 == Ipv4Addr::LOCALHOST || v4.octets()[0] == 127,
        IpAddr::V6(v6) => v6 == Ipv6Addr::LOCALHOST,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_like_dcc_parse_mask() {
        let e: AllowEntry = "10.3.0.0/24".parse().unwrap();
        assert_eq!(e.to_string(), "10.3.0.0/24");
        let e: AllowEntry = "10.3.0.7/16".parse().unwrap();
        assert_eq!(e.to_string(), "10.3.0.0/16");
        let e: AllowEntry = "127.0.0.1".parse().unwrap();
        assert_eq!(e.to_string(), "127.0.0.1/32");
        let e: AllowEntry = "::1".parse().unwrap();
        assert_eq!(e.to_string(), "::1/128");
        let e: AllowEntry = "fe80::1/10".parse().unwrap();
        assert_eq!(e.to_string(), "fe80::/10");
        assert!("10.0.0.0/33".parse::<AllowEntry>().is_err());
        assert!("10.0.0.0/".parse::<AllowEntry>().is_err());
        assert!("10.0.0.0/x".parse::<AllowEntry>().is_err());
        assert!("300.0.0.1".parse::<AllowEntry>().is_err());
        assert!("host.example".parse::<AllowEntry>().is_err());
        assert!("::1/129".parse::<AllowEntry>().is_err());
    }

    #[test]
    fn matches_v4_v6_and_mapped() {
        let list = AllowList::new(vec!["10.3.0.0/24".parse().unwrap(), "::1".parse().unwrap()]);
        assert!(list.allows(ip("10.3.0.6")));
        assert!(!list.allows(ip("10.3.1.5")));
        assert!(list.allows(ip("::ffff:10.3.0.2")));
        assert!(!list.allows(ip("::ffff:10.3.1.2")));
        assert!(list.allows(ip("::1")));
        assert!(!list.allows(ip("::2")));
        assert!(!list.allows(ip("127.0.0.1")));
    }

    #[test]
    fn private_ranges_cover_what_distcc_lists() {
        let list = AllowList::new(private_ranges());
        for ok in [
            "192.168.1.1",
            "10.1.2.3",
            "172.31.255.1",
            "127.0.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
        ] {
            assert!(list.allows(ip(ok)), "{ok}");
        }
        for no in ["198.51.100.7", "8.8.8.8", "172.32.0.1", "2001:db8::1"] {
            assert!(!list.allows(ip(no)), "{no}");
        }
    }
}
