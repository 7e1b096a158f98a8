//! The allow-list: one table of option specifications and what distccd does with each.
//!
//! Every argument of a job that starts with `-` is looked up here; the entry whose name is the
//! longest match wins (so `-fdump-` beats the generic `-f`, and `-iwithprefixbefore` beats
//! `-iwithprefix`). An argument no entry matches is refused: this is an allow-list. Entries
//! that refuse exist to give a clear reason and to carve exceptions out of generic families.
//!
//! The generic families (`-f…`, `-m…`, `-W…`, `-g…`, `-O…`) are accepted by *shape*: a
//! value-less `-fNAME` cannot name a path, and whatever such a flag writes beside the output
//! lands in the job's directory, which the daemon deletes. Value-taking `-fNAME=` options are
//! listed one by one. Each refusal reason is explained in docs/security/argument-allow-list.md,
//! which mirrors this table.
//!
//! Spellings (gcc's option kinds, gcc/opts-common.cc):
//! - [`Form::Flag`]: the argument is exactly the name (`-c`).
//! - [`Form::Joined`]: the name is a prefix, the rest is the value, possibly empty (`-O2`,
//!   `-std=c11`); also used to cover a whole family (`-fdump-…`).
//! - [`Form::Separate`]: the value is the next argument (`-wrapper a,b`).
//! - [`Form::JoinedOrSeparate`]: either (`-I dir`, `-Idir`).

/// How an option is spelled; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    Flag,
    Joined,
    Separate,
    JoinedOrSeparate,
}

/// What distccd does with an option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    /// Accepted with any value.
    Allow,
    /// Refused, for this reason.
    Refuse(&'static str),
    /// Accepted if the value passes the check.
    Check(Check),
    /// A path argument; what is allowed depends on the mode (see [`PathUse`]).
    Path(PathUse),
    /// `-o`: replaced by the job's output file.
    Output,
    /// `-x LANG`: C-family languages only.
    Language,
    /// `-MF`: refused in plain mode (clients strip it); dropped in pump mode, where the
    /// server appends its own `-MF`, which gcc would prefer anyway (the last one wins).
    DepFile,
    /// `-MT`/`-MQ`: a target name written into the .d file. The first `-MT X` is taken out in
    /// pump mode and X becomes the target of the returned .d (distcc src/serve.c).
    DepTarget,
    /// `-MD`/`-MMD`: pump mode adds `-MMD` unless one is present.
    DepGen,
    /// `-specs`: only spec files under distccd's `--sysroot` (distcc HEAD).
    Specs,
    /// `-Wa,…`: each assembler option must be on [`ASSEMBLER_OPTIONS`].
    Assembler,
}

/// Path arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathUse {
    /// Header search directories (`-I -iquote -isystem -idirafter -iprefix`). Plain mode: any
    /// value (the input is preprocessed; an `#include "/abs"` in the input would read the same
    /// files without any option). Pump mode: absolute values are moved under the root, relative
    /// ones must stay under it.
    IncludeDir,
    /// Files read as if included (`-include -imacros`). Plain mode: refused (plain clients strip
    /// them). Pump mode: as [`PathUse::IncludeDir`].
    IncludeFile,
    /// `-iwithprefix(before) DIR`: DIR is glued to the `-iprefix` string, so in pump mode it
    /// must not contain `..`.
    PrefixTail,
    /// `--sysroot`, `-isysroot`: the server's own directories, as the include server assumes
    /// (it sends system directories as links to the server's copies). Must be absolute and
    /// must not point into any job's directory, where a client could have planted files.
    SystemDir,
}

