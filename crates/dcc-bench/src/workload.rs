//! The project's C workloads (`scripts/workload.sh NAME DIR`: lua, zstd, sqlite; the same
//! preparation the tests and the demo use), prepared once per target directory, and `make` runs
//! over them.
//!
//! A build is `make -s -C DIR -f Makefile -jN CC=... GOALS` with a minimal, explicit
//! environment. Limiting a build to the first units (smoke runs) names their objects as make
//! goals, so the workload's Makefile is used unchanged.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{BenchError, Result, io};
use crate::measure::{self, Usage};

/// A prepared workload.
#[derive(Debug, Clone)]
pub struct Workload {
    pub name: String,
    pub makefile: PathBuf,
    /// The source directory (`SRC :=`): compiles run there.
    pub src: PathBuf,
    /// The compile flags (`FLAGS :=`), split on spaces.
    pub flags: Vec<String>,
    /// `(object, source relative to src)` per unit, in the Makefile's order.
    pub units: Vec<(String, String)>,
}

impl Workload {
    /// Prepare `name` under `cache` (running the workload script unless done before).
    pub fn prepare(name: &str, script: &Path, cache: &Path) -> Result<Workload> {
        let dir = cache.join(name);
        let mk = dir.join("Makefile");
        if !mk.exists() {
            if !script.exists() {
                return Err(BenchError::step(
                    "workloads",
                    format!("{} is missing", script.display()),
                ));
            }
            std::fs::create_dir_all(cache).map_err(io("mkdir workload cache"))?;
            let st = Command::new("bash")
                .arg(script)
                .arg(name)
                .arg(&dir)
                .stdout(Stdio::null())
                .status()
                .map_err(io("run workload.sh"))?;
            if !st.success() {
                return Err(BenchError::step(
                    "workloads",
                    format!("workload.sh {name} failed"),
                ));
            }
        }
        let text = std::fs::read_to_string(&mk).map_err(io(format!("read {}", mk.display())))?;
        let mut w = parse_makefile(&text);
        w.name = name.to_owned();
        w.makefile = mk;
        if w.units.is_empty() || w.src.as_os_str().is_empty() {
            return Err(BenchError::step(
                "workloads",
                format!("{name}: no units in its Makefile"),
            ));
        }
        Ok(w)
    }

    /// The first `limit` units (0: all).
    pub fn take(&self, limit: usize) -> &[(String, String)] {
        if limit == 0 || limit >= self.units.len() {
            &self.units
        } else {
            &self.units[..limit]
        }
    }

    /// The make goals for the first `limit` units: none (the default goal) for all.
    pub fn goals(&self, limit: usize) -> Vec<String> {
        if limit == 0 || limit >= self.units.len() {
            Vec::new()
        } else {
            self.take(limit).iter().map(|(o, _)| o.clone()).collect()
        }
    }
}

/// Read `SRC :=`, `FLAGS :=` and the units of a workload Makefile.
pub fn parse_makefile(text: &str) -> Workload {
    let mut w = Workload {
        name: String::new(),
        makefile: PathBuf::new(),
        src: PathBuf::new(),
        flags: Vec::new(),
        units: Vec::new(),
    };
    for l in text.lines() {
        if let Some(s) = l.strip_prefix("SRC := ") {
            w.src = PathBuf::from(s.trim());
        } else if let Some(f) = l.strip_prefix("FLAGS := ") {
            w.flags = f.split_whitespace().map(str::to_owned).collect();
        } else if let Some((obj, dep)) = l.split_once(": $(SRC)/") {
            w.units.push((obj.trim().to_owned(), dep.trim().to_owned()));
        }
    }
    w
}

/// `make -s -C dir -f makefile -jN CC=cc goals...` with a minimal environment (PATH, HOME,
/// TMPDIR) plus `env`.
pub fn make(
    dir: &Path,
    makefile: &Path,
    jobs: usize,
    cc: &str,
    goals: &[String],
    env: &[(&str, String)],
) -> Command {
    let mut cmd = Command::new("make");
    cmd.arg("-s")
        .arg("-C")
        .arg(dir)
        .arg("-f")
        .arg(makefile)
        .arg(format!("-j{jobs}"))
        .arg(format!("CC={cc}"))
        .args(goals)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", dir)
        .env("TMPDIR", std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Remove and recreate a directory.
pub fn fresh_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(io(format!("rm -r {}", dir.display())))?;
    }
    std::fs::create_dir_all(dir).map_err(io(format!("mkdir {}", dir.display())))
}

