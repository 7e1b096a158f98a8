//! One connection, one job (distcc src/serve.c `dcc_run_job`; reference §4.5).
//!
//! 1. Read the request header (`DIST`, `CDIR`, `ARGV`s) and vet it before anything is written:
//!    the compiler name ([`crate::compiler`]) and every option (`dcc_args::server`).
//! 2. Read the body into the job's private directory (plain: the `.i`; pump: the client's
//!    tree, [`crate::pump`]).
//! 3. Wait for a `--jobs` slot, run the compiler, watching the client (EOF kills the compile:
//!    distcc's `Client fd disconnected, killing job`) and `--job-lifetime`.
//! 4. Reply `DONE STAT SERR SOUT DOTO [DOTD]`, log distcc's summary line, remove the directory.
//!
//! Improvement over distcc: a request refused for its compiler or its options is answered,
//! after the rest of the request has been read, with a failing `STAT` and a `SERR` line that
//! says why, instead of a silent close (docs/security/argument-allow-list.md). A client outside
//! `--allow` still gets no byte at all (that check happens before this module).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use dcc_common::{Level, dcc_log, dcc_log_noname};
use dcc_proto::{ProtoError, Protocol, Reply, RequestDecoder, RequestEvent, wait_status_exit};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::access::client_name;
use crate::admit::Admission;
use crate::counting::{CountingReader, CountingWriter};
use crate::exec::{Runner, Running, Spawn};
use crate::live::LiveJob;
use crate::metrics::RefusalReason;
use crate::observe::{Event, JobOutcome};
use crate::receive::{Layout, Received, receive};
use crate::reply;
use crate::server::Server;
use crate::stats::JobResult;
use crate::vetting::{self, Prepared};
use crate::workdir::JobDir;

/// Why reading a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Proto(#[from] ProtoError),
    #[error("read failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("timeout while waiting for token \"{0}\"")]
    Timeout(&'static str),
    #[error("request header not complete within {}s of the connection (DISTCC_RS_HEADER_TIMEOUT)", .0.as_secs())]
    HeaderDeadline(Duration),
    #[error(
        "request body not complete within its deadline, waiting for \"{0}\" (DISTCC_RS_BODY_TIMEOUT, DISTCC_RS_BODY_RATE)"
    )]
    BodyDeadline(&'static str),
}

/// What a request holds until its body is in ([`crate::admit`]).
struct Unfinished<'s> {
    admission: Option<Admission>,
    intake: Option<tokio::sync::SemaphorePermit<'s>>,
    /// The header must be complete by then.
    deadline: tokio::time::Instant,
}

impl Unfinished<'_> {
    /// The request is read: free its places for others.
    fn release(&mut self) {
        self.intake = None;
        self.admission = None;
    }
}

/// Read until the decoder yields an event.
pub(crate) async fn next_event<I: AsyncRead + Unpin>(
    input: &mut I,
    buf: &mut BytesMut,
    dec: &mut RequestDecoder,
    timeout: Duration,
) -> Result<RequestEvent, ReadError> {
    loop {
        if let Some(ev) = dec.decode(buf)? {
            return Ok(ev);
        }
        let want = dec.want().saturating_sub(buf.len()).clamp(1, 1 << 20);
        buf.reserve(want.max(64 * 1024));
        let n = tokio::time::timeout(timeout, input.read_buf(buf))
            .await
            .map_err(|_| ReadError::Timeout(dec.expecting()))??;
        if n == 0 {
            return Err(dec.truncated().into());
        }
    }
}

/// [`next_event`], by `by` when there is a deadline ([`BodyClock`]).
pub(crate) async fn next_event_by<I: AsyncRead + Unpin>(
    input: &mut I,
    buf: &mut BytesMut,
    dec: &mut RequestDecoder,
    timeout: Duration,
    by: Option<tokio::time::Instant>,
) -> Result<RequestEvent, ReadError> {
    let Some(by) = by else {
        return next_event(input, buf, dec, timeout).await;
    };
    match tokio::time::timeout_at(by, next_event(input, buf, dec, timeout)).await {
        Ok(r) => r,
        Err(_) => Err(ReadError::BodyDeadline(dec.expecting())),
    }
}

