//! The directive lexer against gcc itself: random soups of the fragments that decide where a
//! directive hides (comments, literals, splices, raw strings, digit separators, digraphs,
//! carriage returns), preprocessed by gcc in C (GNU and ISO) and C++ modes. Every header gcc
//! reads (`-M`) must be one the lexer found. Fixed seed, so a failure reproduces.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::collections::BTreeSet;
use std::process::Command;

use dcc_include::lexer::{Directive, Target, lex};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

const FRAGMENTS: &[&str] = &[
    "/*",
    "*/",
    "//",
    "\"",
    "'",
    "\\\n",
    "\n",
    "\n",
    "\n",
    " ",
    "x",
    "1'0",
    "1'a",
    "R\"x(",
    ")x\"",
    "R\"(",
    ")\"",
    "u8",
    "L",
    "#",
    "%:",
    "# ",
    "include",
    "<h3.h>",
    "\r",
    "\r\n",
    "\t",
    "#if 0\n",
    "#endif\n",
    "#define M ",
    "??/\n",
];

fn header(n: usize) -> String {
    if n.is_multiple_of(2) {
        format!("#include \"h{n}.h\"\n")
    } else {
        format!("#include <h{n}.h>\n")
    }
}

fn found_by_lexer(src: &[u8]) -> BTreeSet<String> {
    lex(src)
        .into_iter()
        .filter_map(|d| match d {
            Directive::Include {
                target: Target::Quote(n) | Target::Angle(n),
                ..
            } => Some(n),
            _ => None,
        })
        .collect()
}

/// The headers hN.h gcc reads, or `None` when gcc rejects the text.
fn read_by_gcc(dir: &std::path::Path, driver: &str, std: &str) -> Option<BTreeSet<String>> {
    let out = Command::new(driver)
        .args([std, "-nostdinc", "-I.", "-M", "-w", "main.c"])
        .args(if driver == "g++" {
            &["-x", "c++"][..]
        } else {
            &[][..]
        })
        .current_dir(dir)
        .output()
        .expect("run gcc");
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout).replace("\\\n", " ");
    Some(
        text.split_whitespace()
            .filter(|w| w.starts_with('h') && w.ends_with(".h"))
            .map(str::to_owned)
            .collect(),
    )
}

#[test]
fn every_header_gcc_reads_is_found_by_the_lexer() {
    let dir = tempfile::tempdir().expect("tmp");
    for n in 0..8 {
        std::fs::write(dir.path().join(format!("h{n}.h")), "").expect("write");
    }
    let strategy = proptest::collection::vec(
        prop_oneof![
            3 => (0..FRAGMENTS.len()).prop_map(|i| FRAGMENTS[i].to_owned()),
            1 => (0usize..8).prop_map(header),
        ],
        1..24,
    );
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: 120,
            ..Config::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let compared = std::cell::Cell::new(0usize);
    runner
        .run(&strategy, |parts| {
            let src = parts.concat();
            std::fs::write(dir.path().join("main.c"), &src).expect("write");
            let ours = found_by_lexer(src.as_bytes());
            for (driver, std) in [
                ("gcc", "-std=gnu17"),
                ("gcc", "-std=c17"),
                ("g++", "-std=c++17"),
            ] {
                if let Some(theirs) = read_by_gcc(dir.path(), driver, std) {
                    compared.set(compared.get() + 1);
                    prop_assert!(
                        theirs.is_subset(&ours),
                        "{driver} {std} read {theirs:?}, the lexer found {ours:?} in {src:?}"
                    );
                }
            }
            Ok(())
        })
        .expect("gcc read a header the lexer missed");
    // Most soups are valid for at least one mode; a test that compares nothing proves nothing.
    assert!(compared.get() > 100, "only {} comparisons", compared.get());
}
