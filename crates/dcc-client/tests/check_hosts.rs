//! `distcc --check-hosts [COMPILER]` (issue 14, item 6): one line per host with what to fix,
//! against real daemons: a good one, one that refuses this address, a dead port, one whose
//! whitelist lacks the compiler.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::process::Output;

use dcc_testkit::client;
use dcc_testkit::daemon::{DaemonOptions, free_port};
use dcc_testkit::{Daemon, DaemonKind, World};

fn check(w: &World, hosts: &str, compiler: Option<&str>) -> (i32, String, String) {
    let mut c = client::ours(w, hosts);
    c.arg("--check-hosts").args(compiler);
    let o: Output = c.output().expect("run distcc");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The line of `out` about `host`.
fn line<'a>(out: &'a str, host: &str) -> &'a str {
    let prefix = format!("{host}: ");
    out.lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no line for {host}:\n{out}"))
}

#[test]
fn a_good_helper_passes_with_the_masters_compiler_version() {
    let w = World::new();
    let good = Daemon::ours(&w);
    let debian = Daemon::debian(&w);
    let hosts = format!("{} {},lzo localhost", good.host(), debian.host());
    let (code, out, err) = check(&w, &hosts, None);
    assert_eq!(code, 0, "{out}{err}");
    let here = line(&out, "(this machine)");
    let ident = here.split_once(": GCC: ").map(|(_, v)| v).expect(here);
    for h in [good.host(), format!("{},lzo", debian.host())] {
        assert_eq!(line(&out, &h), format!("{h}: ok: GCC: {ident}"));
    }
    assert_eq!(line(&out, "localhost"), "localhost: ok: compiles here");
    assert_eq!(out.lines().count(), 4, "{out}");
}

#[test]
fn refusing_dead_and_unwhitelisted_helpers_say_what_to_fix() {
    let w = World::new();
    let good = Daemon::ours(&w);
    let mut o = DaemonOptions::new(DaemonKind::Ours);
    o.allow = vec!["127.0.0.2".into()];
    let refusing = Daemon::start(&w, o);
    // Its own world (the whitelist directory is per world), without the name a compile sends
    // for gcc.
    let w2 = World::new();
    let mut o = DaemonOptions::new(DaemonKind::Ours);
    o.whitelist = vec!["gcc".into(), "cc".into()];
    let no_gcc = Daemon::start(&w2, o);
    let dead = free_port();
    let hosts = format!(
        "{} {} 127.0.0.1:{dead} {} {},secure",
        good.host(),
        refusing.host(),
        no_gcc.host(),
        good.host()
    );
    let (code, out, err) = check(&w, &hosts, None);
    assert_eq!(code, 1, "{out}{err}");
    assert!(line(&out, &good.host()).contains(": ok: GCC: "), "{out}");
    let l = line(&out, &refusing.host());
    assert!(
        l.contains(": FIX: ") && l.contains("add this machine's address to its --allow list"),
        "{l}"
    );
    let l = line(&out, &format!("127.0.0.1:{dead}"));
    assert!(
        l.contains(": FIX: failed to connect to 127.0.0.1:")
            && l.contains("is distccd running there"),
        "{l}"
    );
    let l = line(&out, &no_gcc.host());
    assert!(
        l.contains(": FIX: refuses x86_64-linux-gnu-gcc: not installed or not whitelisted there")
            && l.contains("update-distcc-symlinks"),
        "{l}"
    );
    // No client key in DISTCC_DIR: the ,secure host cannot be used.
    let l = line(&out, &format!("{},secure", good.host()));
    assert!(
        l.contains(": FIX: ") && l.contains("fix the ,secure keys"),
        "{l}"
    );
}

/// The guide's "same packages installed" trap: a helper whose gcc identifies as another
/// version (its `.comment` rewritten by a wrapper on the daemon's `DISTCCD_PATH`).
#[test]
fn a_helper_with_another_compiler_version_is_named() {
    let w = World::new();
    let wrapper = w.write(
        "other-gcc/x86_64-linux-gnu-gcc",
        "#!/bin/sh\n\
         /usr/bin/x86_64-linux-gnu-gcc \"$@\" || exit\n\
         out=; prev=; for a; do [ \"$prev\" = -o ] && out=$a; prev=$a; done\n\
         printf 'GCC: (Other) 99.1\\0' > \"$out.comment\"\n\
         objcopy --update-section .comment=\"$out.comment\" \"$out\"\n",
    );
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let path = format!("{}:/usr/bin:/bin", w.path("other-gcc").display());
    let other = Daemon::start(
        &w,
        DaemonOptions::new(DaemonKind::Ours).env("DISTCCD_PATH", &path),
    );
    let (code, out, err) = check(&w, &other.host(), None);
    assert_eq!(code, 1, "{out}{err}");
    let l = line(&out, &other.host());
    assert!(
        l.contains(": FIX: compiler version differs: \"GCC: (Other) 99.1\" there, \"GCC: (")
            && l.contains("install the same compiler packages on both"),
        "{l}"
    );
}

#[test]
fn a_broken_or_empty_list_is_not_a_pass() {
    let w = World::new();
    let (code, out, err) = check(&w, "good angry::", None);
    assert_eq!(code, 106, "{out}{err}");
    assert!(err.contains("\"angry::\""), "{err}");
    let (code, out, err) = check(&w, "", None);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("can't distribute work"), "{err}");
}