/// Checks on an option's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// Any text: macro definitions, prefix maps, seeds, names the compiler only copies.
    Text,
    /// A number, keyword or list: letters, digits and `_ . + : , -`; no `/`, `=` or space.
    Word,
    /// The generic `-f` family: `-fNAME` or `-fno-NAME` with no value.
    FlagName,
    /// The generic `-m` family: target switches, `=` values allowed, no `/`.
    Target,
    /// The generic `-W` family: warnings, `-Werror=…`, `-Wformat=2`; no `,` (that is `-Wa,`).
    Warning,
    /// The generic `-g` family: `-g`, `-g3`, `-gdwarf-5`, `-gz=zlib`.
    Debug,
    /// `-O`, `-O2`, `-Os`, `-Ofast`.
    Optimize,
    /// `--param NAME=VALUE`: integer or keyword tuning parameters.
    Param,
    /// One of a fixed set.
    Choice(&'static [&'static str]),
    /// `-fopt-info…`: the report goes to stderr unless `=FILE` names a file.
    NoFile,
    /// `-d LETTERS` for compiler dumps: only the letters that annotate the assembly output.
    AsmAnnotation,
}

impl Check {
    /// Whether `v` (the value, possibly empty) passes.
    pub(crate) fn accepts(self, v: &str) -> bool {
        let chars = |extra: &[u8]| {
            v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
        };
        let starts_alnum = v.starts_with(|c: char| c.is_ascii_alphanumeric());
        match self {
            Check::Text => true,
            // Never `.` or `..`: gcc joins some words to paths (`-imultilib ..` climbs a directory).
            Check::Word => !v.is_empty() && chars(b"_.+:,-") && !v.bytes().all(|b| b == b'.'),
            Check::FlagName => starts_alnum && chars(b"_+-"),
            Check::Target => starts_alnum && chars(b"_.+:,=!-"),
            Check::Warning => chars(b"_+=#.-"),
            Check::Debug => chars(b"_+=-"),
            Check::Optimize => chars(b""),
            Check::Param => v.split_once('=').is_some_and(|(name, value)| {
                !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"_-".contains(&b))
                    && Check::Word.accepts(value)
            }),
            Check::Choice(set) => set.contains(&v),
            Check::NoFile => chars(b"_-"),
            Check::AsmAnnotation => !v.is_empty() && v.bytes().all(|b| b"ApP".contains(&b)),
        }
    }

    /// Why a value that fails the check is refused.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Check::NoFile => WRITES_FILE,
            Check::AsmAnnotation => "compiler dumps write files or change what is compiled",
            Check::Choice(_) => "value not on distccd's list for this option",
            _ => "value not allowed (paths and unusual characters are refused)",
        }
    }
}

/// One allow-list entry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OptionSpec {
    pub(crate) name: &'static str,
    pub(crate) form: Form,
    pub(crate) rule: Rule,
}

impl OptionSpec {
    fn matches(&self, arg: &str) -> bool {
        match self.form {
            Form::Flag | Form::Separate => arg == self.name,
            Form::Joined | Form::JoinedOrSeparate => arg.starts_with(self.name),
        }
    }
}

/// The entry for `arg` (which starts with `-`): the matching entry with the longest name.
pub(crate) fn lookup(arg: &str) -> Option<&'static OptionSpec> {
    TABLE
        .iter()
        .filter(|s| s.matches(arg))
        .max_by_key(|s| s.name.len())
}

// Refusal reasons, shared by many entries. The daemon sends them to the client as
// "distccd refuses '<option>': <reason>".
pub(crate) const RUNS_PROGRAM: &str = "makes the compiler run a program chosen by the client";
pub(crate) const LOADS_CODE: &str = "loads a plugin into the compiler";
pub(crate) const RAW_TOOL: &str = "passes raw options to another tool";
pub(crate) const WRITES_FILE: &str = "writes extra files the client would never receive";
pub(crate) const READS_FILE: &str = "reads a file on the server";
pub(crate) const PROFILE: &str = "profile data or instrumentation: distcc compiles it locally";
pub(crate) const NOT_COMPILE: &str = "does not compile (prints information instead)";
pub(crate) const MODULES: &str = "C++ modules need a module cache that distcc does not carry";
pub(crate) const LINK_ONLY_TOOL: &str = "link-only option that chooses a program or file";
pub(crate) const NATIVE: &str = "tunes for the server's CPU, not the client's: compile locally";
pub(crate) const INTERNAL: &str = "compiler-internal option, never needed by a compile";

