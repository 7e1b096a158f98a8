//! `update-distcc-symlinks`' command line (clap derive; the man page and completions are
//! generated from it by `dcc-gen`), and the run that drives [`crate::symlinks`].

use std::io::Write;
use std::path::PathBuf;

use clap::{ArgGroup, Parser};

use crate::symlinks::{self, Request};

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "update-distcc-symlinks",
    version,
    about = "create the distcc compiler whitelist and masquerade links",
    long_about = "Creates a link to distcc in the whitelist directory (default /usr/lib/distcc) for \
every compiler installed in the bin directories, and the same links in its bin/ subdirectory, the \
masquerade directory that makepkg's BUILDENV=(distcc) puts first on PATH. Links whose compiler is \
gone are removed.\n\n\
distccd runs a compiler only if its name is in the whitelist directory (the CVE-2004-2687 fix), \
so run this after installing or removing a compiler. The package runs it on installation.\n\n\
A compiler is an executable whose name is a gcc or clang driver (cc, c++, c89, c99, gcc, g++, \
c89-gcc, c99-gcc, clang, clang++), optionally with a version suffix (gcc-12, clang-15) and a \
target-triple prefix (x86_64-linux-gnu-gcc-12). A triple counts only if a gcc target directory \
names it beside the bin directory (../lib/gcc/TRIPLE, ../lib/gcc-cross/TRIPLE, \
../lib/*/gcc/TRIPLE, ../libexec/gcc/TRIPLE).\n\n\
Only symbolic links that point at a distcc binary are ever removed; other files are left alone.",
    group(ArgGroup::new("which").args(["client_only", "whitelist_only", "remove"]))
)]
pub struct Options {
    /// The whitelist directory; the masquerade links go to DIR/bin
    #[arg(long, value_name = "DIR", default_value = symlinks::DEFAULT_DIR, value_hint = clap::ValueHint::DirPath)]
    pub dir: PathBuf,
    /// Where to look for compilers (repeatable; default /usr/bin)
    #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub bindir: Vec<PathBuf>,
    /// More bin directories, one per line (cross toolchains outside /usr/bin); a missing file lists none
    #[arg(long = "dirs-file", value_name = "FILE", default_value = symlinks::DEFAULT_DIRS_FILE, value_hint = clap::ValueHint::FilePath)]
    pub dirs_file: PathBuf,
    /// The distcc client the links point at
    #[arg(long, value_name = "PATH", default_value = symlinks::DEFAULT_DISTCC, value_hint = clap::ValueHint::FilePath)]
    pub distcc: PathBuf,
    /// Print what would change, change nothing
    #[arg(short = 'n', long = "dry-run")]
    pub dry_run: bool,
    /// Only the masquerade links in DIR/bin
    #[arg(long = "client-only")]
    pub client_only: bool,
    /// Only the whitelist links in DIR
    #[arg(long = "whitelist-only")]
    pub whitelist_only: bool,
    /// Remove every distcc link (and the directories, if that empties them)
    #[arg(long)]
    pub remove: bool,
    /// Print the compilers found and every change made
    #[arg(short, long)]
    pub verbose: bool,
}

impl Options {
    /// The request these options describe (reads the dirs file).
    pub fn request(&self) -> Result<Request, symlinks::Error> {
        let mut bindirs = if self.bindir.is_empty() {
            vec![PathBuf::from(symlinks::DEFAULT_BINDIR)]
        } else {
            self.bindir.clone()
        };
        if !self.remove {
            for d in symlinks::read_dirs_file(&self.dirs_file)? {
                if !bindirs.contains(&d) {
                    bindirs.push(d);
                }
            }
        }
        Ok(Request {
            dir: self.dir.clone(),
            bindirs,
            distcc: self.distcc.clone(),
            whitelist: !self.client_only,
            masquerade: !self.whitelist_only,
            remove_all: self.remove,
        })
    }
}

/// Run with parsed options, printing to `out` and `err`; returns the exit code (0, or 1 on
/// any error).
pub fn run(o: &Options, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    const ME: &str = "update-distcc-symlinks";
    let fail = |e: symlinks::Error, err: &mut dyn Write| {
        let _ = writeln!(err, "{ME}: {e}");
        if e.is_permission() {
            let _ = writeln!(
                err,
                "{ME}: run it as root, or pass --dir with a directory you can write"
            );
        }
        1
    };
    let req = match o.request() {
        Ok(r) => r,
        Err(e) => return fail(e, err),
    };
    let plan = match symlinks::plan(&req) {
        Ok(p) => p,
        Err(e) => return fail(e, err),
    };
    for w in &plan.warnings {
        let _ = writeln!(err, "{ME}: warning: {w}");
    }
    if o.verbose {
        for c in &plan.compilers {
            let _ = writeln!(out, "found {} ({})", c.name, c.path.display());
        }
    }
    if !req.remove_all && plan.compilers.is_empty() {
        let dirs: Vec<String> = req
            .bindirs
            .iter()
            .map(|d| d.display().to_string())
            .collect();
        let _ = writeln!(
            err,
            "{ME}: warning: no compiler found in {}",
            dirs.join(", ")
        );
    }
    if o.dry_run {
        for a in &plan.actions {
            let _ = writeln!(out, "would {a}");
        }
        return 0;
    }
    for a in &plan.actions {
        if let Err(e) = symlinks::apply(std::slice::from_ref(a)) {
            return fail(e, err);
        }
        if o.verbose {
            let _ = writeln!(out, "{a}");
        }
    }
    0
}
