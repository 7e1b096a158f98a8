//! The client's known hosts file (`$DISTCC_DIR/known_hosts`): which public key each daemon
//! must prove it holds. One line per daemon:
//!
//! ```text
//! HOSTS distcc-rs-x25519 <base64 public key> [comment]
//! HOSTS = HOST[:PORT] { , HOST[:PORT] }      HOST = name | IPv4 | [IPv6]
//! ```
//!
//! so the line `distcc-keygen` prints for a daemon's key can be pasted after the host's name.
//! HOST is compared, without DNS and ignoring ASCII case, with the host as written in
//! `DISTCC_HOSTS`. An entry with a port is used for that port only and wins over an entry
//! without one, which is used for any port. Blank lines and `#` comments are ignored; a
//! malformed line matches nothing.

use std::path::Path;

use crate::keys::{KeyError, PublicKey, read_small};

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    host: String,
    port: Option<u16>,
}

/// A parsed known hosts file.
#[derive(Debug, Clone, Default)]
pub struct KnownHosts {
    entries: Vec<(Vec<Pattern>, PublicKey)>,
}

fn pattern(text: &str) -> Option<Pattern> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (h, port)
    } else {
        match text.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (text, None),
        }
    };
    if host.is_empty() {
        return None;
    }
    let port = match port {
        None => None,
        Some(p) => Some(p.parse::<u16>().ok().filter(|&p| p != 0)?),
    };
    Some(Pattern {
        host: host.to_ascii_lowercase(),
        port,
    })
}

impl KnownHosts {
    /// Parse the file's text.
    pub fn parse(text: &str) -> KnownHosts {
        let mut entries = Vec::new();
        for line in text.lines() {
            let l = line.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let Some((hosts, key)) = l.split_once(char::is_whitespace) else {
                continue;
            };
            let Ok((key, _)) = PublicKey::parse_line(key) else {
                continue;
            };
            let pats: Option<Vec<Pattern>> = hosts.split(',').map(pattern).collect();
            if let Some(p) = pats {
                entries.push((p, key));
            }
        }
        KnownHosts { entries }
    }

    /// Read and parse the file.
    pub fn load(path: &Path) -> Result<KnownHosts, KeyError> {
        Ok(KnownHosts::parse(&read_small(path)?))
    }

    /// The key of `host` (as written in DISTCC_HOSTS, IPv6 without brackets) on `port`.
    pub fn find(&self, host: &str, port: u16) -> Option<PublicKey> {
        let host = host.to_ascii_lowercase();
        let hit = |want: Option<u16>| {
            self.entries.iter().find_map(|(pats, key)| {
                pats.iter()
                    .any(|p| p.host == host && p.port == want)
                    .then_some(*key)
            })
        };
        hit(Some(port)).or_else(|| hit(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::PrivateKey;

    #[test]
    fn lookups() {
        let k1 = PrivateKey::generate().unwrap().public();
        let k2 = PrivateKey::generate().unwrap().public();
        let k3 = PrivateKey::generate().unwrap().public();
        let text = format!(
            "# farm\nHelper1,10.0.0.5 {}\nhelper1:3700 {}\n[::1]:4000,[fe80::1] {}\nbroken\nbad:0 {}\n",
            k1.to_line("host key"),
            k2.to_line(""),
            k3.to_line(""),
            k1.to_line("")
        );
        let kh = KnownHosts::parse(&text);
        assert_eq!(kh.find("helper1", 3632), Some(k1));
        assert_eq!(kh.find("HELPER1", 3632), Some(k1));
        assert_eq!(kh.find("10.0.0.5", 1), Some(k1));
        assert_eq!(
            kh.find("helper1", 3700),
            Some(k2),
            "the port-specific entry wins"
        );
        assert_eq!(kh.find("::1", 4000), Some(k3));
        assert_eq!(kh.find("::1", 3632), None);
        assert_eq!(kh.find("fe80::1", 3632), Some(k3));
        assert_eq!(kh.find("helper2", 3632), None);
        assert_eq!(kh.find("bad", 0), None);
    }

    #[test]
    fn patterns() {
        assert_eq!(pattern("h:1").unwrap().port, Some(1));
        assert!(pattern("h:").is_none());
        assert!(pattern("h:x").is_none());
        assert!(pattern("[::1").is_none());
        assert!(pattern("[::1]x").is_none());
        assert!(pattern("").is_none());
        assert!(pattern(":5").is_none());
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(text in "(.{0,70}\n){0,4}", host in ".{0,10}", port: u16) {
            let _ = KnownHosts::parse(&text).find(&host, port);
        }
    }
}