/// Languages `-x` may name. distcc lets anything starting with `c`, `objective-c` or `go`
/// through; we do not compile Go, CUDA or OpenCL.
pub(crate) const LANGUAGES: &[&str] = &[
    "c",
    "c++",
    "objective-c",
    "objective-c++",
    "c-header",
    "c++-header",
    "objective-c-header",
    "objective-c++-header",
    "c++-system-header",
    "c++-user-header",
    "cpp-output",
    "c++-cpp-output",
    "objective-c-cpp-output",
    "objective-c++-cpp-output",
];

/// Assembler options allowed inside `-Wa,`: flags, then prefixes whose value must be a
/// [`Check::Word`]. Listings (`-a`), dependency files (`--MD`), `.include` search paths (`-I`),
/// output names (`-o`) and everything else are refused.
pub(crate) const ASSEMBLER_OPTIONS: (&[&str], &[&str]) = (
    &[
        "--noexecstack",
        "--execstack",
        "--64",
        "--32",
        "--x32",
        "-g",
        "--gen-debug",
        "--gdwarf-2",
        "--gdwarf-3",
        "--gdwarf-4",
        "--gdwarf-5",
        "-gdwarf-2",
        "-gdwarf-3",
        "-gdwarf-4",
        "-gdwarf-5",
        "--gdwarf-sections",
        "--fatal-warnings",
        "--no-warn",
        "-W",
        "-mthumb",
        "-EL",
        "-EB",
        "-mbig-obj",
        "-mno-shared",
    ],
    &[
        "-mrelax-relocations=",
        "-mx86-used-note=",
        "--compress-debug-sections=",
        "-march=",
        "-mcpu=",
        "-mtune=",
        "-mfpu=",
        "-mfloat-abi=",
        "-mabi=",
        "-mimplicit-it=",
        "-xarch=",
    ],
);

/// Whether `opt` (one comma-separated piece of `-Wa,`) is on [`ASSEMBLER_OPTIONS`].
pub(crate) fn assembler_option_allowed(opt: &str) -> bool {
    let (flags, prefixed) = ASSEMBLER_OPTIONS;
    flags.contains(&opt)
        || prefixed.iter().any(|p| {
            opt.strip_prefix(p)
                .is_some_and(|value| Check::Word.accepts(value))
        })
}

const fn spec(name: &'static str, form: Form, rule: Rule) -> OptionSpec {
    OptionSpec { name, form, rule }
}
const fn flag(name: &'static str, rule: Rule) -> OptionSpec {
    spec(name, Form::Flag, rule)
}
const fn joined(name: &'static str, rule: Rule) -> OptionSpec {
    spec(name, Form::Joined, rule)
}
const fn separate(name: &'static str, rule: Rule) -> OptionSpec {
    spec(name, Form::Separate, rule)
}
const fn either(name: &'static str, rule: Rule) -> OptionSpec {
    spec(name, Form::JoinedOrSeparate, rule)
}
const fn refuse(name: &'static str, reason: &'static str) -> OptionSpec {
    joined(name, Rule::Refuse(reason))
}

const ALLOW: Rule = Rule::Allow;
const TEXT: Rule = Rule::Check(Check::Text);
const WORD: Rule = Rule::Check(Check::Word);

