//! The daemon's core in-process: `dcc_server::serve` on a loopback listener in the test's
//! own runtime, no forked binary. Refusals, a client that goes away mid-compile, the header
//! and body deadlines, and shutdown; a real gcc where a compile must finish. Where the
//! compiler must still be running when something happens, a `Runner` whose compilers run
//! until killed stands in for gcc, and records what it was asked to do.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dcc_common::MapEnv;
use dcc_server::compiler::CompilerPolicy;
use dcc_server::exec::{ProcessRunner, Runner, Running, Spawn};
use dcc_server::options::{self, Parsed, ServerEnv};
use dcc_server::stats::JobResult;
use dcc_server::{Listeners, Server};
use dcc_testkit::World;
use dcc_testkit::wire::{compile_local, decode_reply, exchange, preprocess, request};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long anything here may take before the test gives up (a bound, not a measurement).
const LIMIT: Duration = Duration::from_secs(30);

/// A daemon core serving on 127.0.0.1 in this runtime.
struct InProcess<R: Runner> {
    w: World,
    addr: SocketAddr,
    /// The stats port.
    stats: SocketAddr,
    srv: Arc<Server<R>>,
    stop: Option<oneshot::Sender<()>>,
    served: JoinHandle<()>,
}

async fn start<R: Runner>(args: &[&str], vars: &[(&str, &str)], runner: R) -> InProcess<R> {
    let w = World::new();
    let mut argv = vec!["distccd"];
    argv.extend_from_slice(args);
    let cfg = match options::parse(argv) {
        Ok(Parsed::Run(c)) => *c,
        _ => panic!("options {args:?}"),
    };
    let mut env = MapEnv::new().with("TMPDIR", w.path("tmp"));
    for (k, v) in vars {
        env = env.with(k, *v);
    }
    let env = ServerEnv::from_env(&env).unwrap();
    let compilers = CompilerPolicy {
        insecure: false,
        whitelist_dirs: vec![w.whitelist(&["gcc"])],
        cmdlist: None,
        path: "/usr/local/bin:/usr/bin:/bin".into(),
    };
    let allow = cfg.allow.clone();
    let (srv, _stop) = Server::new(cfg, env, allow, compilers, runner, 0);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stats_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stats = stats_listener.local_addr().unwrap();
    let listeners = Listeners {
        main: listener,
        secure: None,
        stats: Some(stats_listener),
        gate: None,
    };
    let (tx, rx) = oneshot::channel::<()>();
    let served = tokio::spawn(dcc_server::serve(listeners, srv.clone(), async {
        let _ = rx.await;
    }));
    InProcess {
        w,
        addr,
        stats,
        srv,
        stop: Some(tx),
        served,
    }
}

impl<R: Runner> InProcess<R> {
    /// A plain protocol-1 request (no compression) for `gcc -c x.c -o x.o`.
    fn request(&self) -> Vec<u8> {
        self.w.write("src/x.c", "int x(void) { return 1; }\n");
        let doti = preprocess(&self.w.path("src"), "x.c", &[]);
        request(1, &["gcc", "-c", "x.c", "-o", "x.o"], &doti)
    }

    /// Send `bytes` on a blocking thread and read the whole answer (EOF within [`LIMIT`]).
    async fn exchange(&self, bytes: Vec<u8>) -> Vec<u8> {
        let addr = self.addr;
        tokio::task::spawn_blocking(move || exchange(addr, &bytes, LIMIT).reply)
            .await
            .unwrap()
    }

    /// Wait until the job counters show `n` jobs that ended with `result`.
    async fn ended(&self, result: JobResult, n: u64) {
        until(|| self.srv.stats.count(result) >= n, "job result").await;
        assert_eq!(self.srv.stats.count(result), n);
    }

    fn leftovers(&self) -> Vec<String> {
        self.w.tmp_leftovers()
    }

    /// The newest failure the live view remembers: (result, reason).
    fn last_failure(&self) -> (String, String) {
        let f = self.srv.live.recent();
        let f = f.first().expect("a failure recorded");
        (f.result.clone(), f.reason.clone())
    }

    async fn shut_down(mut self) -> Self {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(LIMIT, &mut self.served)
            .await
            .expect("serve returns once shutdown fires")
            .unwrap();
        self
    }
}

