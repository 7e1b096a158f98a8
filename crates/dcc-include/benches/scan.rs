//! The include scanner on every lua unit, against `gcc -E` of the same units.
//! `cargo bench -p dcc-include --bench scan` (divan). Each iteration does all 32 units, so
//! divide by 32 for a unit; the figures are in docs/decisions/include-scanner.md.
//!
//! - `scan_cold`: an empty cache directory: the compiler probe runs and every file is read,
//!   hashed and lexed (the first unit of a first build);
//! - `scan_no_file_memo`: the probe cached, every file read and lexed again (what each unit
//!   would cost without the per-file memo);
//! - `scan_file_memo`: probe and files from the disk memo, no unit memo: `stat`s and ~100
//!   small reads (a unit compiled for the first time, after other units read its headers);
//! - `scan_warm`: the unit memo: one `stat` per fact, nothing read (the same unit again, e.g.
//!   a second build);
//! - `gcc_e`: `gcc -E` of the unit to /dev/null (what plain distcc runs on the master).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::time::Duration;

use dcc_include::{Outcome, Scanner};
use dcc_testkit::workload;

fn main() {
    divan::main();
}

struct Lua {
    src: PathBuf,
    argvs: Vec<Vec<String>>,
}

fn lua() -> &'static Lua {
    static L: std::sync::OnceLock<Lua> = std::sync::OnceLock::new();
    L.get_or_init(|| {
        let dir = workload::prepare("lua");
        let (flags, src, units) = workload::units(&dir);
        let argvs = units
            .iter()
            .map(|(_, u)| {
                let mut a = vec!["gcc".to_owned()];
                a.extend(flags.split_whitespace().map(str::to_owned));
                a.extend(["-c".to_owned(), u.clone()]);
                a
            })
            .collect();
        Lua { src, argvs }
    })
}

fn scan_all(s: &Scanner) {
    let l = lua();
    for a in &l.argvs {
        let r = s.scan(Path::new("gcc"), a, &l.src);
        assert!(matches!(r.outcome, Outcome::Complete(_)));
    }
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn scan_cold(b: divan::Bencher) {
    b.with_inputs(|| tempfile::tempdir().expect("tmp"))
        .bench_local_values(|d| {
            scan_all(&Scanner {
                cache_dir: Some(d.path().to_path_buf()),
                ..Scanner::default()
            })
        });
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn scan_no_file_memo(b: divan::Bencher) {
    let d = tempfile::tempdir().expect("tmp");
    // A racy window of a century: nothing is ever recorded, but the probe is.
    let s = Scanner {
        cache_dir: Some(d.path().to_path_buf()),
        racy_window: Some(Duration::from_secs(100 * 365 * 86400)),
        ..Scanner::default()
    };
    scan_all(&s);
    b.bench_local(|| scan_all(&s));
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn scan_file_memo(b: divan::Bencher) {
    let d = tempfile::tempdir().expect("tmp");
    let s = Scanner {
        cache_dir: Some(d.path().to_path_buf()),
        ..Scanner::default()
    };
    scan_all(&s);
    b.with_inputs(|| {
        let _ = std::fs::remove_dir_all(d.path().join("units-1"));
    })
    .bench_local_values(|()| scan_all(&s));
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn scan_warm(b: divan::Bencher) {
    let d = tempfile::tempdir().expect("tmp");
    let s = Scanner {
        cache_dir: Some(d.path().to_path_buf()),
        ..Scanner::default()
    };
    scan_all(&s);
    b.bench_local(|| scan_all(&s));
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn gcc_e(b: divan::Bencher) {
    let l = lua();
    b.bench_local(|| {
        for a in &l.argvs {
            let st = std::process::Command::new("gcc")
                .args(&a[1..a.len() - 2])
                .args(["-E", &a[a.len() - 1], "-o", "/dev/null"])
                .current_dir(&l.src)
                .status()
                .expect("gcc -E");
            assert!(st.success());
        }
    });
}
