//! What the `distcc` client decides about a compiler command line (reference §2.6, §3).
//!
//! The client applies these steps in order, each a pure function of the argv (and of
//! whatever the caller looked up):
//!
//! 1. [`expand_response_files`]: `@file` arguments, with gcc/libiberty quoting. Debian's
//!    distcc 3.4 does this before anything else (HEAD does not).
//! 2. [`expand_preprocessor_options`]: `-Wp,a,b` becomes `a b`; `-Wp,-MD,f` becomes
//!    `-MD -MF f` (module `wp`).
//! 3. [`scan_args`]: distribute or run locally (and why); the input and output; `-o` appended
//!    when missing (module `scan`).
//! 4. [`rewrite_compiler`]: `cc` → `gcc`, `gcc` → `x86_64-linux-gnu-gcc`, clang `-target`
//!    (module `rewrite`); the caller supplies the PATH lookups.
//! 5. [`cpp_argv`] / [`fix_dependency_args`]: the local preprocessor command; the latter also
//!    makes the `.d` file come out as plain gcc would write it (distcc issue #62), see
//!    docs/decisions/dependency-files.md (module `dotd`).
//! 6. [`strip_local_args`]: the argv sent to the server in plain mode (module `strip`).
//!
//! [`dotd_info`] answers the pump-mode question "is a .d file wanted, where, with which
//! target" (distcc src/dotd.c).

mod dotd;
mod response;
mod rewrite;
mod scan;
mod strip;
mod wp;

pub use dotd::{DepFile, DotdInfo, default_dep_target, dotd_info, fix_dependency_args};
pub use response::{RESPONSE_FILE_LIMIT, expand_response_files};
pub use rewrite::{
    CompilerProbe, Rewrite, fqn_candidates, fqn_triple, rewrite_compiler, rewrite_compiler_for,
    which_candidates,
};
pub use scan::{Compile, LocalReason, OutputSource, Scan, scan_args};
pub use strip::{cpp_argv, strip_local_args};
pub use wp::{WP_MISSING_FILENAME, expand_preprocessor_options, expand_preprocessor_options_with};

/// A command line distcc refuses outright (exit 101, BAD_ARGUMENTS), as opposed to one it runs
/// locally.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgsError {
    /// `argv[0]` is an option, so there is no compiler name (distcc src/arg.c).
    #[error("unrecognized distcc option: {0}")]
    UnrecognizedOption(String),
    /// argv is empty.
    #[error("missing option/operand")]
    NoCompiler,
    /// `@file` expansion went on for too long, which means a file includes itself
    /// (libiberty's expandargv; gcc prints the same and exits 1).
    #[error("too many @-files encountered")]
    TooManyResponseFiles,
}
