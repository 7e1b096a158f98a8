//! `expand_response_files` against gcc's own expansion (libiberty, as linked into gcc 12 and
//! Debian's distcc 3.4): gcc is run with `-wrapper` so that cc1 is replaced by a shell that
//! records its arguments, and the `-D` values cc1 received are compared with ours.
//!
//! Needs gcc.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::fs;
use std::process::{Command, Stdio};

use dcc_args::client::expand_response_files;

fn require_gcc() {
    let ok = Command::new("gcc")
        .arg("--version")
        .stdout(Stdio::null())
        .status();
    assert!(
        matches!(ok, Ok(s) if s.success()),
        "these tests need gcc: install gcc"
    );
}

/// The `-D` values cc1 receives for `gcc -c a.c @rsp`, with `rsp` holding `text`.
fn gcc_defines(text: &str) -> Vec<String> {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::write(dir.join("a.c"), "int x;\n").unwrap();
    fs::write(dir.join("rsp"), text).unwrap();
    fs::write(dir.join("inner"), "-DINNER='from inner'").unwrap();
    let script = "case \"$1\" in */cc1) printf '%s\\0' \"$@\" > args;; esac";
    let status = Command::new("gcc")
        .args(["-c", "a.c", "@rsp", "-wrapper"])
        .arg(format!("/bin/sh,-c,{script},sh"))
        .current_dir(dir)
        .stderr(Stdio::null())
        .status()
        .expect("run gcc");
    assert!(status.success(), "gcc failed for {text:?}");
    let raw = fs::read(dir.join("args")).expect("cc1 was run through the wrapper");
    let args: Vec<String> = raw
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    args.windows(2)
        .filter(|w| w[0] == "-D")
        .map(|w| w[1].clone())
        .collect()
}

fn our_defines(text: &str) -> Vec<String> {
    let argv: Vec<String> = ["gcc", "-c", "a.c", "@rsp"].map(String::from).to_vec();
    let read = |name: &str| match name {
        "rsp" => Some(text.to_string()),
        "inner" => Some("-DINNER='from inner'".to_string()),
        _ => None,
    };
    expand_response_files(&argv, read)
        .unwrap()
        .iter()
        .filter_map(|a| a.strip_prefix("-D").map(String::from))
        .collect()
}

#[test]
fn same_expansion_as_gcc() {
    require_gcc();
    assert_eq!(gcc_defines("-DA=1 -DB=2"), ["A=1", "B=2"]);
    for text in [
        "-DA=1 -DB=2",
        "  -DA=1\n\n\t-DB=2\r\n",
        "-DA=\"x\\\"y\" -DB='a\\b' -DC=a\\ b -DD=\"p\\q\" -DE=a\\\n-DF",
        "-DX='a'\"b\"c -DY=\"a'b\" -DZ='a\"b'",
        "-DQ='it''s' \"-DR=two words\" -DS=\\'",
        "-DN=\\\\ -DM=\"\\\\\"",
        "-DO=1 @inner -DP=2",
        "-DU='unterminated",
        "",
    ] {
        assert_eq!(our_defines(text), gcc_defines(text), "{text:?}");
    }
}