/// When a request's bodies must be in: from the first body's token, the sum of their
/// allowances ([`crate::options::ServerEnv::body_allowance`]). Before it (a plain client
/// preprocessing before its `DOTI`) only the per-read timeout applies.
#[derive(Debug, Default)]
pub(crate) struct BodyClock {
    until: Option<tokio::time::Instant>,
}

impl BodyClock {
    /// A body of `len` wire bytes starts now: when it must be in (its allowance, within what
    /// is left of the request's).
    pub(crate) fn start(
        &mut self,
        env: &crate::options::ServerEnv,
        len: u32,
    ) -> tokio::time::Instant {
        let now = tokio::time::Instant::now();
        let allowance = env.body_allowance(len);
        let until = self.until.map_or(now, |u| u.max(now)) + allowance;
        self.until = Some(until);
        until.min(now + allowance)
    }

    /// When the rest of the request must be in, once a body has started.
    pub(crate) fn until(&self) -> Option<tokio::time::Instant> {
        self.until
    }
}

/// A `SERR` line in distcc's log format, sent to the client with a refusal.
pub(crate) fn serr_line(level: Level, func: &str, msg: &str) -> Vec<u8> {
    let mut l = dcc_common::Logger::format_line(
        "distccd",
        std::process::id(),
        level,
        Some(func),
        format_args!("{msg}"),
    );
    l.push('\n');
    l.into_bytes()
}

impl ReadError {
    /// What a request that could not be read counts as: the client went away, or it sent
    /// something that is not a (timely) request.
    pub fn job_result(&self) -> JobResult {
        match self {
            ReadError::Proto(ProtoError::Truncated { .. }) | ReadError::Io(_) => {
                JobResult::CliDisconn
            }
            _ => JobResult::RejBadReq,
        }
    }
}

/// Serve one connection whose peer already passed the access list ([`Server::admit`]; `None`
/// for a connection that needs no admission, as on inetd's stdin).
pub async fn serve<R, I, O>(
    srv: &Server<R>,
    input: I,
    output: O,
    peer: Option<SocketAddr>,
    admission: Option<Admission>,
) where
    R: Runner,
    I: AsyncRead + Unpin + Send,
    O: AsyncWrite + Unpin + Send,
{
    let start = Instant::now();
    let client = client_name(peer);
    let live = srv.live.start(&client);
    let mut input = CountingReader::new(input, srv.metrics.received.clone());
    let mut output = CountingWriter::new(output, srv.metrics.sent.clone());
    let mut dir = None;
    let started = admission
        .as_ref()
        .map_or_else(tokio::time::Instant::now, |a| a.started);
    let mut unfinished = Unfinished {
        admission,
        intake: None,
        deadline: started + srv.env.header_timeout,
    };
    let conn = Conn {
        srv,
        live: &live,
        input: &mut input,
        output: &mut output,
    };
    let outcome = run(conn, &mut dir, &mut unfinished).await;
    unfinished.release();
    // The job's directory is gone before the summary line says the job ended.
    if let Some(d) = dir {
        d.remove().await;
    }
    if let Err(e) = output.shutdown().await {
        dcc_log!(Level::Debug, "dcc_run_job", "closing the connection: {e}");
    }
    drop(live);
    let elapsed = start.elapsed();
    srv.observe(Event::Finished {
        client: &client,
        outcome: &outcome,
        elapsed,
    });
    let o = &outcome;
    let st = o.status;
    let mut line = format!(
        "client: {} {} exit:{} sig:{} core:{} ret:{} time:{}ms ",
        client,
        o.result.text(),
        (st >> 8) & 0xff,
        st & 0x7f,
        (st >> 7) & 1,
        o.ret,
        elapsed.as_millis()
    );
    if matches!(o.result, JobResult::CompileOk | JobResult::CompileError) {
        line.push_str(&format!("{} {}", o.compiler, o.input));
    }
    dcc_log!(Level::Notice, "dcc_job_summary", "{line}");
}

