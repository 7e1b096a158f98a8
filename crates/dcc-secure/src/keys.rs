//! X25519 keys and their one-line text files, in the spirit of OpenSSH's:
//!
//! ```text
//! distcc-rs-x25519 <base64 public key> [comment]            public key, authorized_keys line
//! distcc-rs-x25519-private <base64 private key> [comment]   private key file, mode 0600
//! ```
//!
//! A private key file that group or others may read is refused, as ssh refuses one
//! (`UNPROTECTED PRIVATE KEY FILE`): the key must be replaced, not just chmod-ed, once others
//! could read it. The public key is derived from the private one, never stored beside it, so
//! the two cannot disagree.

use std::fmt;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::base64;

/// The key type word of a public key line.
pub const PUBLIC_TAG: &str = "distcc-rs-x25519";
/// The key type word of a private key file.
pub const PRIVATE_TAG: &str = "distcc-rs-x25519-private";
/// Key files are small; anything larger is not one.
const MAX_KEY_FILE: u64 = 64 * 1024;

/// Why a key or key file was refused.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{}: permissions {mode:04o} are too open: a private key must not be readable by group or others (chmod 600, and make a new key if others could read it)",
        path.display()
    )]
    TooOpen { path: PathBuf, mode: u32 },
    #[error("{}: not a {expected} key file", path.display())]
    NotAKeyFile {
        path: PathBuf,
        expected: &'static str,
    },
    #[error("line does not start with \"{PUBLIC_TAG}\"")]
    WrongTag,
    #[error("the key is not base64 of 32 bytes")]
    BadKey,
    #[error("{} already exists (remove it first, or pass --force)", path.display())]
    Exists { path: PathBuf },
}

/// A public X25519 key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(pub [u8; 32]);

/// A private X25519 key. Wiped from memory when dropped.
#[derive(Clone)]
pub struct PrivateKey([u8; 32]);

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", base64::encode(&self.0))
    }
}

/// The base64 of the key, as it appears in key files and log lines.
impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&base64::encode(&self.0))
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey(public {})", self.public())
    }
}

impl Drop for PrivateKey {
    fn drop(&mut self) {
        for b in &mut self.0 {
            // SAFETY: a volatile write to a byte we own, so the wipe is not optimised away.
            unsafe { std::ptr::write_volatile(b, 0) };
        }
    }
}

fn key32(text: &str) -> Result<[u8; 32], KeyError> {
    base64::decode(text)
        .and_then(|v| <[u8; 32]>::try_from(v).ok())
        .ok_or(KeyError::BadKey)
}

impl PublicKey {
    /// Parse `distcc-rs-x25519 <base64> [comment]` (surrounding whitespace allowed); returns
    /// the key and the comment (empty when absent).
    pub fn parse_line(line: &str) -> Result<(PublicKey, String), KeyError> {
        let mut words = line.split_whitespace();
        if words.next() != Some(PUBLIC_TAG) {
            return Err(KeyError::WrongTag);
        }
        let key = key32(words.next().unwrap_or(""))?;
        let comment = words.collect::<Vec<_>>().join(" ");
        Ok((PublicKey(key), comment))
    }

    /// The public key line, without a newline.
    pub fn to_line(&self, comment: &str) -> String {
        if comment.is_empty() {
            format!("{PUBLIC_TAG} {self}")
        } else {
            format!("{PUBLIC_TAG} {self} {comment}")
        }
    }
}

impl PrivateKey {
    /// A new random key pair, from the operating system's random source.
    pub fn generate() -> Result<PrivateKey, crate::SecureError> {
        let kp = snow::Builder::new(crate::handshake::params())
            .generate_keypair()
            .map_err(crate::SecureError::noise)?;
        let bytes = <[u8; 32]>::try_from(kp.private.as_slice())
            .map_err(|_| crate::SecureError::noise(snow::Error::Input))?;
        Ok(PrivateKey(bytes))
    }

    pub fn from_bytes(bytes: [u8; 32]) -> PrivateKey {
        PrivateKey(bytes)
    }

    pub(crate) fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The matching public key (X25519 of the base point, the key clamped as X25519 does).
    pub fn public(&self) -> PublicKey {
        PublicKey(curve25519_dalek::MontgomeryPoint::mul_base_clamped(self.0).to_bytes())
    }

    /// Parse the text of a private key file; returns the key and its comment.
    pub fn parse(text: &str, path: &Path) -> Result<(PrivateKey, String), KeyError> {
        let not = || KeyError::NotAKeyFile {
            path: path.to_owned(),
            expected: "private",
        };
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .ok_or_else(not)?;
        let mut words = line.split_whitespace();
        if words.next() != Some(PRIVATE_TAG) {
            return Err(not());
        }
        let key = key32(words.next().unwrap_or("")).map_err(|_| not())?;
        Ok((PrivateKey(key), words.collect::<Vec<_>>().join(" ")))
    }

