//! The client's half of `DIST 0x303`, content-addressed files (docs/PROTOCOL.md "Content-addressed
//! files", docs/decisions/content-addressed-files.md): `,cpp,zstd` hosts get the scanner's
//! manifest and the master's search chain, and only the files they lack.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bytes::BytesMut;
use dcc_include::search_path::SearchPath;
use dcc_include::{Kind, Origin};
use dcc_proto::cas::{self, ChainDir, ChainKind, Hash};
use dcc_proto::{FileEntry, HEADER_LEN, ProtoError, encode_request_header};

use crate::conn::Conn;
use crate::pump::{NotPumped, Unit, not, read_checked};
use crate::remote::RemoteError;

/// The master's chain in search order: quote directories, then bracket directories (a
/// directory of the compiler's own default chain, `system`, as `isystem`, any other as `I`),
/// then the files read before the source.
pub fn chain(sp: &SearchPath, system: &[PathBuf]) -> Result<Vec<ChainDir>, NotPumped> {
    let text = |p: &Path| -> Result<String, NotPumped> {
        p.to_str()
            .map(str::to_owned)
            .ok_or_else(|| not("non-utf8", format!("{} is not UTF-8", p.display())))
    };
    let mut out = Vec::new();
    for d in &sp.quote {
        out.push(ChainDir {
            kind: ChainKind::Quote,
            path: text(d)?,
        });
    }
    for d in &sp.bracket {
        let physical = std::fs::canonicalize(d).unwrap_or_else(|_| d.clone());
        let kind = if system.iter().any(|s| physical.starts_with(s)) {
            ChainKind::System
        } else {
            ChainKind::Bracket
        };
        out.push(ChainDir {
            kind,
            path: text(d)?,
        });
    }
    for f in &sp.preinclude {
        out.push(ChainDir {
            kind: ChainKind::Include,
            path: text(f)?,
        });
    }
    Ok(out)
}

/// Perform the `0x303` request for `unit` on `conn` up to the reply: `DIST`, `CDIR`,
/// `ARGC`/`ARGV`, `MNFT`, `CHNS`; read `NEED` (at most one hash per shipped file, each read
/// bounded by the connection's IO timeout); send one zstd `BLOB` per hash. Returns the bytes
/// sent. Anything else than `NEED` (an older daemon closes on `0x303`; a refusal is a reply)
/// is an error, and the caller treats the host as failed.
pub fn send(conn: &mut Conn, unit: &Unit) -> Result<u64, RemoteError> {
    // Every shipped file by hash; contents the unit already read (and checked) are used as
    // they are, others (the compiler's default headers, which protocol 3 leaves to the
    // helper) are read when asked for, checked against the scan's size and hash.
    let mut read: HashMap<&str, &[u8]> = HashMap::new();
    for f in &unit.files {
        if let FileEntry::File { name, contents } = f {
            read.insert(name.as_str(), contents.as_slice());
        }
    }
    let mut shipped: HashMap<Hash, (&Path, u64)> = HashMap::new();
    for (p, e) in unit.manifest.files() {
        if let (Kind::File { size, hash }, Origin::Shipped) = (&e.kind, e.origin) {
            shipped.insert(*hash, (p, *size));
        }
    }

    let mut out = Vec::with_capacity(16 * 1024);
    encode_request_header(&mut out, cas::PROTOCOL, Some(&unit.cwd), &unit.argv)?;
    cas::encode_manifest(&mut out, &unit.manifest.to_text(), &unit.chain)?;
    conn.write_all(&out).map_err(RemoteError::Write)?;
    let mut sent = out.len() as u64;

    let need = read_need(conn, shipped.len())?;
    let mut blobs = Vec::new();
    for h in &need {
        let Some(&(path, size)) = shipped.get(h) else {
            return Err(ProtoError::BadValue {
                token: cas::NEED,
                text: "a hash that is not one of the manifest's files".into(),
            }
            .into());
        };
        let owned;
        let contents: &[u8] = match path.to_str().and_then(|p| read.get(p)) {
            Some(c) => c,
            None => {
                owned = read_checked(path, size, h)
                    .map_err(|n| RemoteError::Write(std::io::Error::other(n.to_string())))?;
                &owned
            }
        };
        cas::encode_blob(&mut blobs, contents)?;
        // One write per megabyte or so: the helper stores blobs as they come.
        if blobs.len() >= 1 << 20 {
            conn.write_all(&blobs).map_err(RemoteError::Write)?;
            sent += blobs.len() as u64;
            blobs.clear();
        }
    }
    conn.write_all(&blobs).map_err(RemoteError::Write)?;
    Ok(sent + blobs.len() as u64)
}

/// Read exactly the `NEED` packet (the helper sends nothing else before the blobs), at most
/// `max` hashes.
fn read_need(conn: &mut Conn, max: usize) -> Result<Vec<Hash>, RemoteError> {
    let mut buf = BytesMut::new();
    loop {
        if let Some(need) = cas::decode_need(&mut buf, max)? {
            if !buf.is_empty() {
                return Err(ProtoError::BadValue {
                    token: cas::NEED,
                    text: "bytes after NEED before the blobs were sent".into(),
                }
                .into());
            }
            return Ok(need);
        }
        let want = if buf.len() < HEADER_LEN {
            HEADER_LEN
        } else {
            16 * 1024
        };
        match conn.read_into(&mut buf, want) {
            Ok(0) => return Err(RemoteError::Eof { expected: "NEED" }),
            Ok(_) => {}
            Err(source) => {
                return Err(RemoteError::Read {
                    expected: "NEED",
                    source,
                });
            }
        }
    }
}
