//! Receiving a request's body into the job's directory: the preprocessed source (plain), or
//! the client's tree (pump, [`crate::pump`]).

use std::path::{Path, PathBuf};

use bytes::BytesMut;
use dcc_common::{ExitCode, Level, dcc_log};
use dcc_proto::compress::{BodyDecoder, ZSTD_DECODER_MEMORY};
use dcc_proto::{
    Compression, FileEntry, ProtoError, RequestDecoder, RequestEvent, RequestHeader, Token,
};
use tokio::io::{AsyncRead, AsyncWriteExt};
use tokio::time::Instant;

use crate::budget::{BudgetError, MEMORY_WAIT};
use crate::exec::Runner;
use crate::job::{BodyClock, ReadError, next_event_by};
use crate::metrics::RefusalReason;
use crate::pump::{PumpError, Tree};
use crate::server::Server;
use crate::vetting::{self, Prepared};
use crate::workdir::JobDir;

/// Where a received job's files are.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The compiler's working directory.
    pub cwd: PathBuf,
    pub argv: Vec<String>,
    pub object: PathBuf,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
    /// The compiler's `TMPDIR`: inside the job, so a killed compile leaves nothing behind.
    pub tmp: PathBuf,
    /// The job's directory, for rewriting its paths out of messages.
    pub dir: PathBuf,
    /// Pump mode: the `.d` the compiler writes, the client's target, and the root.
    pub deps: Option<(PathBuf, String)>,
    pub root: Option<PathBuf>,
}

/// Where a plain job's preprocessed source is written.
pub fn plain_input(dir: &Path, prepared: &Prepared) -> PathBuf {
    dir.join(format!("in{}", prepared.input_ext))
}

/// Why receiving failed.
pub enum Received {
    /// The stream broke or was not a request: close without a reply.
    Read(ReadError),
    /// Refused (the rest of the request has been read): answer with the reason.
    Refused(vetting::Refusal),
    /// The daemon failed.
    Local(String),
}

/// Decoded output is written in pieces of this size, however much a small input expands.
const PIECE: usize = 256 * 1024;

/// Receive the body of a vetted request into `dir`: the `.i` (plain) or the client's tree
/// (pump). Bodies are decoded as they arrive and written to disk a piece at a time, charged
/// to the daemon's budget ([`crate::budget`]); a body over its limit or a budget in use is
/// a refusal, answered once the rest of the request has been read (without decoding it).
pub async fn receive<I: AsyncRead + Unpin + Send>(
    srv: &Server<impl Runner>,
    input: &mut I,
    buf: &mut BytesMut,
    dec: &mut RequestDecoder,
    header: &RequestHeader,
    prepared: &Prepared,
    dir: &mut JobDir,
) -> Result<Layout, Received> {
    let object = dir.file(&format!("out{}", prepared.output_ext));
    let stdout = dir.file("stdout");
    let stderr = dir.file("stderr");
    let tmp = dir.file("tmp");
    std::fs::create_dir(&tmp).map_err(|e| Received::Local(format!("mkdir tmp: {e}")))?;
    let mut rx = Receiver {
        srv,
        compression: header.protocol.compression,
        total: 0,
        tree_cost: 0,
        clock: BodyClock::default(),
        refused: None,
    };
    if !header.protocol.pump {
        let input_path = plain_input(dir.path(), prepared);
        let len = match rx.next(input, buf, dec).await? {
            RequestEvent::DotiStart { len } => len,
            _ => return Err(Received::Local("expected DOTI".into())),
        };
        let file = std::fs::File::create(&input_path)
            .map_err(|e| Received::Local(format!("failed to create the input: {e}")))?;
        rx.body(input, buf, dec, dir, (Token::DOTI, len), Some(file))
            .await?;
        rx.finish(input, buf, dec).await?;
        let argv = vetting::rewrite_plain(&header.argv, prepared, &input_path, &object);
        return Ok(Layout {
            cwd: dir.path().to_owned(),
            argv,
            object,
            stdout,
            stderr,
            tmp,
            dir: dir.path().to_owned(),
            deps: None,
            root: None,
        });
    }
    // Pump: the client's tree under <dir>/root.
    let root = dir.file("root");
    std::fs::create_dir(&root).map_err(|e| Received::Local(format!("mkdir root: {e}")))?;
    let cdir = header.cdir.clone().unwrap_or_else(|| "/".into());
    let mut tree = Tree::new(root.clone());
    let cwd = match build(&mut tree, move |t| t.make_cwd(&cdir)).await? {
        Ok(c) => c,
        Err(e) => {
            rx.refuse(vetting::pump_refusal(&e));
            root.clone()
        }
    };
    rx.charge_tree(dir, &tree);
    loop {
        match rx.next(input, buf, dec).await? {
            RequestEvent::End => break,
            RequestEvent::FileCount(_) => {}
            RequestEvent::FileStart { name, len } => {
                let file = if rx.refused.is_some() {
                    None
                } else {
                    dcc_log!(
                        Level::Debug,
                        "dcc_r_many_files",
                        "receiving {name} into {}",
                        root.display()
                    );
                    let made = build(&mut tree, move |t| t.create_file(&name, len == 0)).await?;
                    rx.charge_tree(dir, &tree);
                    match made {
                        Ok(f) => f,
                        Err(e) => {
                            rx.refuse(vetting::pump_refusal(&e));
                            None
                        }
                    }
                };
                rx.body(input, buf, dec, dir, (Token::FILE, len), file)
                    .await?;
            }
            RequestEvent::File(FileEntry::Link { name, target }) => {
                if rx.refused.is_none() {
                    let made = build(&mut tree, move |t| t.write_link(&name, &target)).await?;
                    rx.charge_tree(dir, &tree);
                    if let Err(e) = made {
                        rx.refuse(vetting::pump_refusal(&e));
                    }
                }
            }
            _ => return Err(Received::Local("unexpected event in file list".into())),
        }
    }
    if let Some(r) = rx.refused {
        return Err(Received::Refused(r));
    }
    let deps = dir.file("deps.d");
    let (argv, target) = vetting::rewrite_pump(&header.argv, prepared, &root, &object, &deps);
    Ok(Layout {
        cwd,
        argv,
        object,
        stdout,
        stderr,
        tmp,
        dir: dir.path().to_owned(),
        deps: Some((deps, target)),
        root: Some(root),
    })
}

