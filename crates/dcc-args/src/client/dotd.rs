//! Dependency files (`-MD`, `-MMD`, `-Wp,-MD,f`, `DEPENDENCIES_OUTPUT`): gcc 12's own rules,
//! worked out by experiment (tests/dotd_gcc.rs checks them against the installed gcc), and
//! used for two things:
//!
//! - [`fix_dependency_args`]: the local preprocessor command for plain mode, corrected so the
//!   `.d` file is byte-identical to what `gcc -c` writes. distcc's cpp command drops `-o`, so
//!   gcc names the `.d` file and its target after the *input* (distcc issue #62).
//! - [`dotd_info`]: is a `.d` file wanted, where, and must its target be given (pump mode,
//!   where the server writes it; distcc src/dotd.c `dcc_get_dotd_info`).
//!
//! How gcc 12 decides (its driver spec passes these to cc1 in this order, last `-MF`/`-MD FILE`
//! wins, targets accumulate):
//! 1. driver `-MD`/`-MMD` → `-MD FILE`, FILE = the `-o` name with its suffix replaced by `.d`
//!    (suffix = from the last `.` after the last `/`: `hello.` → `hello.d`, `.x` → `.d`,
//!    `b.dir/x` → `b.dir/x.d`), or without `-o` the input's basename without suffix + `.d`;
//! 2. driver `-MF`s; then driver `-MQ`s and `-MT`s;
//! 3. `-MQ <-o name>` when `-MD`/`-MMD` and `-o` are given to the driver without `-MT`/`-MQ`
//!    (never in `-E` mode, which is the bug);
//! 4. the `-Wp,` options, verbatim (`-Wp,-MD,f` is cpp's `-MD f`; the driver does not see it,
//!    so it adds no target).
//!
//! No target ⇒ cpp's default, the input's basename with its suffix replaced by `.o`.
//! `DEPENDENCIES_OUTPUT`/`SUNPRO_DEPENDENCIES` ("file [target]") apply only without
//! `-MD`/`-MMD`; they behave the same under `-c` and `-E`, so they need no correction.
//! See docs/decisions/dependency-files.md.

use super::scan::{Compile, OutputSource, basename};
use super::strip::cpp_argv;
use crate::filename;

/// A dependency file and the target distcc takes from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepFile {
    /// Where the `.d` file goes.
    pub path: String,
    /// The target named by `DEPENDENCIES_OUTPUT="file target"`, if any (distcc's
    /// `dotd_target`).
    pub target: Option<String>,
}

/// What a command line says about dependency output (distcc's `dcc_get_dotd_info`, with gcc's
/// rules for the name; see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DotdInfo {
    /// gcc writes a dependency file for this command.
    pub needs_dotd: bool,
    /// Where it goes. Computed even when `needs_dotd` is false (as if `-MD` were given), as
    /// distcc's `h_dotd` prints it.
    pub file: DepFile,
    /// The command names its targets itself (`-MT`/`-MQ`, also inside `-Wp,`).
    pub sets_target: bool,
    /// What to append to a command compiled elsewhere (pump mode) so that its `.d` names the
    /// target plain gcc would: `-MQ <output>`, `-MT <env target>` or `-MQ <input>.o`; empty
    /// when no `.d` is wanted or the command sets its target.
    pub target_args: Vec<String>,
}

/// cpp's default target: the input's basename with its suffix (from the last `.`) replaced
/// by `.o`, or `-` for an empty name (libcpp mkdeps.cc). cpp quotes it as `-MQ` would.
pub fn default_dep_target(input: &str) -> String {
    let base = basename(input);
    if base.is_empty() {
        return "-".to_string();
    }
    let stem = base.rfind('.').map_or(base, |i| &base[..i]);
    format!("{stem}.o")
}

/// gcc's `%.d%*`: replace the suffix of `name` (from the last `.` after the last `/`) by
/// `.d`, or append `.d`.
fn replace_suffix_d(name: &str) -> String {
    let start = name.rfind('/').map_or(0, |i| i + 1);
    let stem = match name[start..].rfind('.') {
        Some(i) => &name[..start + i],
        None => name,
    };
    format!("{stem}.d")
}

