//! `scan_args`: decide whether a compiler command line can be distributed, and find its input
//! and output (distcc src/arg.c `dcc_scan_args`, reference §3.1).
//!
//! The rules are distcc 3.4's, in distcc's order: the first rule that says "local" wins, so the
//! reason reported for `gcc -E -M x.c` is `-E`, as in distcc's log.

use std::fmt;

use crate::client::ArgsError;
use crate::filename;

/// What the client should do with a command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scan {
    /// A single-source compile that can run on another machine.
    Distribute(Compile),
    /// Run the command on this machine, for this reason.
    Local(LocalReason),
}

/// Where the output name of a [`Compile`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputSource {
    /// `-o X`: `argv[output_index]` is `X`.
    Separate,
    /// `-oX`: `argv[output_index]` is `-oX`.
    Joined,
    /// A bare argument ending in `.o` (`gcc -c x.c y.o` outputs `y.o` for distcc, although gcc
    /// itself treats `y.o` as a link input and writes `x.o`).
    ObjectArg,
    /// There was none: `-o <input basename>.o` (`.s` with `-S`) was appended to `argv`.
    Default,
}

/// A distributable compile, as found by [`scan_args`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compile {
    /// The scanned argv: the caller's argv, with `-o <default>` appended when no output was
    /// named. Every later step (name rewriting, the cpp command, the server argv) starts here.
    pub argv: Vec<String>,
    /// The source file, as written on the command line.
    pub input: String,
    /// The output file, as written on the command line (or the appended default).
    pub output: String,
    /// Index of the input in `argv`.
    pub input_index: usize,
    /// Index of the `argv` element that carries the output name (see [`OutputSource`]).
    pub output_index: usize,
    /// Where the output name came from.
    pub output_source: OutputSource,
    /// `-S` was given (assembly output; `-S` wins over `-c` for the default output name).
    pub dash_s: bool,
    /// The input is already preprocessed (`.i .ii .mi .mii`): no local cpp run.
    pub preprocessed: bool,
}

/// Why a command must run locally. `Display` gives distcc's log text for the case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalReason {
    /// `-E`: only the preprocessor runs. distcc returns EXIT_LOCAL_CPP for this one, so it takes
    /// a local cpp slot rather than a compile slot.
    Preprocess,
    /// `-M`, `-MM` or any other `-M…` that implies `-E`.
    DependencyOnly(String),
    /// Neither `-c` nor `-S`: linking, `--help`, …
    NotCompile,
    /// No argument with a source extension.
    NoInput,
    /// Two arguments with source extensions.
    TwoInputs,
    /// A second output (`-o` twice, or `-o` plus an `.o` argument).
    TwoOutputs,
    /// An autoconf test (`conftest.*`, `tmp.conftest.*`); holds the input.
    Conftest(String),
    /// `-o -`: some compilers write to stdout, others to a file named `-`.
    OutputStdout,
    /// `-march=native` / `-mtune=native`: code for this machine.
    Native(String),
    /// Profiling or coverage options (`-fprofile-arcs`, `--coverage`, …).
    Profile(String),
    /// `-frepo` writes `.rpo` files.
    Repo,
    /// `-x LANG` for a language distcc does not distribute; holds the argument after `-x…`.
    Language(String),
    /// `-dr…` writes RTL dumps.
    RtlDump(String),
    /// `-Wa,` with `,-a` (listings) or `--MD` (assembler dependencies).
    AssemblerListing(String),
    /// `-specs=…`: distcc 3.4 servers refuse it (HEAD distributes it with `--sysroot`).
    Specs(String),
    /// The source name is too short to derive the default output name from (`.c`).
    BogusInput(String),
    /// `-o` was the last argument (distcc reads past the end of argv here; gcc reports it).
    MissingOutput,
}

impl LocalReason {
    /// Whether distcc runs this under a local *cpp* slot (EXIT_LOCAL_CPP) rather than a local
    /// compile slot.
    pub fn is_local_cpp(&self) -> bool {
        matches!(self, LocalReason::Preprocess)
    }
}

