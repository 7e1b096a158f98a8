//! The life of one compile (distcc src/compile.c `dcc_build_somewhere`; reference §2.7).
//!
//! 1. `-Wp,` expansion and `scan_args`: a command that cannot be distributed runs here under a
//!    local slot (`-E` under a local cpp slot). A recursive call (safeguard > 0) runs here
//!    without any lock.
//! 2. Compiler-name rewriting (unless `DISTCC_NO_REWRITE_CROSS`).
//! 3. Host list, minus `,down`, unsupported and backed-off hosts. No host: local.
//! 4. A slot on a host (slot 0 of every host before slot 1 of any). `localhost`: compile here
//!    under that slot. Otherwise start the preprocessor (under a local cpp slot) and try the
//!    host ([`crate::remote`]).
//! 5. A host that fails (connect, IO, protocol) gets a backoff mark and the next host is tried;
//!    when none is left, the job falls back to a local compile, or stops with distcc's exit
//!    code under `DISTCC_FALLBACK=0`.
//! 6. The reply ([`crate::verdict::classify`]): success writes the object and passes on the
//!    compiler's output. A compiler error is retried locally unless `DISTCC_SKIP_LOCAL_RETRY`.
//!    A status of 100-120 is the server's own refusal or failure, never the source's: its
//!    reason is shown as a warning (escaped, as everything we say about a reply) and the job
//!    always falls back locally. A signal falls back too. A status that is no wait status at
//!    all, a reply over the client's limits or past its deadline are protocol failures of
//!    the host (step 5).
//!
//! Local runs execute the command as the user gave it (after `@file` expansion), not the
//! `-Wp,`-expanded and renamed argv distcc runs, so a fallback produces exactly what plain gcc
//! would, dependency files included.

use std::ffi::OsString;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use dcc_args::client::{
    Compile, LocalReason, Scan, expand_preprocessor_options_with, fix_dependency_args, scan_args,
    strip_local_args,
};
use dcc_common::{Env, ExitCode, Level, dcc_log, dcc_log_noname};
use dcc_hosts::HostSpec;
use dcc_state::{DistccDir, EventKind, Phase, SlotLock};

use crate::config::Config;
use crate::cpp::{Preprocessed, has_incbin};
use crate::events;
use crate::exec::{ChildEnv, compile_local, critique, critique_raw, signal_name};
use crate::hosts;
use crate::output::{open_output, pass_output, remove_partial_output};
use crate::placement::{JobState, Slots};
use crate::pump::{self, NotPumped, Unit};
use crate::remote::{self, Body, Outcome, Request};
use crate::reply::{Received, Spool, reply_limits};
use crate::verdict::{MESSAGE_HEAD, Verdict, classify, printable};

/// distcc gives up after this many failed hosts when backoff is disabled (HEAD src/compile.c).
const MAX_RETRIES_WITHOUT_BACKOFF: u32 = 3;

mod failure;
use failure::Failure;

/// What one client process works with.
pub struct Client<'e> {
    pub cfg: Config,
    pub env: &'e dyn Env,
    pub cenv: ChildEnv,
    /// `$DISTCC_DIR` or `~/.distcc`; `None` when neither can be found (no locks, no state).
    pub dir: Option<DistccDir>,
}

/// Compile `args` (`args[0]` is the compiler) somewhere; return the exit code.
pub fn build(c: &Client<'_>, args: &[OsString]) -> i32 {
    let input = guess_input(args);
    if c.cfg.safeguard > 0 {
        // distcc src/compile.c: a recursive distcc runs locally, skipping all locking.
        dcc_log!(
            Level::Debug,
            "dcc_build_somewhere",
            "recursive call: compiling locally"
        );
        let mut state = JobState::new(c.dir.as_ref(), &input);
        state.note(Phase::Compile, Some("localhost"), None);
        return compile_local(&c.cenv, args, &input);
    }
    let Some(argv) = args
        .iter()
        .map(|a| a.to_str().map(str::to_owned))
        .collect::<Option<Vec<String>>>()
    else {
        dcc_log!(
            Level::Info,
            "dcc_scan_args",
            "argument is not valid UTF-8; running locally"
        );
        return local_job(c, args, &input, false);
    };
    let expanded = expand_preprocessor_options_with(&argv, |w| {
        dcc_log!(Level::Warning, "dcc_expand_preprocessor_options", "{w}");
    });
    let mut compile = match scan_args(&expanded) {
        Err(e) => {
            dcc_log!(Level::Error, "dcc_scan_args", "{e}");
            return ExitCode::BadArguments.code();
        }
        Ok(Scan::Local(reason)) => {
            dcc_log!(Level::Info, "dcc_scan_args", "{reason}");
            return local_job(c, args, &input, LocalReason::is_local_cpp(&reason));
        }
        Ok(Scan::Distribute(compile)) => compile,
    };
    compile.argv = crate::probe::rewrite_compiler(&c.cfg, compile.argv);
    Job::new(c, compile, args, &argv).run()
}

