//! The client's command line, environment and exit codes, against Debian's distcc 3.4 where it
//! has an answer. Needs our `distcc` and `distccd` built (`cargo build --workspace`) and
//! Debian's distcc installed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output};

use dcc_testkit::client::{self, client_tmp_leftovers};
use dcc_testkit::{Daemon, World, bins};

fn run(mut c: Command) -> (i32, String, String) {
    let o: Output = c.output().expect("run distcc");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn both(w: &World, hosts: &str, args: &[&str], env: &[(&str, &str)]) -> [(i32, String, String); 2] {
    [client::ours(w, hosts), client::debian(w, hosts)].map(|mut c| {
        c.args(args);
        for (k, v) in env {
            c.env(k, v);
        }
        run(c)
    })
}

#[test]
fn version_help_and_missing_operand_match_distcc() {
    let w = World::new();
    let [ours, theirs] = both(&w, "", &["--version"], &[]);
    assert_eq!(ours.0, 0);
    // distcc's two header lines: protocol 3 included (`,cpp` hosts, crates/dcc-client/src/pump.rs).
    let first2 = |s: &str| s.lines().take(2).collect::<Vec<_>>().join("\n");
    assert_eq!(first2(&ours.1), first2(&theirs.1));
    assert_eq!(
        ours.1.lines().nth(1),
        Some("  (protocols 1, 2 and 3) (default port 3632)")
    );
    let [ours, theirs] = both(&w, "", &["--help"], &[]);
    assert_eq!((ours.0, theirs.0), (0, 0));
    assert_eq!(first2(&ours.1), first2(&theirs.1));
    assert!(ours.1.contains("+zeroconf"), "{}", ours.1);
    assert!(ours.1.contains("--show-hosts"));
    let [ours, theirs] = both(&w, "", &[], &[]);
    assert_eq!((ours.0, theirs.0), (101, 101));
    assert!(ours.2.contains("missing option/operand"), "{}", ours.2);
}

#[test]
fn show_hosts_and_j_match_distcc_even_for_bad_lists() {
    let w = World::new();
    // Reference §2.1 [measured]: -j gives 21 for this list.
    let list =
        "localhost/3 127.0.0.1:3698/7,lzo @buildbox/2 user@host2 [::1]:3632/5 --localslots=9";
    let [ours, theirs] = both(&w, list, &["--show-hosts"], &[]);
    assert_eq!(ours.0, 0);
    assert_eq!(ours.1, theirs.1);
    assert_eq!(ours.1.lines().count(), 5);
    let [ours, theirs] = both(&w, list, &["-j"], &[]);
    assert_eq!(ours.1, "21\n");
    assert_eq!(ours.1, theirs.1);
    let [ours, theirs] = both(&w, "good angry::", &["--show-hosts"], &[]);
    assert_eq!((ours.0, theirs.0), (0, 0));
    assert_eq!(ours.1, "");
    assert!(ours.2.contains("angry::"), "{}", ours.2);
}

/// Issue 14: `make -j$(distcc -j)` with a broken list must not become an unlimited `make -j`
/// (distcc 3.4 prints nothing there): the slots of localhost alone, as distcc prints them for
/// `DISTCC_HOSTS=localhost`, and the bad token on stderr.
#[test]
fn dash_j_with_a_broken_list_prints_the_local_slots() {
    let w = World::new();
    let [_, local] = both(&w, "localhost", &["-j"], &[]);
    assert_eq!(local.0, 0);
    let [ours, theirs] = both(&w, "good angry::", &["-j"], &[]);
    assert_eq!((ours.0, theirs.0), (0, 0));
    assert_eq!(theirs.1, "", "distcc 3.4 prints nothing");
    assert_eq!(ours.1, local.1);
    assert!(ours.1.trim().parse::<u32>().unwrap() > 0, "{}", ours.1);
    assert!(ours.2.contains("\"angry::\""), "{}", ours.2);
    assert!(ours.2.contains("slots of localhost alone"), "{}", ours.2);
}

#[test]
fn bad_host_spec_exits_106_naming_the_token() {
    let w = World::new();
    w.write("src/x.c", "int x;\n");
    let mut c = client::ours(&w, "127.0.0.1 angry:: other");
    c.args(["gcc", "-c", "x.c", "-o", "x.o"]);
    let (code, _, err) = run(c);
    assert_eq!(code, 106, "{err}");
    assert!(err.contains("\"angry::\""), "{err}");
    assert!(!w.path("src/x.o").exists());
}

#[test]
fn no_hosts_falls_back_or_exits_116() {
    let w = World::new();
    w.write("src/x.c", "int x;\n");
    let args = ["gcc", "-c", "x.c", "-o", "x.o"];
    let [ours, theirs] = both(&w, "", &args, &[("DISTCC_FALLBACK", "0")]);
    assert_eq!((ours.0, theirs.0), (116, 116), "{}", ours.2);
    assert!(ours.2.contains("contained no hosts"), "{}", ours.2);
    assert!(!w.path("src/x.o").exists());
    let [ours, _] = both(&w, "", &args, &[]);
    assert_eq!(ours.0, 0, "{}", ours.2);
    assert!(w.path("src/x.o").exists(), "compiled locally");
}

#[test]
fn recursion_guard_exits_111_like_distcc() {
    let w = World::new();
    w.write("src/x.c", "int x;\n");
    let [ours, theirs] = both(&w, "", &["gcc", "-c", "x.c"], &[("_DISTCC_SAFEGUARD", "1")]);
    assert_eq!((ours.0, theirs.0), (111, 111));
    assert!(
        ours.2
            .contains("distcc seems to have invoked itself recursively!"),
        "{}",
        ours.2
    );
}

#[test]
fn bad_io_timeout_exits_101() {
    let w = World::new();
    w.write("src/x.c", "int x;\n");
    let d = Daemon::ours(&w);
    for v in ["0", "-3", "soon"] {
        let mut c = client::ours(&w, &d.host());
        c.args(["gcc", "-c", "x.c", "-o", "x.o"])
            .env("DISTCC_IO_TIMEOUT", v);
        let (code, _, err) = run(c);
        assert_eq!(code, 101, "{v}: {err}");
        assert!(err.contains("Bad DISTCC_IO_TIMEOUT value"), "{err}");
    }
    // A local job never reaches the network, so the value is not checked (as in distcc).
    let mut c = client::ours(&w, &d.host());
    c.args(["gcc", "-E", "x.c"]).env("DISTCC_IO_TIMEOUT", "0");
    assert_eq!(run(c).0, 0);
}

#[test]
fn output_goes_where_gcc_would_put_it() {
    let w = World::new();
    let d = Daemon::ours(&w);
    w.write("src/x.c", "int x(void) { return 1; }\n");
    // -o /dev/null works and leaves /dev/null alone.
    let mut c = client::ours(&w, &d.host());
    c.args(["gcc", "-c", "x.c", "-o", "/dev/null"])
        .env("DISTCC_FALLBACK", "0");
    let (code, _, err) = run(c);
    assert_eq!(code, 0, "{err}");
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
    // Mode 0666 & ~umask, in a directory that did not exist.
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(format!(
            "umask 027; exec {} gcc -c x.c -o new/dir/x.o",
            bins::ours("distcc").display()
        ))
        .env_clear()
        .env("PATH", client::client_path(&w))
        .env("DISTCC_DIR", w.path("distcc_dir"))
        .env("DISTCC_HOSTS", d.host())
        .env("DISTCC_FALLBACK", "0")
        .current_dir(w.path("src"));
    let (code, _, err) = run(c);
    assert_eq!(code, 0, "{err}");
    let mode = std::fs::metadata(w.path("src/new/dir/x.o"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640);
    // A non-empty existing output is replaced (a hard link to it keeps the old bytes).
    std::fs::write(w.path("src/y.o"), "old").unwrap();
    std::fs::hard_link(w.path("src/y.o"), w.path("src/keep.o")).unwrap();
    let mut c = client::ours(&w, &d.host());
    c.args(["gcc", "-c", "x.c", "-o", "y.o"])
        .env("DISTCC_FALLBACK", "0");
    assert_eq!(run(c).0, 0);
    assert_eq!(std::fs::read(w.path("src/keep.o")).unwrap(), b"old");
    assert!(
        std::fs::read(w.path("src/y.o"))
            .unwrap()
            .starts_with(b"\x7fELF")
    );
    d.wait_log(" COMPILE_OK ", 3);
}

#[test]
fn silent_on_success_and_compiler_output_passes_through() {
    let w = World::new();
    let d = Daemon::ours(&w);
    w.write("src/warn.c", "int f(void) { int unused; return 0; }\n");
    w.write("src/err.c", "int f(void) { return undefined_symbol; }\n");
    let mut c = client::ours(&w, &d.host());
    c.args(["gcc", "-Wall", "-c", "warn.c", "-o", "warn.o"]);
    let (code, out, err) = run(c);
    assert_eq!(code, 0);
    assert_eq!(out, "");
    assert!(
        err.contains("unused variable"),
        "the server's warning: {err}"
    );
    assert!(
        !err.contains("distcc["),
        "no distcc lines on success: {err}"
    );

    // A compile error with DISTCC_SKIP_LOCAL_RETRY: the server's verdict, status 1.
    let mut c = client::ours(&w, &d.host());
    c.args(["gcc", "-c", "err.c", "-o", "err.o"])
        .env("DISTCC_SKIP_LOCAL_RETRY", "1");
    let (code, _, err) = run(c);
    assert_eq!(code, 1);
    assert!(err.contains("undefined_symbol"), "{err}");
    assert!(!err.contains("retrying locally"), "{err}");
    // Without it: retried locally, same status, and the host is not blamed in the end.
    let mut c = client::ours(&w, &d.host());
    c.args(["gcc", "-c", "err.c", "-o", "err.o"]);
    let (code, _, err) = run(c);
    assert_eq!(code, 1);
    assert!(
        err.contains("remote compilation of 'err.c' failed, retrying locally"),
        "{err}"
    );
    assert!(err.contains("running locally instead"), "{err}");
    assert!(
        !w.path(&format!(
            "distcc_dir/lock/backoff_tcp_127.0.0.1_{}_0",
            d.port
        ))
        .exists()
    );
    // The log file gets info lines; stderr stays quiet.
    let log = w.path("logs/client.log");
    let mut c = client::ours(&w, &d.host());
    c.args(["gcc", "-c", "warn.c", "-o", "warn.o"])
        .env("DISTCC_LOG", &log);
    let (code, _, err) = run(c);
    assert_eq!(code, 0);
    assert_eq!(err, "");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("compile warn.c on 127.0.0.1"), "{text}");
    assert!(text.starts_with("distcc["), "{text}");
}

#[test]
fn server_refusals_fall_back_locally_even_without_retry() {
    let w = World::new();
    let d = Daemon::ours(&w);
    w.write("src/x.c", "int x(void) { return 2; }\n");
    // An option our daemon refuses (113): compiled here, the reason shown, the host not marked.
    let mut c = client::ours(&w, &d.host());
    c.args(["gcc", "-aux-info=aux.txt", "-c", "x.c", "-o", "x.o"])
        .env("DISTCC_SKIP_LOCAL_RETRY", "1");
    let (code, _, err) = run(c);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("distccd refuses '-aux-info=aux.txt'"), "{err}");
    assert!(err.contains("running locally instead"), "{err}");
    assert!(w.path("src/x.o").exists() && w.path("src/aux.txt").exists());
    let backoff = w.path(&format!(
        "distcc_dir/lock/backoff_tcp_127.0.0.1_{}_0",
        d.port
    ));
    assert!(!backoff.exists());
    // A compiler the daemon does not allow (110): fallback, and 110 with DISTCC_FALLBACK=0.
    let mut c = client::ours(&w, &d.host());
    c.args(["gcc-12", "-c", "x.c", "-o", "x2.o"])
        .env("DISTCC_SKIP_LOCAL_RETRY", "1");
    let (code, _, err) = run(c);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("running locally instead"), "{err}");
    assert!(
        backoff.exists(),
        "a server without the compiler is backed off"
    );
    std::fs::remove_file(&backoff).unwrap();
    let mut c = client::ours(&w, &d.host());
    c.args(["gcc-12", "-c", "x.c", "-o", "x3.o"])
        .env("DISTCC_FALLBACK", "0");
    let (code, _, err) = run(c);
    assert_eq!(code, 110, "{err}");
    assert!(!w.path("src/x3.o").exists());
}

