//! What a scan returns: a complete manifest, or why the unit must be preprocessed locally.

use std::path::PathBuf;

use crate::manifest::Manifest;

/// The result of scanning one translation unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every file the preprocessor may read is in the manifest.
    Complete(Manifest),
    /// The scanner cannot prove a complete set: preprocess this unit locally.
    GiveUp(Reason),
}

/// Why the scanner gave up. Each variant is a thing a caller counts and logs
/// ([`Reason::label`] is a short stable name for counters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    /// An option the scanner does not model and that may change what is read
    /// (`-Wp,...`, `-I-`, `-traditional-cpp`, an unknown `-i...`, an `@file`).
    #[error("option {0} is not understood by the include scanner")]
    UnsupportedOption(String),
    /// Not exactly one C, C++ or assembler-with-cpp source on the command line.
    #[error("no single preprocessable source: {0}")]
    Input(String),
    /// Asking the compiler for its search path failed.
    #[error("could not learn the compiler's search path: {0}")]
    Probe(String),
    /// `#include MACRO` (or `__has_include(MACRO)`) that no expansion turns into a header
    /// name, or that uses what the scanner does not model (`__LINE__`, `__VA_OPT__`, ...).
    #[error("computed include {expr:?} in {file} cannot be resolved")]
    ComputedInclude {
        /// The includer.
        file: PathBuf,
        /// The directive's tokens.
        expr: String,
    },
    /// A computed include has more candidate expansions than the limit.
    #[error("computed include {expr:?} in {file} has too many expansions")]
    TooManyExpansions {
        /// The includer.
        file: PathBuf,
        /// The directive's tokens.
        expr: String,
    },
    /// More files than the limit.
    #[error("more than {0} files")]
    TooManyFiles(usize),
    /// A file over the size limit.
    #[error("{path} is larger than {limit} bytes")]
    FileTooLarge {
        /// The file.
        path: PathBuf,
        /// The limit.
        limit: u64,
    },
    /// A file that exists but cannot be read (permissions, I/O error).
    #[error("cannot read {path}: {error}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The error.
        error: String,
    },
    /// A file whose size or times changed while it was read.
    #[error("{0} changed while it was scanned")]
    Changed(PathBuf),
    /// Too many symbolic links on the way to a path (a loop).
    #[error("too many symbolic links on the way to {0}")]
    SymlinkLoop(PathBuf),
    /// A header name that is not UTF-8.
    #[error("a header name in {0} is not UTF-8")]
    NonUtf8(PathBuf),
}

impl Reason {
    /// A short stable name, for counters and the client's state.
    pub fn label(&self) -> &'static str {
        match self {
            Reason::UnsupportedOption(_) => "unsupported-option",
            Reason::Input(_) => "input",
            Reason::Probe(_) => "probe",
            Reason::ComputedInclude { .. } => "computed-include",
            Reason::TooManyExpansions { .. } => "too-many-expansions",
            Reason::TooManyFiles(_) => "too-many-files",
            Reason::FileTooLarge { .. } => "file-too-large",
            Reason::Unreadable { .. } => "unreadable",
            Reason::Changed(_) => "changed",
            Reason::SymlinkLoop(_) => "symlink-loop",
            Reason::NonUtf8(_) => "non-utf8",
        }
    }
}

/// Counters of one scan, for logs and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Files whose directives came from the disk cache.
    pub cache_hits: usize,
    /// Files read and lexed.
    pub lexed: usize,
    /// Whether the whole manifest came from the per-unit memo (nothing was read).
    pub unit_memo: bool,
    /// Whether the search path came from the probe cache.
    pub probe_cached: bool,
    /// Includes that named a file found in no directory (fine: see the design notes).
    pub not_found: usize,
}
