//! The daemon's authorized keys file: one client public key per line, as `distcc-keygen`
//! prints it (`distcc-rs-x25519 <base64> [comment]`); blank lines and `#` comments are
//! ignored. Revoking a client is deleting its line: the daemon reads the file again for every
//! handshake, so the next connection with that key is refused.
//!
//! A malformed line authorizes nobody; it is reported (line number and why) and the rest of
//! the file still counts, as with ssh's authorized_keys.

use std::path::Path;

use crate::keys::{KeyError, PublicKey, read_text};

/// A parsed authorized keys file.
#[derive(Debug, Default)]
pub struct AuthorizedKeys {
    entries: Vec<(PublicKey, String)>,
    /// Lines that are neither keys, comments nor blank: (1-based line number, why).
    pub bad_lines: Vec<(usize, KeyError)>,
}

impl AuthorizedKeys {
    /// Parse the file's text.
    pub fn parse(text: &str) -> AuthorizedKeys {
        let mut out = AuthorizedKeys::default();
        for (i, line) in text.lines().enumerate() {
            let l = line.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            match PublicKey::parse_line(l) {
                Ok(entry) => out.entries.push(entry),
                Err(e) => out.bad_lines.push((i + 1, e)),
            }
        }
        out
    }

    /// Read and parse the file.
    pub fn load(path: &Path) -> Result<AuthorizedKeys, KeyError> {
        let (text, _) = read_text(path, MAX_AUTHORIZED_FILE)?;
        Ok(AuthorizedKeys::parse(&text))
    }

    /// The comment of `key`'s line, if the key is authorized.
    pub fn find(&self, key: &PublicKey) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, c)| c.as_str())
    }

    /// How many keys the file authorizes.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Authorized keys files list many keys; allow up to 16 MiB (about 200 000 keys).
const MAX_AUTHORIZED_FILE: u64 = 16 << 20;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::PrivateKey;

    #[test]
    fn keys_comments_and_bad_lines() {
        let a = PrivateKey::generate().unwrap().public();
        let b = PrivateKey::generate().unwrap().public();
        let c = PrivateKey::generate().unwrap().public();
        let text = format!(
            "# build farm clients\n\n{}\n   {}  \nssh-ed25519 AAAA nope\n# {}\n",
            a.to_line("alice@ws1"),
            b.to_line(""),
            c.to_line("commented out")
        );
        let ak = AuthorizedKeys::parse(&text);
        assert_eq!(ak.len(), 2);
        assert_eq!(ak.find(&a), Some("alice@ws1"));
        assert_eq!(ak.find(&b), Some(""));
        assert_eq!(ak.find(&c), None, "a commented line authorizes nobody");
        assert_eq!(ak.bad_lines.len(), 1);
        assert_eq!(ak.bad_lines[0].0, 5);
    }

    #[test]
    fn deleting_the_line_revokes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("authorized_keys");
        let a = PrivateKey::generate().unwrap().public();
        let b = PrivateKey::generate().unwrap().public();
        std::fs::write(&p, format!("{}\n{}\n", a.to_line("a"), b.to_line("b"))).unwrap();
        assert!(AuthorizedKeys::load(&p).unwrap().find(&a).is_some());
        std::fs::write(&p, format!("{}\n", b.to_line("b"))).unwrap();
        let ak = AuthorizedKeys::load(&p).unwrap();
        assert!(ak.find(&a).is_none());
        assert!(ak.find(&b).is_some());
        assert!(AuthorizedKeys::load(&dir.path().join("missing")).is_err());
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(text in "(.{0,60}\n){0,5}") {
            let ak = AuthorizedKeys::parse(&text);
            proptest::prop_assert!(ak.len() <= 5);
        }
    }
}