#[test]
fn preprocessed_input_is_sent_as_is_and_e_runs_locally() {
    let w = World::new();
    let d = Daemon::ours(&w);
    w.write("src/x.c", "#define N 3\nint x(void) { return N; }\n");
    let mut c = client::ours(&w, &d.host());
    c.args(["gcc", "-E", "x.c"]);
    let (code, out, _) = run(c);
    assert_eq!(code, 0);
    assert!(out.contains("return 3;"), "{out}");
    std::fs::write(w.path("src/x.i"), out).unwrap();
    let mut c = client::ours(&w, &d.host());
    // Implicit compiler: `distcc -c x.i` runs cc.
    c.args(["-c", "x.i", "-o", "x.o"])
        .env("DISTCC_FALLBACK", "0");
    let (code, _, err) = run(c);
    assert_eq!(code, 0, "{err}");
    let log = d.wait_log(" COMPILE_OK ", 1);
    assert_eq!(
        log.matches(" COMPILE_OK ").count(),
        1,
        "-E ran locally: {log}"
    );
    assert!(log.contains("x.i"), "{log}");
}

#[test]
fn ssh_hosts_run_distccd_over_ssh_like_distcc() {
    let w = World::new();
    w.write("src/x.c", "int x(void) { return 4; }\n");
    let args_log = w.path("logs/ssh-args");
    let whitelist = w.whitelist(&["x86_64-linux-gnu-gcc"]);
    let fake_ssh = client::script(
        &w,
        "fake-ssh",
        &format!(
            "echo \"$*\" >> {}\nexec env TMPDIR={} DISTCC_RS_WHITELIST_DIR={} {} --inetd --log-file {} --log-level info\n",
            args_log.display(),
            w.path("tmp").display(),
            whitelist.display(),
            bins::ours("distccd").display(),
            w.path("logs/inetd.log").display()
        ),
    );
    let ssh = format!("{} -o BatchMode=yes", fake_ssh.display());
    for mut c in [
        client::ours(&w, "me@box:/opt/distccd,lzo"),
        client::debian(&w, "me@box:/opt/distccd,lzo"),
    ] {
        c.args(["gcc", "-c", "x.c", "-o", "x.o"])
            .env("DISTCC_SSH", &ssh)
            .env("DISTCC_FALLBACK", "0");
        let (code, _, err) = run(c);
        assert_eq!(code, 0, "{err}");
    }
    let lines = std::fs::read_to_string(&args_log).unwrap();
    let lines: Vec<&str> = lines.lines().collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0], lines[1], "the same ssh command line as distcc's");
    assert_eq!(
        lines[0],
        "-o BatchMode=yes -l me box /opt/distccd --inetd --enable-tcp-insecure"
    );
    let log = std::fs::read_to_string(w.path("logs/inetd.log")).unwrap();
    assert_eq!(log.matches("COMPILE_OK").count(), 2, "{log}");
}