/// The source named on a command line, for log lines (`(null)` as distcc prints a missing one).
fn guess_input(args: &[OsString]) -> String {
    args.iter()
        .skip(1)
        .filter_map(|a| a.to_str())
        .find(|a| !a.starts_with('-') && dcc_args::filename::is_source(a))
        .unwrap_or("(null)")
        .to_owned()
}

/// A command that runs here: under a local slot (`cpp`: a local cpp slot), as distcc's
/// `lock_local` path.
fn local_job(c: &Client<'_>, args: &[OsString], input: &str, cpp: bool) -> i32 {
    let list = match hosts::load(&c.cfg, c.env) {
        Ok(h) => h.list,
        Err(e) => return hosts::report(&e).code(),
    };
    let mut state = JobState::new(c.dir.as_ref(), input);
    let limit = if cpp {
        list.localslots_cpp
    } else {
        list.localslots
    };
    let lock = c
        .dir
        .as_ref()
        .and_then(|d| lock_local(d, limit, &mut state));
    state.note(
        Phase::Compile,
        Some("localhost"),
        Some(lock.as_ref().map_or(0, SlotLock::slot)),
    );
    compile_local(&c.cenv, args, input)
}

/// A local slot, or none if the lock directory is unusable (logged; the job still runs).
fn lock_local(dir: &DistccDir, limit: u32, state: &mut JobState<'_>) -> Option<SlotLock> {
    match Slots::new(dir).local(limit, state) {
        Ok(l) => Some(l),
        Err(e) => {
            dcc_log!(Level::Error, e.distcc_function(), "{e}");
            None
        }
    }
}

/// One distributable compile.
struct Job<'c, 'e> {
    c: &'c Client<'e>,
    compile: Compile,
    /// The command as given (after `@file` expansion): what local runs execute.
    original: &'c [OsString],
    /// The same as strings, before `-Wp,` expansion (for the dependency-file rules).
    given: &'c [String],
    state: JobState<'c>,
    source: Option<Preprocessed>,
    /// For `,cpp` hosts: the unit's files, or why it is preprocessed here (tried once).
    pump: Option<Result<Unit, NotPumped>>,
    /// The last attempt sent protocol 3 (its reply carries the dependency file).
    pumped: bool,
    /// The local cpp slot, held while the preprocessor runs.
    cpp_lock: Option<SlotLock>,
    /// The status of a remote compile error being retried locally.
    remote_ret: Option<i32>,
    /// Hosts that failed this job before the one that compiled it (said once it succeeds).
    failed_on: Vec<String>,
    /// When the current attempt began (for `--show-stats`).
    began: Instant,
}

impl<'c, 'e> Job<'c, 'e> {
    fn new(
        c: &'c Client<'e>,
        compile: Compile,
        original: &'c [OsString],
        given: &'c [String],
    ) -> Job<'c, 'e> {
        let state = JobState::new(c.dir.as_ref(), &compile.input);
        Job {
            c,
            compile,
            original,
            given,
            state,
            source: None,
            pump: None,
            pumped: false,
            cpp_lock: None,
            remote_ret: None,
            failed_on: Vec::new(),
            began: Instant::now(),
        }
    }

