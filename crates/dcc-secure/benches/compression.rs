//! Which zstd level for bodies? zstd levels 1..6, our LZO1X-1 and no compression on the
//! preprocessed units of the lua and zstd workloads: ratio (compressed / original, lower is
//! better), compression and decompression speed. The client compresses every `.i` and
//! decompresses every object, so both speeds are master CPU.
//!
//! `cargo bench -p dcc-secure --bench compression` (prints a markdown table; the numbers in
//! docs/security/secure-transport.md come from it). Objects are measured too: they are what
//! the helper compresses and the master decompresses.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use dcc_proto::Compression;
use dcc_proto::compress::{compress, decompress};
use dcc_proto::token::Token;
use dcc_testkit::workload;

/// `gcc -E` and `gcc -c` of every unit of workload `name`: (preprocessed, objects).
fn corpus(name: &str) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let dir = workload::prepare(name);
    let (flags, src, units) = workload::units(&dir);
    let objdir = std::env::temp_dir().join(format!("dcc-secure-bench-{name}"));
    std::fs::create_dir_all(&objdir).expect("mkdir");
    let mut pre = Vec::new();
    let mut objs = Vec::new();
    for (i, (_, source)) in units.iter().enumerate() {
        let flags: Vec<&str> = flags.split_whitespace().collect();
        let out = Command::new("gcc")
            .args(&flags)
            .arg("-E")
            .arg(src.join(source))
            .output()
            .expect("gcc -E");
        assert!(out.status.success(), "gcc -E {source}");
        pre.push(out.stdout);
        let obj = objdir.join(format!("{i}.o"));
        let st = Command::new("gcc")
            .args(&flags)
            .arg("-c")
            .arg(src.join(source))
            .arg("-o")
            .arg(&obj)
            .status()
            .expect("gcc -c");
        assert!(st.success());
        objs.push(std::fs::read(&obj).expect("object"));
    }
    let _ = std::fs::remove_dir_all(Path::new(&objdir));
    (pre, objs)
}

/// Time `f` over the corpus, repeated until at least 0.3 s; seconds per pass.
fn time(mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed() < Duration::from_millis(300) || n < 3 {
        f();
        n += 1;
    }
    start.elapsed().as_secs_f64() / f64::from(n)
}

fn zstd_level(body: &[u8], level: i32) -> Vec<u8> {
    zstd::bulk::compress(body, level).expect("zstd")
}

fn row(
    label: &str,
    units: &[Vec<u8>],
    comp: &dyn Fn(&[u8]) -> Vec<u8>,
    dec: &dyn Fn(&[u8], usize),
) {
    let total: usize = units.iter().map(Vec::len).sum();
    let packed: Vec<Vec<u8>> = units.iter().map(|u| comp(u)).collect();
    let csize: usize = packed.iter().map(Vec::len).sum();
    let ct = time(|| {
        for u in units {
            std::hint::black_box(comp(u));
        }
    });
    let dt = time(|| {
        for (p, u) in packed.iter().zip(units) {
            dec(p, u.len());
        }
    });
    let mb = total as f64 / 1e6;
    println!(
        "| {label} | {:.3} | {:.0} | {:.0} |",
        csize as f64 / total as f64,
        mb / ct,
        mb / dt
    );
}

fn table(what: &str, units: &[Vec<u8>]) {
    let total: usize = units.iter().map(Vec::len).sum();
    println!(
        "\n{what}: {} units, {:.1} MB\n\n| codec | ratio | compress MB/s | decompress MB/s |\n|---|---|---|---|",
        units.len(),
        total as f64 / 1e6
    );
    row("none", units, &|b| b.to_vec(), &|_, _| {});
    row(
        "lzo (ours, LZO1X-1)",
        units,
        &|b| compress(Compression::Lzo, b).expect("lzo"),
        &|p, n| {
            std::hint::black_box(decompress(Compression::Lzo, Token::DOTI, p, n).expect("lzo"));
        },
    );
    for level in 1..=6 {
        row(
            &format!("zstd {level}"),
            units,
            &|b| zstd_level(b, level),
            &|p, n| {
                std::hint::black_box(
                    decompress(Compression::Zstd, Token::DOTI, p, n).expect("zstd"),
                );
            },
        );
    }
}

fn main() {
    // `cargo test --benches` runs this with --test-like arguments; only measure for real.
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let mut all_pre = Vec::new();
    let mut all_obj = Vec::new();
    for name in ["lua", "zstd"] {
        let (pre, objs) = corpus(name);
        table(
            &format!("{name}: preprocessed units (.i, client → helper)"),
            &pre,
        );
        all_pre.extend(pre);
        all_obj.extend(objs);
    }
    table("lua + zstd: preprocessed units", &all_pre);
    table("lua + zstd: objects (.o, helper → client)", &all_obj);
}