/// Run `f` on the client's tree on a blocking thread: an entry is up to [`crate::pump::MAX_DEPTH`]
/// synchronous lstat/mkdir calls, no work for a runtime worker. One hop per entry: a few
/// microseconds against the entry's own filesystem work.
async fn build<T: Send + 'static>(
    tree: &mut Tree,
    f: impl FnOnce(&mut Tree) -> Result<T, PumpError> + Send + 'static,
) -> Result<Result<T, PumpError>, Received> {
    let mut t = std::mem::replace(tree, Tree::new(PathBuf::new()));
    let (t, r) = tokio::task::spawn_blocking(move || {
        let r = f(&mut t);
        (t, r)
    })
    .await
    .map_err(|e| Received::Local(format!("building the client's tree failed: {e}")))?;
    *tree = t;
    Ok(r)
}

/// One request's bodies on their way in.
struct Receiver<'s, R: Runner> {
    srv: &'s Server<R>,
    compression: Compression,
    /// Decoded bytes of the request so far (`--max-request-size`).
    total: u64,
    /// What the pump tree's directories, files and links cost on disk ([`crate::pump::ENTRY_COST`]).
    tree_cost: u64,
    /// When the request's bodies must be in.
    clock: BodyClock,
    /// The first refusal; later bodies are read and dropped undecoded.
    refused: Option<vetting::Refusal>,
}

