//! Micro-benchmarks of the per-compile work in our code that is not a process or the network:
//! body compression per protocol option, the request codec, and the client's argument scan.
//! `cargo bench -p dcc-bench --bench codec` (divan). The input is real preprocessed C: the C
//! library's common headers through `gcc -E` (a synthetic C-like text if gcc is missing).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use dcc_proto::{Compression, Limits, Protocol, Request, RequestBody, RequestHeader, Token};

fn main() {
    divan::main();
}

/// About 100 KiB of preprocessed C.
fn source() -> &'static [u8] {
    static SRC: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    SRC.get_or_init(|| {
        let code = "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n\
                    #include <math.h>\n#include <pthread.h>\n#include <unistd.h>\n\
                    int main(void) { return 0; }\n";
        let out = std::process::Command::new("gcc")
            .args(["-E", "-x", "c", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().map(|mut i| i.write_all(code.as_bytes()));
                c.wait_with_output()
            });
        match out {
            Ok(o) if o.status.success() && !o.stdout.is_empty() => o.stdout,
            _ => (0..4000)
                .map(|i| format!("extern int function_{i}(const char *name, size_t len);\n"))
                .collect::<String>()
                .into_bytes(),
        }
    })
}

const METHODS: [Compression; 3] = [Compression::None, Compression::Lzo, Compression::Zstd];

#[divan::bench(args = METHODS)]
fn compress(bencher: divan::Bencher, c: Compression) {
    let src = source();
    bencher
        .counter(divan::counter::BytesCount::new(src.len()))
        .bench(|| dcc_proto::compress::compress(c, divan::black_box(src)));
}

#[divan::bench(args = METHODS)]
fn decompress(bencher: divan::Bencher, c: Compression) {
    let src = source();
    let packed = dcc_proto::compress::compress(c, src).expect("compress");
    bencher
        .counter(divan::counter::BytesCount::new(src.len()))
        .bench(|| {
            dcc_proto::compress::decompress(c, Token::DOTI, divan::black_box(&packed), 1 << 30)
        });
}

/// Encode a protocol-2 request for the source, then decode it as the daemon does.
#[divan::bench]
fn request_round_trip(bencher: divan::Bencher) {
    let src = source();
    let protocol = Protocol::for_host(Compression::Lzo, false);
    let argv: Vec<String> = [
        "x86_64-linux-gnu-gcc",
        "-O2",
        "-Wall",
        "-c",
        "x.c",
        "-o",
        "x.o",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    bencher.bench(|| {
        let req = Request {
            header: RequestHeader {
                protocol,
                cdir: None,
                argv: argv.clone(),
            },
            body: RequestBody::Doti(src.to_vec()),
        };
        let bytes = req.encode().expect("encode");
        Request::decode_all(&bytes, Limits::default()).expect("decode")
    });
}

/// The client's decision for a typical compile command line.
#[divan::bench]
fn scan_args(bencher: divan::Bencher) {
    let argv: Vec<String> = "gcc -O2 -Wall -DLUA_COMPAT_5_3 -DLUA_USE_LINUX -I. -Icommon -MD -MF \
                             obj/lvm.d -c lvm.c -o obj/lvm.o"
        .split(' ')
        .map(str::to_owned)
        .collect();
    bencher.bench(|| dcc_args::client::scan_args(divan::black_box(&argv)));
}
