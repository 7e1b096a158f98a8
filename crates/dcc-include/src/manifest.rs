//! The manifest: a translation unit's complete input set, as a sorted, versioned text.
//!
//! Every entry is a path on the master with what the helper needs to recreate it: a regular
//! file (size and BLAKE3 of its content), a symbolic link (its target, as `readlink` gives it)
//! or a directory. Each is `shipped` (the unit's own and the system's headers) or `system`
//! (under a directory that belongs to the compiler, such as `/usr/lib/gcc/TRIPLE/VER/include`:
//! the helper's compiler brings its own copy).
//!
//! The text form is the identity: entries sorted by path, one per line, paths escaped so that
//! any byte string survives (see [`escape`]). [`Manifest::digest`] hashes that text, so two
//! scans that find the same files give the same digest on any machine and in any order of
//! discovery; a result cache keys on it (with the argv and the compiler's identity).
//!
//! ```text
//! dcc-include-manifest 1
//! source /src/lua/lapi.c
//! d shipped /src/lua
//! f shipped 1234 9f86d0...(64 hex) /src/lua/lapi.h
//! l shipped /usr/include/foo.h -> ../lib/foo.h
//! f system 3211 0a1b... /usr/lib/gcc/x86_64-linux-gnu/12/include/stddef.h
//! ```

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The first line of the text form; a new layout gets a new number.
pub const HEADER: &str = "dcc-include-manifest 1";

/// Whose copy a helper uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    /// Sent to the helper (the project's files and the master's system headers).
    Shipped,
    /// Under a directory of the compiler itself: the helper's compiler has its own.
    System,
}

/// What a path is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A regular file the preprocessor may read.
    File {
        /// Its size in bytes.
        size: u64,
        /// BLAKE3 of its content.
        hash: [u8; 32],
    },
    /// A symbolic link met on the way to a file or a search directory.
    Symlink {
        /// The link's text, as `readlink` returns it (relative or absolute).
        target: PathBuf,
    },
    /// A directory on the way or on the search path (gcc skips search directories that do
    /// not exist, so the helper must create the same ones for `#include_next` to behave).
    Dir,
}

/// One entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Entry {
    /// Whose copy is used.
    pub origin: Origin,
    /// What it is.
    pub kind: Kind,
}

/// The complete input set of one translation unit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// The main source file, absolute (as the compiler is given it, joined to the cwd).
    pub source: PathBuf,
    /// Every path, sorted. Paths are absolute; files and directories are physical (no
    /// symlink in them), symlinks are the link's own path.
    pub entries: BTreeMap<PathBuf, Entry>,
}

/// A manifest text that does not parse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    /// The first line is not [`HEADER`].
    #[error("not a manifest of version 1")]
    Version,
    /// A line that does not fit the grammar.
    #[error("bad manifest line {line}")]
    BadLine {
        /// 1-based line number.
        line: usize,
    },
    /// Entries out of order or repeated (the text form is canonical).
    #[error("manifest line {line} is out of order")]
    Order {
        /// 1-based line number.
        line: usize,
    },
}

impl Manifest {
    /// The regular files, with their origin.
    pub fn files(&self) -> impl Iterator<Item = (&Path, &Entry)> {
        self.entries
            .iter()
            .filter(|(_, e)| matches!(e.kind, Kind::File { .. }))
            .map(|(p, e)| (p.as_path(), e))
    }

