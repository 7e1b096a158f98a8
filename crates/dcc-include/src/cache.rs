//! The on-disk memo shared by every client process of a build: per file, its content hash and
//! directives, keyed by what `stat` says about it.
//!
//! A client runs once per compile, so a memo in memory dies with it; the disk memo makes the
//! work for a header once per build instead of once per unit. An entry is used only when the
//! file's path, device, inode, size, mtime and ctime (nanoseconds) are all those recorded, so
//! an edit (which moves mtime and ctime) or a replacement (a new inode) is a miss. A file
//! changed within the clock's granularity of the scan that recorded it could keep all of
//! these, so files younger than a few seconds are never recorded ("racy" entries, as git's
//! index does). Every entry ends with a BLAKE3 of its bytes: a torn or corrupt entry is a
//! miss, never a wrong answer. Writers write a temporary file and rename it over the entry,
//! so concurrent clients see an old entry, a new one or none. The number of entries is
//! bounded: now and then a writer sweeps the oldest away.

use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::lexer::{Define, Directive, IncludeKind, Target};
use crate::manifest::{escape, hex, unescape};

/// What `stat` says about a file; equal identities mean "not changed" (modulo the racy
/// window, see the module text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Identity {
    /// Device.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, ns since the epoch.
    pub mtime_ns: i128,
    /// Status change time, ns since the epoch (moves on any write, even one that restores
    /// the mtime).
    pub ctime_ns: i128,
}

impl Identity {
    /// From metadata.
    pub fn of(m: &std::fs::Metadata) -> Self {
        Identity {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
            ctime_ns: i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec()),
        }
    }
}

/// The identity of the file at `p` (following symlinks).
pub fn file_identity(p: &Path) -> std::io::Result<Identity> {
    std::fs::metadata(p).map(|m| Identity::of(&m))
}

const MAGIC: &[u8] = b"dcc-include-cache 1\n";
/// No cache file is read past this size.
const MAX_ENTRY: u64 = 64 << 20;

/// Read an entry written by [`write_checked`] with the same key; `None` on any mismatch.
pub(crate) fn read_checked(path: &Path, key: &[u8]) -> Option<Vec<u8>> {
    let f = std::fs::File::open(path).ok()?;
    let mut buf = Vec::new();
    f.take(MAX_ENTRY).read_to_end(&mut buf).ok()?;
    let body_end = buf.len().checked_sub(65)?;
    let (data, sum) = buf.split_at(body_end);
    if sum[64] != b'\n' || hex(blake3::hash(data).as_bytes()).as_bytes() != &sum[..64] {
        return None;
    }
    let rest = data.strip_prefix(MAGIC)?;
    let nl = rest.iter().position(|&c| c == b'\n')?;
    let klen: usize = std::str::from_utf8(&rest[..nl]).ok()?.parse().ok()?;
    let rest = &rest[nl + 1..];
    if rest.get(..klen)? != key {
        return None;
    }
    Some(rest[klen..].to_vec())
}

/// Write `body` under `dir/name`, with `key` and a checksum, atomically (temp + rename).
pub(crate) fn write_checked(
    dir: &Path,
    name: &str,
    key: &[u8],
    body: &[u8],
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut data = Vec::with_capacity(MAGIC.len() + key.len() + body.len() + 90);
    data.extend_from_slice(MAGIC);
    data.extend_from_slice(format!("{}\n", key.len()).as_bytes());
    data.extend_from_slice(key);
    data.extend_from_slice(body);
    let sum = hex(blake3::hash(&data).as_bytes());
    data.extend_from_slice(sum.as_bytes());
    data.push(b'\n');
    // Unique among processes (pid) and among threads of one process (counter).
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".tmp-{}-{seq}", std::process::id()));
    std::fs::write(&tmp, &data)?;
    std::fs::rename(&tmp, dir.join(name)).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// What the memo holds for one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFacts {
    /// BLAKE3 of the content.
    pub hash: [u8; 32],
    /// The include directives (everything but `#define`).
    pub directives: Vec<Directive>,
    /// The `#define`s, needed only for computed includes.
    pub defines: Defines,
}