impl<R: Runner> Receiver<'_, R> {
    /// The next event, by the request's body deadline once there is one.
    async fn next<I: AsyncRead + Unpin + Send>(
        &self,
        input: &mut I,
        buf: &mut BytesMut,
        dec: &mut RequestDecoder,
    ) -> Result<RequestEvent, Received> {
        self.next_by(input, buf, dec, self.clock.until()).await
    }

    async fn next_by<I: AsyncRead + Unpin + Send>(
        &self,
        input: &mut I,
        buf: &mut BytesMut,
        dec: &mut RequestDecoder,
        by: Option<Instant>,
    ) -> Result<RequestEvent, Received> {
        next_event_by(input, buf, dec, self.srv.env.io_timeout, by)
            .await
            .map_err(Received::Read)
    }

    /// Charge the tree's cost (with the bodies') to the disk budget.
    fn charge_tree(&mut self, dir: &mut JobDir, tree: &Tree) {
        self.tree_cost = tree.cost();
        let srv = self.srv;
        if let Err(e) = srv
            .budget
            .charge_disk(dir.charge(&srv.budget), self.total + self.tree_cost)
        {
            self.refuse(busy(&e));
        }
    }

    fn refuse(&mut self, r: vetting::Refusal) {
        if self.refused.is_none() {
            self.refused = Some(r);
        }
    }

    /// Plain mode: the `DOTI` is in; read to the end of the request.
    async fn finish<I: AsyncRead + Unpin + Send>(
        self,
        input: &mut I,
        buf: &mut BytesMut,
        dec: &mut RequestDecoder,
    ) -> Result<(), Received> {
        match self.next(input, buf, dec).await? {
            RequestEvent::End => {}
            _ => return Err(Received::Local("unexpected data after DOTI".into())),
        }
        match self.refused {
            Some(r) => Err(Received::Refused(r)),
            None => Ok(()),
        }
    }

    /// Receive one body (after its `DotiStart`/`FileStart`) into `file`, or drop it
    /// undecoded when there is no file (a placeholder, or the request is refused).
    async fn body<I: AsyncRead + Unpin + Send>(
        &mut self,
        input: &mut I,
        buf: &mut BytesMut,
        dec: &mut RequestDecoder,
        dir: &mut JobDir,
        (token, len): (Token, u32),
        file: Option<std::fs::File>,
    ) -> Result<(), Received> {
        let srv = self.srv;
        let mut sink = match (file, &self.refused) {
            (Some(f), None) => Some(tokio::fs::File::from_std(f)),
            _ => None,
        };
        let limit = srv.limits.max_decompressed;
        let mut body = BodyDecoder::new(self.compression, token, limit).map_err(proto)?;
        // The memory this body holds while it arrives (see crate::budget).
        let held = match (&sink, self.compression) {
            (None, _) | (_, Compression::None) => 0,
            (_, Compression::Zstd) => ZSTD_DECODER_MEMORY as u64,
            (_, Compression::Lzo) => u64::from(len),
        };
        let _memory = match srv.budget.memory(held, MEMORY_WAIT).await {
            Ok(p) => p,
            Err(e) => {
                self.refuse(busy(&e));
                sink = None;
                None
            }
        };
        // The body's clock starts once its memory is held.
        let by = Some(self.clock.start(&srv.env, len));
        let mut out = Vec::with_capacity(if sink.is_some() { PIECE } else { 0 });
        loop {
            let chunk = match self.next_by(input, buf, dec, by).await? {
                RequestEvent::Chunk(c) => c,
                RequestEvent::BodyEnd => break,
                _ => return Err(Received::Local("unexpected event in a body".into())),
            };
            let Some(f) = sink.as_mut() else {
                continue;
            };
            let mut rest = &chunk[..];
            loop {
                out.clear();
                if let Err(e) = body.decode_some(&mut rest, &mut out, PIECE) {
                    self.refuse_decode(e)?;
                    sink = None;
                    break;
                }
                if let Err(r) = self.store(dir, f, &out).await {
                    self.refuse(r);
                    sink = None;
                    break;
                }
                if rest.is_empty() && out.len() < PIECE {
                    break;
                }
            }
        }
        let Some(mut f) = sink else {
            return Ok(());
        };
        // LZO decodes now, into memory of its exact decoded size, counted first (a bomb is
        // refused here, before any of its output exists).
        let size = match body.lzo_output_len() {
            Ok(n) => n,
            Err(e) => return self.refuse_decode(e),
        };
        let _output = match srv.budget.memory(size as u64, MEMORY_WAIT).await {
            Ok(p) => p,
            Err(e) => {
                self.refuse(busy(&e));
                return Ok(());
            }
        };
        out.clear();
        if let Err(e) = body.finish(&mut out) {
            return self.refuse_decode(e);
        }
        if let Err(r) = self.store(dir, &mut f, &out).await {
            self.refuse(r);
            return Ok(());
        }
        f.flush()
            .await
            .map_err(|e| Received::Local(format!("failed to write a body: {e}")))
    }

    /// Charge `piece` to the request's and the daemon's limits, then write it.
    async fn store(
        &mut self,
        dir: &mut JobDir,
        f: &mut tokio::fs::File,
        piece: &[u8],
    ) -> Result<(), vetting::Refusal> {
        if piece.is_empty() {
            return Ok(());
        }
        let srv = self.srv;
        self.total += piece.len() as u64;
        if self.total > srv.limits.max_total {
            return Err(too_big(format!(
                "the request's bodies decode to more than {} bytes (--max-request-size)",
                srv.limits.max_total
            )));
        }
        srv.budget
            .charge_disk(dir.charge(&srv.budget), self.total + self.tree_cost)
            .map_err(|e| busy(&e))?;
        f.write_all(piece).await.map_err(|e| vetting::Refusal {
            exit: ExitCode::IoError,
            kind: RefusalReason::Busy,
            level: Level::Error,
            func: "dcc_r_file",
            message: format!("failed to write a body: {e}"),
            input: None,
        })
    }

    /// A body that does not decode: over its limit is a refusal; corrupt data ends the
    /// connection as any protocol error does.
    fn refuse_decode(&mut self, e: ProtoError) -> Result<(), Received> {
        match e {
            ProtoError::TooLong { token, limit, .. } => {
                self.refuse(too_big(format!(
                    "a {token} body decodes to more than {limit} bytes (--max-input-size)"
                )));
                Ok(())
            }
            e => Err(proto(e)),
        }
    }
}

fn proto(e: ProtoError) -> Received {
    Received::Read(ReadError::Proto(e))
}

fn too_big(message: String) -> vetting::Refusal {
    vetting::Refusal {
        exit: ExitCode::AccessDenied,
        kind: RefusalReason::Size,
        level: Level::Warning,
        func: "dcc_r_file",
        message: format!("distccd refuses the request: {message}"),
        input: None,
    }
}

pub(crate) fn busy(e: &BudgetError) -> vetting::Refusal {
    vetting::Refusal {
        exit: ExitCode::Busy,
        kind: RefusalReason::Busy,
        level: Level::Warning,
        func: "dcc_r_file",
        message: e.to_string(),
        input: None,
    }
}
