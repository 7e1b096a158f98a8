//! Dependency files land where gcc puts them, with gcc's contents (distcc #62 fixed), and
//! masquerade links work as distcc's: the compile goes out, nothing recurses, and the
//! recursion guard still trips when it should.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::path::Path;
use std::process::Command;

use dcc_testkit::client;
use dcc_testkit::{Daemon, World, bins};

/// Lay out the same small project in `root`: `src/a.c` including `src/a.h`, and `build/`.
fn project(root: &Path) {
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::create_dir_all(root.join("build")).unwrap();
    std::fs::write(root.join("src/a.h"), "#define A 42\n").unwrap();
    std::fs::write(
        root.join("src/a.c"),
        "#include <stdio.h>\n#include \"a.h\"\nint a(void) { return A; }\n",
    )
    .unwrap();
}

#[test]
fn dependency_files_are_byte_identical_to_gccs() {
    let w = World::new();
    let d = Daemon::ours(&w);
    let cases: &[&[&str]] = &[
        &["-MD", "-c", "src/a.c", "-o", "build/a.o"],
        &["-MMD", "-c", "src/a.c", "-o", "build/a.o"],
        &["-MD", "-MP", "-c", "src/a.c", "-o", "build/a.o"],
        &[
            "-MD",
            "-MF",
            "build/deps.d",
            "-c",
            "src/a.c",
            "-o",
            "build/a.o",
        ],
        &["-MMD", "-MT", "custom", "-c", "src/a.c", "-o", "build/a.o"],
        &["-Wp,-MD,build/wp.d", "-c", "src/a.c", "-o", "build/a.o"],
        &["-MD", "-c", "src/a.c"],
    ];
    for (i, args) in cases.iter().enumerate() {
        let plain = w.path(&format!("out/plain{i}"));
        let ours = w.path(&format!("out/ours{i}"));
        project(&plain);
        project(&ours);
        let st = Command::new("gcc")
            .args(*args)
            .current_dir(&plain)
            .status()
            .unwrap();
        assert!(st.success());
        let mut c = client::ours(&w, &d.host());
        c.arg("gcc")
            .args(*args)
            .current_dir(&ours)
            .env("DISTCC_FALLBACK", "0");
        let o = c.output().unwrap();
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let diffs = dcc_testkit::compare::trees(&plain, &ours);
        assert!(diffs.is_empty(), "{args:?}: {diffs:#?}");
        // And the .d really is there (the comparison would pass with none on both sides).
        let mut found = Vec::new();
        for dir in [ours.clone(), ours.join("build")] {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.extension().is_some_and(|x| x == "d") {
                    found.push(p);
                }
            }
        }
        assert_eq!(found.len(), 1, "{args:?}: {found:?}");
        assert!(std::fs::read_to_string(&found[0]).unwrap().contains("a.h"));
    }
    d.wait_log(" COMPILE_OK ", cases.len());
}

/// A masquerade directory `masq/` with `gcc` and `cc` linked to our client.
fn masq(w: &World, name: &str) -> std::path::PathBuf {
    let dir = w.path(name);
    std::fs::create_dir_all(&dir).unwrap();
    for cc in ["gcc", "cc"] {
        std::os::unix::fs::symlink(bins::ours("distcc"), dir.join(cc)).unwrap();
    }
    dir
}

fn masq_cmd(w: &World, path: &str, hosts: &str, args: &[&str]) -> Command {
    let mut c = Command::new(args[0]);
    c.args(&args[1..])
        .env_clear()
        .env("PATH", path)
        .env("DISTCC_DIR", w.path("distcc_dir"))
        .env("DISTCC_HOSTS", hosts)
        .env("HOME", w.root())
        .current_dir(w.path("src"));
    c
}

#[test]
fn masquerade_link_compiles_remotely_without_recursing() {
    let w = World::new();
    let d = Daemon::ours(&w);
    let m = masq(&w, "masq");
    w.write("src/x.c", "int x(void) { return 5; }\n");
    let path = format!("{}:/usr/bin:/bin", m.display());
    // As make runs it: a bare name found on PATH.
    let o = masq_cmd(&w, &path, &d.host(), &["gcc", "-c", "x.c", "-o", "x.o"])
        .env("DISTCC_FALLBACK", "0")
        .env("DISTCC_VERBOSE", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("setting PATH=/usr/bin:/bin"), "{err}");
    let log = d.wait_log(" COMPILE_OK ", 1);
    assert!(log.contains("x86_64-linux-gnu-gcc x.c"), "{log}");
    assert!(w.path("src/x.o").exists());

    // A local job through the link runs the real gcc (not us again).
    let o = masq_cmd(&w, &path, "", &["gcc", "x.o", "-shared", "-o", "libx.so"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(w.path("src/libx.so").exists());

    // Two masquerade directories: the second hop sees the guard, is explained by its own
    // PATH edit, and compiles locally.
    let m2 = masq(&w, "masq2");
    let path2 = format!("{}:{}:/usr/bin:/bin", m.display(), m2.display());
    let o = masq_cmd(&w, &path2, "", &["gcc", "-c", "x.c", "-o", "y.o"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(w.path("src/y.o").exists());
}

#[test]
fn masquerade_recursion_guard_matches_distcc() {
    let w = World::new();
    let ours = masq(&w, "masq");
    let theirs = w.path("masq-debian");
    std::fs::create_dir_all(&theirs).unwrap();
    std::os::unix::fs::symlink(bins::reference("distcc"), theirs.join("gcc")).unwrap();
    w.write("src/x.c", "int x;\n");
    for dir in [ours, theirs] {
        let path = format!("{}:/usr/bin:/bin", dir.display());
        // One hop is what a masquerade PATH edit explains; two are not.
        for (level, want) in [("1", 0), ("2", 111)] {
            let o = masq_cmd(&w, &path, "", &["gcc", "-c", "x.c", "-o", "x.o"])
                .env("_DISTCC_SAFEGUARD", level)
                .output()
                .unwrap();
            assert_eq!(
                o.status.code(),
                Some(want),
                "{} level {level}: {}",
                dir.display(),
                String::from_utf8_lossy(&o.stderr)
            );
        }
        // Called by a path that is not on PATH: nothing explains the guard.
        let o = masq_cmd(
            &w,
            "/usr/bin:/bin",
            "",
            &[dir.join("gcc").to_str().unwrap(), "-c", "x.c"],
        )
        .env("_DISTCC_SAFEGUARD", "1")
        .output()
        .unwrap();
        assert_eq!(o.status.code(), Some(111), "{}", dir.display());
    }
}