    fn run(mut self) -> i32 {
        let cfg = &self.c.cfg;
        let hosts = match hosts::load(cfg, self.c.env) {
            Ok(h) => h,
            Err(e) => return hosts::report(&e).code(),
        };
        let list = &hosts.list;
        if list.hosts.is_empty() {
            hosts::warn_empty(&hosts.source);
            let code = hosts::no_host_code(list).code();
            return self.fallback(list, Failure::none(code, "no hosts"));
        }
        let Some(dir) = self.c.dir.as_ref() else {
            dcc_log!(
                Level::Error,
                "dcc_get_top_dir",
                "HOME is not set; can't find distcc directory"
            );
            let why = "HOME is not set";
            return self.fallback(list, Failure::none(ExitCode::BadArguments.code(), why));
        };
        let mut slots = Slots::new(dir);
        let lock_dir = match slots.lock_dir() {
            Ok(d) => d,
            Err(e) => {
                dcc_log!(Level::Error, e.distcc_function(), "{e}");
                return self.fallback(list, Failure::none(e.exit_code().code(), e.to_string()));
            }
        };
        let mut usable = hosts::usable(list, cfg, Some(lock_dir));
        if usable.is_empty() {
            let period = cfg.backoff_duration();
            let now = std::time::SystemTime::now();
            for note in events::backoff_notes(dir, lock_dir, list, period, now) {
                dcc_log!(Level::Warning, "dcc_remove_disliked", "{note}");
            }
            let why = events::no_host_reason(list);
            return self.fallback(list, Failure::none(hosts::no_host_code(list).code(), why));
        }
        let server_argv = strip_local_args(&self.compile.argv);
        let ssh = cfg.ssh_command();
        let mut failures = 0u32;
        let mut last = Failure::none(hosts::no_host_code(list).code(), "no usable host");
        loop {
            let candidates: Vec<(String, u32)> = usable
                .iter()
                .map(|&i| (list.hosts[i].lock_name(), list.hosts[i].limit))
                .collect();
            if candidates.is_empty() {
                return self.fallback(list, last);
            }
            let (ci, lock) = match slots.pick(&candidates, &mut self.state) {
                Ok(got) => got,
                Err(e) => {
                    dcc_log!(Level::Error, e.distcc_function(), "{e}");
                    let code = e.exit_code().code();
                    return self.fallback(list, Failure::none(code, e.to_string()));
                }
            };
            let idx = usable[ci];
            let host = &list.hosts[idx];
            if host.is_local() {
                // distcc: "we picked localhost and already have a lock on it".
                self.abandon_source();
                self.state
                    .note(Phase::Compile, Some("localhost"), Some(lock.slot()));
                return compile_local(&self.c.cenv, self.original, &self.compile.input);
            }
            let io_timeout = match cfg.io_timeout_or_report() {
                Ok(t) => t,
                Err(code) => return code,
            };
            self.pumped = pump::wants_pump(host) && self.pump_ready(host);
            if !self.pumped && self.source.is_none() {
                if !self.compile.preprocessed && self.cpp_lock.is_none() {
                    self.cpp_lock = lock_local(dir, list.localslots_cpp, &mut self.state);
                }
                match self.start_source() {
                    Ok(s) => self.source = Some(s),
                    Err(code) => {
                        drop(lock);
                        let why = "failed to start the preprocessor or read the input";
                        return self.fallback(list, Failure::none(code, why));
                    }
                }
            }
            let argv = match &self.pump {
                Some(Ok(u)) if self.pumped => &u.argv,
                _ => &server_argv,
            };
            let req = Request {
                server_argv: argv,
                io_timeout,
                cenv: &self.c.cenv,
                ssh: &ssh,
                secure: crate::secure::Files::new(cfg, self.c.dir.as_ref()),
                limits: reply_limits(cfg.reply_limit_mb),
                tmpdir: &cfg.tmpdir,
            };
            if dcc_common::log::enabled(Level::Info) {
                dcc_log_noname!(Level::Info, "exec on {}: {}", host.spec, argv.join(" "));
            }
            let body = match (&self.pump, self.source.as_mut()) {
                (Some(Ok(u)), _) if self.pumped => Body::Pump(u),
                (_, Some(source)) => Body::Cpp(source),
                _ => {
                    let code = ExitCode::DistccFailed.code();
                    return self.fallback(list, Failure::none(code, "no preprocessor output"));
                }
            };
            self.began = Instant::now();
            let attempt = remote::attempt(
                &req,
                host,
                lock.slot(),
                body,
                &mut self.cpp_lock,
                &mut self.state,
            );
            match attempt {
                Ok(Outcome::CppFailed(st)) => {
                    drop(lock);
                    if st.code().is_some() {
                        // A genuine preprocessing error: gcc -c would fail the same way, and
                        // cpp has already printed why. The host is not to blame.
                        return critique(st, "cpp", &self.compile.input, "localhost", false);
                    }
                    let code = critique(st, "cpp", &self.compile.input, "localhost", false);
                    let why = "the preprocessor was killed";
                    return self.fallback(list, Failure::none(code, why));
                }
                Ok(Outcome::Reply(r)) => {
                    return self.handle_reply(list, host, lock, r);
                }
                Err(
                    e @ (remote::RemoteError::Cpp(_)
                    | remote::RemoteError::Spool(_)
                    | remote::RemoteError::Refused { .. }),
                ) => {
                    // Our side broke, not the host's; or the reply is over our own limits
                    // (DISTCC_RS_REPLY_LIMIT_MB), which every helper would pass the same way
                    // for this unit: backing the host off and trying the next one would only
                    // send the whole build local. Compile this unit here.
                    drop(lock);
                    dcc_log!(Level::Error, e.distcc_function(), "{e}");
                    return self.fallback(list, Failure::none(e.exit_code().code(), e.to_string()));
                }
                Err(e) => {
                    drop(lock);
                    self.save_temps(None);
                    // What a helper sent may be in the message ("unexpected token").
                    let mut why = printable(&e.to_string()).into_owned();
                    if e.is_closed_unread() {
                        // Recorded so that the farm view can say `refusing`, not only failing.
                        why.insert_str(0, dcc_state::REFUSED_PREFIX);
                    }
                    dcc_log!(Level::Error, e.distcc_function(), "{why}");
                    match e.hint() {
                        Some(h) if e.is_closed_unread() => {
                            dcc_log!(Level::Error, "dcc_r_result_header", "{}: {h}", host.spec);
                        }
                        // distcc's own line, word for word.
                        Some(h) => dcc_log!(Level::Error, "dcc_r_result_header", "{h}"),
                        None => {}
                    }
                    self.dislike(lock_dir, host, &why);
                    self.failed_on.push(host.spec.clone());
                    usable.remove(ci);
                    failures += 1;
                    last = Failure::from(host, e.exit_code().code(), false, why);
                    if !cfg.backoff_enabled() && failures >= MAX_RETRIES_WITHOUT_BACKOFF {
                        dcc_log!(
                            Level::Warning,
                            "dcc_build_somewhere",
                            "Couldn't find a host in {failures} attempts, retrying locally"
                        );
                        return self.fallback(list, last);
                    }
                }
            }
        }
    }