/// A connection being served: the daemon, the job's entry in the live view, the two halves.
struct Conn<'c, 's, R: Runner, I, O> {
    srv: &'s Server<R>,
    live: &'c LiveJob<'s>,
    input: &'c mut I,
    output: &'c mut O,
}

/// One job, from the intake to the reply: how it ended.
async fn run<'s, R, I, O>(
    conn: Conn<'_, 's, R, I, O>,
    slot: &mut Option<JobDir>,
    unfinished: &mut Unfinished<'s>,
) -> JobOutcome
where
    R: Runner,
    I: AsyncRead + Unpin + Send,
    O: AsyncWrite + Unpin + Send,
{
    let Conn {
        srv,
        live,
        input,
        output,
    } = conn;
    let mut job = JobOutcome::new();
    let timeout = srv.env.io_timeout;
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut dec = RequestDecoder::streaming(srv.limits);
    // A place among the requests read at once, then the header, both by the deadline.
    let deadline = unfinished.deadline;
    match tokio::time::timeout_at(deadline, srv.intake.acquire()).await {
        Ok(Ok(p)) => unfinished.intake = Some(p),
        _ => {
            let msg = format!(
                "{} requests are being read already; gave up waiting",
                srv.intake_limit()
            );
            dcc_log!(Level::Warning, "dcc_accept_job", "{msg}");
            job.refusal = Some(RefusalReason::Busy);
            return job.ended(JobResult::RejOverload, msg);
        }
    }
    let first = tokio::time::timeout_at(deadline, next_event(input, &mut buf, &mut dec, timeout))
        .await
        .unwrap_or(Err(ReadError::HeaderDeadline(srv.env.header_timeout)));
    let header = match first {
        Ok(RequestEvent::Header(h)) => h,
        Ok(_) => {
            job.result = JobResult::RejBadReq;
            return job;
        }
        Err(e) => {
            log_read_error(&e, true);
            if matches!(e, ReadError::Proto(ref p) if !matches!(p, ProtoError::Truncated { .. })) {
                job.refusal = Some(RefusalReason::Protocol);
            }
            job.ret = 109;
            return job.ended(e.job_result(), e.to_string());
        }
    };
    let protocol = header.protocol;
    job.compiler = header.argv.first().cloned().unwrap_or_default();
    srv.observe(Event::Described {
        job: live,
        compiler: &job.compiler,
        input: "",
    });

    // Vet before anything touches the disk.
    let prepared = match vetting::prepare(srv, &header) {
        Ok(p) => p,
        Err(refusal) => {
            job.input = refusal.input.clone().unwrap_or_default();
            job.refusal = Some(refusal.kind);
            refuse(srv, input, output, &mut buf, &mut dec, protocol, &refusal).await;
            job.ret = refusal.exit.code();
            job.status = wait_status_exit(refusal.exit.code() as u8);
            return job.ended(JobResult::Other, refusal.message);
        }
    };
    job.input = prepared.input_name.clone();
    srv.observe(Event::Described {
        job: live,
        compiler: &job.compiler,
        input: &job.input,
    });

    let dir = match JobDir::create(&srv.env.tmpdir, srv.env.save_temps, srv.registry.clone()) {
        Ok(d) => slot.insert(d),
        Err(e) => {
            let msg = format!(
                "failed to create job directory in {}: {e}",
                srv.env.tmpdir.display()
            );
            dcc_log!(Level::Error, "dcc_make_tmpnam", "{msg}");
            return job.ended(JobResult::Other, msg);
        }
    };

    // Receive the body into the job's directory.
    let received = if protocol.is_cas() {
        crate::cas_job::receive(srv, input, output, &mut buf, &header, &prepared, dir).await
    } else {
        receive(srv, input, &mut buf, &mut dec, &header, &prepared, dir).await
    };
    let layout = match received {
        Ok(l) => l,
        Err(Received::Read(e)) => {
            log_read_error(&e, false);
            return job.ended(e.job_result(), e.to_string());
        }
        Err(Received::Refused(refusal)) => {
            dcc_log!(refusal.level, refusal.func, "{}", refusal.message);
            job.refusal = Some(refusal.kind);
            send_refusal(output, protocol, &refusal).await;
            job.ret = refusal.exit.code();
            job.status = wait_status_exit(refusal.exit.code() as u8);
            return job.ended(JobResult::Other, refusal.message);
        }
        Err(Received::Local(msg)) => {
            dcc_log!(Level::Error, "dcc_run_job", "{msg}");
            return job.ended(JobResult::Other, msg);
        }
    };

    // The request is in: it no longer counts against its address or the intake.
    unfinished.release();
    dcc_log_noname!(
        Level::Info,
        "compile from {} to {}",
        prepared.input_name,
        prepared.output_name
    );

    // A --jobs slot. Requests are read before this point, so a slow client never holds one.
    srv.observe(Event::Queued(live));
    // A client that goes away while its job waits leaves the queue at once, instead of
    // holding a place and costing a compiler start when its turn comes (found by the soak).
    let permit = tokio::select! {
        p = srv.jobs.acquire() => Some(p),
        _ = client_gone(input) => None,
    };
    srv.observe(Event::LeftQueue);
    let _permit = match permit {
        Some(Ok(p)) => p,
        // The semaphore is never closed.
        Some(Err(_)) => return job,
        None => {
            dcc_log!(
                Level::Warning,
                "dcc_collect_child",
                "Client fd disconnected while queued, dropping job"
            );
            job.ret = 107;
            return job.ended(
                JobResult::CliDisconn,
                "client disconnected while its job was queued",
            );
        }
    };
    srv.observe(Event::Compiling(live));
    let compiled = compile(srv, input, &prepared, &layout).await;
    srv.observe(Event::Compiled);

    let (status, stderr) = match compiled {
        Outcome::Exited(st) => (st, Vec::new()),
        Outcome::Disconnected(st) => {
            dcc_log!(
                Level::Warning,
                "dcc_collect_child",
                "Client fd disconnected, killing job"
            );
            job.status = st;
            job.ret = 107;
            return job.ended(
                JobResult::CliDisconn,
                "client disconnected during the compile; killed it",
            );
        }
        Outcome::TimedOut => {
            let msg = format!(
                "compilation of {} exceeded the --job-lifetime of {}s, killed",
                prepared.input_name,
                srv.cfg.job_lifetime.unwrap_or_default().as_secs()
            );
            dcc_log!(Level::Warning, "dcc_collect_child", "{msg}");
            job.ret = 118;
            let st = wait_status_exit(118);
            let serr = serr_line(Level::Warning, "dcc_collect_child", &msg);
            job = job.ended(JobResult::CompileTimeout, msg);
            (st, serr)
        }
        Outcome::SpawnFailed(e) => {
            let msg = format!("failed to exec {}: {e}", job.compiler);
            dcc_log!(Level::Error, "dcc_execvp", "{msg}");
            job.ret = 110;
            let serr = serr_line(Level::Error, "dcc_execvp", &msg);
            job.reason = Some(msg);
            (wait_status_exit(110), serr)
        }
    };
    job.status = status;
    if job.result != JobResult::CompileTimeout {
        job.result = if status == 0 {
            JobResult::CompileOk
        } else {
            JobResult::CompileError
        };
    }
    log_status(&job.compiler, &prepared.input_name, status);
    srv.observe(Event::Sending(live));

    let reply = match reply::collect(&prepared, &layout, status, stderr).await {
        Ok(r) => r,
        Err(e) => {
            let msg = format!("failed to collect results: {e}");
            dcc_log!(Level::Error, "dcc_run_job", "{msg}");
            return job.ended(JobResult::Other, msg);
        }
    };
    if job.result == JobResult::CompileError && job.reason.is_none() {
        job.reason = Some(reply::compile_error_reason(&reply.stderr, status));
    }
    let mut bytes = Vec::with_capacity(reply.object.len() + reply.stderr.len() + 128);
    if let Err(e) = reply.encode(protocol, &mut bytes) {
        dcc_log!(Level::Error, "dcc_run_job", "failed to encode reply: {e}");
        job.result = JobResult::Other;
        return job;
    }
    crate::load::append(srv, protocol, &mut bytes);
    if let Err(e) = write_all(output, &bytes, timeout).await {
        dcc_log!(Level::Error, "dcc_writex", "failed to write: {e}");
        return job.ended(
            JobResult::CliDisconn,
            format!("failed to write the reply: {e}"),
        );
    }
    dcc_log_noname!(Level::Info, "job complete");
    job
}

