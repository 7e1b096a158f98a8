//! Receiving a `DIST 0x303` request (docs/PROTOCOL.md "Our extensions", docs/decisions/
//! content-addressed-files.md): after the header, the manifest (`MNFT`) and the master's
//! search chain (`CHNS`); the helper answers `NEED` with the hashes its store lacks, reads one
//! `BLOB` per hash, verifies and stores each, builds the job's root from the store
//! ([`crate::cas_root`]) and runs the compiler on the master's chain under that root. The
//! reply is as for 0x103.
//!
//! Every packet is charged before it is buffered: its wire length and decoded size against
//! the memory budget, its decoded bytes against the disk budget and `--max-request-size`, its
//! arrival against the body deadlines ([`crate::job::BodyClock`]). A refusal found while blobs
//! are still coming (a wrong hash, a blob over its manifest size, a budget in use) is answered
//! once the promised blobs have been read and dropped, so the client is not reset mid-send.

use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::Path;
use std::sync::Arc;

use bytes::{Buf, BytesMut};
use dcc_common::{ExitCode, Level, dcc_log};
use dcc_include::{Kind, Manifest, Origin};
use dcc_proto::cas::{self, CasDecoder, HASH_LEN, Hash, MAX_MANIFEST};
use dcc_proto::token::parse_header;
use dcc_proto::{HEADER_LEN, ProtoError, RequestHeader, Token};
use dcc_store::{Store, StoreError};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::budget::MEMORY_WAIT;
use crate::cas_root::{CasRootError, build_root, chain_args, shipped_hashes};
use crate::exec::Runner;
use crate::job::{BodyClock, ReadError};
use crate::metrics::RefusalReason;
use crate::pump::Tree;
use crate::receive::{Layout, Received, busy};
use crate::server::Server;
use crate::vetting::{self, Prepared};
use crate::workdir::JobDir;

/// Open the daemon's store of headers at start-up: `distccd-rs-headers-UID` in the daemon's
/// temporary directory, made private to the daemon's user. A directory someone else owns, or a
/// link, is not used (the daemon then refuses 0x303 requests and serves the rest).
pub fn open_store(tmpdir: &Path, max_bytes: u64) -> Option<Arc<Store>> {
    let uid = nix::unistd::geteuid().as_raw();
    let dir = tmpdir.join(format!("distccd-rs-headers-{uid}"));
    let made = std::fs::DirBuilder::new().mode(0o700).create(&dir);
    let usable = match (made, std::fs::symlink_metadata(&dir)) {
        (_, Ok(m)) if m.is_dir() && m.uid() == uid && m.mode() & 0o077 == 0 => Ok(()),
        (Err(e), _) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e.to_string()),
        _ => Err("not a private directory of the daemon's user".to_owned()),
    };
    let opened = usable.and_then(|()| Store::open(&dir, max_bytes).map_err(|e| e.to_string()));
    match opened {
        Ok(s) => Some(s),
        Err(e) => {
            dcc_log!(
                Level::Warning,
                "main",
                "header store {} unusable ({e}): DIST 0x303 requests will be refused",
                dir.display()
            );
            None
        }
    }
}

fn refusal(kind: RefusalReason, exit: ExitCode, message: String) -> vetting::Refusal {
    vetting::Refusal {
        exit,
        kind,
        level: Level::Warning,
        func: "dcc_r_cas",
        message: format!("distccd refuses the request: {message}"),
        input: None,
    }
}

fn protocol(message: String) -> vetting::Refusal {
    refusal(RefusalReason::Protocol, ExitCode::ProtocolError, message)
}