    /// The preprocessor, started now, or the already-preprocessed input read in. `Err` is
    /// the exit code when neither works (the compile then runs here, which reports why).
    fn start_source(&mut self) -> Result<Preprocessed, i32> {
        if self.compile.preprocessed {
            return std::fs::read(&self.compile.input)
                .map(Preprocessed::ready)
                .map_err(|e| {
                    dcc_log!(
                        Level::Info,
                        "dcc_x_file",
                        "failed to open {}: {}",
                        self.compile.input,
                        dcc_state::strerror(&e)
                    );
                    ExitCode::NoSuchFile.code()
                });
        }
        let cpp = fix_dependency_args(&self.compile, self.given);
        dcc_log!(Level::Debug, "dcc_cpp_maybe", "running {}", cpp.join(" "));
        Preprocessed::spawn(&self.c.cenv, &cpp).map_err(|e| {
            dcc_log!(
                Level::Error,
                "dcc_execvp",
                "failed to exec {}: {}",
                cpp.first().map_or("", String::as_str),
                dcc_state::strerror(&e)
            );
            ExitCode::LocalCpp.code()
        })
    }

    /// Scan the unit for a `,cpp` host once; whether it can be preprocessed there. When it
    /// cannot, say why (log at info level, a `cpp` line in the event log with the label).
    fn pump_ready(&mut self, host: &HostSpec) -> bool {
        if self.pump.is_none() {
            let cache = self.c.dir.as_ref().map(|d| d.path().join("include-cache"));
            let r = pump::prepare(&self.compile, self.given, self.c.env, cache);
            if let Err(n) = &r {
                pump::log_not_pumped(&self.compile.input, &host.spec, n);
                self.event(EventKind::Cpp, Some(host), &n.to_string());
            }
            self.pump = Some(r);
        }
        matches!(self.pump, Some(Ok(_)))
    }