    /// The canonical text form.
    pub fn to_text(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.entries.len() * 100);
        out.extend_from_slice(HEADER.as_bytes());
        out.extend_from_slice(b"\nsource ");
        escape(self.source.as_os_str(), &mut out);
        out.push(b'\n');
        for (path, e) in &self.entries {
            let origin = match e.origin {
                Origin::Shipped => "shipped",
                Origin::System => "system",
            };
            match &e.kind {
                Kind::File { size, hash } => {
                    out.extend_from_slice(format!("f {origin} {size} ").as_bytes());
                    out.extend_from_slice(hex(hash).as_bytes());
                    out.push(b' ');
                    escape(path.as_os_str(), &mut out);
                }
                Kind::Symlink { target } => {
                    out.extend_from_slice(format!("l {origin} ").as_bytes());
                    escape(path.as_os_str(), &mut out);
                    out.extend_from_slice(b" -> ");
                    escape(target.as_os_str(), &mut out);
                }
                Kind::Dir => {
                    out.extend_from_slice(format!("d {origin} ").as_bytes());
                    escape(path.as_os_str(), &mut out);
                }
            }
            out.push(b'\n');
        }
        out
    }

    /// BLAKE3 of the text form: what a result cache keys on.
    pub fn digest(&self) -> [u8; 32] {
        *blake3::hash(&self.to_text()).as_bytes()
    }

    /// Parse the text form; only canonical text (sorted, no repeats) is accepted.
    pub fn from_text(text: &[u8]) -> Result<Self, ParseError> {
        let bad = |line| ParseError::BadLine { line };
        let mut lines = text
            .strip_suffix(b"\n")
            .unwrap_or(text)
            .split(|&c| c == b'\n');
        if lines.next() != Some(HEADER.as_bytes()) {
            return Err(ParseError::Version);
        }
        let source = lines
            .next()
            .and_then(|l| l.strip_prefix(b"source "))
            .and_then(unescape)
            .ok_or(bad(2))?;
        let mut m = Manifest {
            source,
            entries: BTreeMap::new(),
        };
        let mut last: Option<PathBuf> = None;
        for (n, line) in lines.enumerate() {
            let no = n + 3;
            let (path, entry) = parse_entry(line).ok_or(bad(no))?;
            if last.as_ref().is_some_and(|l| *l >= path) {
                return Err(ParseError::Order { line: no });
            }
            last = Some(path.clone());
            m.entries.insert(path, entry);
        }
        if !text.ends_with(b"\n") {
            return Err(bad(0));
        }
        Ok(m)
    }
}

fn parse_entry(line: &[u8]) -> Option<(PathBuf, Entry)> {
    let mut f = line.splitn(3, |&c| c == b' ');
    let tag = f.next()?;
    let origin = match f.next()? {
        b"shipped" => Origin::Shipped,
        b"system" => Origin::System,
        _ => return None,
    };
    let rest = f.next()?;
    let (path, kind) = match tag {
        b"f" => {
            let mut g = rest.splitn(3, |&c| c == b' ');
            let size = std::str::from_utf8(g.next()?).ok()?;
            // Canonical decimal only, so that parse → text is the identity.
            if size.is_empty() || (size.len() > 1 && size.starts_with('0')) {
                return None;
            }
            let size: u64 = size.parse().ok()?;
            let hash = unhex(g.next()?)?;
            (unescape(g.next()?)?, Kind::File { size, hash })
        }
        b"l" => {
            let at = rest.windows(4).position(|w| w == b" -> ")?;
            let target = unescape(&rest[at + 4..])?;
            (unescape(&rest[..at])?, Kind::Symlink { target })
        }
        b"d" => (unescape(rest)?, Kind::Dir),
        _ => return None,
    };
    Some((path, Entry { origin, kind }))
}

/// Lower-case hex of 32 bytes.
pub fn hex(h: &[u8; 32]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &[u8]) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in s.chunks(2).enumerate() {
        let d = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        out[i] = d(pair[0])? << 4 | d(pair[1])?;
    }
    Some(out)
}

/// Write a path so that any byte string survives a line-based text: `%`, controls, space,
/// DEL and bytes over 0x7e become `%XX`; the rest stays as it is (paths stay readable).
pub fn escape(p: &OsStr, out: &mut Vec<u8>) {
    for &c in p.as_bytes() {
        if c <= b' ' || c == b'%' || c >= 0x7f {
            out.extend_from_slice(format!("%{c:02X}").as_bytes());
        } else {
            out.push(c);
        }
    }
}