impl fmt::Display for LocalReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Texts from distcc src/arg.c and src/filename.c, including their double spaces.
        match self {
            LocalReason::Preprocess => f.write_str("-E call for cpp must be local"),
            LocalReason::DependencyOnly(a) => write!(f, "{a} implies -E (maybe) and must be local"),
            LocalReason::NotCompile => f.write_str("compiler apparently called not for compile"),
            LocalReason::NoInput => f.write_str("no visible input file"),
            LocalReason::TwoInputs => f.write_str("do we have two inputs?  i give up"),
            LocalReason::TwoOutputs => f.write_str("called for link?  i give up"),
            LocalReason::Conftest(i) => write!(f, "autoconf tests are run locally: {i}"),
            LocalReason::OutputStdout => f.write_str("output to stdout?  running locally"),
            LocalReason::Native(a) if a.starts_with("-mtune") => {
                f.write_str("-mtune=native optimizes for local machine; must be local")
            }
            LocalReason::Native(_) => {
                f.write_str("-march=native generates code for local machine; must be local")
            }
            LocalReason::Profile(_) => {
                f.write_str("compiler will emit/use profile info; must be local")
            }
            LocalReason::Repo => f.write_str("compiler will emit .rpo files; must be local"),
            LocalReason::Language(l) => {
                write!(f, "gcc's -x handling is complex; running locally for {l}")
            }
            LocalReason::RtlDump(a) => {
                write!(
                    f,
                    "gcc's debug option {a} may write extra files; running locally"
                )
            }
            LocalReason::AssemblerListing(a) | LocalReason::Specs(a) => {
                write!(f, "{a} must be local")
            }
            LocalReason::BogusInput(i) => write!(f, "source file {i} is bogus"),
            LocalReason::MissingOutput => f.write_str("missing filename after -o; running locally"),
        }
    }
}

/// Languages `-x` may name and still be distributed (distcc src/arg.c). `c` also covers `c++`,
/// `c-header` and `cpp-output`, since distcc tests only the prefix.
const DISTRIBUTABLE_LANGUAGES: [&str; 3] = ["c", "objective-c", "go"];

/// Scan a compiler command line (`argv[0]` is the compiler) the way distcc 3.4 does.
///
/// Callers expand `@file` arguments ([`super::expand_response_files`]) and `-Wp,` options
/// ([`super::expand_preprocessor_options`]) first. In implicit-compiler mode (`distcc -c x.c`)
/// they pass argv with `cc` prepended.
pub fn scan_args(argv: &[String]) -> Result<Scan, ArgsError> {
    let Some(argv0) = argv.first() else {
        return Err(ArgsError::NoCompiler);
    };
    if argv0.starts_with('-') {
        return Err(ArgsError::UnrecognizedOption(argv0.clone()));
    }
    Ok(match scan(argv) {
        Ok(c) => Scan::Distribute(c),
        Err(r) => Scan::Local(r),
    })
}

