//! The include scanner: every file a C or C++ translation unit may read, found without
//! running the preprocessor, so that a helper can preprocess the unit itself.
//!
//! How the pieces fit:
//! - [`args`] reads the compile command: the source, the language, the options that change
//!   the search path or the target, `-include`/`-imacros`, `-D`.
//! - [`search_path`] asks the compiler once for its include chains (`-E -v`) and predefined
//!   macros, and keeps the answer on disk.
//! - [`lexer`] turns a file into the directives that matter (includes, `__has_include`,
//!   `#define`), without evaluating `#if`: every branch counts.
//! - [`resolve`] searches the chains as gcc does and walks each path as the kernel does,
//!   recording the directories and symlinks on the way.
//! - [`macros`] expands computed includes with every definition seen (pump mode's method).
//! - [`cache`] memoises each file's hash and directives on disk, keyed by its `stat`, across
//!   the client processes of a build.
//! - [`unit_memo`] keeps a unit's manifest with every filesystem fact its scan consulted; a
//!   later scan of the same command re-checks the facts (one syscall each) instead of reading.
//! - [`scan`] walks the closure and builds the [`Manifest`], or gives up with a [`Reason`]
//!   when it cannot prove the set complete ([`Outcome`]).
//!
//! ```no_run
//! use std::path::Path;
//! use dcc_include::{Outcome, Scanner};
//!
//! let argv: Vec<String> = ["gcc", "-O2", "-Iinc", "-c", "x.c"].map(String::from).to_vec();
//! let scanner = Scanner {
//!     cache_dir: Some("/home/me/.distcc/include-cache".into()),
//!     ..Scanner::default()
//! };
//! let scan = scanner.scan(Path::new("gcc"), &argv, Path::new("/src/project"));
//! match scan.outcome {
//!     // Ship the manifest's `shipped` files; key a result cache on `m.digest()`.
//!     Outcome::Complete(m) => println!("{} files", m.files().count()),
//!     // Preprocess locally; count `r.label()`.
//!     Outcome::GiveUp(r) => eprintln!("include scanner: {r}"),
//! }
//! ```
//!
//! Design and limits: docs/decisions/include-scanner.md.

pub mod args;
pub mod cache;
pub mod lexer;
pub mod macros;
pub mod manifest;
pub mod outcome;
pub mod resolve;
pub mod scan;
pub mod search_path;
pub mod unit_memo;

pub use manifest::{Entry, Kind, Manifest, Origin};
pub use outcome::{Outcome, Reason, Stats};
pub use scan::{Limits, Scan, Scanner};
pub use search_path::SearchPath;