/// The inverse of [`escape`]; `None` for text [`escape`] cannot have written.
pub fn unescape(s: &[u8]) -> Option<PathBuf> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c == b'%' {
            let d = |c: u8| match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'A'..=b'F' => Some(c - b'A' + 10),
                _ => None,
            };
            let v = d(*s.get(i + 1)?)? << 4 | d(*s.get(i + 2)?)?;
            if !(v <= b' ' || v == b'%' || v >= 0x7f) {
                return None;
            }
            out.push(v);
            i += 3;
        } else if c <= b' ' || c >= 0x7f {
            return None;
        } else {
            out.push(c);
            i += 1;
        }
    }
    if out.is_empty() {
        return None;
    }
    Some(PathBuf::from(OsStr::from_bytes(&out)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Manifest {
        let mut m = Manifest {
            source: PathBuf::from("/src/a b.c"),
            ..Manifest::default()
        };
        m.entries.insert(
            "/src".into(),
            Entry {
                origin: Origin::Shipped,
                kind: Kind::Dir,
            },
        );
        m.entries.insert(
            "/src/a b.c".into(),
            Entry {
                origin: Origin::Shipped,
                kind: Kind::File {
                    size: 12,
                    hash: [7; 32],
                },
            },
        );
        m.entries.insert(
            "/usr/include/x.h".into(),
            Entry {
                origin: Origin::System,
                kind: Kind::Symlink {
                    target: "../%odd\ntarget".into(),
                },
            },
        );
        m
    }

    #[test]
    fn text_is_sorted_escaped_and_round_trips() {
        let m = sample();
        let t = m.to_text();
        let s = String::from_utf8(t.clone()).expect("ascii");
        assert_eq!(
            s,
            format!(
                "dcc-include-manifest 1\nsource /src/a%20b.c\nd shipped /src\nf shipped 12 {} /src/a%20b.c\nl system /usr/include/x.h -> ../%25odd%0Atarget\n",
                "07".repeat(32)
            )
        );
        assert_eq!(Manifest::from_text(&t), Ok(m));
    }

    #[test]
    fn the_digest_changes_with_any_content_hash() {
        let a = sample();
        let mut b = sample();
        if let Some(Entry {
            kind: Kind::File { hash, .. },
            ..
        }) = b.entries.get_mut(Path::new("/src/a b.c"))
        {
            hash[0] = 8;
        }
        assert_ne!(a.digest(), b.digest());
        assert_eq!(a.digest(), sample().digest());
    }

    #[test]
    fn non_canonical_text_is_refused() {
        let t = sample().to_text();
        let s = String::from_utf8(t).expect("ascii");
        let swapped = s.replace("d shipped /src\n", "") + "d shipped /src\n";
        assert_eq!(
            Manifest::from_text(swapped.as_bytes()),
            Err(ParseError::Order { line: 5 })
        );
        assert!(Manifest::from_text(s.replace(" 12 ", " 012 ").as_bytes()).is_err());
        assert!(Manifest::from_text(s.replace("%20", "%2").as_bytes()).is_err());
        assert!(Manifest::from_text(s.replace("%20", "%41").as_bytes()).is_err());
        assert_eq!(
            Manifest::from_text(b"dcc-include-manifest 2\n"),
            Err(ParseError::Version)
        );
    }

    proptest! {
        #[test]
        fn any_path_bytes_round_trip(bytes in proptest::collection::vec(1u8..=255, 1..40)) {
            let p = PathBuf::from(OsStr::from_bytes(&bytes));
            let mut out = Vec::new();
            escape(p.as_os_str(), &mut out);
            prop_assert!(!out.contains(&b' ') && !out.contains(&b'\n'));
            prop_assert_eq!(unescape(&out), Some(p));
        }

        #[test]
        fn parsing_any_bytes_never_panics(t in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut text = HEADER.as_bytes().to_vec();
            text.push(b'\n');
            text.extend_from_slice(&t);
            if let Ok(m) = Manifest::from_text(&text) {
                prop_assert_eq!(m.to_text(), text);
            }
        }
    }
}