    /// Stop the preprocessor (if still running) and give up the local cpp slot.
    /// The unit's bytes as sent (before compression): the pumped files, or cpp's output.
    fn bytes_sent(&self) -> u64 {
        match (&self.pump, &self.source) {
            (Some(Ok(unit)), _) if self.pumped => unit.bytes(),
            (_, Some(source)) => source.output().len() as u64,
            _ => 0,
        }
    }

    fn abandon_source(&mut self) {
        if let Some(s) = &mut self.source {
            s.abandon();
        }
        self.cpp_lock = None;
    }

    /// distcc `dcc_disliked_host`: a backoff mark, unless backoff is disabled.
    fn mark(&self, lock_dir: &Path, host: &HostSpec) {
        if self.c.cfg.backoff_enabled()
            && let Err(e) = dcc_state::mark_backoff(lock_dir, &host.lock_name())
        {
            dcc_log!(Level::Warning, e.distcc_function(), "{e}");
        }
    }

    /// [`Self::mark`] for a host that failed this job, with a line in the event log.
    fn dislike(&self, lock_dir: &Path, host: &HostSpec, why: &str) {
        self.mark(lock_dir, host);
        let kind = if self.c.cfg.backoff_enabled() {
            EventKind::Backoff
        } else {
            EventKind::Failed
        };
        self.event(kind, Some(host), why);
    }

    /// A line in the event log (failure and fallback paths only: see [`crate::events`]).
    fn event(&self, kind: EventKind, host: Option<&HostSpec>, why: &str) {
        let host = host.map_or("", |h| h.spec.as_str());
        events::note(self.c.dir.as_ref(), kind, host, &self.compile.input, why);
    }

    /// distcc `dcc_enjoyed_host`: remove the mark.
    fn enjoy(&self, host: &HostSpec) {
        if !self.c.cfg.backoff_enabled() {
            return;
        }
        if let Some(Ok(dir)) = self.c.dir.as_ref().map(DistccDir::lock_dir)
            && let Err(e) = dcc_state::clear_backoff(dir, &host.lock_name())
        {
            dcc_log!(Level::Warning, e.distcc_function(), "{e}");
        }
    }

