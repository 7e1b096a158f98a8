//! LZO1X-1 throughput on what the distcc client really compresses: preprocessed C.
//!
//! The input is `gcc -E` of a file including `<stdio.h>`, `<stdlib.h>` and `<string.h>`,
//! generated when the bench starts (a synthetic C-like text stands in where gcc is missing).
//! Run with `cargo bench -p dcc-proto --bench lzo`; it prints the compression ratio first.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::process::Command;
use std::sync::LazyLock;

use dcc_proto::lzo;
use divan::counter::BytesCount;

const SOURCE: &str = "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n\
    int main(int argc, char **argv) {\n\
      char *s = malloc(64);\n\
      strcpy(s, argc > 1 ? argv[1] : \"hi\");\n\
      printf(\"%s %zu\\n\", s, strlen(s));\n\
      free(s);\n\
      return 0;\n\
    }\n";

static INPUT: LazyLock<Vec<u8>> = LazyLock::new(|| preprocessed().unwrap_or_else(synthetic));
static COMPRESSED: LazyLock<Vec<u8>> = LazyLock::new(|| lzo::compress(&INPUT));

fn preprocessed() -> Option<Vec<u8>> {
    let dir = tempfile::tempdir().ok()?;
    let src = dir.path().join("bench.c");
    std::fs::write(&src, SOURCE).ok()?;
    let out = Command::new("gcc").arg("-E").arg(&src).output().ok()?;
    out.status.success().then_some(out.stdout)
}

fn synthetic() -> Vec<u8> {
    eprintln!("gcc -E failed: benchmarking a synthetic C-like text");
    (0..4000)
        .flat_map(|i| {
            format!(
                "extern int function_{i}(const char *__restrict __s, int __n_{});\n",
                i % 7
            )
            .into_bytes()
        })
        .collect()
}

fn main() {
    let (n, c) = (INPUT.len(), COMPRESSED.len());
    eprintln!(
        "input {n} bytes -> {c} bytes (ratio {:.2}, {:.1}% of the input)",
        n as f64 / c as f64,
        100.0 * c as f64 / n as f64
    );
    divan::main();
}

#[divan::bench]
fn compress(bencher: divan::Bencher) {
    let mut out = Vec::with_capacity(INPUT.len() * 2);
    bencher
        .counter(BytesCount::new(INPUT.len()))
        .bench_local(|| {
            out.clear();
            lzo::compress_into(divan::black_box(&INPUT), &mut out);
            out.len()
        });
}

#[divan::bench]
fn decompress(bencher: divan::Bencher) {
    bencher
        .counter(BytesCount::new(INPUT.len()))
        .bench(|| lzo::decompress(divan::black_box(&COMPRESSED), INPUT.len()));
}