impl FileFacts {
    /// Split a lexed file's directives into includes and defines.
    pub fn new(hash: [u8; 32], all: Vec<Directive>) -> Self {
        let mut directives = Vec::new();
        let mut defines = Vec::new();
        for d in all {
            match d {
                Directive::Define(d) => defines.push(d),
                d => directives.push(d),
            }
        }
        FileFacts {
            hash,
            directives,
            defines: Defines::Parsed(defines),
        }
    }
}

/// Macro names to look up, plain and as the memo writes them.
#[derive(Debug, Default)]
pub struct Names {
    plain: std::collections::HashSet<String>,
    encoded: std::collections::HashSet<Vec<u8>>,
}

impl Names {
    /// The set of `names`.
    pub fn new(names: impl IntoIterator<Item = String>) -> Self {
        let mut n = Names::default();
        for s in names {
            let mut e = Vec::new();
            put_str(&mut e, &s);
            n.encoded.insert(e);
            n.plain.insert(s);
        }
        n
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.plain.is_empty()
    }
}

/// A file's `#define`s. A system header has hundreds and most units have no computed
/// include, so from the memo they stay encoded until a computed include asks for a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Defines {
    /// As lexed.
    Parsed(Vec<Define>),
    /// The memo's `d` lines, undecoded.
    Encoded(Vec<u8>),
}

impl Defines {
    /// Append the definitions of the macros in `names` to `out`.
    pub fn named(&self, names: &Names, out: &mut Vec<Define>) {
        match self {
            Defines::Parsed(v) => {
                out.extend(v.iter().filter(|d| names.plain.contains(&d.name)).cloned())
            }
            Defines::Encoded(b) => {
                for l in b.split(|&c| c == b'\n') {
                    let mut f = l.splitn(3, |&c| c == b' ');
                    let (Some(b"d"), Some(name)) = (f.next(), f.next()) else {
                        continue;
                    };
                    if names.encoded.contains(name)
                        && let Some(Directive::Define(d)) = decode_line(l)
                    {
                        out.push(d);
                    }
                }
            }
        }
    }

    /// All of them (tests).
    pub fn all(&self) -> Vec<Define> {
        match self {
            Defines::Parsed(v) => v.clone(),
            Defines::Encoded(b) => b
                .split(|&c| c == b'\n')
                .filter_map(|l| match decode_line(l) {
                    Some(Directive::Define(d)) => Some(d),
                    _ => None,
                })
                .collect(),
        }
    }
}

/// The per-file memo in a directory (`<dir>/files-3/xx/<hash of path>`).
#[derive(Debug, Clone)]
pub struct DirectiveCache {
    dir: PathBuf,
    /// Files whose mtime or ctime is this close to now are not recorded.
    pub racy: Duration,
    /// About this many entries at most.
    pub max_entries: usize,
}

impl DirectiveCache {
    /// The memo under `cache_dir` with the default limits (2 s racy window, 50 000 entries).
    pub fn new(cache_dir: &Path) -> Self {
        DirectiveCache {
            // The version names the lexer's output too: bump it when the lexer finds
            // something new, or old entries would hide it.
            dir: cache_dir.join("files-3"),
            racy: Duration::from_secs(2),
            max_entries: 50_000,
        }
    }

    fn slot(&self, path: &Path, id: &Identity) -> (PathBuf, String, Vec<u8>) {
        let name = hex(blake3::hash(path.as_os_str().as_bytes()).as_bytes());
        let sub = self.dir.join(&name[..2]);
        let mut key = Vec::new();
        escape(path.as_os_str(), &mut key);
        key.extend_from_slice(format!(" {id:?}\n").as_bytes());
        (sub, name, key)
    }

    /// The memo for `path` if its identity is still `id`.
    pub fn get(&self, path: &Path, id: &Identity) -> Option<FileFacts> {
        let (sub, name, key) = self.slot(path, id);
        decode(&read_checked(&sub.join(name), &key)?)
    }

    /// Record `facts` for `path` as it was at `id` (unless it is too young to trust).
    pub fn put(&self, path: &Path, id: &Identity, facts: &FileFacts) {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i128);
        let racy = self.racy.as_nanos() as i128;
        if now - id.mtime_ns < racy || now - id.ctime_ns < racy {
            return;
        }
        let (sub, name, key) = self.slot(path, id);
        if write_checked(&sub, &name, &key, &encode(facts)).is_ok() && name.ends_with("00") {
            // About one write in 256 checks the size.
            self.sweep();
        }
    }

    /// Remove the oldest entries when there are more than `max_entries`, down to 3/4 of it.
    pub fn sweep(&self) {
        sweep(&self.dir, self.max_entries);
    }
}

