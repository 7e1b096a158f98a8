//! The client analysis against Debian's distcc 3.4 itself: run `distcc` with a verbose log
//! and a host that refuses connections, read what it decided from its log, and compare:
//!
//! - distribute or local (and, when local, that distcc logged our reason text);
//! - the input and output it found;
//! - the preprocessor command (`forking to execute: … -E …`);
//! - the server command (`(dcc_strip_local_args) result: …`).
//!
//! Needs /usr/bin/distcc (Debian package `distcc`) and gcc. The compiler-name rewrite is
//! turned off (`DISTCC_NO_REWRITE_CROSS`), as it is tested on its own.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};

use dcc_args::client::{
    CompilerProbe, LocalReason, Scan, cpp_argv, expand_preprocessor_options, fqn_candidates,
    rewrite_compiler, scan_args, strip_local_args, which_candidates,
};

fn require_distcc() {
    let ok = Command::new("distcc")
        .arg("--version")
        .stdout(Stdio::null())
        .status();
    assert!(
        matches!(ok, Ok(s) if s.success()),
        "these tests compare with Debian's distcc 3.4: install distcc (apt-get install distcc)"
    );
}

/// A loopback port nobody listens on (bound, then released).
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[derive(Debug, PartialEq)]
struct Decision {
    distributed: bool,
    input: Option<String>,
    output: Option<String>,
    cpp: Option<String>,
    server: Option<String>,
}

/// What distcc 3.4 decided for `argv` (without "distcc"), and its whole log.
fn distcc(argv: &[&str], port: u16, dir: &Path) -> (Decision, String) {
    distcc_with(argv, port, dir, true)
}

