//! [`vet`]: decide whether the daemon runs a job's argv, walking it against the allow-list.
//!
//! Order: malformed arguments (NUL bytes, `@file`), argv[0], distcc's scan (whose "local"
//! verdicts become refusals with a reason the user can act on), then every argument through
//! the option table (module `options`). The walk also notes what the rewrite must change:
//! the output, `-specs` files, pump-mode include paths and dependency options.

use super::options::{self, Check, Form, PathUse, Rule};
use super::paths;
use super::{
    Edits, Mode, OutputArg, Policy, Refusal, Vetted, compiler_name, is_compiler_driver, shown,
};
use crate::client::{Compile, LocalReason, OutputSource, Scan, scan_args};
use crate::filename;

const UNKNOWN: &str = "not on distccd's list of options known to be safe";
const NEEDS_VALUE: &str = "needs an argument";
const LEAVES_JOB: &str = "path leaves the job's directory";
const SYSROOT_OUTSIDE: &str = "points the compiler at a server directory outside the job (only the job's own tree may be a sysroot)";

/// Vet a job's argv (argv[0] is the compiler). On success, [`Vetted`] tells
/// [`super::rewrite_plain`] / [`super::rewrite_pump`] what to change.
pub fn vet(argv: &[String], mode: &Mode, policy: &Policy) -> Result<Vetted, Refusal> {
    let Some(argv0) = argv.first() else {
        return Err(Refusal::NotACompile("empty command line"));
    };
    if let Some(a) = argv.iter().find(|a| a.contains('\0')) {
        return Err(option(a, "contains a NUL byte"));
    }
    // gcc expands @file anywhere in argv, operands included (libiberty expandargv).
    if let Some(a) = argv[1..].iter().find(|a| a.starts_with('@')) {
        return Err(option(a, "response file: reads a file on the server"));
    }
    let compiler = check_compiler(argv0, policy)?;
    let pump = match mode {
        Mode::Plain => None,
        Mode::Pump { cwd } => {
            let Some(cwd) = cwd.to_str() else {
                return Err(Refusal::NotACompile("job directory is not valid UTF-8"));
            };
            if !cwd.starts_with('/') || !paths::stays_inside("/", cwd) {
                return Err(Refusal::NotACompile(
                    "the client's working directory is not a clean absolute path",
                ));
            }
            Some(PumpDirs { cwd })
        }
    };
    let compile = scan(argv)?;

    let mut walk = Walk {
        argv,
        pump,
        policy,
        edits: Edits::default(),
        operands: Vec::new(),
        output: None,
    };
    walk.all()?;

    for &op in &walk.operands {
        if op != compile.input_index {
            let a = &argv[op];
            return Err(option(
                a,
                if filename::is_object(a) {
                    "an object file operand is a link input for gcc, not the output"
                } else {
                    "extra operand: the compiler would read it as an input file"
                },
            ));
        }
    }
    if !walk.operands.contains(&compile.input_index) {
        return Err(Refusal::NotACompile(
            "the source file is the argument of an option",
        ));
    }
    let output = match compile.output_source {
        OutputSource::Separate => OutputArg::Separate(compile.output_index),
        OutputSource::Joined => OutputArg::Joined(compile.output_index),
        OutputSource::Default => OutputArg::Implied,
        OutputSource::ObjectArg => {
            return Err(Refusal::NotACompile("no -o naming the output"));
        }
    };
    // The scan and the walk read `-o` the same way; anything else is a command we misread.
    if walk.output.unwrap_or(OutputArg::Implied) != output {
        return Err(Refusal::NotACompile("the output cannot be determined"));
    }
    if let Some(p) = &walk.pump
        && !paths::stays_inside(p.cwd, &compile.input)
    {
        return Err(option(&compile.input, LEAVES_JOB));
    }

    Ok(Vetted {
        compiler,
        input_index: compile.input_index,
        output,
        client_output: compile.output,
        assembly: compile.dash_s,
        edits: walk.edits,
    })
}

fn option(option: &str, reason: &'static str) -> Refusal {
    Refusal::Option {
        option: shown(option),
        reason,
    }
}

/// The reason of the [`Refusal::Compiler`] for a name that is not a gcc or clang driver. The
/// daemon tells this refusal apart: for a compiler that does not exist at all it answers as
/// distcc does ("failed to exec", status 110) instead.
pub const NOT_A_DRIVER: &str =
    "not a gcc or clang driver name (distccd vets gcc/clang options only)";

fn check_compiler(argv0: &str, policy: &Policy) -> Result<String, Refusal> {
    let name = if policy.allow_compiler_path {
        if argv0.is_empty() || argv0.starts_with('-') {
            compiler_name(argv0)?;
        }
        argv0
    } else {
        compiler_name(argv0)?
    };
    let base = name.rsplit('/').next().unwrap_or(name);
    if !is_compiler_driver(base) {
        return Err(Refusal::Compiler {
            name: shown(argv0),
            reason: NOT_A_DRIVER,
        });
    }
    Ok(name.to_string())
}