/// The allow-list. Grouped by family; docs/security/argument-allow-list.md has the same groups.
pub(crate) const TABLE: &[OptionSpec] = &[
    // --- What to do: compile one file (the scan has already refused -E, -M, linking). ---
    flag("-c", ALLOW),
    flag("-S", ALLOW),
    flag(
        "-E",
        Rule::Refuse("preprocessing only: distcc runs it locally"),
    ),
    either("-o", Rule::Output),
    either("-x", Rule::Language),
    flag("-pipe", ALLOW),
    flag("-v", ALLOW),
    flag("-###", Rule::Refuse(NOT_COMPILE)),
    flag("-Q", Rule::Refuse(NOT_COMPILE)),
    refuse("-print-", NOT_COMPILE),
    refuse("--", "long option spelling not on distccd's list"),
    // --- Language and diagnostics. ---
    joined("-std=", WORD),
    flag("-ansi", ALLOW),
    flag("-pedantic", ALLOW),
    flag("-pedantic-errors", ALLOW),
    flag("-w", ALLOW),
    joined("-W", Rule::Check(Check::Warning)),
    flag("-trigraphs", ALLOW),
    flag("-traditional-cpp", ALLOW),
    flag("-Qunused-arguments", ALLOW),
    flag("-Qn", ALLOW),
    flag("-Qy", ALLOW),
    joined("-stdlib=", WORD),
    // --- Optimisation, debug information, code generation. ---
    joined("-O", Rule::Check(Check::Optimize)),
    joined("-g", Rule::Check(Check::Debug)),
    refuse(
        "-gsplit-dwarf",
        "writes a .dwo file beside the object that distcc does not return",
    ),
    refuse("-gmodules", MODULES),
    refuse("-gen-", WRITES_FILE),
    joined("-f", Rule::Check(Check::FlagName)),
    joined("-m", Rule::Check(Check::Target)),
    flag("-march=native", Rule::Refuse(NATIVE)),
    flag("-mtune=native", Rule::Refuse(NATIVE)),
    flag("-mcpu=native", Rule::Refuse(NATIVE)),
    separate("--param", Rule::Check(Check::Param)),
    joined("--param=", Rule::Check(Check::Param)),
    separate("-target", WORD),
    joined("--target=", WORD),
    flag("-pthread", ALLOW),
    flag("-p", ALLOW),
    flag("-pg", ALLOW),
    joined("-d", Rule::Check(Check::AsmAnnotation)),
    // Value-taking -f options: numbers, keywords, lists.
    joined("-fabi-compat-version=", WORD),
    joined("-fabi-version=", WORD),
    joined("-falign-functions=", WORD),
    joined("-falign-jumps=", WORD),
    joined("-falign-labels=", WORD),
    joined("-falign-loops=", WORD),
    joined("-faligned-new=", WORD),
    joined("-fanalyzer-checker=", WORD),
    joined("-fanalyzer-verbosity=", WORD),
    joined("-fasan-shadow-offset=", WORD),
    joined("-fbracket-depth=", WORD),
    joined("-fcf-protection=", WORD),
    joined("-fchecking=", WORD),
    joined("-fconcepts-diagnostics-depth=", WORD),
    joined("-fconst-string-class=", WORD),
    joined("-fconstexpr-cache-depth=", WORD),
    joined("-fconstexpr-depth=", WORD),
    joined("-fconstexpr-loop-limit=", WORD),
    joined("-fconstexpr-ops-limit=", WORD),
    joined("-fconstexpr-steps=", WORD),
    joined("-fdenormal-fp-math=", WORD),
    joined("-fdiagnostics-color=", WORD),
    joined("-fdiagnostics-column-origin=", WORD),
    joined("-fdiagnostics-column-unit=", WORD),
    joined("-fdiagnostics-escape-format=", WORD),
    joined(
        "-fdiagnostics-format=",
        Rule::Check(Check::Choice(&[
            "text",
            "json",
            "json-stderr",
            "sarif-stderr",
        ])),
    ),
    joined("-fdiagnostics-minimum-margin-width=", WORD),
    joined("-fdiagnostics-path-format=", WORD),
    joined("-fdiagnostics-show-location=", WORD),
    joined("-fdiagnostics-urls=", WORD),
    joined("-femit-struct-debug-detailed=", WORD),
    joined("-fexcess-precision=", WORD),
    joined("-fexec-charset=", WORD),
    joined("-ffp-contract=", WORD),
    joined("-ffp-exception-behavior=", WORD),
    joined("-ffp-model=", WORD),
    joined("-finline-limit=", WORD),
    joined("-finput-charset=", WORD),
    joined("-fira-algorithm=", WORD),
    joined("-fira-region=", WORD),
    joined("-fira-verbose=", WORD),
    joined("-flifetime-dse=", WORD),
    joined("-flive-patching=", WORD),
    joined("-flto=", WORD),
    joined("-flto-compression-level=", WORD),
    joined("-flto-partition=", WORD),
    joined("-fmacro-backtrace-limit=", WORD),
    joined("-fmax-errors=", WORD),
    joined("-fmax-include-depth=", WORD),
    joined("-fmessage-length=", WORD),
    joined("-fms-compatibility-version=", WORD),
    joined("-fmsc-version=", WORD),
    joined("-fno-sanitize=", WORD),
    joined("-fno-sanitize-recover=", WORD),
    joined("-fno-sanitize-trap=", WORD),
    joined("-fobjc-abi-version=", WORD),
    joined("-fopenacc-dim=", WORD),
    joined("-fpack-struct=", WORD),
    joined("-fpatchable-function-entry=", WORD),
    joined("-fpermitted-flt-eval-methods=", WORD),
    joined("-freorder-blocks-algorithm=", WORD),
    joined("-fsanitize=", WORD),
    joined("-fsanitize-coverage=", WORD),
    joined("-fsanitize-recover=", WORD),
    joined("-fsanitize-sections=", WORD),
    joined("-fsanitize-trap=", WORD),
    joined("-fsched-stalled-insns=", WORD),
    joined("-fsched-stalled-insns-dep=", WORD),
    joined("-fsched-verbose=", WORD),
    joined("-fsimd-cost-model=", WORD),
    joined("-fsso-struct=", WORD),
    joined("-fstack-check=", WORD),
    joined("-fstack-limit-register=", WORD),
    joined("-fstack-limit-symbol=", WORD),
    joined("-fstack-reuse=", WORD),
    joined("-fstrong-eval-order=", WORD),
    joined("-ftabstop=", WORD),
    joined("-ftail-call-workaround=", WORD),
    joined("-ftemplate-backtrace-limit=", WORD),
    joined("-ftemplate-depth=", WORD),
    joined("-ftls-model=", WORD),
    joined("-ftrack-macro-expansion=", WORD),
    joined("-ftree-parallelize-loops=", WORD),
    joined("-ftrivial-auto-var-init=", WORD),
    joined("-fvect-cost-model=", WORD),
    joined("-fvisibility=", WORD),
    joined("-fvtable-verify=", WORD),
    joined("-fwide-exec-charset=", WORD),
    joined("-fzero-call-used-regs=", WORD),
    // Strings the compiler only copies into its output.
    joined("-fdebug-prefix-map=", TEXT),
    joined("-ffile-prefix-map=", TEXT),
    joined("-fmacro-prefix-map=", TEXT),
    joined("-fdebug-compilation-dir=", TEXT),
    joined("-ffile-compilation-dir=", TEXT),
    joined("-frandom-seed=", TEXT),
    joined("-finstrument-functions-exclude-file-list=", TEXT),
    joined("-finstrument-functions-exclude-function-list=", TEXT),
    joined("-fopt-info", Rule::Check(Check::NoFile)),
    // --- Refused parts of the -f family. ---
    refuse("-fplugin", LOADS_CODE),
    refuse("-fpass-plugin", LOADS_CODE),
    refuse("-fuse-ld", LINK_ONLY_TOOL),
    flag("-fno-integrated-as", Rule::Refuse(RUNS_PROGRAM)),
    refuse("-fmodule", MODULES),
    refuse(
        "-fcompare-debug",
        "runs a second compilation with options of the client's choice",
    ),
    refuse("-foffload", RUNS_PROGRAM),
    refuse("-fdump", WRITES_FILE),
    refuse("-fstack-usage", WRITES_FILE),
    refuse("-fcallgraph-info", WRITES_FILE),
    refuse("-fsave-optimization-record", WRITES_FILE),
    refuse("-foptimization-record", WRITES_FILE),
    refuse("-ftime-trace", WRITES_FILE),
    refuse("-fproc-stat-report", WRITES_FILE),
    refuse("-fcrash-diagnostics-dir", WRITES_FILE),
    refuse("-fdiagnostics-add-output", WRITES_FILE),
    refuse("-fdiagnostics-set-output", WRITES_FILE),
    refuse("-fdeps-", WRITES_FILE),
    refuse("-fprofile", PROFILE),
    refuse("-fauto-profile", PROFILE),
    refuse("-fbranch-probabilities", PROFILE),
    refuse("-fcoverage", PROFILE),
    refuse("-ftest-coverage", PROFILE),
    refuse("-frepo", "writes .rpo files: distcc compiles it locally"),
    refuse("-fsanitize-blacklist", READS_FILE),
    refuse("-fsanitize-ignorelist", READS_FILE),
    refuse("-fsanitize-coverage-", READS_FILE),
    refuse("-fself-test", INTERNAL),
    refuse("-fwpa", INTERNAL),
    refuse("-fltrans", INTERNAL),
    refuse("-fresolution", INTERNAL),
    refuse("-flinker-output", INTERNAL),
    flag("--coverage", Rule::Refuse(PROFILE)),
    // --- Programs: nothing may choose what the compiler executes. ---
    refuse("-wrapper", RUNS_PROGRAM),
    either("-B", Rule::Refuse(RUNS_PROGRAM)),
    refuse("--prefix", RUNS_PROGRAM),
    refuse("-no-integrated-as", RUNS_PROGRAM),
    flag("-integrated-as", ALLOW),
    refuse("-ccc-", RUNS_PROGRAM),
    refuse("-gcc-toolchain", RUNS_PROGRAM),
    refuse("--gcc-toolchain", RUNS_PROGRAM),
    refuse("--gcc-install-dir", RUNS_PROGRAM),
    refuse("--ld-path", LINK_ONLY_TOOL),
    refuse("--config", "reads a clang configuration file of options"),
    refuse("--driver-mode", "changes the driver's option language"),
    refuse("-iplugindir", LOADS_CODE),
    separate("-specs", Rule::Specs),
    joined("-specs=", Rule::Specs),
    separate("--specs", Rule::Specs),
    joined("--specs=", Rule::Specs),
    refuse("-X", RAW_TOOL),
    refuse("-mllvm", RAW_TOOL),
    joined("-Wa,", Rule::Assembler),
    refuse("-Wl,", RAW_TOOL),
    refuse(
        "-Wp,",
        "raw preprocessor options: clients expand or strip -Wp,",
    ),
    // --- Files written beside the output or where the client says. ---
    refuse("-save-temps", WRITES_FILE),
    refuse("-save-stats", WRITES_FILE),
    refuse("-aux-info", WRITES_FILE),
    refuse(
        "-dump",
        "names auxiliary output files, or prints instead of compiling",
    ),
    // --- Preprocessor. Plain mode: the input is already preprocessed. ---
    either("-D", TEXT),
    either("-U", TEXT),
    either("-A", TEXT),
    flag("-undef", ALLOW),
    flag("-nostdinc", ALLOW),
    flag("-nostdinc++", ALLOW),
    flag("-nostdlibinc", ALLOW),
    flag("-nobuiltininc", ALLOW),
    flag("-C", ALLOW),
    flag("-CC", ALLOW),
    flag("-P", ALLOW),
    flag("-H", ALLOW),
    either("-I", Rule::Path(PathUse::IncludeDir)),
    either("-iquote", Rule::Path(PathUse::IncludeDir)),
    either("-isystem", Rule::Path(PathUse::IncludeDir)),
    either("-idirafter", Rule::Path(PathUse::IncludeDir)),
    either("-iprefix", Rule::Path(PathUse::IncludeDir)),
    either("-iwithprefix", Rule::Path(PathUse::PrefixTail)),
    either("-iwithprefixbefore", Rule::Path(PathUse::PrefixTail)),
    either("-include", Rule::Path(PathUse::IncludeFile)),
    either("-imacros", Rule::Path(PathUse::IncludeFile)),
    refuse("-include-pch", READS_FILE),
    either("-imultilib", WORD),
    either("-imultiarch", WORD),
    either("-isysroot", Rule::Path(PathUse::SystemDir)),
    separate("--sysroot", Rule::Path(PathUse::SystemDir)),
    joined("--sysroot=", Rule::Path(PathUse::SystemDir)),
    // --- Dependency files. ---
    flag("-MD", Rule::DepGen),
    flag("-MMD", Rule::DepGen),
    flag("-MG", ALLOW),
    flag("-MP", ALLOW),
    either("-MF", Rule::DepFile),
    either("-MT", Rule::DepTarget),
    either("-MQ", Rule::DepTarget),
    // --- Link-only options: a -c compile ignores them; they read or run nothing here. ---
    either("-l", TEXT),
    either("-L", TEXT),
    either("-T", Rule::Refuse(LINK_ONLY_TOOL)),
    flag("-shared", ALLOW),
    flag("-static", ALLOW),
    flag("-static-pie", ALLOW),
    flag("-pie", ALLOW),
    flag("-no-pie", ALLOW),
    flag("-rdynamic", ALLOW),
    flag("-s", ALLOW),
    flag("-nostdlib", ALLOW),
    flag("-nostartfiles", ALLOW),
    flag("-nodefaultlibs", ALLOW),
    flag("-static-libgcc", ALLOW),
    flag("-shared-libgcc", ALLOW),
    flag("-static-libstdc++", ALLOW),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_well_formed() {
        // Two entries with one name would make the longest match ambiguous.
        for (i, a) in TABLE.iter().enumerate() {
            assert!(a.name.starts_with('-'), "{}", a.name);
            assert!(
                TABLE[i + 1..].iter().all(|b| b.name != a.name),
                "duplicate entry {}",
                a.name
            );
        }
    }

    #[test]
    fn longest_match_wins() {
        let rule = |a| lookup(a).map(|s| s.rule);
        assert_eq!(rule("-fdump-tree-all"), Some(Rule::Refuse(WRITES_FILE)));
        assert_eq!(rule("-fPIC"), Some(Rule::Check(Check::FlagName)));
        assert_eq!(
            rule("-iwithprefixbefore"),
            Some(Rule::Path(PathUse::PrefixTail))
        );
        assert_eq!(rule("-include-pch"), Some(Rule::Refuse(READS_FILE)));
        assert_eq!(
            rule("-includefoo.h"),
            Some(Rule::Path(PathUse::IncludeFile))
        );
        assert_eq!(rule("--sysroot"), Some(Rule::Path(PathUse::SystemDir)));
        assert_eq!(rule("--sysroot=/x"), Some(Rule::Path(PathUse::SystemDir)));
        assert_eq!(rule("-Wall"), Some(Rule::Check(Check::Warning)));
        assert_eq!(rule("-Wa,--noexecstack"), Some(Rule::Assembler));
        assert_eq!(rule("-mllvm"), Some(Rule::Refuse(RAW_TOOL)));
        assert_eq!(rule("-gcc-toolchain"), Some(Rule::Refuse(RUNS_PROGRAM)));
        assert_eq!(
            rule("--version"),
            Some(Rule::Refuse("long option spelling not on distccd's list"))
        );
        assert!(lookup("-").is_none());
        assert!(lookup("-zdefs").is_none());
    }

    #[test]
    fn value_checks() {
        assert!(Check::Word.accepts("gnu++17"));
        assert!(Check::Word.accepts("32:24"));
        assert!(!Check::Word.accepts("/tmp"));
        assert!(!Check::Word.accepts(""));
        assert!(!Check::Word.accepts(".."));
        assert!(!Check::Word.accepts("."));
        assert!(Check::Word.accepts("x86_64-linux-gnu"));
        assert!(Check::FlagName.accepts("no-omit-frame-pointer"));
        assert!(!Check::FlagName.accepts("foo=bar"));
        assert!(!Check::FlagName.accepts(""));
        assert!(Check::Target.accepts("recip=all,!sqrt"));
        assert!(!Check::Target.accepts("devices-csv-loc=/etc"));
        assert!(Check::Warning.accepts("") && Check::Warning.accepts("error=format-security"));
        assert!(!Check::Warning.accepts("x,y"));
        assert!(Check::Param.accepts("max-inline-insns-single=400"));
        assert!(!Check::Param.accepts("x"));
        assert!(!Check::Param.accepts("a=/b"));
        assert!(Check::NoFile.accepts("-vec-missed") && !Check::NoFile.accepts("=/tmp/x"));
        assert!(Check::AsmAnnotation.accepts("A") && !Check::AsmAnnotation.accepts("M"));
        assert!(assembler_option_allowed("--noexecstack"));
        assert!(assembler_option_allowed("-xarch=v8"));
        assert!(!assembler_option_allowed("-a=/tmp/x"));
        assert!(!assembler_option_allowed("-I/etc"));
        assert!(!assembler_option_allowed("-march=/x"));
    }
}