    /// The private key file's text.
    pub fn to_file_text(&self, comment: &str) -> String {
        let b = base64::encode(&self.0);
        if comment.is_empty() {
            format!("{PRIVATE_TAG} {b}\n")
        } else {
            format!("{PRIVATE_TAG} {b} {comment}\n")
        }
    }

    /// Read a private key file, refusing one that group or others may read.
    pub fn load(path: &Path) -> Result<(PrivateKey, String), KeyError> {
        let (text, meta) = read_text(path, MAX_KEY_FILE)?;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(KeyError::TooOpen {
                path: path.to_owned(),
                mode,
            });
        }
        PrivateKey::parse(&text, path)
    }

    /// Write the key to a new file of mode 0600 (never over an existing one unless `force`).
    pub fn save(&self, path: &Path, comment: &str, force: bool) -> Result<(), KeyError> {
        let io = |source| KeyError::Io {
            path: path.to_owned(),
            source,
        };
        if force {
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
                _ => {}
            }
        }
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    KeyError::Exists {
                        path: path.to_owned(),
                    }
                } else {
                    io(e)
                }
            })?;
        f.write_all(self.to_file_text(comment).as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(io)
    }
}

/// Read a key-sized text file.
pub(crate) fn read_small(path: &Path) -> Result<String, KeyError> {
    read_text(path, MAX_KEY_FILE).map(|(text, _)| text)
}

/// Read at most `limit` bytes of a text file, with the metadata of the file that was read.
pub(crate) fn read_text(path: &Path, limit: u64) -> Result<(String, std::fs::Metadata), KeyError> {
    use std::io::Read;
    let io = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    let f = std::fs::File::open(path).map_err(io)?;
    let meta = f.metadata().map_err(io)?;
    let mut text = String::new();
    f.take(limit).read_to_string(&mut text).map_err(io)?;
    Ok((text, meta))
}

/// Read a public key file (its first key line).
pub fn load_public(path: &Path) -> Result<(PublicKey, String), KeyError> {
    let text = read_small(path)?;
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .and_then(|l| PublicKey::parse_line(l).ok())
        .ok_or_else(|| KeyError::NotAKeyFile {
            path: path.to_owned(),
            expected: "public",
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7748_public_key_derivation() {
        // RFC 7748 §6.1: Alice's private and public keys.
        let hex = |s: &str| -> [u8; 32] {
            let v: Vec<u8> = (0..32)
                .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
                .collect();
            v.try_into().unwrap()
        };
        let k = PrivateKey::from_bytes(hex(
            "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
        ));
        assert_eq!(
            k.public().0,
            hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
        );
    }

    #[test]
    fn public_line_round_trip_and_errors() {
        let k = PrivateKey::generate().unwrap().public();
        let line = k.to_line("me@box");
        assert!(line.starts_with("distcc-rs-x25519 "));
        assert_eq!(line.len(), PUBLIC_TAG.len() + 1 + 44 + 7);
        let (back, comment) = PublicKey::parse_line(&format!("  {line}  \n")).unwrap();
        assert_eq!((back, comment.as_str()), (k, "me@box"));
        let (_, c) = PublicKey::parse_line(&k.to_line("")).unwrap();
        assert_eq!(c, "");
        assert!(matches!(
            PublicKey::parse_line("ssh-ed25519 AAAA x"),
            Err(KeyError::WrongTag)
        ));
        assert!(matches!(
            PublicKey::parse_line("distcc-rs-x25519 Zm9v"),
            Err(KeyError::BadKey)
        ));
        assert!(matches!(
            PublicKey::parse_line("distcc-rs-x25519"),
            Err(KeyError::BadKey)
        ));
    }

    #[test]
    fn private_file_mode_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("client.key");
        let k = PrivateKey::generate().unwrap();
        k.save(&p, "a comment", false).unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let (back, c) = PrivateKey::load(&p).unwrap();
        assert_eq!((back.public(), c.as_str()), (k.public(), "a comment"));
        assert!(matches!(
            k.save(&p, "", false),
            Err(KeyError::Exists { .. })
        ));
        k.save(&p, "", true).unwrap();

        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        let e = PrivateKey::load(&p).unwrap_err();
        assert!(e.to_string().contains("0640 are too open"), "{e}");

        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&p, k.public().to_line("")).unwrap();
        assert!(matches!(
            PrivateKey::load(&p),
            Err(KeyError::NotAKeyFile { .. })
        ));
        assert!(matches!(
            PrivateKey::load(&dir.path().join("missing")),
            Err(KeyError::Io { .. })
        ));
    }

    #[test]
    fn public_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.pub");
        let k = PrivateKey::generate().unwrap().public();
        std::fs::write(&p, format!("# mine\n{}\n", k.to_line("c"))).unwrap();
        assert_eq!(load_public(&p).unwrap().0, k);
        std::fs::write(&p, "junk\n").unwrap();
        assert!(load_public(&p).is_err());
    }

    #[test]
    fn debug_never_shows_the_private_key() {
        let k = PrivateKey::from_bytes([7; 32]);
        let shown = format!("{k:?}");
        assert!(!shown.contains(&base64::encode(&[7; 32])), "{shown}");
    }
}
