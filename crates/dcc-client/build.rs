//! The triple in front of `gcc` when the client rewrites compiler names (distcc's
//! `dcc_gcc_rewrite_fqn`): distcc HEAD takes it from `cc -dumpmachine` at configure time, so a
//! client built on the master's distribution names that distribution's compilers
//! (`x86_64-linux-gnu-gcc` on Debian, `aarch64-unknown-linux-gnu-gcc` on Arch Linux ARM).
//! `DISTCC_RS_GCC_TRIPLE` at build time overrides it; without a working `cc` the client falls
//! back to Debian's rule (the host triple without `-pc`).

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=DISTCC_RS_GCC_TRIPLE");
    println!("cargo:rerun-if-env-changed=CC");
    let triple = std::env::var("DISTCC_RS_GCC_TRIPLE").ok().or_else(|| {
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        let out = Command::new(cc).arg("-dumpmachine").output().ok()?;
        let t = String::from_utf8(out.stdout).ok()?.trim().to_owned();
        (out.status.success() && !t.is_empty() && !t.contains(char::is_whitespace)).then_some(t)
    });
    if let Some(t) = triple {
        println!("cargo:rustc-env=DCC_GCC_TRIPLE={t}");
    }
}