fn distcc_with(argv: &[&str], port: u16, dir: &Path, no_rewrite: bool) -> (Decision, String) {
    let ddir = dir.join("distcc-dir");
    std::fs::create_dir_all(&ddir).unwrap();
    let mut cmd = Command::new("distcc");
    if no_rewrite {
        cmd.env("DISTCC_NO_REWRITE_CROSS", "1");
    } else {
        cmd.env_remove("DISTCC_NO_REWRITE_CROSS");
    }
    let out = cmd
        .args(argv)
        .current_dir(dir)
        .env_remove("_DISTCC_SAFEGUARD")
        .env_remove("DISTCC_LOG")
        .env("DISTCC_DIR", &ddir)
        .env("TMPDIR", dir)
        .env("DISTCC_VERBOSE", "1")
        .env("DISTCC_HOSTS", format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .expect("run distcc");
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    let after = |marker: &str| -> Option<String> {
        log.lines()
            .find_map(|l| l.split_once(marker).map(|(_, rest)| rest.to_string()))
    };
    let quoted = |marker: &str| after(marker).map(|s| s.trim_end_matches('"').to_string());
    let server = after("(dcc_strip_local_args) result: ");
    let cpp = log
        .lines()
        .filter_map(|l| l.split_once("forking to execute: ").map(|(_, c)| c))
        .find(|c| c.split(' ').any(|w| w == "-E"))
        .map(str::to_string);
    let decision = Decision {
        distributed: server.is_some(),
        input: quoted("found input file \""),
        output: quoted("found object/output file \"").or_else(|| {
            quoted("going to add \"-o ").map(|s| s.trim_end_matches("\" at end").to_string())
        }),
        cpp: if server.is_some() { cpp } else { None },
        server,
    };
    (decision, log)
}

/// Ours, in the same shape. Implicit-compiler commands get "cc" prepended, as distcc does.
fn ours(argv: &[&str]) -> (Decision, Option<LocalReason>) {
    let mut full: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
    if full[0].starts_with('-') || dcc_args::filename::is_source(&full[0]) {
        full.insert(0, "cc".to_string());
    }
    let expanded = expand_preprocessor_options(&full);
    match scan_args(&expanded).expect("scan") {
        Scan::Distribute(c) => (
            Decision {
                distributed: true,
                input: Some(c.input.clone()),
                output: Some(c.output.clone()),
                cpp: (!c.preprocessed).then(|| cpp_argv(&c.argv).join(" ")),
                server: Some(strip_local_args(&c.argv).join(" ")),
            },
            None,
        ),
        Scan::Local(r) => (
            Decision {
                distributed: false,
                input: None,
                output: None,
                cpp: None,
                server: None,
            },
            Some(r),
        ),
    }
}

const CASES: &[&str] = &[
    // ScanArgs_Case and ImplicitCompilerScan_Case
    "gcc -c hello.c",
    "gcc hello.c",
    "gcc -o /tmp/hello.o -c ../src/hello.c",
    "gcc -DMYNAME=quasibar.c bar.c -c -o bar.o",
    "gcc -ohello.o -c hello.c",
    "ccache gcc -c hello.c",
    "gcc hello.o",
    "gcc -o hello.o hello.c",
    "gcc -o hello.o -c hello.s",
    "gcc -o hello.o -c hello.S",
    "gcc -fprofile-arcs -ftest-coverage -c hello.c",
    "gcc -S hello.c",
    "gcc -c -S hello.c",
    "gcc -S -c hello.c",
    "gcc -M hello.c",
    "gcc -ME hello.c",
    "gcc -MD -c hello.c",
    "gcc -MMD -c hello.c",
    "gcc -S foo.c -o -",
    "-S -o - foo.c",
    "-c -S -o - foo.c",
    "-S -c -o - foo.c",
    "gcc -ofoo.o foo.c -c",
    "gcc -ofoo foo.o",
    "foo.c -o foo.o",
    "foo.c -o foo.o -c",
    "gcc -Wa,-alh,-a=foo.lst -c foo.c",
    "gcc -Wa,--MD -c foo.c",
    "gcc -Wa,-xarch=v8 -c foo.c",
    "g++ -frepo foo.C",
    "gcc -xassembler-with-cpp -c foo.c",
    "gcc -x assembler-with-cpp -c foo.c",
    "gcc -specs=foo.specs -c foo.c",
    "gcc -dr -c foo.c",
    "-c hello.c",
    "hello.c -c",
    "-o hello.o -c hello.c",
    // the reference's extra cases
    "gcc -x c -c foo.c",
    "gcc -x cpp-output -c foo.i",
    "gcc -c x.cu",
    "gcc -c x.f90",
    "gcc -c x.c -MQ x.o",
    "gcc -c x.c -MM",
    "gcc -c x.c -fplugin=foo.so",
    "gcc -c x.c -save-temps",
    "gcc -c x.c -dM",
    "gcc -c x.c -drtl",
    "gcc -c -o x.o tmp.conftest.c",
    "gcc -c conftest.c",
    "cc -c .c",
    "gcc -xc -c foo.c",
    "gcc -c x.c y.o",
    "gcc -c x.c -o z.o y.o",
    "gcc -c x.c y.c",
    "gcc -E x.c",
    "gcc -march=native -c x.c",
    "gcc -mtune=native -c x.c",
    "gcc -c x.c --coverage",
    "gcc -c x.c -fprofile-generate=/tmp/p",
    // preprocessor command and server command
    "gcc -MD -MF dep.d -MT tgt -DFOO=1 -I/usr/include -include stdio.h -Wp,-MMD,wp.d -O2 -g -c x.c -o x.o",
    "gcc -Dhello hello.c -c",
    "gcc -c hello.c -D -D",
    "gcc -c -I. -I.. -I../include -I/home/mbp/garnome/include -c -o foo.o foo.c",
    "gcc -Wp,-DA,-UB,-MD,d.d -isystem /x -idirafter /y -imacros m.h -c a.cpp -ob/a.o",
    "gcc -undef -nostdinc -nostdinc++ -MG -MP -MQq -Wl,-z -lm -L/l -stdlib=libc++ -iquote q -S a.m",
    "gcc -c a.ii -o a.o -DX",
    "gcc -c -c -S a.c",
    "gcc -MF -MD -c a.c",
];

#[test]
fn same_decisions_as_distcc_3_4() {
    require_distcc();
    let port = closed_port();
    let mut failures = Vec::new();
    for case in CASES {
        let argv: Vec<&str> = case.split(' ').collect();
        let tmp = tempfile::tempdir().unwrap();
        let (theirs, log) = distcc(&argv, port, tmp.path());
        let (mine, reason) = ours(&argv);
        let mine_cmp = Decision {
            // distcc logs what it found before deciding "local", we do not report it then.
            input: if mine.distributed {
                mine.input.clone()
            } else {
                theirs.input.clone()
            },
            output: if mine.distributed {
                mine.output.clone()
            } else {
                theirs.output.clone()
            },
            ..mine
        };
        if theirs != mine_cmp {
            failures.push(format!(
                "{case}:\n  distcc {theirs:?}\n  ours   {mine_cmp:?}"
            ));
        }
        if let Some(r) = reason
            && !log.contains(&r.to_string())
        {
            failures.push(format!(
                "{case}: distcc did not log {:?}\n{log}",
                r.to_string()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Where we deliberately differ from 3.4 (docs/decisions/client-arguments.md).
#[test]
fn deliberate_differences() {
    require_distcc();
    let port = closed_port();
    let tmp = tempfile::tempdir().unwrap();
    // 3.4 keeps -flto local; HEAD distributes it (issue #428), as we do.
    let (theirs, _) = distcc(&["gcc", "-flto", "-c", "x.c"], port, tmp.path());
    assert!(!theirs.distributed);
    assert!(ours(&["gcc", "-flto", "-c", "x.c"]).0.distributed);
    // 3.4 strips -DA but leaves its -Xpreprocessor, which then swallows the next argument on
    // the server; HEAD strips both, as we do.
    let tmp = tempfile::tempdir().unwrap();
    let argv = ["gcc", "-Xpreprocessor", "-DA", "-c", "x.c"];
    let (theirs, _) = distcc(&argv, port, tmp.path());
    assert_eq!(
        theirs.server.as_deref(),
        Some("gcc -Xpreprocessor -c x.c -o x.o")
    );
    assert_eq!(ours(&argv).0.server.as_deref(), Some("gcc -c x.c -o x.o"));
}

/// The file-system side of the compiler-name rewrite, as the client implements it.
struct FsProbe {
    path: String,
}

fn executable(path: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

impl CompilerProbe for FsProbe {
    fn which(&self, name: &str) -> Option<String> {
        which_candidates(&self.path, name)
            .into_iter()
            .find(|p| executable(p))
    }
    fn read_link(&self, path: &str) -> Option<String> {
        let meta = std::fs::symlink_metadata(path).ok()?;
        if !meta.file_type().is_symlink() {
            return None;
        }
        Some(
            std::fs::read_link(path)
                .ok()?
                .to_string_lossy()
                .into_owned(),
        )
    }
    fn is_executable(&self, path: &str) -> bool {
        executable(path)
    }
    fn on_path(&self, name: &str) -> bool {
        fqn_candidates(&self.path, name)
            .iter()
            .any(|p| executable(p))
    }
}

/// The compiler distcc 3.4 ends up running (first word of its preprocessor command), for
/// this machine's PATH and compilers, against `rewrite_compiler` with a real probe.
#[test]
fn same_compiler_rewrites_as_distcc_3_4() {
    require_distcc();
    let port = closed_port();
    let probe = FsProbe {
        path: std::env::var("PATH").unwrap_or_default(),
    };
    for case in [
        "cc -c x.c",
        "c++ -c x.cc",
        "gcc -c x.c",
        "g++ -c x.cc",
        "gcc-12 -c x.c",
        "g++-12 -c x.cc",
        "gcc-99 -c x.c",
        "/usr/bin/gcc -c x.c",
        "clang -c x.c",
        "clang++-16 -c x.cc -target arm",
    ] {
        let argv: Vec<&str> = case.split(' ').collect();
        let tmp = tempfile::tempdir().unwrap();
        let (theirs, log) = distcc_with(&argv, port, tmp.path(), false);
        let Ok(Scan::Distribute(c)) =
            scan_args(&argv.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        else {
            panic!("{case}");
        };
        let (rewritten, notes) = rewrite_compiler(&c.argv, "x86_64-pc-linux-gnu", &probe);
        assert_eq!(theirs.cpp, Some(cpp_argv(&rewritten).join(" ")), "{case}");
        for n in notes {
            assert!(log.contains(&n.to_string()), "{case}: {n} not in\n{log}");
        }
    }
}