#[test]
fn unsupported_host_options_are_skipped_with_a_warning() {
    let w = World::new();
    w.write("src/x.c", "int x;\n");
    for (list, text) in [
        ("127.0.0.1,auth", "GSS-API"),
        ("127.0.0.1,secure", "make one with distcc-keygen"),
    ] {
        let mut c = client::ours(&w, list);
        c.args(["gcc", "-c", "x.c", "-o", "x.o"]);
        let (code, _, err) = run(c);
        assert_eq!(code, 0, "{list}: {err}");
        assert!(err.contains(text), "{list}: {err}");
        assert!(err.contains("running locally instead"), "{list}: {err}");
    }
}

#[test]
fn sigterm_removes_our_files_and_reraises() {
    let w = World::new();
    client::slow_compiler(&w, "slow-gcc", 20.0);
    let mut o = dcc_testkit::daemon::DaemonOptions::new(dcc_testkit::DaemonKind::Ours);
    o.whitelist.push("slow-gcc".into());
    let o = o.env("PATH", &client::client_path(&w));
    let d = Daemon::start(&w, o);
    w.write("src/x.c", "int x;\n");
    let mut c = client::ours(&w, &d.host());
    c.args(["slow-gcc", "-c", "x.c", "-o", "x.o"])
        .env("DISTCC_SAVE_TEMPS", "0");
    let mut child = c.spawn().unwrap();
    let state = w.path(&format!("distcc_dir/state/binstate_{}", child.id()));
    d.wait_log("slow-gcc", 1);
    assert!(state.exists(), "the job is in its state file");
    // SAFETY: kill(2) on our child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let st = child.wait().unwrap();
    assert_eq!(st.signal(), Some(libc::SIGTERM), "re-raised: {st:?}");
    assert!(!state.exists(), "state file removed");
    assert!(
        client_tmp_leftovers(&w).is_empty(),
        "{:?}",
        client_tmp_leftovers(&w)
    );
    assert!(!w.path("src/x.o").exists());
}

