//! The argv the daemon runs, and the .d file it returns (reference §3.4, §3.6).
//!
//! Both rewrites start with argv[0] replaced by [`Vetted::compiler`] (the name the whitelist
//! was checked with, where distcc execs argv[0] as sent) and `-specs` arguments pointed at the
//! checked file. Then:
//! - plain mode (distcc src/serve.c `dcc_set_input`, `dcc_set_output`): the source becomes
//!   the daemon's file holding the client's preprocessed text, the output becomes the job's
//!   output file (`-o` appended if the command named none, as distcc's scan appends it);
//! - pump mode (`tweak_arguments_for_server`): the output as above; the first `-MT X` is taken
//!   out and X becomes the .d file's target; `-MMD` is added unless `-MD`/`-MMD` is there;
//!   `-MF <deps>` is appended; absolute include paths and an absolute source path move under
//!   the root. The client's own `-MF` options are dropped: gcc would use the last `-MF`, ours,
//!   anyway, so nothing changes except that no client-chosen path is ever handed to gcc.
//!
//! The functions take the argv that was vetted together with its [`Vetted`]; indices that do
//! not fit are skipped rather than trusted.

use std::path::Path;

use super::paths;
use super::{OutputArg, Vetted};

/// The pump-mode command, and the target to put in the .d file sent back ([`cleanup_dotd`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PumpArgs {
    pub argv: Vec<String>,
    /// The first `-MT` value, or else the client's output name.
    pub dotd_target: String,
}

/// Plain mode: `input` is the daemon's copy of the preprocessed source, `output` the object
/// (or assembly) file it will send back.
pub fn rewrite_plain(argv: &[String], v: &Vetted, input: &Path, output: &Path) -> Vec<String> {
    let mut out = common(argv, v);
    set(&mut out, v.input_index, text(input));
    let appended = set_output(&mut out, v.output, output);
    out.extend(appended);
    out
}

/// Pump mode: `root` is the job's root directory (the client's `/`), `output` the object file,
/// `deps` the .d file the compiler writes.
pub fn rewrite_pump(
    argv: &[String],
    v: &Vetted,
    root: &Path,
    output: &Path,
    deps: &Path,
) -> PumpArgs {
    let root = text(root);
    let mut out = common(argv, v);
    let appended = set_output(&mut out, v.output, output);

    for &(index, offset) in &v.edits.include_values {
        if let Some(arg) = out.get_mut(index)
            && let Some(value) = arg.get(offset..).filter(|p| p.starts_with('/'))
        {
            *arg = format!("{}{}", &arg[..offset], paths::under_root(&root, value));
        }
    }
    // distcc src/serve.c tweak_input_argument_for_server: root + "/" + the path without its
    // leading slashes.
    if let Some(input) = out.get_mut(v.input_index)
        && input.starts_with('/')
    {
        *input = format!(
            "{}/{}",
            root.trim_end_matches('/'),
            input.trim_start_matches('/')
        );
    }

    // distcc takes the first `-MT X` out and later swaps the server's output name in the .d
    // for X. Then gcc wraps the .d's first line for the long server name, not for X, so the
    // file differs from a local one. We keep the client's targets in the command (and add
    // `-MQ <output>`, gcc's own default target, when there is none): gcc then writes the
    // client's .d exactly, and only the root has to be removed from it.
    let drop = &v.edits.dep_file_args;
    let mut dotd_target = v.client_output.clone();
    if let Some(mt) = v.edits.first_mt
        && let Some(target) = argv.get(mt + 1)
    {
        dotd_target = target.clone();
    }
    let mut argv: Vec<String> = out
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !drop.contains(i))
        .map(|(_, a)| a)
        .collect();
    argv.extend(appended);
    if !v.edits.has_target {
        argv.push("-MQ".to_string());
        argv.push(v.client_output.clone());
    }
    if !v.edits.has_md {
        argv.push("-MMD".to_string());
    }
    argv.push("-MF".to_string());
    argv.push(text(deps));
    PumpArgs { argv, dotd_target }
}

/// The .d file for the client (distcc src/dotd.c `dcc_cleanup_dotd`): on each line, the first
/// occurrence of the server's output name becomes `client_target`, then every occurrence of
/// the root directory is deleted.
pub fn cleanup_dotd(dotd: &str, server_output: &str, client_target: &str, root: &str) -> String {
    let mut out = String::with_capacity(dotd.len());
    for line in dotd.split_inclusive('\n') {
        let mut line = if server_output.is_empty() {
            line.to_string()
        } else {
            line.replacen(server_output, client_target, 1)
        };
        if !root.is_empty() {
            // Search on from where the root was cut out, as distcc does.
            let mut from = 0;
            while let Some(at) = line[from..].find(root) {
                let at = from + at;
                line.replace_range(at..at + root.len(), "");
                from = at;
            }
        }
        out.push_str(&line);
    }
    out
}

/// argv with the compiler name and `-specs` edits applied.
fn common(argv: &[String], v: &Vetted) -> Vec<String> {
    let mut out = argv.to_vec();
    set(&mut out, 0, v.compiler.clone());
    for (index, replacement) in &v.edits.specs {
        set(&mut out, *index, replacement.clone());
    }
    out
}

/// Put the output name in place; returns what to append when none was given.
fn set_output(out: &mut [String], at: OutputArg, output: &Path) -> Vec<String> {
    match at {
        OutputArg::Separate(i) => set(out, i, text(output)),
        OutputArg::Joined(i) => set(out, i, format!("-o{}", text(output))),
        OutputArg::Implied => return vec!["-o".to_string(), text(output)],
    }
    Vec::new()
}

fn set(out: &mut [String], index: usize, value: String) {
    if let Some(slot) = out.get_mut(index) {
        *slot = value;
    }
}

fn text(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference §1.7: the server's .d for `gcc -MD -c m.c -o m.o` in pump mode, and what the
    // client wrote.
    #[test]
    fn cleanup_dotd_example() {
        let root = "/tmp/distccd_u5Kgy2";
        let server = "/tmp/distccd_001f1089.o: m.c /usr/include/stdc-predef.h /usr/include/stdio.h \\\n \
                      /tmp/distccd_u5Kgy2/src/cap/p3src/inc/a.h\n";
        let got = cleanup_dotd(server, "/tmp/distccd_001f1089.o", "m.o", root);
        assert_eq!(
            got,
            "m.o: m.c /usr/include/stdc-predef.h /usr/include/stdio.h \\\n /src/cap/p3src/inc/a.h\n"
        );
    }

    #[test]
    fn cleanup_dotd_grafts_once_per_line_and_cuts_every_root() {
        let got = cleanup_dotd("O: O R/a R/b\nO:\n", "O", "t.o", "R");
        assert_eq!(got, "t.o: O /a /b\nt.o:\n");
        // The search goes on from the cut, so a root formed by the cut stays (as in distcc).
        assert_eq!(cleanup_dotd("//rr/x", "", "", "/r"), "/r/x");
        assert_eq!(cleanup_dotd("no newline", "", "", ""), "no newline");
    }
}