fn scan(argv: &[String]) -> Result<Compile, LocalReason> {
    let mut dash_c = false;
    let mut dash_s = false;
    let mut input: Option<usize> = None;
    let mut output: Option<(usize, OutputSource)> = None;

    let mut i = 0;
    while i < argv.len() {
        let a = argv[i].as_str();
        let mut found_output = None;
        if a.starts_with('-') {
            if let Some(reason) = local_option(a, argv.get(i + 1)) {
                return Err(reason);
            }
            match a {
                "-S" => dash_s = true,
                "-c" => dash_c = true,
                // These take the next argument, which must not be read as a file name.
                "-MF" | "-MT" | "-MQ" => i += 1,
                "-o" => {
                    i += 1;
                    if i >= argv.len() {
                        return Err(LocalReason::MissingOutput);
                    }
                    found_output = Some((i, OutputSource::Separate));
                }
                // `-MF`/`-MT`/`-MQ` joined forms were let through by `local_option`; every other
                // `-M…` was refused there, so only `-o…` is left to match here.
                _ if a.starts_with("-o") => found_output = Some((i, OutputSource::Joined)),
                _ => {}
            }
        } else if filename::is_source(a) {
            if input.is_some() {
                return Err(LocalReason::TwoInputs);
            }
            input = Some(i);
        } else if filename::is_object(a) {
            found_output = Some((i, OutputSource::ObjectArg));
        }
        if let Some(o) = found_output {
            if output.is_some() {
                return Err(LocalReason::TwoOutputs);
            }
            output = Some(o);
        }
        i += 1;
    }

    if !dash_c && !dash_s {
        return Err(LocalReason::NotCompile);
    }
    let Some(input_index) = input else {
        return Err(LocalReason::NoInput);
    };
    let input = argv[input_index].clone();
    let base = basename(&input);
    // distcc src/filename.c dcc_source_needs_local: autoconf probes are cheap and their
    // failures must be exact, so they never leave the machine.
    if base.starts_with("conftest.") || base.starts_with("tmp.conftest.") {
        return Err(LocalReason::Conftest(input));
    }

    let mut new_argv = argv.to_vec();
    let (output, output_index, output_source) = match output {
        Some((idx, src)) => {
            let name = match src {
                OutputSource::Joined => argv[idx][2..].to_string(),
                _ => argv[idx].clone(),
            };
            (name, idx, src)
        }
        None => {
            // distcc src/filename.c dcc_output_from_source: gcc writes into the current
            // directory whatever the source's directory; -S wins over -c.
            if base.len() < 3 {
                return Err(LocalReason::BogusInput(base.to_string()));
            }
            let ext = if dash_s { ".s" } else { ".o" };
            let stem =
                filename::find_extension(base).map_or(base, |e| &base[..base.len() - e.len()]);
            let name = format!("{stem}{ext}");
            new_argv.push("-o".to_string());
            new_argv.push(name.clone());
            (name, new_argv.len() - 1, OutputSource::Default)
        }
    };
    if output == "-" {
        return Err(LocalReason::OutputStdout);
    }

    Ok(Compile {
        preprocessed: filename::is_preprocessed(&input),
        argv: new_argv,
        input,
        output,
        input_index,
        output_index,
        output_source,
        dash_s,
    })
}

/// The "must be local" rules for one option, in distcc's order. `next` is the following
/// argument, which distcc's `-x` rule looks at whether or not `-x` was joined to its language.
fn local_option(a: &str, next: Option<&String>) -> Option<LocalReason> {
    let reason = match a {
        "-E" => LocalReason::Preprocess,
        // Dependency side effects: they work with the way cpp is run locally.
        "-MD" | "-MMD" | "-MG" | "-MP" => return None,
        _ if a.starts_with("-MF") || a.starts_with("-MT") || a.starts_with("-MQ") => return None,
        _ if a.as_bytes().get(1) == Some(&b'M') => LocalReason::DependencyOnly(a.to_string()),
        "-march=native" | "-mtune=native" => LocalReason::Native(a.to_string()),
        _ if a.starts_with("-Wa,") && (a.contains(",-a") || a.contains("--MD")) => {
            LocalReason::AssemblerListing(a.to_string())
        }
        // Other assembler options are harmless (`-Wa,-xarch=v8`).
        _ if a.starts_with("-Wa,") => return None,
        // distcc 3.4 (the version Debian ships): its servers refuse -specs=, so sending it
        // would only mark a healthy host as failed.
        _ if a.starts_with("-specs=") => LocalReason::Specs(a.to_string()),
        "-fprofile-arcs" | "-ftest-coverage" | "--coverage" | "-fprofile-correction" => {
            LocalReason::Profile(a.to_string())
        }
        _ if a.starts_with("-fprofile-generate")
            || a.starts_with("-fprofile-use")
            || a.starts_with("-fauto-profile") =>
        {
            LocalReason::Profile(a.to_string())
        }
        "-frepo" => LocalReason::Repo,
        // distcc src/arg.c: judged by the *next* argument even for the joined form, so
        // `gcc -xc -c foo.c` is local ("-c" is not a language). Kept for drop-in behaviour.
        _ if a.starts_with("-x") => match next {
            Some(n) if !DISTRIBUTABLE_LANGUAGES.iter().any(|l| n.starts_with(l)) => {
                LocalReason::Language(n.clone())
            }
            _ => return None,
        },
        _ if a.starts_with("-dr") => LocalReason::RtlDump(a.to_string()),
        _ => return None,
    };
    Some(reason)
}

/// The part after the last `/`.
pub(crate) fn basename(path: &str) -> &str {
    path.rfind('/').map_or(path, |i| &path[i + 1..])
}

#[cfg(test)]
#[path = "scan_tests.rs"]
mod tests;
