//! `update-distcc-symlinks` end to end: the built binary on temp directories holding fake
//! compilers, one run against the real /usr/bin, and one against Debian's own script.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::collections::BTreeSet;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_update-distcc-symlinks");

/// A fake /usr with compilers, non-compilers and gcc target directories.
struct World {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

impl World {
    fn new() -> World {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_owned();
        let w = World { _tmp: tmp, root };
        for d in [
            "usr/bin",
            "usr/lib/gcc/x86_64-linux-gnu/12",
            "usr/lib/gcc-cross/aarch64-linux-gnu/12",
        ] {
            std::fs::create_dir_all(w.path(d)).unwrap();
        }
        for exe in [
            "gcc",
            "g++",
            "c89-gcc",
            "c99-gcc",
            "gcc-12",
            "g++-12",
            "x86_64-linux-gnu-gcc",
            "x86_64-linux-gnu-gcc-12",
            "x86_64-linux-gnu-g++-12",
            "aarch64-linux-gnu-gcc",
            "clang",
            "clang-15",
            "clang++",
            // Not compilers, or not ones the daemon would run:
            "nvcc",
            "ccache",
            "gcc-ar",
            "x86_64-linux-gnu-gcc-ar",
            "musl-gcc",
            "foo-cc",
            "distcc",
        ] {
            w.exe(&format!("usr/bin/{exe}"));
        }
        // cc is a link to gcc (as through /etc/alternatives); c++ is a masquerade link.
        symlink("gcc", w.path("usr/bin/cc")).unwrap();
        symlink("distcc", w.path("usr/bin/c++")).unwrap();
        // Not executable.
        std::fs::write(w.path("usr/bin/gcc-13"), "").unwrap();
        w
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn exe(&self, rel: &str) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, "#!/bin/sh\nexit 0\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn dir(&self) -> PathBuf {
        self.path("usr/lib/distcc")
    }

    /// Run with this world's directories plus `extra` arguments.
    fn run(&self, extra: &[&str]) -> Output {
        let out = Command::new(BIN)
            .arg("--dir")
            .arg(self.dir())
            .arg("--bindir")
            .arg(self.path("usr/bin"))
            .arg("--distcc")
            .arg(self.path("usr/bin/distcc"))
            .arg("--dirs-file")
            .arg(self.path("etc/distcc/compiler-dirs"))
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{extra:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}

fn names(dir: &Path) -> BTreeSet<String> {
    match std::fs::read_dir(dir) {
        Ok(e) => e
            .flatten()
            .filter(|e| e.file_type().unwrap().is_symlink())
            .map(|e| e.file_name().into_string().unwrap())
            .collect(),
        Err(_) => BTreeSet::new(),
    }
}

fn set(v: &[&str]) -> BTreeSet<String> {
    v.iter().map(|s| s.to_string()).collect()
}

const EXPECTED: [&str; 14] = [
    "aarch64-linux-gnu-gcc",
    "c89-gcc",
    "c99-gcc",
    "cc",
    "clang",
    "clang++",
    "clang-15",
    "g++",
    "g++-12",
    "gcc",
    "gcc-12",
    "x86_64-linux-gnu-g++-12",
    "x86_64-linux-gnu-gcc",
    "x86_64-linux-gnu-gcc-12",
];

#[test]
fn links_every_compiler_and_nothing_else_in_both_directories() {
    let w = World::new();
    w.run(&[]);
    assert_eq!(names(&w.dir()), set(&EXPECTED));
    assert_eq!(names(&w.dir().join("bin")), set(&EXPECTED));
    // Debian's link text, and they reach the client.
    assert_eq!(
        std::fs::read_link(w.dir().join("gcc")).unwrap(),
        PathBuf::from("../../bin/distcc")
    );
    assert_eq!(
        std::fs::read_link(w.dir().join("bin/gcc")).unwrap(),
        PathBuf::from("../../../bin/distcc")
    );
    for d in [w.dir(), w.dir().join("bin")] {
        assert_eq!(
            std::fs::canonicalize(d.join("x86_64-linux-gnu-gcc-12")).unwrap(),
            std::fs::canonicalize(w.path("usr/bin/distcc")).unwrap()
        );
    }
    // A second run changes nothing.
    let out = w.run(&["--verbose"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains("link ") && !text.contains("remove "),
        "{text}"
    );
    assert!(text.contains("found gcc-12 ("), "{text}");
}

#[test]
fn links_of_removed_compilers_go_and_foreign_entries_stay() {
    let w = World::new();
    w.run(&[]);
    std::fs::write(w.dir().join("README"), "mine").unwrap();
    symlink("/bin/true", w.dir().join("mytool")).unwrap();
    std::fs::remove_file(w.dir().join("clang")).unwrap();
    std::fs::write(w.dir().join("clang"), "not a link").unwrap();
    std::fs::remove_file(w.path("usr/bin/gcc-12")).unwrap();
    std::fs::remove_file(w.path("usr/bin/clang-15")).unwrap();
    let out = w.run(&[]);
    let mut want = set(&EXPECTED);
    want.remove("gcc-12");
    want.remove("clang-15");
    let mut in_dir = want.clone();
    in_dir.remove("clang");
    in_dir.insert("mytool".into());
    assert_eq!(names(&w.dir()), in_dir);
    assert_eq!(names(&w.dir().join("bin")), want);
    assert_eq!(
        std::fs::read_to_string(w.dir().join("README")).unwrap(),
        "mine"
    );
    assert_eq!(
        std::fs::read_to_string(w.dir().join("clang")).unwrap(),
        "not a link"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("clang exists and is not a link to distcc; left alone"),
        "{err}"
    );
}

#[test]
fn dry_run_prints_the_plan_and_changes_nothing() {
    let w = World::new();
    let out = w.run(&["--dry-run"]);
    assert!(!w.dir().exists());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("would mkdir {}", w.dir().display())),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "would link {} -> ../../bin/distcc",
            w.dir().join("gcc").display()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "would link {} -> ../../../bin/distcc",
            w.dir().join("bin/g++").display()
        )),
        "{text}"
    );
    assert_eq!(text.lines().count(), 2 + 2 * EXPECTED.len(), "{text}");
}