/// Receive a vetted 0x303 request's manifest and blobs into `dir`; what the compile needs.
pub async fn receive<I, O>(
    srv: &Server<impl Runner>,
    input: &mut I,
    output: &mut O,
    buf: &mut BytesMut,
    header: &RequestHeader,
    prepared: &Prepared,
    dir: &mut JobDir,
) -> Result<Layout, Received>
where
    I: AsyncRead + Unpin + Send,
    O: AsyncWrite + Unpin + Send,
{
    let mut rx = Wire {
        srv,
        buf,
        clock: BodyClock::default(),
    };
    let mut dec = CasDecoder::new(srv.limits);
    // The manifest: its wire bytes and its decoded text held while it is parsed.
    let (_, len) = rx.header(input, cas::MNFT).await?;
    let _held = match srv
        .budget
        .memory(u64::from(len) + MAX_MANIFEST as u64, MEMORY_WAIT)
        .await
    {
        Ok(p) => p,
        Err(e) => {
            rx.skip(input, len).await?;
            let (_, len) = rx.header(input, cas::CHNS).await?;
            rx.skip(input, len).await?;
            return Err(Received::Refused(busy(&e)));
        }
    };
    rx.whole(input, len, "MNFT").await?;
    let part = loop {
        // The client waits for NEED: a manifest or chain it cannot use is answered.
        let decoded = dec
            .decode_manifest(rx.buf)
            .map_err(|e| Received::Refused(protocol(format!("bad manifest or chain: {e}"))))?;
        match decoded {
            Some(p) => break p,
            None => {
                let (_, len) = rx.header(input, cas::CHNS).await?;
                rx.whole(input, len, "CHNS").await?;
            }
        }
    };
    let (manifest, store) = check_manifest(srv, &part).map_err(Received::Refused)?;

    // NEED: what the store lacks, each with the size the manifest gives it.
    let (mut pin, missing) = store.pin(&shipped_hashes(&manifest));
    let sizes: std::collections::HashMap<Hash, u64> = manifest
        .files()
        .filter_map(|(_, e)| match e.kind {
            Kind::File { hash, size } if e.origin == Origin::Shipped => Some((hash, size)),
            _ => None,
        })
        .collect();
    let mut need = Vec::with_capacity(HEADER_LEN + missing.len() * HASH_LEN);
    cas::encode_need(&mut need, &missing).map_err(proto)?;
    let timeout = srv.env.io_timeout;
    let written = tokio::time::timeout(timeout, async {
        output.write_all(&need).await?;
        output.flush().await
    })
    .await;
    match written {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(Received::Read(ReadError::Io(e))),
        Err(_) => return Err(Received::Read(ReadError::Timeout("NEED"))),
    }
    dcc_log!(
        Level::Debug,
        "dcc_r_cas",
        "{} files in the manifest, {} needed",
        sizes.len(),
        missing.len()
    );

    // The blobs, in NEED's order.
    let mut refused: Option<vetting::Refusal> = None;
    let mut stored: u64 = 0;
    for h in &missing {
        let (_, len) = rx.header(input, cas::BLOB).await?;
        if refused.is_some() {
            rx.skip(input, len).await?;
            continue;
        }
        let size = sizes.get(h).copied().unwrap_or(0);
        let _held = match srv.budget.memory(u64::from(len) + size, MEMORY_WAIT).await {
            Ok(p) => p,
            Err(e) => {
                refused = Some(busy(&e));
                rx.skip(input, len).await?;
                continue;
            }
        };
        rx.whole(input, len, "BLOB").await?;
        let content = match dec.decode_blob(rx.buf, size) {
            Ok(Some(c)) => c,
            Ok(None) => return Err(Received::Local("a whole BLOB did not decode".into())),
            Err(e) => {
                refused = Some(blob_refusal(h, size, &e));
                continue;
            }
        };
        stored += content.len() as u64;
        if let Err(e) = srv.budget.charge_disk(dir.charge(&srv.budget), stored) {
            refused = Some(busy(&e));
            continue;
        }
        let (s, hash) = (store.clone(), *h);
        let put = tokio::task::spawn_blocking(move || s.put(&hash, &content))
            .await
            .map_err(|e| Received::Local(format!("storing a blob failed: {e}")))?;
        match put {
            Ok(()) => pin.add(*h),
            Err(e) => refused = Some(store_refusal(e)),
        }
    }
    if let Some(r) = refused {
        return Err(Received::Refused(r));
    }

    // The root: the manifest's tree, files linked from the store.
    let root = dir.file("root");
    let cdir = header.cdir.clone().unwrap_or_else(|| "/".into());
    let (r, m, s) = (root.clone(), manifest.clone(), store.clone());
    let built = tokio::task::spawn_blocking(move || -> Result<_, CasRootError> {
        std::fs::create_dir(&r).map_err(|e| crate::pump::PumpError::Io {
            path: r.display().to_string(),
            source: e,
        })?;
        let mut tree = Tree::new(r);
        build_root(&mut tree, &m, &s)?;
        let cwd = tree.make_cwd(&cdir)?;
        Ok((cwd, tree.cost()))
    })
    .await
    .map_err(|e| Received::Local(format!("building the job's root failed: {e}")))?;
    drop(pin);
    let (cwd, cost) = built.map_err(|e| Received::Refused(protocol(e.to_string())))?;
    srv.budget
        .charge_disk(dir.charge(&srv.budget), stored + cost)
        .map_err(|e| Received::Refused(busy(&e)))?;

    let object = dir.file(&format!("out{}", prepared.output_ext));
    let deps = dir.file("deps.d");
    let (mut argv, target) = vetting::rewrite_pump(&header.argv, prepared, &root, &object, &deps);
    let chain = chain_args(&root, &part.chain, &manifest)
        .map_err(|e| Received::Refused(protocol(e.to_string())))?;
    argv.extend(chain);
    let tmp = dir.file("tmp");
    std::fs::create_dir(&tmp).map_err(|e| Received::Local(format!("mkdir tmp: {e}")))?;
    Ok(Layout {
        cwd,
        argv,
        object,
        stdout: dir.file("stdout"),
        stderr: dir.file("stderr"),
        tmp,
        dir: dir.path().to_owned(),
        deps: Some((deps, target)),
        root: Some(root),
    })
}