    fn lock_dir(&self) -> Option<&'c Path> {
        self.c.dir.as_ref().and_then(|d| d.lock_dir().ok())
    }

    fn handle_reply<'h>(
        &mut self,
        list: &'h dcc_hosts::HostList,
        host: &'h HostSpec,
        lock: SlotLock,
        mut r: Received,
    ) -> i32 {
        drop(lock);
        self.save_temps(Some(&mut r.stderr));
        let raw = i32::try_from(r.status).unwrap_or(i32::MAX);
        let input = self.compile.input.clone();
        // Only a failure's messages are read (a success's stderr is passed on whole).
        let head = match r.status {
            0 => Vec::new(),
            _ => r.stderr.head(MESSAGE_HEAD).unwrap_or_default(),
        };
        match classify(r.status, &head) {
            Verdict::Keep => {
                if let Err(e) = self.write_object(&mut r.object) {
                    dcc_log!(
                        Level::Error,
                        "dcc_r_file",
                        "failed to write {}: {}",
                        self.compile.output,
                        dcc_state::strerror(&e)
                    );
                    // Our side failed, not the host: the local compile reports the real
                    // problem.
                    let why = format!("failed to write {}", self.compile.output);
                    let code = ExitCode::IoError.code();
                    return self.fallback(list, Failure::from(host, code, false, why));
                }
                let unit = self.pump.as_ref().and_then(|p| p.as_ref().ok());
                let written = match unit {
                    Some(u) if self.pumped => pump::write_dotd(u, &mut r.dotd),
                    _ => Ok(()),
                };
                if let Err(e) = written {
                    dcc_log!(Level::Error, "dcc_r_file", "{e}");
                    let code = ExitCode::IoError.code();
                    return self.fallback(list, Failure::from(host, code, false, e));
                }
                crate::stats::reply(self.c.dir.as_ref(), host, self.bytes_sent(), &r, self.began);
                let cc = self.compile.argv.first().map_or("", String::as_str);
                let out = Path::new(&self.compile.output);
                crate::version_warn::after_reply(self.c.dir.as_ref(), &self.c.cenv, host, cc, out);
                self.enjoy(host);
                self.say_recovered(host);
                pass_output(&mut r);
                critique_raw(raw, "compile", &input, &host.spec, true)
            }
            Verdict::ServerFailed { code, messages } => {
                // Not the compiler's verdict on the source: the server refused the job or
                // failed itself (our daemon: 110 compiler not allowed, 113 option refused;
                // 107, 118 …).
                for msg in &messages {
                    dcc_log!(
                        Level::Warning,
                        "dcc_build_somewhere",
                        "{}: {msg}",
                        host.spec
                    );
                }
                let mut why = messages.join("; ");
                if why.is_empty() {
                    why = format!("server failed with distcc exit code {code}");
                    dcc_log!(
                        Level::Warning,
                        "dcc_build_somewhere",
                        "{}: {why}",
                        host.spec
                    );
                }
                // A refused option is about this command, not the host.
                let blame = code != ExitCode::AccessDenied.code();
                match self.lock_dir() {
                    Some(dir) if blame => self.dislike(dir, host, &why),
                    _ => self.event(EventKind::Failed, Some(host), &why),
                }
                // Its lines were shown above, escaped: the raw stderr is not passed on, even
                // under DISTCC_FALLBACK=0 (it is the server's, not a compiler's).
                self.fallback(list, Failure::from(host, code, false, why))
            }
            Verdict::Invalid(status) => {
                // `remote::attempt` refuses these as they arrive; kept for completeness.
                let why = format!("{} sent status {status:#x}", host.spec);
                dcc_log!(Level::Error, "dcc_retrieve_results", "{why}");
                if let Some(dir) = self.lock_dir() {
                    self.dislike(dir, host, &why);
                }
                let code = ExitCode::ProtocolError.code();
                self.fallback(list, Failure::from(host, code, false, why))
            }
            Verdict::Signaled { signal, .. } => {
                let ret = critique_raw(raw, "compile", &input, &host.spec, true);
                let why = format!("compile {input} on {}: {}", host.spec, signal_name(signal));
                match self.lock_dir() {
                    Some(dir) => self.dislike(dir, host, &why),
                    None => self.event(EventKind::Failed, Some(host), &why),
                }
                self.fallback(list, Failure::from_reply(host, ret, r, false, why))
            }
            Verdict::CompileFailed(_) => {
                crate::stats::reply(self.c.dir.as_ref(), host, self.bytes_sent(), &r, self.began);
                let ret = critique_raw(raw, "compile", &input, &host.spec, true);
                self.compile_failed(list, host, r, ret)
            }
        }
    }

    /// After an ERROR about a host, say where the job went instead, so that the error is not
    /// the last word about a compile that worked.
    fn say_recovered(&self, host: &HostSpec) {
        if self.failed_on.is_empty() {
            return;
        }
        let period = self.c.cfg.backoff_duration().as_secs();
        let left_out = match period {
            0 => String::new(),
            p => format!("; left out for the next {p} s (DISTCC_BACKOFF_PERIOD)"),
        };
        dcc_log!(
            Level::Warning,
            "dcc_build_somewhere",
            "{}: compiled on {} instead, after {} failed (above){left_out}",
            self.compile.input,
            host.spec,
            self.failed_on.join(", ")
        );
    }

    /// The compiler failed on the source remotely: retry here (unless told not to).
    fn compile_failed<'h>(
        &mut self,
        list: &'h dcc_hosts::HostList,
        host: &'h HostSpec,
        mut r: Received,
        ret: i32,
    ) -> i32 {
        let input = self.compile.input.clone();
        if self.source.as_ref().is_some_and(|s| has_incbin(s.output())) {
            dcc_log!(
                Level::Warning,
                "dcc_build_somewhere",
                "{input}: can't distribute due to unsupported directives, running locally"
            );
            self.event(
                EventKind::Local,
                Some(host),
                "unsupported directives (.incbin)",
            );
            return self.run_here(list);
        }
        if self.c.cfg.skip_local_retry {
            pass_output(&mut r);
            return ret;
        }
        dcc_log!(
            Level::Warning,
            "dcc_build_somewhere",
            "remote compilation of '{input}' failed, retrying locally"
        );
        if let Some(dir) = self.lock_dir() {
            self.mark(dir, host);
        }
        self.remote_ret = Some(ret);
        let why = format!("remote compilation of '{input}' failed");
        self.fallback(list, Failure::from_reply(host, ret, r, true, why))
    }

    /// Write the received object where the compiler would have.
    /// Write the object where gcc would. A write that fails part-way (a full disk) leaves no
    /// truncated object behind with a fresh time stamp, which make would take as up to date
    /// (distcc unlinks its output too when receiving it fails).
    fn write_object(&self, object: &mut Spool) -> std::io::Result<()> {
        let path = Path::new(&self.compile.output);
        let mut f = open_output(path)?;
        let written = object.copy_to(&mut f).and_then(|()| f.flush());
        if written.is_err() {
            drop(f);
            remove_partial_output(path);
        }
        written
    }

    /// `DISTCC_SAVE_TEMPS=1`: keep what distcc would have left in `TMPDIR` (the preprocessed
    /// source and the server's stderr) under distcc's names, for debugging. We hold both in
    /// memory, so normally there is nothing to keep, nor to clean up.
    fn save_temps(&self, stderr: Option<&mut Spool>) {
        if !self.c.cfg.save_temps {
            return;
        }
        let ext = dcc_args::filename::preproc_ext(&self.compile.input).unwrap_or(".i");
        let keep = |prefix: &str, suffix: &str, write: &mut dyn FnMut(&mut std::fs::File)| {
            match dcc_state::make_tmpnam(&self.c.cfg.tmpdir, prefix, suffix) {
                Ok((path, mut f)) => {
                    write(&mut f);
                    dcc_log!(Level::Info, "dcc_save_temps", "kept {}", path.display());
                }
                Err(e) => dcc_log!(Level::Warning, "dcc_make_tmpnam", "{e}"),
            }
        };
        if let Some(s) = self.source.as_ref().filter(|s| s.is_finished()) {
            keep("distcc", ext, &mut |f| {
                let _ = f.write_all(s.output());
            });
        }
        if let Some(stderr) = stderr {
            keep("distcc_server_stderr", ".txt", &mut |f| {
                let _ = stderr.copy_to(f);
            });
        }
    }

    /// Give up on distributing: stop with `f.code` under `DISTCC_FALLBACK=0`, else compile
    /// here.
    fn fallback(&mut self, list: &dcc_hosts::HostList, mut f: Failure<'_>) -> i32 {
        self.abandon_source();
        let kind = if self.c.cfg.fallback {
            EventKind::Local
        } else {
            EventKind::Error
        };
        self.event(kind, f.host, &f.why);
        if !self.c.cfg.fallback {
            dcc_log!(
                Level::Error,
                "dcc_build_somewhere",
                "failed to distribute and fallbacks are disabled: {}",
                f.why
            );
            if let Some(r) = &mut f.reply {
                pass_output(r);
            }
            return f.code;
        }
        match f.host {
            Some(h) => dcc_log_noname!(
                Level::Warning,
                "failed to distribute {} to {}, running locally instead",
                self.compile.input,
                h.spec
            ),
            None => dcc_log!(
                Level::Warning,
                "dcc_build_somewhere",
                "failed to distribute, running locally instead: {}",
                f.why
            ),
        }
        let ret = self.run_here(list);
        if let (Some(remote), Some(h), true) = (self.remote_ret, f.host, f.blame) {
            if remote == ret {
                // Remote and local agree the source is wrong: the host was innocent.
                self.enjoy(h);
            } else {
                dcc_log!(
                    Level::Warning,
                    "dcc_please_send_email_after_investigation",
                    "remote compilation of '{}' failed, retried locally and got a different result.",
                    self.compile.input
                );
            }
        }
        ret
    }

    /// Compile here under a local slot.
    fn run_here(&mut self, list: &dcc_hosts::HostList) -> i32 {
        self.abandon_source();
        let lock = self
            .c
            .dir
            .as_ref()
            .and_then(|d| lock_local(d, list.localslots, &mut self.state));
        self.state.note(
            Phase::Compile,
            Some("localhost"),
            Some(lock.as_ref().map_or(0, SlotLock::slot)),
        );
        compile_local(&self.c.cenv, self.original, &self.compile.input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_for_messages() {
        let a = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(guess_input(&a(&["gcc", "-o", "x", "a.o", "b.c"])), "b.c");
        assert_eq!(guess_input(&a(&["gcc", "-o", "x", "a.o"])), "(null)");
    }
}