/// distcc's `dcc_critique_status` wording for the daemon's info log.
fn log_status(compiler: &str, input: &str, status: u32) {
    let sig = status & 0x7f;
    let code = (status >> 8) & 0xff;
    if sig != 0 && sig != 0x7f {
        dcc_log_noname!(
            Level::Info,
            "{compiler} {input} on localhost: killed by signal {sig}"
        );
    } else if code == 1 {
        dcc_log_noname!(Level::Info, "{compiler} {input} on localhost failed");
    } else if code != 0 {
        dcc_log_noname!(
            Level::Info,
            "{compiler} {input} on localhost failed with exit code {code}"
        );
    } else {
        dcc_log_noname!(Level::Info, "{compiler} {input} on localhost completed ok");
    }
}

fn log_read_error(e: &ReadError, first: bool) {
    match e {
        ReadError::Proto(ProtoError::UnexpectedToken {
            expected, context, ..
        }) => {
            dcc_log!(
                Level::Error,
                "dcc_r_token_int",
                "protocol derailment: expected token \"{expected}\""
            );
            dcc_log!(
                Level::Error,
                "dcc_explain_mismatch",
                "error context: \"{}\"",
                context.escape_debug()
            );
            if first && *expected == "DIST" {
                dcc_log!(
                    Level::Error,
                    "dcc_r_request_header",
                    "client did not provide distcc magic fairy dust"
                );
            }
        }
        ReadError::Proto(ProtoError::UnsupportedVersion(v)) => dcc_log!(
            Level::Error,
            "dcc_r_request_header",
            "can't handle requested protocol version is {v}"
        ),
        ReadError::Proto(ProtoError::Truncated { expected }) => dcc_log!(
            Level::Error,
            "dcc_r_token_int",
            "unexpected eof while waiting for token \"{expected}\""
        ),
        other => dcc_log!(Level::Error, "dcc_readx", "{other}"),
    }
}