/// gcc's `%b.d`: the input's basename without its suffix (a leading `.` is not a suffix).
fn input_stem_d(input: &str) -> String {
    let base = basename(input);
    let stem = match base.rfind('.') {
        Some(i) if i > 0 => &base[..i],
        _ => base,
    };
    format!("{stem}.d")
}

/// The dependency options of a command line as gcc's driver sees them: `-Wp,` contents kept
/// apart, because the driver passes them to cc1 after its own and does not react to them.
#[derive(Debug, Default)]
struct DepOptions {
    /// `-MD`/`-MMD` given to the driver.
    driver_md: bool,
    /// The last driver `-MF`.
    driver_mf: Option<String>,
    /// Driver `-MT`/`-MQ` were given.
    driver_targets: bool,
    /// `-Wp,-MD,f` / `-Wp,-MMD,f` given.
    wp_md: bool,
    /// The last file named inside `-Wp,` (`-MD f`, `-MMD f`, `-MF f`).
    wp_file: Option<String>,
    /// `-MT`/`-MQ` inside `-Wp,`.
    wp_targets: bool,
    /// The `-o` argument.
    dash_o: Option<String>,
    /// The first source argument.
    input: Option<String>,
}

impl DepOptions {
    fn parse(argv: &[String]) -> DepOptions {
        let mut o = DepOptions::default();
        let mut args = argv.iter().skip(1);
        while let Some(a) = args.next() {
            match a.as_str() {
                "-MD" | "-MMD" => o.driver_md = true,
                "-MF" => o.driver_mf = args.next().cloned(),
                "-MT" | "-MQ" => {
                    args.next();
                    o.driver_targets = true;
                }
                "-o" => o.dash_o = args.next().cloned(),
                s if s.starts_with("-MF") => o.driver_mf = Some(s[3..].to_string()),
                s if s.starts_with("-MT") || s.starts_with("-MQ") => o.driver_targets = true,
                s if s.starts_with("-o") => o.dash_o = Some(s[2..].to_string()),
                s if s.starts_with("-Wp,") => o.parse_wp(&s[4..]),
                s if !s.starts_with('-') && o.input.is_none() && filename::is_source(s) => {
                    o.input = Some(s.to_string())
                }
                _ => {}
            }
        }
        o
    }

    /// The pieces of one `-Wp,` option, as cpp reads them.
    fn parse_wp(&mut self, list: &str) {
        let mut pieces = list.split(',');
        while let Some(p) = pieces.next() {
            match p {
                "-MD" | "-MMD" => {
                    self.wp_md = true;
                    if let Some(f) = pieces.next() {
                        self.wp_file = Some(f.to_string());
                    }
                }
                "-MF" => {
                    if let Some(f) = pieces.next() {
                        self.wp_file = Some(f.to_string());
                    }
                }
                "-MT" | "-MQ" => {
                    pieces.next();
                    self.wp_targets = true;
                }
                s if s.starts_with("-MF") => self.wp_file = Some(s[3..].to_string()),
                s if s.starts_with("-MT") || s.starts_with("-MQ") => self.wp_targets = true,
                _ => {}
            }
        }
    }

    fn md(&self) -> bool {
        self.driver_md || self.wp_md
    }

    /// The file gcc writes with `-MD`/`-MMD` (meaningful when [`Self::md`]).
    fn md_file(&self) -> String {
        if let Some(f) = self.wp_file.as_ref().or(self.driver_mf.as_ref()) {
            return f.clone();
        }
        match &self.dash_o {
            Some(o) => replace_suffix_d(o),
            None => input_stem_d(self.input.as_deref().unwrap_or("")),
        }
    }

    /// The driver adds `-MQ <output>`.
    fn driver_adds_target(&self) -> bool {
        self.driver_md && !self.driver_targets && self.dash_o.is_some()
    }
}