/// Object files in `a` that are missing or differ in `b`.
pub fn differing_objects(a: &Path, b: &Path) -> Result<Vec<String>> {
    let mut diffs = Vec::new();
    let entries = std::fs::read_dir(a).map_err(io(format!("read {}", a.display())))?;
    for e in entries.flatten() {
        let name = e.file_name();
        let x = std::fs::read(e.path()).map_err(io("read object"))?;
        match std::fs::read(b.join(&name)) {
            Ok(y) if y == x => {}
            _ => diffs.push(name.to_string_lossy().into_owned()),
        }
    }
    diffs.sort();
    Ok(diffs)
}

/// Send `cmd`'s stderr to `err_path`, where [`check_make`] reads it back if make fails.
pub fn stderr_to(cmd: &mut Command, err_path: &Path) -> Result<()> {
    cmd.stderr(std::fs::File::create(err_path).map_err(io("stderr file"))?);
    Ok(())
}

/// A make that failed, as the step error `what` with the end of its stderr.
pub fn check_make(u: &Usage, err_path: &Path, what: &str) -> Result<()> {
    if u.success() {
        return Ok(());
    }
    let err = std::fs::read_to_string(err_path).unwrap_or_default();
    Err(BenchError::step(
        what,
        format!("make {}: {}", u.describe(), tail(&err, 2000)),
    ))
}

/// Run make with its stderr kept in `err_path`; a failure is the step error `what`.
pub fn run_make(cmd: &mut Command, err_path: &Path, what: &str) -> Result<Usage> {
    stderr_to(cmd, err_path)?;
    let u = measure::run(cmd)?;
    check_make(&u, err_path, what)?;
    Ok(u)
}

/// The last `n` bytes of `s` (fewer, to start on a character).
pub fn tail(s: &str, n: usize) -> &str {
    let mut start = s.len().saturating_sub(n);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_end() {
        assert_eq!(tail("abcdef", 2), "ef");
        assert_eq!(tail("ab", 5), "ab");
        assert_eq!(tail("aé", 1), "");
    }

    const MK: &str = "# generated by workload.sh lua\nSRC := /r/lua-5.4.9\nCC ?= gcc\n\
                      FLAGS := -O2 -Wall -DLUA_USE_LINUX\nall: objs\n\
                      obj/lapi.o: $(SRC)/lapi.c\n\t@mkdir -p obj\n\tcd $(SRC) && $(CC) ...\n\
                      obj/lcode.o: $(SRC)/lcode.c\n\t@mkdir -p obj\n\
                      objs: obj/lapi.o obj/lcode.o\n";

    #[test]
    fn makefile_is_read() {
        let w = parse_makefile(MK);
        assert_eq!(w.src, PathBuf::from("/r/lua-5.4.9"));
        assert_eq!(w.flags, ["-O2", "-Wall", "-DLUA_USE_LINUX"]);
        assert_eq!(
            w.units,
            [
                ("obj/lapi.o".to_string(), "lapi.c".to_string()),
                ("obj/lcode.o".to_string(), "lcode.c".to_string())
            ]
        );
        assert!(w.goals(0).is_empty());
        assert_eq!(w.goals(1), ["obj/lapi.o"]);
        assert_eq!(w.take(5).len(), 2);
    }

    #[test]
    fn objects_compare() {
        let a = tempfile::tempdir().expect("tempdir");
        let b = tempfile::tempdir().expect("tempdir");
        std::fs::write(a.path().join("x.o"), b"1").expect("write");
        std::fs::write(a.path().join("y.o"), b"2").expect("write");
        std::fs::write(b.path().join("x.o"), b"1").expect("write");
        std::fs::write(b.path().join("y.o"), b"3").expect("write");
        assert_eq!(differing_objects(a.path(), b.path()).expect("cmp"), ["y.o"]);
    }
}
