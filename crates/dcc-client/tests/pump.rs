//! `,cpp` hosts: the client scans includes itself and sends protocol 3 (no include server),
//! through our distccd and Debian's distccd 3.4. Every unit must be preprocessed remotely
//! (counted in the daemon's log: Debian's `got DIST00000003`, ours compiles from the tree with
//! `-ffile-prefix-map`), `DISTCC_FALLBACK=0`, and every object identical to a local build.
//! Units the scanner refuses are preprocessed here, counted as `cpp` events.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::path::Path;
use std::process::Command;

use dcc_state::EventKind;
use dcc_testkit::{Daemon, DaemonKind, World, bins, compare, workload};

fn start(w: &World, kind: DaemonKind) -> Daemon {
    match kind {
        DaemonKind::Ours => Daemon::ours(w),
        DaemonKind::Debian => Daemon::debian(w),
    }
}

/// Jobs the daemon preprocessed itself (protocol 3), from its debug log.
fn pump_jobs(d: &Daemon, kind: DaemonKind) -> usize {
    let log = d.log_text();
    match kind {
        DaemonKind::Debian => log.matches("got DIST00000003").count(),
        DaemonKind::Ours => log
            .lines()
            .filter(|l| l.contains("forking to execute") && l.contains("-ffile-prefix-map="))
            .count(),
    }
}

fn cpp_events(w: &World) -> Vec<String> {
    dcc_state::read_events(&w.path("distcc_dir/state"))
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.kind == EventKind::Cpp)
        .map(|e| format!("{} {}", e.file, e.reason))
        .collect()
}

