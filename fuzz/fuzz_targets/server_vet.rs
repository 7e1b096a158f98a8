//! The daemon's argument allow-list on arbitrary argv: never panics; whatever it accepts
//! rewrites without panicking, names the input it says it found, and never lets an argument
//! that starts a program through.
#![no_main]

use std::path::Path;

use dcc_args::server::{Mode, Policy, rewrite_plain, rewrite_pump, vet};
use libfuzzer_sys::fuzz_target;

/// gcc's options that take the next argument as their value when written alone (from gcc's
/// option definitions, not from the table under test).
const TAKES_NEXT: &[&str] = &[
    "-o", "-x", "--param", "-target", "-D", "-U", "-A", "-I", "-iquote", "-isystem",
    "-idirafter", "-iprefix", "-iwithprefix", "-iwithprefixbefore", "-include", "-imacros",
    "-imultilib", "-imultiarch", "-isysroot", "--sysroot", "-MF", "-MT", "-MQ", "-l", "-L",
    "-aux-info", "-Xpreprocessor", "-Xassembler", "-Xlinker", "-u", "-e", "-z", "-dumpbase",
    "-dumpdir", "-dumpbase-ext",
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut argv: Vec<String> = text.split('\0').map(str::to_owned).collect();
    if argv.len() < 2 {
        return;
    }
    let pump = argv[0].len() % 2 == 1;
    argv[0] = "gcc".into();
    let mode = if pump {
        Mode::Pump { cwd: "/src/p".into() }
    } else {
        Mode::Plain
    };
    if let Ok(v) = vet(&argv, &mode, &Policy::STRICT) {
        assert!(v.input_index < argv.len());
        // gcc expands @file in every position, values included.
        for a in &argv {
            assert!(!a.starts_with('@'), "{a} accepted");
        }
        // Options are only what gcc parses as options: the argument after one that takes a
        // separate value is that value (`-MT -Bx` names the make target "-Bx"; gcc 12 checked).
        let mut i = 1;
        while i < argv.len() {
            let a = argv[i].as_str();
            for bad in ["-wrapper", "-fplugin", "-specs", "--specs", "-B"] {
                assert!(!a.starts_with(bad), "{a} accepted");
            }
            i += if TAKES_NEXT.contains(&a) { 2 } else { 1 };
        }
        let out = if pump {
            rewrite_pump(&argv, &v, Path::new("/r"), Path::new("/j/o"), Path::new("/j/d")).argv
        } else {
            rewrite_plain(&argv, &v, Path::new("/j/i.i"), Path::new("/j/o"))
        };
        assert!(out.iter().any(|a| a.contains("/j/o")));
    }
});
