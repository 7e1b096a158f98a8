//! The client's command-line analysis on arbitrary argv: scan, strip, cpp argv, -Wp expansion
//! and response-file expansion never panic.
#![no_main]

use dcc_args::client::{
    Scan, cpp_argv, expand_preprocessor_options, expand_response_files, scan_args,
    strip_local_args,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let argv: Vec<String> = text.split('\0').map(str::to_owned).collect();
    let expanded = expand_response_files(&argv, |name| {
        (name.len() < 8).then(|| format!("{name} -c x.c"))
    });
    let argv = expanded.unwrap_or(argv);
    let argv = expand_preprocessor_options(&argv);
    if let Ok(Scan::Distribute(c)) = scan_args(&argv) {
        assert!(c.input_index < c.argv.len());
        let _ = strip_local_args(&c.argv);
        let _ = cpp_argv(&c.argv);
    }
});
