//! What `distccd` does with a job's argv (reference §3.1, §3.4, §4.4, §4.8).
//!
//! The daemon reads a request's argv and calls, in order:
//!
//! 1. [`vet`]: is this a compile the daemon will run? It re-runs distcc's scan (§3.1; the
//!    client's [`crate::client::scan_args`], as distccd re-runs `dcc_scan_args`), so the job
//!    must be a `-c`/`-S` compile of one source; a "local" verdict is a refusal. It checks
//!    argv[0] ([`compiler_name`], [`is_compiler_driver`]; the whitelist lookup itself is the
//!    daemon's) and then every argument against an **allow-list** of options (module
//!    `options`, walked by module `vet`): nothing may make the compiler run another program,
//!    read a server file named by the client, or write outside the job's directory. The result
//!    is a [`Vetted`] (where the input and output are) or a [`Refusal`], whose `Display` is
//!    the one-line text the daemon sends back in `SERR`.
//! 2. [`rewrite_plain`] (protocols 1/2) or [`rewrite_pump`] (protocol 3): the argv to run,
//!    with the job's own input and output files (module `rewrite`).
//! 3. Pump mode, after the compile: [`cleanup_dotd`] turns the server's .d file into the
//!    client's (§3.6).
//!
//! Module `paths` holds the lexical checks that keep pump-mode paths inside the job's root.
//! The allow-list, and why each refused family is refused, is documented in
//! docs/security/argument-allow-list.md.

mod compiler;
mod options;
mod paths;
mod rewrite;
mod vet;

#[cfg(test)]
mod vet_tests;

use std::path::{Path, PathBuf};

pub use compiler::{DRIVERS, compiler_name, driver_base, driver_triple, is_compiler_driver};
pub use rewrite::{PumpArgs, cleanup_dotd, rewrite_plain, rewrite_pump};
pub use vet::{NOT_A_DRIVER, vet};

/// How the job's source reaches the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Protocols 1 and 2: the client sends its preprocessed source (`DOTI`), which the daemon
    /// stores in a file of its own; input and output names in argv are replaced.
    Plain,
    /// Protocol 3: the client sends its source tree, which the daemon rebuilds under `root`;
    /// the compiler runs in `root` + `cwd` and preprocesses on the server.
    Pump {
        /// The client's working directory (`CDIR`), an absolute client path. (The job's root,
        /// which stands for the client's `/`, is given to [`rewrite_pump`].)
        cwd: PathBuf,
    },
}

/// What the daemon's configuration allows beyond the fixed allow-list.
pub struct Policy<'a> {
    /// distccd's `--sysroot DIR` (distcc HEAD): `-specs=F` is accepted only when `DIR/F` is a
    /// regular file, and is rewritten to name that file, so the compiler reads exactly the
    /// spec file the administrator put there.
    pub sysroot: Option<&'a Path>,
    /// Whether a path is a regular file (the daemon stats it; this crate does no IO).
    pub spec_exists: &'a dyn Fn(&Path) -> bool,
    /// The daemon resolves argv[0] itself (`DISTCC_CMDLIST`, `--enable-tcp-insecure`), so a
    /// path is accepted there; its last component must still look like a gcc/clang driver.
    pub allow_compiler_path: bool,
}

impl std::fmt::Debug for Policy<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy")
            .field("sysroot", &self.sysroot)
            .field("allow_compiler_path", &self.allow_compiler_path)
            .finish_non_exhaustive()
    }
}

fn no_spec_files(_: &Path) -> bool {
    false
}

impl Policy<'static> {
    /// No `--sysroot` (every `-specs` refused), bare compiler names only.
    pub const STRICT: Policy<'static> = Policy {
        sysroot: None,
        spec_exists: &no_spec_files,
        allow_compiler_path: false,
    };
}

/// Why the daemon will not run a job. `Display` is the single line sent to the client in
/// `SERR` (distcc closes the connection without a word; we explain, see
/// docs/security/argument-allow-list.md). Strings from the request are shown escaped and cut
/// to a reasonable length.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// An argument refused by the allow-list (or that makes distcc's scan say "local").
    /// `option` is the argument as given, with its value when that is a separate argument.
    #[error("distccd refuses '{option}': {reason}")]
    Option {
        option: String,
        reason: &'static str,
    },
    /// Not a distributable compile (distcc's scan verdict "local", or no usable input or
    /// output).
    #[error("distccd refuses this command: {0}")]
    NotACompile(&'static str),
    /// argv[0] is not a compiler name the daemon accepts.
    #[error("distccd refuses compiler '{name}': {reason}")]
    Compiler { name: String, reason: &'static str },
}

/// Where the output name is in the vetted argv.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputArg {
    /// `-o X`: `argv[i]` is `X`.
    Separate(usize),
    /// `-oX`: `argv[i]` is `-oX`.
    Joined(usize),
    /// None given (`gcc -c x.c`): the rewrite appends `-o <file>`, as distcc's scan does.
    Implied,
}

/// A job that passed [`vet`]: what the rewrite functions need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vetted {
    /// The compiler to run and to check against the whitelist: argv[0] without a leading
    /// `/bin/` or `/usr/bin/` (unchanged with [`Policy::allow_compiler_path`]). The rewritten
    /// argv starts with it, so the program run is the one whose name was checked.
    pub compiler: String,
    /// Index of the source file in argv.
    pub input_index: usize,
    /// Where the output name is.
    pub output: OutputArg,
    /// The output the client asked for (the `-o` value, or the name gcc would derive from the
    /// input): the target of the pump-mode .d file when the command sets none.
    pub client_output: String,
    /// `-S`: the output is assembly text.
    pub assembly: bool,
    pub(crate) edits: Edits,
}

/// Argument edits found while vetting, applied by the rewrite functions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Edits {
    /// `-specs` arguments: (index of the argument holding the file name, text to put there).
    pub(crate) specs: Vec<(usize, String)>,
    /// Path values of the include options distcc moves under the root in pump mode:
    /// (argument index, byte offset of the value in that argument).
    pub(crate) include_values: Vec<(usize, usize)>,
    /// Arguments of `-MF` options (the option and its separate value), dropped in pump mode.
    pub(crate) dep_file_args: Vec<usize>,
    /// Index of the first `-MT` given as a separate option (its value follows).
    pub(crate) first_mt: Option<usize>,
    /// Any `-MT`/`-MQ`, joined or separate.
    pub(crate) has_target: bool,
    /// `-MD` or `-MMD` is present.
    pub(crate) has_md: bool,
}

/// `s` as shown in a refusal: control characters escaped, at most 160 characters.
pub(crate) fn shown(s: &str) -> String {
    const MAX: usize = 160;
    let mut out = String::new();
    for (n, c) in s.chars().enumerate() {
        if n == MAX {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_is_one_bounded_line() {
        assert_eq!(shown("-wrapper"), "-wrapper");
        assert_eq!(shown("a\nb\tc"), "a\\nb\\tc");
        let long = "x".repeat(1000);
        assert_eq!(shown(&long).chars().count(), 161);
    }

    #[test]
    fn refusal_texts() {
        let r = Refusal::Option {
            option: "-wrapper /bin/sh,-c,id".into(),
            reason: options::RUNS_PROGRAM,
        };
        assert_eq!(
            r.to_string(),
            "distccd refuses '-wrapper /bin/sh,-c,id': makes the compiler run a program chosen by the client"
        );
    }
}