#[test]
fn compiler_rewriting_can_be_turned_off() {
    let w = World::new();
    let d = Daemon::ours(&w);
    w.write("src/x.c", "int x;\n");
    let mut c = client::ours(&w, &d.host());
    c.args(["gcc", "-c", "x.c", "-o", "x.o"])
        .env("DISTCC_FALLBACK", "0");
    assert_eq!(run(c).0, 0);
    let mut c = client::ours(&w, &d.host());
    c.args(["gcc", "-c", "x.c", "-o", "y.o"])
        .env("DISTCC_FALLBACK", "0")
        .env("DISTCC_NO_REWRITE_CROSS", "1");
    assert_eq!(run(c).0, 0);
    let log = d.wait_log(" COMPILE_OK ", 2);
    let jobs: Vec<&str> = log.lines().filter(|l| l.contains(" COMPILE_OK ")).collect();
    assert_eq!(jobs.len(), 2, "{log}");
    assert!(
        jobs[0].ends_with("ms x86_64-linux-gnu-gcc x.c"),
        "{}",
        jobs[0]
    );
    assert!(jobs[1].ends_with("ms gcc x.c"), "{}", jobs[1]);
}

#[test]
fn localhost_in_the_host_list_compiles_here_under_its_slot() {
    let w = World::new();
    w.write("src/x.c", "int x;\n");
    let mut c = client::ours(&w, "localhost/1");
    c.args(["gcc", "-c", "x.c", "-o", "x.o"])
        .env("DISTCC_FALLBACK", "0");
    let (code, _, err) = run(c);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err, "");
    assert!(w.path("src/x.o").exists());
    assert!(w.path("distcc_dir/lock/cpu_localhost_0").exists());
}

