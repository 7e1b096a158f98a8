//! Issue 14, item 6: during a build, a helper whose compiler version differs from the
//! master's is one warning per host and compiler per build (crate::version_warn), read from
//! the objects it returns, with no compile of its own on the master.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, SystemTime};

use dcc_testkit::daemon::DaemonOptions;
use dcc_testkit::{Daemon, DaemonKind, World, client};

/// A helper whose `gcc` is Debian's with another ident in `.comment`, rewritten by objcopy
/// the way another build of GCC would have written it.
fn other_version_helper(w: &World) -> Daemon {
    let wrapper = w.write(
        "other-gcc/x86_64-linux-gnu-gcc",
        "#!/bin/sh\n\
         /usr/bin/x86_64-linux-gnu-gcc \"$@\" || exit\n\
         out=; prev=; for a; do [ \"$prev\" = -o ] && out=$a; prev=$a; done\n\
         printf 'GCC: (Other) 99.1\\0' > \"$out.comment\"\n\
         objcopy --update-section .comment=\"$out.comment\" \"$out\"\n",
    );
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/bin:/bin", w.path("other-gcc").display());
    Daemon::start(
        w,
        DaemonOptions::new(DaemonKind::Ours).env("DISTCCD_PATH", &path),
    )
}

/// Compile `src/NAME.c` through `host`; its stderr.
fn compile(w: &World, host: &str, name: &str) -> String {
    w.write(
        &format!("src/{name}.c"),
        format!("int {name}(void) {{ return 3; }}\n"),
    );
    let mut c = client::ours(w, host);
    c.args([
        "gcc",
        "-c",
        &format!("{name}.c"),
        "-o",
        &format!("{name}.o"),
    ])
    .env("DISTCC_FALLBACK", "0");
    let o = c.output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(0), "{err}");
    err
}

#[test]
fn a_build_warns_once_about_a_helper_with_another_compiler_version() {
    let w = World::new();
    let other = other_version_helper(&w);
    let host = other.host();
    let warning =
        format!("{host}: compiler version differs: \"GCC: (Other) 99.1\" there, \"GCC: (");
    let warned: Vec<bool> = (0..4)
        .map(|i| compile(&w, &host, &format!("v{i}")).contains(&warning))
        .collect();
    assert_eq!(warned, [true, false, false, false]);
    // The master's side came from the cache entry of /usr/bin's gcc, asked once.
    let cache = w.path("distcc_dir/state/compilers");
    let entries: Vec<_> = std::fs::read_dir(&cache).unwrap().collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let text = std::fs::read_to_string(entries[0].as_ref().unwrap().path()).unwrap();
    assert!(text.contains("\nGCC: ("), "{text}");
    // A pause longer than a build's gap starts a new build: one more warning.
    let marker = std::fs::read_dir(w.path("distcc_dir/lock"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("version_")
        })
        .unwrap();
    let old = SystemTime::now() - Duration::from_secs(11 * 60);
    std::fs::File::options()
        .write(true)
        .open(&marker)
        .unwrap()
        .set_modified(old)
        .unwrap();
    assert!(compile(&w, &host, "later").contains(&warning));
    assert!(!compile(&w, &host, "later2").contains(&warning));
}

#[test]
fn a_helper_with_the_same_compiler_version_is_not_warned_about() {
    let w = World::new();
    let same = Daemon::ours(&w);
    for i in 0..2 {
        let err = compile(&w, &same.host(), &format!("s{i}"));
        assert!(!err.contains("compiler version differs"), "{err}");
    }
    // It was compared: the master's ident is in the cache.
    assert_eq!(
        std::fs::read_dir(w.path("distcc_dir/state/compilers"))
            .unwrap()
            .count(),
        1
    );
}

/// `make -j`: compiles that start a build together still warn once between them.
#[test]
fn compiles_that_start_a_build_at_once_warn_once_between_them() {
    let w = World::new();
    let other = other_version_helper(&w);
    let host = format!("{}/8", other.host());
    let jobs: Vec<_> = (0..4)
        .map(|i| {
            w.write(
                &format!("src/p{i}.c"),
                format!("int p{i}(void) {{ return {i}; }}\n"),
            );
            let mut c = client::ours(&w, &host);
            c.args(["gcc", "-c", &format!("p{i}.c"), "-o", &format!("p{i}.o")])
                .env("DISTCC_FALLBACK", "0");
            c.stderr(std::process::Stdio::piped()).spawn().unwrap()
        })
        .collect();
    let mut warnings = 0;
    for j in jobs {
        let o = j.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{err}");
        warnings += err.matches("compiler version differs").count();
    }
    assert_eq!(warnings, 1);
}