/// Poll `cond` until it holds (at most [`LIMIT`]).
async fn until(mut cond: impl FnMut() -> bool, what: &str) {
    let deadline = tokio::time::Instant::now() + LIMIT;
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "waited for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Compilers that run until killed. Records each start (its job directory) and each kill.
#[derive(Debug, Clone, Default)]
struct UntilKilled {
    started: Arc<Mutex<Vec<PathBuf>>>,
    kills: Arc<Mutex<usize>>,
}

#[derive(Debug)]
struct UntilKilledChild {
    killed: bool,
    kills: Arc<Mutex<usize>>,
}

impl Runner for UntilKilled {
    type Child = UntilKilledChild;

    fn spawn(&self, spawn: &Spawn) -> io::Result<UntilKilledChild> {
        self.started.lock().unwrap().push(spawn.cwd.clone());
        Ok(UntilKilledChild {
            killed: false,
            kills: self.kills.clone(),
        })
    }
}

impl Running for UntilKilledChild {
    fn wait(&mut self) -> impl Future<Output = io::Result<u32>> + Send {
        let killed = self.killed;
        async move {
            if killed {
                Ok(libc::SIGTERM as u32)
            } else {
                std::future::pending().await
            }
        }
    }

    fn kill(&mut self) {
        self.killed = true;
        *self.kills.lock().unwrap() += 1;
    }
}

impl UntilKilled {
    fn started(&self) -> Vec<PathBuf> {
        self.started.lock().unwrap().clone()
    }

    fn kills(&self) -> usize {
        *self.kills.lock().unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_a_real_compile_byte_identical_to_local_gcc() {
    let d = start(&["--allow", "127.0.0.1"], &[], ProcessRunner).await;
    let reply = d.exchange(d.request()).await;
    let r = decode_reply(&reply, 1).expect("a reply");
    assert_eq!(r.status, 0, "{}", String::from_utf8_lossy(&r.stderr));
    let local = compile_local(&d.w.path("src"), &["-c", "x.c"], "x.o");
    assert_eq!(r.object, local, "the object is the local one");
    d.ended(JobResult::CompileOk, 1).await;
    assert!(d.leftovers().is_empty(), "{:?}", d.leftovers());
    d.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_outside_allow_gets_no_byte_and_is_counted() {
    let runner = UntilKilled::default();
    let d = start(&["--allow", "192.0.2.0/24"], &[], runner.clone()).await;
    let reply = d.exchange(d.request()).await;
    assert!(reply.is_empty(), "refused client got {} bytes", reply.len());
    until(
        || d.srv.metrics.encode().contains(r#"reason="access"} 1"#),
        "the refusal in /metrics",
    )
    .await;
    assert_eq!(d.last_failure().0, "DENIED");
    assert_eq!(d.srv.stats.accepted_count(), 0);
    assert!(runner.started().is_empty(), "nothing ran");
    d.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stats_port_refuses_outside_allow_through_the_same_check() {
    let d = start(&["--allow", "192.0.2.0/24"], &[], UntilKilled::default()).await;
    let stats = d.stats;
    let reply = tokio::task::spawn_blocking(move || {
        exchange(stats, b"GET /metrics HTTP/1.0\r\n\r\n", LIMIT).reply
    })
    .await
    .unwrap();
    assert!(reply.is_empty(), "refused client got {} bytes", reply.len());
    until(
        || d.srv.metrics.encode().contains(r#"reason="access"} 1"#),
        "the stats port's refusal in /metrics",
    )
    .await;
    assert_eq!(d.last_failure().0, "DENIED");
    d.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_without_distccs_magic_is_closed_silently() {
    let runner = UntilKilled::default();
    let d = start(&["--allow", "127.0.0.1"], &[], runner.clone()).await;
    let reply = d.exchange(b"GET / HTTP/1.0\r\n\r\n".to_vec()).await;
    assert!(
        reply.is_empty(),
        "got {:?}",
        String::from_utf8_lossy(&reply)
    );
    d.ended(JobResult::RejBadReq, 1).await;
    assert!(d.srv.metrics.encode().contains(r#"reason="protocol"} 1"#));
    assert!(runner.started().is_empty(), "nothing ran");
    assert!(d.leftovers().is_empty(), "{:?}", d.leftovers());
    d.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compiler_outside_the_whitelist_is_answered_with_distccs_exit_code() {
    let runner = UntilKilled::default();
    let d = start(&["--allow", "127.0.0.1"], &[], runner.clone()).await;
    let doti = b"int x;\n".to_vec();
    let reply = d
        .exchange(request(1, &["evilcc", "-c", "x.c", "-o", "x.o"], &doti))
        .await;
    let r = decode_reply(&reply, 1).expect("a refusal is a reply");
    assert_eq!((r.status >> 8) & 0xff, 110, "EXIT_COMPILER_MISSING");
    assert!(String::from_utf8_lossy(&r.stderr).contains("evilcc"));
    d.ended(JobResult::Other, 1).await;
    assert!(runner.started().is_empty(), "nothing ran");
    assert!(d.leftovers().is_empty(), "{:?}", d.leftovers());
    d.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_goes_away_mid_compile_gets_its_compiler_killed() {
    let runner = UntilKilled::default();
    let d = start(&["--allow", "127.0.0.1"], &[], runner.clone()).await;
    let bytes = d.request();
    let addr = d.addr;
    let client = tokio::task::spawn_blocking(move || {
        use std::io::Write as _;
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(&bytes).unwrap();
        s
    })
    .await
    .unwrap();
    until(|| runner.started().len() == 1, "the compile to start").await;
    let job_dir = runner.started()[0].clone();
    assert!(job_dir.exists());
    drop(client);
    d.ended(JobResult::CliDisconn, 1).await;
    assert_eq!(runner.kills(), 1, "the compiler was killed");
    assert!(!job_dir.exists(), "the job's directory is removed");
    assert!(d.leftovers().is_empty(), "{:?}", d.leftovers());
    assert_eq!(d.srv.stats.current_load(), 0);
    d.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_not_complete_by_its_deadline_is_dropped() {
    let runner = UntilKilled::default();
    let vars = [("DISTCC_RS_HEADER_TIMEOUT", "1")];
    let d = start(&["--allow", "127.0.0.1"], &vars, runner.clone()).await;
    let mut bytes = d.request();
    let doti = bytes.windows(4).position(|w| w == b"DOTI").unwrap();
    // The header stops part-way, and the connection stays open.
    bytes.truncate(doti - 3);
    let reply = d.exchange(bytes).await;
    assert!(
        reply.is_empty(),
        "got {:?}",
        String::from_utf8_lossy(&reply)
    );
    d.ended(JobResult::RejBadReq, 1).await;
    let (_, reason) = d.last_failure();
    assert!(reason.contains("DISTCC_RS_HEADER_TIMEOUT"), "{reason}");
    assert!(runner.started().is_empty(), "nothing ran");
    d.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_not_complete_by_its_deadline_is_dropped_and_its_directory_removed() {
    let runner = UntilKilled::default();
    let vars = [
        ("DISTCC_RS_BODY_TIMEOUT", "1"),
        ("DISTCC_RS_BODY_RATE", "1048576"),
    ];
    let d = start(&["--allow", "127.0.0.1"], &vars, runner.clone()).await;
    let doti = vec![b' '; 4000];
    let mut bytes = request(1, &["gcc", "-c", "x.c", "-o", "x.o"], &doti);
    let at = bytes.windows(4).position(|w| w == b"DOTI").unwrap();
    // The body's token and length, and a tenth of the body.
    bytes.truncate(at + 12 + 400);
    let reply = d.exchange(bytes).await;
    assert!(
        reply.is_empty(),
        "got {:?}",
        String::from_utf8_lossy(&reply)
    );
    d.ended(JobResult::RejBadReq, 1).await;
    let (_, reason) = d.last_failure();
    assert!(reason.contains("DISTCC_RS_BODY_TIMEOUT"), "{reason}");
    assert!(runner.started().is_empty(), "nothing ran");
    assert!(d.leftovers().is_empty(), "{:?}", d.leftovers());
    d.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_kills_running_compiles_removes_their_directories_and_returns() {
    let runner = UntilKilled::default();
    let d = start(&["--allow", "127.0.0.1"], &[], runner.clone()).await;
    let bytes = d.request();
    let addr = d.addr;
    let client = tokio::task::spawn_blocking(move || exchange(addr, &bytes, LIMIT).reply);
    until(|| runner.started().len() == 1, "the compile to start").await;
    let job_dir = runner.started()[0].clone();
    let d = d.shut_down().await;
    assert_eq!(runner.kills(), 1, "the running compiler was killed");
    // The job may still be removing it itself, as serve's drain does.
    until(|| !job_dir.exists(), "the job's directory to go").await;
    assert!(d.srv.registry.is_empty());
    // The client gets no reply (a killed job is a disconnect, as in distccd).
    let reply = client.await.unwrap();
    assert!(reply.is_empty(), "got {} bytes", reply.len());
    // Nothing listens any more.
    assert!(std::net::TcpStream::connect(d.addr).is_err());
    assert!(d.leftovers().is_empty(), "{:?}", d.leftovers());
}