/// Whether a `.d` file is wanted, where, and with which target (distcc src/dotd.c
/// `dcc_get_dotd_info`, with gcc's naming rules).
///
/// `argv` is the command line before `-Wp,` expansion (an expanded one works too, except that
/// `-Wp,-MD,f` then looks like a driver `-MD` for the target). `dependencies_output` is the
/// value of `DEPENDENCIES_OUTPUT`, or of `SUNPRO_DEPENDENCIES` when that one is unset.
///
/// Differences from distcc, which guessed: a lone `-MF`/`-MP`/`-MG` does not make gcc write a
/// file, so it does not set `needs_dotd`; without `-o` the name is the input's *basename*
/// (gcc writes into the current directory); `b.dir/x` gives `b.dir/x.d`, not `b.d`.
pub fn dotd_info(argv: &[String], dependencies_output: Option<&str>) -> DotdInfo {
    let o = DepOptions::parse(argv);
    let (env_file, env_target) = match dependencies_output {
        Some(spec) => match spec.split_once(' ') {
            Some((f, t)) => (Some(f.to_string()), Some(t.to_string())),
            None => (Some(spec.to_string()), None),
        },
        None => (None, None),
    };
    let md = o.md();
    let needs_dotd = md || env_file.is_some();
    let path = match (&env_file, md) {
        // gcc c-opts.cc: a command-line -MF overrides the environment.
        (Some(f), false) => o
            .wp_file
            .clone()
            .or(o.driver_mf.clone())
            .unwrap_or_else(|| f.clone()),
        _ => o.md_file(),
    };
    let sets_target = o.driver_targets || o.wp_targets;
    let input = o.input.as_deref().unwrap_or("");
    let target_args = if !needs_dotd || sets_target {
        Vec::new()
    } else if o.driver_adds_target() {
        vec!["-MQ".to_string(), o.dash_o.clone().unwrap_or_default()]
    } else if let (false, Some(t)) = (md, &env_target) {
        vec!["-MT".to_string(), t.clone()]
    } else {
        vec!["-MQ".to_string(), default_dep_target(input)]
    };
    DotdInfo {
        needs_dotd,
        file: DepFile {
            path,
            target: env_target,
        },
        sets_target,
        target_args,
    }
}

/// The local preprocessor command for plain mode, corrected so that the dependency file it
/// writes is byte-identical, in name and content, to the one `gcc -c` with the same options
/// writes (distcc issue #62).
///
/// `compile` is the scan of the `-Wp,`-expanded command (possibly with its compiler renamed);
/// `original` is the command line as given, before `-Wp,` expansion, which the rules need
/// because gcc's driver reacts to `-MD` but not to `-Wp,-MD,f`.
///
/// Without dependency options, or without `-o`, the result is [`cpp_argv`] unchanged. With
/// `-MD`/`-MMD` and `-o`: `-MF <the name gcc uses>` is appended unless cpp would pick that
/// name anyway, and `-MQ <output>` is added unless the command gives `-MT`/`-MQ` itself.
pub fn fix_dependency_args(compile: &Compile, original: &[String]) -> Vec<String> {
    let mut cpp = cpp_argv(&compile.argv);
    let o = DepOptions::parse(original);
    let dash_o = matches!(
        compile.output_source,
        OutputSource::Separate | OutputSource::Joined
    );
    if !o.md() || !dash_o {
        return cpp;
    }
    // What the -E run would name the file: its last -MF, else the input's stem.
    let cpp_view = DepOptions::parse(&cpp);
    let wanted = o.md_file();
    let natural = cpp_view
        .driver_mf
        .clone()
        .unwrap_or_else(|| input_stem_d(&compile.input));
    if wanted != natural {
        cpp.push("-MF".to_string());
        cpp.push(wanted);
    }
    if o.driver_adds_target() {
        // Before any -MQ from -Wp (the driver passes -MQs in command-line order, and plain
        // gcc puts its own first), so the targets come out in the same order.
        let at = cpp
            .iter()
            .position(|a| a.starts_with("-MQ"))
            .unwrap_or(cpp.len());
        cpp.splice(at..at, ["-MQ".to_string(), compile.output.clone()]);
    }
    cpp
}

#[cfg(test)]
#[path = "dotd_tests.rs"]
mod tests;