/// Remove the oldest entries of a `dir/xx/entry` memo when there are more than `max`, down to
/// 3/4 of it.
pub(crate) fn sweep(dir: &Path, max: usize) {
    let mut all = Vec::new();
    let Ok(subs) = std::fs::read_dir(dir) else {
        return;
    };
    for sub in subs.flatten() {
        let Ok(files) = std::fs::read_dir(sub.path()) else {
            continue;
        };
        for f in files.flatten() {
            let t = f
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            all.push((t, f.path()));
        }
    }
    if all.len() <= max {
        return;
    }
    all.sort();
    let excess = all.len() - max * 3 / 4;
    for (_, p) in all.into_iter().take(excess) {
        let _ = std::fs::remove_file(p);
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    // A leading dot lets the empty string through the path escaping.
    out.push(b'.');
    escape(std::ffi::OsStr::new(s), out);
}

fn get_str(s: &[u8]) -> Option<String> {
    let s = s.strip_prefix(b".")?;
    if s.is_empty() {
        return Some(String::new());
    }
    unescape(s)?.into_os_string().into_string().ok()
}

fn put_target(out: &mut Vec<u8>, t: &Target) {
    let (tag, s) = match t {
        Target::Quote(s) => ("q ", s),
        Target::Angle(s) => ("a ", s),
        Target::Computed(s) => ("c ", s),
    };
    out.extend_from_slice(tag.as_bytes());
    put_str(out, s);
}

fn get_target(tag: &[u8], s: &[u8]) -> Option<Target> {
    let s = get_str(s)?;
    Some(match tag {
        b"q" => Target::Quote(s),
        b"a" => Target::Angle(s),
        b"c" => Target::Computed(s),
        _ => return None,
    })
}

/// The body of a memo entry: the hash, then one line per directive.
fn encode(f: &FileFacts) -> Vec<u8> {
    let mut out = hex(&f.hash).into_bytes();
    out.push(b'\n');
    let defines: Vec<Directive> = f.defines.all().into_iter().map(Directive::Define).collect();
    for d in f.directives.iter().chain(&defines) {
        match d {
            Directive::Include { kind, target } => {
                let k = match kind {
                    IncludeKind::Include => "i0 ",
                    IncludeKind::IncludeNext => "i1 ",
                    IncludeKind::Import => "i2 ",
                };
                out.extend_from_slice(k.as_bytes());
                put_target(&mut out, target);
            }
            Directive::HasInclude { next, target } => {
                out.extend_from_slice(if *next { b"h1 " } else { b"h0 " });
                put_target(&mut out, target);
            }
            Directive::Define(def) => {
                out.extend_from_slice(b"d ");
                put_str(&mut out, &def.name);
                out.push(b' ');
                match &def.params {
                    None => out.push(b'-'),
                    Some(p) => put_str(&mut out, &p.join(",")),
                }
                out.push(b' ');
                put_str(&mut out, &def.body);
            }
            Directive::NonUtf8 => out.push(b'n'),
        }
        out.push(b'\n');
    }
    out
}

fn decode(body: &[u8]) -> Option<FileFacts> {
    let body = body.strip_suffix(b"\n")?;
    let (h, mut rest) = body.split_at_checked(64)?;
    let mut hash = [0u8; 32];
    for (i, pair) in h.chunks(2).enumerate() {
        hash[i] = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    let mut directives = Vec::new();
    // The include lines come first; the `d` lines after them stay encoded.
    while let Some(r) = rest.strip_prefix(b"\n") {
        if r.starts_with(b"d ") {
            let enc = r.to_vec();
            // Each encoded line must decode, or the entry is not trusted.
            if enc
                .split(|&c| c == b'\n')
                .any(|l| !matches!(decode_line(l), Some(Directive::Define(_))))
            {
                return None;
            }
            return Some(FileFacts {
                hash,
                directives,
                defines: Defines::Encoded(enc),
            });
        }
        let end = r.iter().position(|&c| c == b'\n').unwrap_or(r.len());
        directives.push(decode_line(&r[..end])?);
        rest = &r[end..];
    }
    if !rest.is_empty() {
        return None;
    }
    Some(FileFacts {
        hash,
        directives,
        defines: Defines::Parsed(Vec::new()),
    })
}

fn decode_line(l: &[u8]) -> Option<Directive> {
    let f: Vec<&[u8]> = l.split(|&c| c == b' ').collect();
    Some(match f.as_slice() {
        [b"n"] => Directive::NonUtf8,
        [k, tag, s] if k.len() == 2 && k[0] == b'i' => Directive::Include {
            kind: match k[1] {
                b'0' => IncludeKind::Include,
                b'1' => IncludeKind::IncludeNext,
                b'2' => IncludeKind::Import,
                _ => return None,
            },
            target: get_target(tag, s)?,
        },
        [k, tag, s] if k.len() == 2 && k[0] == b'h' => Directive::HasInclude {
            next: k[1] == b'1',
            target: get_target(tag, s)?,
        },
        [b"d", name, params, body] => Directive::Define(Define {
            name: get_str(name)?,
            params: match *params {
                b"-" => None,
                p => {
                    let p = get_str(p)?;
                    Some(if p.is_empty() {
                        Vec::new()
                    } else {
                        p.split(',').map(str::to_owned).collect()
                    })
                }
            },
            body: get_str(body)?,
        }),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> FileFacts {
        FileFacts::new(
            [3; 32],
            crate::lexer::lex(
                b"#include \"a b.h\"\n#include_next <c>\n#import X\n#if __has_include(<d>)\n#endif\n#define E\n#define F(x,y) <x##y>\n#define G() \"g\"\n",
            ),
        )
    }

    #[test]
    fn entries_round_trip() {
        let f = facts();
        assert_eq!((f.directives.len(), f.defines.all().len()), (4, 3));
        let back = decode(&encode(&f)).expect("decodes");
        assert_eq!(back.directives, f.directives);
        assert_eq!(back.defines.all(), f.defines.all());
        let mut got = Vec::new();
        back.defines.named(&Names::new(["F".to_owned()]), &mut got);
        assert_eq!(got, f.defines.all()[1..2]);
    }

    #[test]
    fn a_changed_identity_or_a_corrupt_entry_is_a_miss() {
        let tmp = tempfile::tempdir().expect("tmp");
        let file = tmp.path().join("h.h");
        std::fs::write(&file, "x").expect("write");
        let mut c = DirectiveCache::new(tmp.path());
        c.racy = Duration::ZERO;
        let id = file_identity(&file).expect("stat");
        c.put(&file, &id, &facts());
        assert_eq!(
            c.get(&file, &id).map(|f| f.directives),
            Some(facts().directives)
        );
        let other = Identity { size: 2, ..id };
        assert_eq!(c.get(&file, &other), None);
        // Flip one byte of the entry: the checksum refuses it.
        let (sub, name, _) = c.slot(&file, &id);
        let p = sub.join(name);
        let mut bytes = std::fs::read(&p).expect("read");
        let mid = bytes.len() / 2;
        bytes[mid] ^= 1;
        std::fs::write(&p, &bytes).expect("write");
        assert_eq!(c.get(&file, &id), None);
        // A truncated entry too.
        std::fs::write(&p, &bytes[..10]).expect("write");
        assert_eq!(c.get(&file, &id), None);
    }

    #[test]
    fn a_young_file_is_not_recorded() {
        let tmp = tempfile::tempdir().expect("tmp");
        let file = tmp.path().join("h.h");
        std::fs::write(&file, "x").expect("write");
        let c = DirectiveCache::new(tmp.path());
        let id = file_identity(&file).expect("stat");
        c.put(&file, &id, &facts());
        assert_eq!(c.get(&file, &id), None);
    }

    #[test]
    fn the_sweep_keeps_the_cache_bounded() {
        let tmp = tempfile::tempdir().expect("tmp");
        let mut c = DirectiveCache::new(tmp.path());
        c.racy = Duration::ZERO;
        c.max_entries = 8;
        for n in 0..20 {
            let file = tmp.path().join(format!("h{n}.h"));
            std::fs::write(&file, "x").expect("write");
            c.put(&file, &file_identity(&file).expect("stat"), &facts());
        }
        c.sweep();
        let count: usize = std::fs::read_dir(tmp.path().join("files-3"))
            .expect("dir")
            .flatten()
            .map(|s| std::fs::read_dir(s.path()).map_or(0, |d| d.count()))
            .sum();
        assert_eq!(count, 6);
    }
}