#[test]
fn zstd_hosts_speak_our_protocol_and_distccd_3_4_refuses_it() {
    let w = World::new();
    let ours = Daemon::ours(&w);
    let debian = Daemon::debian(&w);
    w.write("src/x.c", "int x(void) { return 8; }\n");
    let mut c = client::ours(&w, &format!("{},zstd", ours.host()));
    c.args(["gcc", "-c", "x.c", "-o", "x.o"])
        .env("DISTCC_FALLBACK", "0");
    let (code, _, err) = run(c);
    assert_eq!(code, 0, "{err}");
    ours.wait_log(" COMPILE_OK ", 1);
    // distccd 3.4 closes on the unknown version: a failed host like any other.
    let mut c = client::ours(&w, &format!("{},zstd", debian.host()));
    c.args(["gcc", "-c", "x.c", "-o", "y.o"]);
    let (code, _, err) = run(c);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("running locally instead"), "{err}");
    assert!(w.path("src/y.o").exists());
}

#[test]
fn incbin_sources_compile_locally() {
    let w = World::new();
    let d = Daemon::ours(&w);
    w.write("src/data.bin", "payload");
    w.write(
        "src/x.c",
        "__asm__(\".section .rodata\\n.incbin \\\"data.bin\\\"\\n.previous\");\nint x;\n",
    );
    let mut c = client::ours(&w, &d.host());
    // The remote assembler cannot find data.bin; the retry here can, even with
    // DISTCC_SKIP_LOCAL_RETRY (as distcc HEAD: the source is not the problem).
    c.args(["gcc", "-c", "x.c", "-o", "x.o"])
        .env("DISTCC_SKIP_LOCAL_RETRY", "1");
    let (code, _, err) = run(c);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("can't distribute due to unsupported directives"),
        "{err}"
    );
    assert!(
        !w.path(&format!(
            "distcc_dir/lock/backoff_tcp_127.0.0.1_{}_0",
            d.port
        ))
        .exists()
    );
}