/// Build workload `name` with `make`, `FLAGS` extended by `extra`, in `out`.
fn make_workload(name: &str, out: &Path, cc: &str, extra: &str, env: &[(&str, String)]) {
    let dir = workload::prepare(name);
    let (flags, _, _) = workload::units(&dir);
    std::fs::create_dir_all(out).unwrap();
    let mut cmd = Command::new("make");
    cmd.arg("-s")
        .arg("-C")
        .arg(out)
        .arg("-f")
        .arg(dir.join("Makefile"))
        .arg("-j4")
        .arg(format!("CC={cc}"))
        .arg(format!("CXX={}", workload::cxx_for(cc)))
        .arg(format!("FLAGS={flags} {extra}"))
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", out);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "{name} ({cc}) failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn check(name: &str, kind: DaemonKind, extra: &str) {
    let w = World::new();
    let d = start(&w, kind);
    let units = workload::units(&workload::prepare(name)).2.len();
    let reference = w.path("reference");
    make_workload(name, &reference, "gcc", extra, &[]);
    let build = w.path("build");
    let cc = format!("{} gcc", bins::ours("distcc").display());
    let env = [
        ("DISTCC_HOSTS", format!("{},lzo,cpp", d.host())),
        ("DISTCC_DIR", w.path("distcc_dir").to_string_lossy().into()),
        ("DISTCC_FALLBACK", "0".into()),
    ];
    make_workload(name, &build, &cc, extra, &env);
    let diffs = compare::trees(&reference.join("obj"), &build.join("obj"));
    assert!(diffs.is_empty(), "{name} via {kind:?} {extra}: {diffs:#?}");
    d.wait_log(" COMPILE_OK ", units);
    assert_eq!(pump_jobs(&d, kind), units, "{}", d.log_text());
    assert_eq!(cpp_events(&w), Vec::<String>::new());
}

#[test]
fn lua_through_ours_protocol_3() {
    check("lua", DaemonKind::Ours, "");
}

#[test]
fn lua_through_ours_protocol_3_with_debug_info() {
    check("lua", DaemonKind::Ours, "-g");
}

#[test]
fn lua_through_debian_protocol_3() {
    check("lua", DaemonKind::Debian, "");
}

/// Per `DIST 0x303` job of our daemon's debug log: (files in the manifest, files it needed).
fn cas_jobs(d: &Daemon) -> Vec<(usize, usize)> {
    d.log_text()
        .lines()
        .filter_map(|l| {
            let (_, rest) = l.split_once("dcc_r_cas")?;
            let mut w = rest.split_whitespace().filter_map(|t| t.parse().ok());
            rest.contains("files in the manifest")
                .then(|| Some((w.next()?, w.next()?)))
                .flatten()
        })
        .collect()
}

/// `,cpp,zstd` hosts get `DIST 0x303`: lua built through the `distcc` binary, without and
/// then with `-g`, every object identical to local gcc, every unit a 0x303 job; the second
/// build, whose files the daemon's store already holds, is asked for nothing.
#[test]
fn lua_through_ours_content_addressed() {
    let w = World::new();
    let d = start(&w, DaemonKind::Ours);
    let units = workload::units(&workload::prepare("lua")).2.len();
    let cc = format!("{} gcc", bins::ours("distcc").display());
    let env = [
        ("DISTCC_HOSTS", format!("{},cpp,zstd", d.host())),
        ("DISTCC_DIR", w.path("distcc_dir").to_string_lossy().into()),
        ("DISTCC_FALLBACK", "0".into()),
    ];
    for (i, extra) in ["", "-g"].into_iter().enumerate() {
        let reference = w.path(&format!("reference{i}"));
        make_workload("lua", &reference, "gcc", extra, &[]);
        let build = w.path(&format!("build{i}"));
        make_workload("lua", &build, &cc, extra, &env);
        let diffs = compare::trees(&reference.join("obj"), &build.join("obj"));
        assert!(diffs.is_empty(), "lua 0x303 {extra}: {diffs:#?}");
        d.wait_log(" COMPILE_OK ", units * (i + 1));
    }
    let jobs = cas_jobs(&d);
    assert_eq!(jobs.len(), 2 * units, "{}", d.log_text());
    let (first, second) = jobs.split_at(units);
    assert!(first.iter().all(|&(files, _)| files > 0), "{first:?}");
    let first_needed: usize = first.iter().map(|&(_, n)| n).sum();
    assert!(first_needed > 0, "{first:?}");
    // Same sources, same headers: the store has every file.
    assert!(second.iter().all(|&(_, n)| n == 0), "{second:?}");
    assert_eq!(cpp_events(&w), Vec::<String>::new());
}

/// The rest of the workloads, in one test (economy: one daemon each).
#[test]
#[ignore = "long: zstd, sqlite and gtest through both daemons (run with --ignored)"]
fn other_workloads_through_both_daemons() {
    for name in ["zstd", "sqlite", "gtest"] {
        check(name, DaemonKind::Ours, "");
        check(name, DaemonKind::Debian, "");
    }
}

/// Include patterns: each unit built remotely must equal the local object; the computed
/// include outside the scanner's model falls back (counted), with an edit and a header
/// created between two builds.
#[test]
fn torture_through_our_daemon() {
    let w = World::new();
    let d = start(&w, DaemonKind::Ours);
    let src = w.path("t");
    let files: &[(&str, &str)] = &[
        ("a/same.h", "#define WHICH 1\n"),
        ("b/same.h", "#define WHICH 2\n"),
        ("a/next.h", "#include_next <next.h>\n#define NEXT_A 1\n"),
        ("b/next.h", "#define NEXT_B 1\n"),
        ("once.h", "#pragma once\nint once_v;\n"),
        ("real/linked.h", "#define LINKED 7\n"),
        ("forced.h", "#define FORCED 3\n"),
        ("comp_a.h", "#define COMP 11\n"),
        (
            "u1.c",
            "#include \"same.h\"\n#include <next.h>\n#include \"once.h\"\n#include \"once.h\"\n\
             #include \"linked.h\"\n#define HDR \"comp_a.h\"\n#include HDR\n\
             #if __has_include(\"gen/gen.h\")\n#include \"gen/gen.h\"\n#endif\n\
             int v = WHICH + NEXT_A + NEXT_B + LINKED + FORCED + COMP;\n",
        ),
        (
            "u2.c",
            "#define CAT(a) #a\n#define STR(a) CAT(a)\n#include STR(__LINE__.h)\nint w;\n",
        ),
        ("3.h", "int three;\n"),
    ];
    for (n, t) in files {
        let p = src.join(n);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, t).unwrap();
    }
    std::os::unix::fs::symlink("real/linked.h", src.join("linked.h")).unwrap();
    let flags = ["-O2", "-g", "-Ia", "-Ib", "-include", "forced.h", "-c"];
    let build = |round: &str| {
        for u in ["u1", "u2"] {
            let obj = format!("{u}.{round}.o");
            let local = format!("{u}.{round}.local.o");
            let o = Command::new(bins::ours("distcc"))
                .arg("gcc")
                .args(flags)
                .arg(format!("{u}.c"))
                .args(["-o", &obj])
                .current_dir(&src)
                .env("DISTCC_HOSTS", format!("{},lzo,cpp", d.host()))
                .env("DISTCC_DIR", w.path("distcc_dir"))
                .env("DISTCC_FALLBACK", "0")
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let l = Command::new("gcc")
                .args(flags)
                .arg(format!("{u}.c"))
                .args(["-o", &local])
                .current_dir(&src)
                .status()
                .unwrap();
            assert!(l.success());
            assert_eq!(
                std::fs::read(src.join(&obj)).unwrap(),
                std::fs::read(src.join(&local)).unwrap(),
                "{u} round {round}"
            );
        }
    };
    build("1");
    // An edit, and a header created where `__has_include` looks.
    std::fs::write(src.join("b/same.h"), "#define WHICH 20\n").unwrap();
    std::fs::write(src.join("real/linked.h"), "#define LINKED 70\n").unwrap();
    std::fs::create_dir_all(src.join("gen")).unwrap();
    std::fs::write(src.join("gen/gen.h"), "int generated;\n").unwrap();
    build("2");
    d.wait_log(" COMPILE_OK ", 4);
    // u1 preprocessed remotely twice; u2 (`__LINE__` in a computed include) never.
    assert_eq!(pump_jobs(&d, DaemonKind::Ours), 2, "{}", d.log_text());
    let ev = cpp_events(&w);
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert!(
        ev.iter().all(|e| e.starts_with("u2.c computed-include: ")),
        "{ev:?}"
    );
}