/// A refused 0x303 request's manifest and chain, read and dropped (the client then waits for
/// `NEED`, and gets the refusal instead). `false`: the stream broke.
pub async fn skip_manifest<I: AsyncRead + Unpin>(
    srv: &Server<impl Runner>,
    input: &mut I,
    buf: &mut BytesMut,
) -> bool {
    let mut rx = Wire {
        srv,
        buf,
        clock: BodyClock::default(),
    };
    for t in [cas::MNFT, cas::CHNS] {
        let Ok((_, len)) = rx.header(input, t).await else {
            return false;
        };
        if rx.skip(input, len).await.is_err() {
            return false;
        }
    }
    true
}

/// The manifest parsed and bounded, its chain checked against it, before `NEED` is sent.
fn check_manifest(
    srv: &Server<impl Runner>,
    part: &cas::ManifestPart,
) -> Result<(Manifest, Arc<Store>), vetting::Refusal> {
    let Some(store) = srv.store.clone() else {
        return Err(refusal(
            RefusalReason::Busy,
            ExitCode::Busy,
            "this daemon has no usable header store".into(),
        ));
    };
    let m = Manifest::from_text(&part.manifest_text)
        .map_err(|e| protocol(format!("bad manifest: {e}")))?;
    let limit = srv.limits.max_files as usize;
    if m.entries.len() > limit {
        return Err(protocol(format!(
            "the manifest names {} entries, over the limit of {limit}",
            m.entries.len()
        )));
    }
    // The chain's directories are checked now: one the manifest lacks would be searched on
    // the helper's own disk.
    chain_args(Path::new("/"), &part.chain, &m).map_err(|e| protocol(e.to_string()))?;
    Ok((m, store))
}

fn blob_refusal(h: &Hash, size: u64, e: &ProtoError) -> vetting::Refusal {
    let hex = dcc_store::hex(h);
    match e {
        ProtoError::TooLong { .. } => refusal(
            RefusalReason::Size,
            ExitCode::AccessDenied,
            format!(
                "blob {hex} decodes to more than its manifest size {size} (or the request's limits)"
            ),
        ),
        e => protocol(format!("blob {hex}: {e}")),
    }
}