#[test]
fn uncached_err_fd_and_save_temps() {
    let w = World::new();
    let d = Daemon::ours(&w);
    w.write("src/x.c", "int x;\n");
    let dead = dcc_testkit::daemon::free_port();
    // ccache's UNCACHED_ERR_FD: our messages go there, not to stderr.
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(format!(
            "exec 3>{}; exec {} gcc -c x.c -o x.o",
            w.path("logs/fd3").display(),
            bins::ours("distcc").display()
        ))
        .env_clear()
        .env("PATH", client::client_path(&w))
        .env("DISTCC_DIR", w.path("distcc_dir"))
        .env("DISTCC_HOSTS", format!("127.0.0.1:{dead}"))
        .env("UNCACHED_ERR_FD", "3")
        .current_dir(w.path("src"));
    let (code, _, err) = run(c);
    assert_eq!(code, 0);
    assert_eq!(err, "");
    let fd3 = std::fs::read_to_string(w.path("logs/fd3")).unwrap();
    assert!(fd3.contains("running locally instead"), "{fd3}");
    // DISTCC_SAVE_TEMPS=1 keeps the preprocessed source and the server's stderr.
    let mut c = client::ours(&w, &d.host());
    c.args(["gcc", "-c", "x.c", "-o", "x.o"])
        .env("DISTCC_SAVE_TEMPS", "1");
    assert_eq!(run(c).0, 0);
    let kept = client_tmp_leftovers(&w);
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(
        kept.iter()
            .any(|f| f.starts_with("distcc_") && f.ends_with(".i"))
    );
    assert!(kept.iter().any(|f| f.starts_with("distcc_server_stderr_")));
}

/// distcc's own test suite (`MissingCompiler_Case`): with `--enable-tcp-insecure` the
/// whitelist is off, and a compiler that does not exist must fail the way distccd 3.4 fails
/// it ("failed to exec", status 110), not be refused by our driver-name rule. A `.i` input
/// needs no local preprocessing, so the request reaches the daemon. Each client gets its own
/// world: the failure marks the host as backed off in `DISTCC_DIR`.
#[test]
fn missing_compiler_fails_as_distcc_does_under_enable_tcp_insecure() {
    for kind in [
        dcc_testkit::DaemonKind::Ours,
        dcc_testkit::DaemonKind::Debian,
    ] {
        for who in ["our client", "distcc 3.4"] {
            let w = World::new();
            w.write("src/x.i", "int x;\n");
            let mut o = dcc_testkit::daemon::DaemonOptions::new(kind);
            o.insecure = true;
            let d = Daemon::start(&w, o);
            let mut c = if who == "our client" {
                client::ours(&w, &d.host())
            } else {
                client::debian(&w, &d.host())
            };
            c.args(["nosuchcc", "-c", "x.i", "-o", "x.o"])
                .env("DISTCC_FALLBACK", "0");
            let (code, _, err) = run(c);
            assert_eq!(code, 110, "{who} via {kind:?}: {err}");
            assert!(
                err.contains("failed to exec nosuchcc"),
                "{who} via {kind:?}: {err}"
            );
            assert!(!w.path("src/x.o").exists());
        }
    }
}
