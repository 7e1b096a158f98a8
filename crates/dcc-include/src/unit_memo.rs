//! The per-unit memo: a complete manifest, with every filesystem fact the scan that made it
//! consulted, kept on disk (`<cache>/units-1/xx/<key>`).
//!
//! A scan is a function of the command (argv, working directory, the scanner's limits), the
//! compiler's answer (keyed by the probe key: compiler identity, flags, environment) and the
//! filesystem: which paths exist and are files or directories (`stat`), what each component on
//! a walked path is and where its links point (`lstat`, `readlink`), and the content of the
//! files read, pinned by their identity (device, inode, size, mtime, ctime). If all those
//! facts are unchanged, the same scan would give the same manifest; so a hit re-checks each
//! fact with one syscall and returns the stored manifest without reading or lexing anything.
//! Every negative lookup is among the facts, so a header created where the search would now
//! find it is a miss. A manifest with a file younger than the racy window is not stored (an
//! edit within the clock's granularity could keep its identity).

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::cache::{Identity, read_checked, sweep, write_checked};
use crate::manifest::{Manifest, escape, hex, unescape};
use crate::resolve::{Node, Walker, lstat_node, stat_node};

/// About this many unit entries at most (each a few tens of KiB).
const MAX_UNITS: usize = 20_000;

/// Where a unit's entry lives and the key it must repeat.
pub(crate) struct Slot {
    dir: PathBuf,
    name: String,
    key: Vec<u8>,
}

impl Slot {
    /// The slot for a unit: `what` is everything the scan depends on besides the filesystem.
    pub(crate) fn new(cache_dir: &Path, what: &[u8]) -> Self {
        let name = hex(blake3::hash(what).as_bytes());
        Slot {
            dir: cache_dir.join("units-1").join(&name[..2]),
            name,
            key: what.to_vec(),
        }
    }

    /// The stored manifest, if every fact it rests on still holds.
    pub(crate) fn get(&self) -> Option<Manifest> {
        let body = read_checked(&self.dir.join(&self.name), &self.key)?;
        let nl = body.iter().position(|&c| c == b'\n')?;
        let len: usize = std::str::from_utf8(&body[..nl]).ok()?.parse().ok()?;
        let rest = &body[nl + 1..];
        let manifest = Manifest::from_text(rest.get(..len)?).ok()?;
        for line in rest[len..].split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
            if !holds(line)? {
                return None;
            }
        }
        Some(manifest)
    }

    /// Store `m` with the facts of the walk that made it, unless a file in it is too young.
    pub(crate) fn put(
        &self,
        m: &Manifest,
        walker: &Walker,
        files: &mut dyn Iterator<Item = (&PathBuf, &Identity)>,
        racy: Duration,
    ) {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i128);
        let racy = racy.as_nanos() as i128;
        let text = m.to_text();
        let mut body = format!("{}\n", text.len()).into_bytes();
        body.extend_from_slice(&text);
        for (p, id) in files {
            if now - id.mtime_ns < racy || now - id.ctime_ns < racy {
                return;
            }
            body.extend_from_slice(
                format!(
                    "i {} {} {} {} {} ",
                    id.dev, id.ino, id.size, id.mtime_ns, id.ctime_ns
                )
                .as_bytes(),
            );
            escape(p.as_os_str(), &mut body);
            body.push(b'\n');
        }
        for (p, n) in &walker.stat {
            body.extend_from_slice(format!("s {} ", node_char(*n)).as_bytes());
            escape(p.as_os_str(), &mut body);
            body.push(b'\n');
        }
        for (p, l) in &walker.lstat {
            match l {
                Ok(Some(t)) => {
                    body.extend_from_slice(b"l ");
                    escape(p.as_os_str(), &mut body);
                    body.push(b' ');
                    escape(t.as_os_str(), &mut body);
                }
                Ok(None) => continue,
                Err(n) => {
                    body.extend_from_slice(format!("L {} ", node_char(*n)).as_bytes());
                    escape(p.as_os_str(), &mut body);
                }
            }
            body.push(b'\n');
        }
        // A memo that cannot be written only costs the next client a scan.
        if write_checked(&self.dir, &self.name, &self.key, &body).is_ok()
            && self.name.ends_with("00")
        {
            // About one write in 256 checks the size.
            if let Some(root) = self.dir.parent() {
                sweep(root, MAX_UNITS);
            }
        }
    }
}

fn node_char(n: Node) -> char {
    match n {
        Node::File => 'f',
        Node::Dir => 'd',
        Node::Missing => 'm',
    }
}

fn node_of(c: &[u8]) -> Option<Node> {
    match c {
        b"f" => Some(Node::File),
        b"d" => Some(Node::Dir),
        b"m" => Some(Node::Missing),
        _ => None,
    }
}

/// Whether the fact on one line still holds; `None` for a line that does not parse.
fn holds(line: &[u8]) -> Option<bool> {
    let mut f = line.split(|&c| c == b' ');
    match f.next()? {
        b"i" => {
            let mut num = || -> Option<i128> { std::str::from_utf8(f.next()?).ok()?.parse().ok() };
            let want = Identity {
                dev: u64::try_from(num()?).ok()?,
                ino: u64::try_from(num()?).ok()?,
                size: u64::try_from(num()?).ok()?,
                mtime_ns: num()?,
                ctime_ns: num()?,
            };
            let p = unescape(f.next()?)?;
            Some(std::fs::metadata(&p).is_ok_and(|m| Identity::of(&m) == want))
        }
        b"s" => {
            let n = node_of(f.next()?)?;
            Some(stat_node(&unescape(f.next()?)?) == n)
        }
        b"L" => {
            let n = node_of(f.next()?)?;
            Some(lstat_node(&unescape(f.next()?)?) == Err(n))
        }
        b"l" => {
            let p = unescape(f.next()?)?;
            let t = unescape(f.next()?)?;
            Some(lstat_node(&p) == Ok(Some(t)))
        }
        _ => None,
    }
}

/// The version of what a scan finds: bump it with any change to the lexer, the resolution or
/// the manifest, or entries made by an older scanner would be taken for answers of this one.
const LOGIC: &str = "dcc-include scan 3";

/// The bytes that name a unit: the scanner's logic, the probe key, the argv, the working
/// directory, the limits.
pub(crate) fn unit_key(probe_key: &[u8], argv: &[String], cwd: &Path, limits: &str) -> Vec<u8> {
    let mut k = LOGIC.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(probe_key);
    for a in argv {
        k.push(0);
        k.extend_from_slice(a.as_bytes());
    }
    k.push(0);
    k.extend_from_slice(cwd.as_os_str().as_bytes());
    k.push(0);
    k.extend_from_slice(limits.as_bytes());
    k
}