/// Answer a refused request: read (and discard) the rest of it so the client is not reset
/// mid-send, then send the reason.
async fn refuse<I, O>(
    srv: &Server<impl Runner>,
    input: &mut I,
    output: &mut O,
    buf: &mut BytesMut,
    dec: &mut RequestDecoder,
    protocol: Protocol,
    refusal: &vetting::Refusal,
) where
    I: AsyncRead + Unpin + Send,
    O: AsyncWrite + Unpin + Send,
{
    dcc_log!(refusal.level, refusal.func, "{}", refusal.message);
    if protocol.is_cas() {
        if crate::cas_job::skip_manifest(srv, input, buf).await {
            send_refusal(output, protocol, refusal).await;
        }
        return;
    }
    // The rest is read within the bodies' deadlines, as a request being received is.
    let mut clock = BodyClock::default();
    loop {
        match next_event_by(input, buf, dec, srv.env.io_timeout, clock.until()).await {
            Ok(RequestEvent::End) => break,
            Ok(RequestEvent::DotiStart { len } | RequestEvent::FileStart { len, .. }) => {
                clock.start(&srv.env, len);
            }
            Ok(_) => {}
            Err(e) => {
                log_read_error(&e, false);
                return;
            }
        }
    }
    send_refusal(output, protocol, refusal).await;
}

