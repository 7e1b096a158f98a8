//! `dcc-gen [--check] [DIR]`: write the man pages and shell completions into DIR (default
//! `packaging/` of this workspace), or with `--check` list the stale ones and exit 1.

use std::path::PathBuf;

fn main() {
    let mut check = false;
    let mut dir = None;
    for a in std::env::args_os().skip(1) {
        match a.to_str() {
            Some("--check") => check = true,
            Some("--help" | "-h") => {
                println!(
                    "usage: dcc-gen [--check] [DIR]   (DIR defaults to the workspace's packaging/)"
                );
                return;
            }
            _ => dir = Some(PathBuf::from(a)),
        }
    }
    let dir =
        dir.unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../packaging"));
    if check {
        match dcc_gen::generate::stale(&dir) {
            Ok(s) if s.is_empty() => {}
            Ok(s) => {
                for p in s {
                    eprintln!("stale: {}", dir.join(p).display());
                }
                eprintln!("dcc-gen: run `cargo run -p dcc-gen` and commit the result");
                std::process::exit(1);
            }
            Err(e) => {
                eprintln!("dcc-gen: {e}");
                std::process::exit(1);
            }
        }
        return;
    }
    match dcc_gen::generate::write_all(&dir) {
        Ok(written) => {
            for p in written {
                println!("{}", p.display());
            }
        }
        Err(e) => {
            eprintln!("dcc-gen: {e}");
            std::process::exit(1);
        }
    }
}