/// distcc's scan, as distccd re-runs it. distcc HEAD's server scan distributes `-specs=`
/// (checked later against `--sysroot`); the client's scan keeps 3.4's "local" for it, so those
/// arguments are masked (same indices) before scanning.
fn scan(argv: &[String]) -> Result<Compile, Refusal> {
    let masked: Vec<String> = argv
        .iter()
        .map(|a| {
            if a.starts_with("-specs=") {
                "-specs".to_string()
            } else {
                a.clone()
            }
        })
        .collect();
    match scan_args(&masked) {
        Ok(Scan::Distribute(c)) => Ok(c),
        Ok(Scan::Local(r)) => Err(local(r)),
        Err(_) => Err(Refusal::NotACompile("malformed command line")),
    }
}

/// A "must run locally" verdict of the scan, as a refusal naming the argument.
fn local(r: LocalReason) -> Refusal {
    use options::{NATIVE, PROFILE};
    match r {
        LocalReason::Preprocess => option("-E", "preprocessing only: distcc runs it locally"),
        LocalReason::DependencyOnly(a) => {
            option(&a, "dependency output only: distcc runs it locally")
        }
        LocalReason::NotCompile => Refusal::NotACompile("neither -c nor -S: not a compile"),
        LocalReason::NoInput => Refusal::NotACompile("no source file"),
        LocalReason::TwoInputs => Refusal::NotACompile("more than one source file"),
        LocalReason::TwoOutputs => Refusal::NotACompile("more than one output"),
        LocalReason::Conftest(_) => Refusal::NotACompile("autoconf test: distcc runs it locally"),
        LocalReason::OutputStdout => option("-o -", "output to stdout: distcc runs it locally"),
        LocalReason::Native(a) => option(&a, NATIVE),
        LocalReason::Profile(a) => option(&a, PROFILE),
        LocalReason::Repo => option("-frepo", "writes .rpo files: distcc compiles it locally"),
        LocalReason::Language(l) => {
            option(&format!("-x {l}"), "language distcc does not distribute")
        }
        LocalReason::RtlDump(a) => option(&a, "RTL dumps write files: distcc runs it locally"),
        LocalReason::AssemblerListing(a) => option(
            &a,
            "assembler listing or dependency file: distcc runs it locally",
        ),
        LocalReason::Specs(a) => option(&a, "spec file"),
        LocalReason::BogusInput(_) => {
            Refusal::NotACompile("source file name too short to name the output after")
        }
        LocalReason::MissingOutput => option("-o", NEEDS_VALUE),
    }
}

struct PumpDirs<'a> {
    cwd: &'a str,
}

/// One pass over argv[1..] with the option table.
struct Walk<'a> {
    argv: &'a [String],
    pump: Option<PumpDirs<'a>>,
    policy: &'a Policy<'a>,
    edits: Edits,
    /// Indices of arguments that are neither options nor option values.
    operands: Vec<usize>,
    output: Option<OutputArg>,
}

/// One option occurrence.
struct Occurrence<'a> {
    /// The option argument, `-I/x` or `-I`.
    arg: &'a str,
    /// Index of `arg`.
    index: usize,
    /// The value (empty for flags).
    value: &'a str,
    /// Index of the argument holding the value (`index` when joined).
    value_index: usize,
    /// Byte offset of the value in that argument.
    value_offset: usize,
    /// The table entry's name (`-specs=`).
    name: &'static str,
}

impl Occurrence<'_> {
    /// The option as shown in a refusal: with its value when that was a separate argument.
    fn shown(&self) -> String {
        if self.value_index == self.index {
            self.arg.to_string()
        } else {
            format!("{} {}", self.arg, self.value)
        }
    }

    fn refuse(&self, reason: &'static str) -> Refusal {
        option(&self.shown(), reason)
    }
}

impl<'a> Walk<'a> {
    fn all(&mut self) -> Result<(), Refusal> {
        let argv = self.argv;
        let mut i = 1;
        while i < argv.len() {
            let arg = argv[i].as_str();
            if !arg.starts_with('-') {
                self.operands.push(i);
                i += 1;
                continue;
            }
            let Some(spec) = options::lookup(arg) else {
                return Err(option(arg, UNKNOWN));
            };
            let separate = match spec.form {
                Form::Flag | Form::Joined => false,
                Form::Separate => true,
                Form::JoinedOrSeparate => arg.len() == spec.name.len(),
            };
            let occ = if separate {
                let Some(value) = argv.get(i + 1) else {
                    return Err(option(arg, NEEDS_VALUE));
                };
                Occurrence {
                    arg,
                    index: i,
                    value,
                    value_index: i + 1,
                    value_offset: 0,
                    name: spec.name,
                }
            } else {
                let offset = if spec.form == Form::Flag {
                    arg.len()
                } else {
                    spec.name.len()
                };
                Occurrence {
                    arg,
                    index: i,
                    value: &arg[offset..],
                    value_index: i,
                    value_offset: offset,
                    name: spec.name,
                }
            };
            self.apply(spec.rule, &occ)?;
            i = occ.value_index + 1;
        }
        Ok(())
    }