async fn send_refusal<O: AsyncWrite + Unpin + Send>(
    output: &mut O,
    protocol: Protocol,
    refusal: &vetting::Refusal,
) {
    let reply = Reply {
        status: wait_status_exit(refusal.exit.code() as u8),
        stderr: serr_line(refusal.level, refusal.func, &refusal.message),
        ..Reply::default()
    };
    let mut bytes = Vec::new();
    if reply.encode(protocol, &mut bytes).is_ok() {
        let _ = output.write_all(&bytes).await;
        let _ = output.flush().await;
    }
}

async fn write_all<O: AsyncWrite + Unpin>(
    output: &mut O,
    bytes: &[u8],
    timeout: Duration,
) -> std::io::Result<()> {
    tokio::time::timeout(timeout, async {
        output.write_all(bytes).await?;
        output.flush().await
    })
    .await
    .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "write timed out"))?
}

enum Outcome {
    Exited(u32),
    Disconnected(u32),
    TimedOut,
    SpawnFailed(std::io::Error),
}

/// Wait for EOF on the client's side. Bytes a client sends after its request are ignored.
async fn client_gone<I: AsyncRead + Unpin>(input: &mut I) {
    let mut scratch = [0u8; 512];
    loop {
        match input.read(&mut scratch).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

async fn compile<I: AsyncRead + Unpin + Send>(
    srv: &Server<impl Runner>,
    input: &mut I,
    prepared: &Prepared,
    layout: &Layout,
) -> Outcome {
    let mut env = vec![(
        "_DISTCC_SAFEGUARD".to_owned(),
        (srv.safeguard_level + 1).to_string(),
    )];
    if srv.env.distccd_path.is_some() {
        env.push(("PATH".into(), srv.env.path.clone()));
    }
    // gcc's temporary .s files and clang's crash reproducers go to TMPDIR: keep them in the
    // job, so a compile killed mid-way (client gone, --job-lifetime) leaves nothing behind.
    env.push(("TMPDIR".into(), layout.tmp.to_string_lossy().into_owned()));
    let spawn = Spawn {
        program: prepared.program.clone(),
        args: layout.argv[1..].to_vec(),
        cwd: layout.cwd.clone(),
        stdout: layout.stdout.clone(),
        stderr: layout.stderr.clone(),
        env,
    };
    dcc_log!(
        Level::Debug,
        "dcc_spawn_child",
        "forking to execute: {} {}",
        spawn.program.display(),
        spawn.args.join(" ")
    );
    let mut child = match srv.runner.spawn(&spawn) {
        Ok(c) => c,
        Err(e) => return Outcome::SpawnFailed(e),
    };
    let lifetime = srv.cfg.job_lifetime;
    let deadline = async {
        match lifetime {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    let shutdown = srv.shutdown.clone();
    tokio::select! {
        st = child.wait() => match st {
            Ok(st) => Outcome::Exited(st),
            Err(e) => Outcome::SpawnFailed(e),
        },
        _ = client_gone(input) => {
            child.kill();
            let _ = child.wait().await;
            Outcome::Disconnected(wait_status_exit(107))
        }
        _ = deadline => {
            child.kill();
            let _ = child.wait().await;
            Outcome::TimedOut
        }
        _ = until_shutdown(shutdown) => {
            child.kill();
            let _ = child.wait().await;
            Outcome::Disconnected(wait_status_exit(107))
        }
    }
}

/// Resolve once the daemon starts shutting down.
async fn until_shutdown(mut rx: tokio::sync::watch::Receiver<bool>) {
    while !*rx.borrow_and_update() {
        if rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