fn store_refusal(e: StoreError) -> vetting::Refusal {
    match e {
        StoreError::HashMismatch(h) => protocol(format!("a blob sent as {h} has another hash")),
        e => refusal(
            RefusalReason::Busy,
            ExitCode::Busy,
            format!("the header store (--header-cache-size): {e}"),
        ),
    }
}

fn proto(e: ProtoError) -> Received {
    Received::Read(ReadError::Proto(e))
}

/// The connection's bytes, read against the body deadlines.
struct Wire<'a, 's, R: Runner> {
    srv: &'s Server<R>,
    buf: &'a mut BytesMut,
    clock: BodyClock,
}

impl<R: Runner> Wire<'_, '_, R> {
    /// Read until `buf` holds `n` bytes, by the request's body deadline once there is one.
    async fn fill<I: AsyncRead + Unpin>(
        &mut self,
        input: &mut I,
        n: usize,
        expecting: &'static str,
    ) -> Result<(), Received> {
        let timeout = self.srv.env.io_timeout;
        while self.buf.len() < n {
            self.buf
                .reserve((n - self.buf.len()).clamp(64 * 1024, 1 << 20));
            let by = self.clock.until();
            let read = tokio::time::timeout(timeout, input.read_buf(self.buf));
            let got = match by {
                Some(by) => tokio::time::timeout_at(by, read)
                    .await
                    .map_err(|_| ReadError::BodyDeadline(expecting)),
                None => Ok(read.await),
            };
            let n = match got {
                Ok(Ok(r)) => r.map_err(ReadError::Io),
                Ok(Err(_)) => Err(ReadError::Timeout(expecting)),
                Err(e) => Err(e),
            }
            .map_err(Received::Read)?;
            if n == 0 {
                return Err(proto(ProtoError::Truncated {
                    expected: expecting,
                }));
            }
        }
        Ok(())
    }

    /// The next packet's header, which must be `want`'s, not consumed; starts its body's clock.
    async fn header<I: AsyncRead + Unpin>(
        &mut self,
        input: &mut I,
        want: Token,
    ) -> Result<(Token, u32), Received> {
        let name = token_name(want);
        self.fill(input, HEADER_LEN, name).await?;
        let (got, len) = parse_header(&self.buf[..HEADER_LEN]).map_err(proto)?;
        if got != want {
            let n = self.buf.len().min(200);
            return Err(proto(ProtoError::UnexpectedToken {
                expected: name,
                got,
                context: String::from_utf8_lossy(&self.buf[..n]).into_owned(),
            }));
        }
        if len > self.srv.limits.max_body {
            return Err(proto(ProtoError::TooLong {
                token: got,
                len: u64::from(len),
                limit: u64::from(self.srv.limits.max_body),
            }));
        }
        self.clock.start(&self.srv.env, len);
        Ok((got, len))
    }

    /// Buffer the packet whose header is at the front, whole.
    async fn whole<I: AsyncRead + Unpin>(
        &mut self,
        input: &mut I,
        len: u32,
        name: &'static str,
    ) -> Result<(), Received> {
        self.fill(input, HEADER_LEN + len as usize, name).await
    }

    /// Drop the packet whose header is at the front, a piece at a time.
    async fn skip<I: AsyncRead + Unpin>(
        &mut self,
        input: &mut I,
        len: u32,
    ) -> Result<(), Received> {
        let mut left = HEADER_LEN + len as usize;
        while left > 0 {
            if self.buf.is_empty() {
                self.fill(input, 1, "BLOB").await?;
            }
            let n = left.min(self.buf.len());
            self.buf.advance(n);
            left -= n;
        }
        Ok(())
    }
}

fn token_name(t: Token) -> &'static str {
    match t {
        cas::MNFT => "MNFT",
        cas::CHNS => "CHNS",
        _ => "BLOB",
    }
}