#[test]
fn client_only_and_whitelist_only_keep_to_their_directory() {
    let w = World::new();
    w.run(&["--client-only"]);
    assert!(names(&w.dir()).is_empty());
    assert_eq!(names(&w.dir().join("bin")), set(&EXPECTED));
    let w = World::new();
    w.run(&["--whitelist-only"]);
    assert_eq!(names(&w.dir()), set(&EXPECTED));
    assert!(!w.dir().join("bin").exists());
    let bad = Command::new(BIN)
        .args(["--client-only", "--whitelist-only", "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn remove_takes_every_distcc_link_and_empty_directories() {
    let w = World::new();
    w.run(&[]);
    w.run(&["--remove"]);
    assert!(!w.dir().exists());
    // A directory that holds something else stays.
    w.run(&[]);
    std::fs::write(w.dir().join("README"), "mine").unwrap();
    w.run(&["--remove"]);
    assert!(w.dir().join("README").exists());
    assert!(names(&w.dir()).is_empty());
    assert!(!w.dir().join("bin").exists());
}

#[test]
fn a_crosstool_ng_tree_from_the_dirs_file_is_scanned() {
    let w = World::new();
    let tc = "opt/x-tools8/aarch64-unknown-linux-gnu";
    std::fs::create_dir_all(w.path(&format!("{tc}/lib/gcc/aarch64-unknown-linux-gnu/14.2.0")))
        .unwrap();
    for exe in ["gcc", "g++", "cc", "c++", "gcc-14.2.0", "cpp", "gcc-ar"] {
        w.exe(&format!("{tc}/bin/aarch64-unknown-linux-gnu-{exe}"));
    }
    std::fs::create_dir_all(w.path("etc/distcc")).unwrap();
    std::fs::write(
        w.path("etc/distcc/compiler-dirs"),
        format!(
            "# cross toolchains\n{}\n",
            w.path(&format!("{tc}/bin")).display()
        ),
    )
    .unwrap();
    w.run(&[]);
    let got = names(&w.dir());
    for n in ["gcc", "g++", "cc", "c++", "gcc-14.2.0"] {
        assert!(
            got.contains(&format!("aarch64-unknown-linux-gnu-{n}")),
            "{n}: {got:?}"
        );
    }
    assert!(!got.contains("aarch64-unknown-linux-gnu-cpp"));
    assert!(!got.contains("aarch64-unknown-linux-gnu-gcc-ar"));
    // Without the file the next run removes them again.
    std::fs::remove_file(w.path("etc/distcc/compiler-dirs")).unwrap();
    w.run(&[]);
    assert_eq!(names(&w.dir()), set(&EXPECTED));
}

#[test]
fn an_unwritable_directory_is_a_clear_error() {
    if dcc_testkit::bins::is_root() {
        // root writes anywhere; the message is still checked through a missing parent that
        // is a file.
        let w = World::new();
        std::fs::write(w.path("usr/lib/blocker"), "").unwrap();
        let out = Command::new(BIN)
            .arg("--dir")
            .arg(w.path("usr/lib/blocker/distcc"))
            .arg("--bindir")
            .arg(w.path("usr/bin"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("cannot create directory"), "{err}");
        return;
    }
    let out = Command::new(BIN)
        .args(["--dir", "/proc/distcc-test", "--bindir", "/usr/bin"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

/// The real /usr/bin of this machine (Debian 12, gcc 12, the aarch64 cross compiler).
#[test]
fn the_real_usr_bin_gives_debians_names() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("distcc");
    let out = Command::new(BIN)
        .arg("--dir")
        .arg(&dir)
        .args(["--dirs-file", "/nonexistent", "--verbose"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = names(&dir);
    assert!(got.contains("gcc") && got.contains("cc"), "{got:?}");
    assert!(got.contains("x86_64-linux-gnu-gcc"), "{got:?}");
    // gcc-<major> for every installed native gcc version.
    let versions = std::fs::read_dir("/usr/lib/gcc/x86_64-linux-gnu").unwrap();
    let mut n = 0;
    for v in versions.flatten() {
        let name = format!("gcc-{}", v.file_name().to_string_lossy());
        if Path::new("/usr/bin").join(&name).exists() {
            assert!(got.contains(&name), "{name}: {got:?}");
            n += 1;
        }
    }
    assert!(n > 0, "no gcc-<version> in /usr/bin: {got:?}");
    for not in ["gcc-ar", "x86_64-linux-gnu-gcc-ar", "gcc-nm", "cpp"] {
        assert!(!got.contains(not), "{not}: {got:?}");
    }
    assert_eq!(names(&dir.join("bin")), got);
}

/// Debian's `update-distcc-symlinks` (Perl, writes only /usr/lib/distcc) run in a private
/// mount namespace where a temp directory is bind-mounted over /usr/lib/distcc: our names
/// are Debian's, plus upstream's `c89`/`c99`, minus names the daemon refuses (`nvcc`).
#[test]
fn the_same_names_as_debians_script() {
    let debian = Path::new("/usr/sbin/update-distcc-symlinks");
    assert!(
        debian.exists(),
        "{} is missing: this test compares with Debian's distcc 3.4; install it with \
         `apt-get install -y distcc`",
        debian.display()
    );
    let tmp = tempfile::tempdir().unwrap();
    let theirs = tmp.path().join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    let mut unshare = Command::new("unshare");
    if !dcc_testkit::bins::is_root() {
        unshare.arg("--map-root-user");
    }
    let out = unshare
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(format!(
            "mount --bind '{}' /usr/lib/distcc && {}",
            theirs.display(),
            debian.display()
        ))
        .output()
        .expect("unshare (util-linux)");
    assert!(
        out.status.success(),
        "Debian's script in a mount namespace: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ours = tmp.path().join("ours");
    let st = Command::new(BIN)
        .arg("--dir")
        .arg(&ours)
        .args(["--whitelist-only", "--dirs-file", "/nonexistent"])
        .status()
        .unwrap();
    assert!(st.success());
    let theirs: BTreeSet<String> = names(&theirs)
        .into_iter()
        .filter(|n| dcc_args::server::is_compiler_driver(n))
        .collect();
    assert!(theirs.contains("gcc"), "{theirs:?}");
    let mut ours = names(&ours);
    ours.retain(|n| !(n == "c89" || n == "c99"));
    assert_eq!(ours, theirs);
}

/// Root is not needed: an unprivileged user fills a directory it can write.
#[test]
fn an_unprivileged_user_can_fill_its_own_directory() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let dir = tmp.path().join("distcc");
    let mut cmd = if dcc_testkit::bins::is_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN]);
        c
    } else {
        Command::new(BIN)
    };
    let out = cmd
        .arg("--dir")
        .arg(&dir)
        .args(["--dirs-file", "/nonexistent"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(names(&dir).contains("gcc"));
    assert!(names(&dir.join("bin")).contains("gcc"));
}