    fn apply(&mut self, rule: Rule, occ: &Occurrence) -> Result<(), Refusal> {
        match rule {
            Rule::Allow => {}
            Rule::Refuse(reason) => return Err(occ.refuse(reason)),
            Rule::Check(check) => {
                if !check.accepts(occ.value) {
                    return Err(occ.refuse(check.reason()));
                }
            }
            Rule::Path(usage) => self.path(usage, occ)?,
            Rule::Output => {
                self.output = Some(if occ.value_index == occ.index {
                    OutputArg::Joined(occ.index)
                } else {
                    OutputArg::Separate(occ.value_index)
                });
            }
            Rule::Language => {
                if !Check::Choice(options::LANGUAGES).accepts(occ.value) {
                    return Err(occ.refuse("distccd compiles C, C++ and Objective-C only"));
                }
            }
            Rule::DepFile => {
                if self.pump.is_none() {
                    return Err(occ.refuse(
                        "writes a dependency file on the server (plain-mode clients strip -MF)",
                    ));
                }
                self.edits.dep_file_args.push(occ.index);
                if occ.value_index != occ.index {
                    self.edits.dep_file_args.push(occ.value_index);
                }
            }
            Rule::DepTarget => {
                self.edits.has_target = true;
                if occ.arg == "-MT" && self.edits.first_mt.is_none() {
                    self.edits.first_mt = Some(occ.index);
                }
            }
            Rule::DepGen => self.edits.has_md = true,
            Rule::Specs => self.specs(occ)?,
            Rule::Assembler => {
                if !occ.value.split(',').all(options::assembler_option_allowed) {
                    return Err(occ.refuse("assembler option not on distccd's list"));
                }
            }
        }
        Ok(())
    }

    fn path(&mut self, usage: PathUse, occ: &Occurrence) -> Result<(), Refusal> {
        let value = occ.value;
        if usage == PathUse::SystemDir {
            // Plain mode: the input is preprocessed and nothing is linked, so a system root
            // can change nothing but what clang probes for (a GCC installation, tools). The
            // client's path means nothing on the server: refuse rather than let the compiler
            // look into a server directory the client picked. Pump mode: it must stay inside
            // the job's tree, like the include options below.
            // (Absolute pump-mode values are client paths, moved under the root below.)
            if self.pump.is_none() {
                return Err(occ.refuse(SYSROOT_OUTSIDE));
            }
        }
        let Some(pump) = &self.pump else {
            return match usage {
                PathUse::IncludeFile => Err(occ.refuse(
                    "reads a file on the server (plain-mode clients strip -include and -imacros)",
                )),
                _ => Ok(()),
            };
        };
        let inside = match usage {
            PathUse::PrefixTail => !paths::has_dotdot(value),
            _ => paths::stays_inside(pump.cwd, value),
        };
        if !inside {
            return Err(occ.refuse(LEAVES_JOB));
        }
        // distcc src/serve.c tweak_include_arguments_for_server: absolute values of these
        // options are moved under the root.
        if value.starts_with('/') {
            self.edits
                .include_values
                .push((occ.value_index, occ.value_offset));
        }
        Ok(())
    }

    /// `-specs=F`: distcc HEAD accepts it when `<--sysroot>/F` is a regular file. gcc itself
    /// would look F up in its own directories and the working directory (where a pump client
    /// can put files), so the argument is rewritten to name the checked file.
    fn specs(&mut self, occ: &Occurrence) -> Result<(), Refusal> {
        let Some(sysroot) = self.policy.sysroot else {
            return Err(occ.refuse(
                "spec files can run any program; accepted only from distccd's --sysroot, which is not set",
            ));
        };
        // HEAD joins "<sysroot>/<F>", so an absolute F is read inside the sysroot too.
        let file = occ.value.trim_start_matches('/');
        if file.is_empty() || paths::has_dotdot(file) {
            return Err(occ.refuse("spec file must be inside distccd's --sysroot"));
        }
        let path = sysroot.join(file);
        let Some(text) = path.to_str().filter(|_| (self.policy.spec_exists)(&path)) else {
            return Err(occ.refuse("no such spec file in distccd's --sysroot"));
        };
        let replacement = if occ.value_index == occ.index {
            format!("{}{text}", occ.name)
        } else {
            text.to_string()
        };
        self.edits.specs.push((occ.value_index, replacement));
        Ok(())
    }
}