/// `distcc --scan-includes`: distcc's `%-9s %s` lines for what a `,cpp` host would get; no
/// `,cpp` host: distcc's error, exit 100.
#[test]
fn scan_includes_prints_what_would_be_sent() {
    let w = World::new();
    let src = w.path("s");
    std::fs::create_dir_all(src.join("inc")).unwrap();
    std::fs::write(
        src.join("m.c"),
        "#include <stdio.h>\n#include \"inc/a.h\"\n",
    )
    .unwrap();
    std::fs::write(src.join("inc/a.h"), "int a;\n").unwrap();
    let run = |hosts: &str| {
        Command::new(bins::ours("distcc"))
            .args(["--scan-includes", "gcc", "-c", "m.c"])
            .current_dir(&src)
            .env("DISTCC_HOSTS", hosts)
            .env("DISTCC_DIR", w.path("distcc_dir"))
            .output()
            .unwrap()
    };
    let o = run("127.0.0.1:1,lzo,cpp");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).unwrap();
    let src = std::fs::canonicalize(&src).unwrap();
    for line in [
        format!("FILE      {}/inc/a.h", src.display()),
        format!("FILE      {}/m.c", src.display()),
        "SYSTEMDIR /usr/include".to_owned(),
    ] {
        assert!(out.lines().any(|l| l == line), "{line} missing in:\n{out}");
    }
    let o = run("127.0.0.1:1,lzo");
    assert_eq!(o.status.code(), Some(100));
    assert!(String::from_utf8_lossy(&o.stderr).contains("'--scan_includes' specified"));
}

/// The `pump` script keeps distcc's interface without an include server.
#[test]
fn pump_script_startup_shutdown_and_wrapping() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging/distcc/pump");
    let run = |hosts: &str, args: &[&str]| {
        Command::new("sh")
            .arg(&script)
            .args(args)
            .env("DISTCC_HOSTS", hosts)
            .output()
            .unwrap()
    };
    let o = run("a,cpp,lzo b", &["--startup"]);
    assert!(o.status.success());
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "export DISTCC_POTENTIAL_HOSTS='a,cpp,lzo b'\n"
    );
    assert!(run("a,cpp,lzo", &["--shutdown"]).status.success());
    let o = run(
        "a,cpp,lzo",
        &["sh", "-c", "echo \"$DISTCC_POTENTIAL_HOSTS\"; exit 3"],
    );
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "a,cpp,lzo\n");
    // No `,cpp` host: refused, the command not run.
    let o = run("a,lzo", &["sh", "-c", "echo ran"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
}
