//! The file-system side of compiler-name rewriting (dcc-args `CompilerProbe`, distcc
//! src/compile.c): what is on `PATH`, where a symbolic link points; and the rewriting itself
//! as a compile (and `--check-hosts`) applies it.

use std::ffi::OsStr;
use std::path::Path;

use dcc_args::client::{CompilerProbe, fqn_triple, rewrite_compiler_for};
use dcc_common::sys::{EmptyElement, SkipDistcc, find_on_path, is_executable_file};
use dcc_common::{Level, dcc_log};

use crate::config::Config;

/// The compiler name as sent to a helper: `gcc` becomes `x86_64-linux-gnu-gcc` (unless
/// `DISTCC_NO_REWRITE_CROSS`), so that a helper of another architecture refuses it rather
/// than building for itself.
pub fn rewrite_compiler(cfg: &Config, argv: Vec<String>) -> Vec<String> {
    if cfg.no_rewrite_cross {
        return argv;
    }
    let probe = FsProbe {
        path: cfg
            .path
            .as_deref()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    let host = dcc_common::gnu_host();
    let gcc_triple = option_env!("DCC_GCC_TRIPLE")
        .map(str::to_owned)
        .unwrap_or_else(|| fqn_triple(&host));
    let (argv, notes) = rewrite_compiler_for(&argv, &host, &gcc_triple, &probe);
    for n in notes {
        dcc_log!(Level::Debug, "dcc_rewrite_compiler", "{n}");
    }
    argv
}

/// Lookups on the real file system, with the client's (possibly masquerade-edited) `PATH`.
#[derive(Debug)]
pub struct FsProbe {
    pub path: String,
}

fn executable(path: &str) -> bool {
    is_executable_file(Path::new(path))
}

impl CompilerProbe for FsProbe {
    fn which(&self, name: &str) -> Option<String> {
        // distcc dcc_which: directories named like distcc's are not searched.
        let path = OsStr::new(&self.path);
        find_on_path(
            path,
            OsStr::new(name),
            EmptyElement::Skip,
            SkipDistcc::DirsNamedDistcc,
            |_| {},
        )
        .map(|p| p.to_string_lossy().into_owned())
    }

    fn read_link(&self, path: &str) -> Option<String> {
        // read_link fails with EINVAL on anything that is not a symbolic link.
        std::fs::read_link(path)
            .ok()
            .map(|t| t.to_string_lossy().into_owned())
    }

    fn is_executable(&self, path: &str) -> bool {
        executable(path)
    }

    fn on_path(&self, name: &str) -> bool {
        // distcc dcc_gcc_rewrite_fqn: up to the first empty element, distcc's included.
        let path = OsStr::new(&self.path);
        find_on_path(
            path,
            OsStr::new(name),
            EmptyElement::End,
            SkipDistcc::Never,
            |_| {},
        )
        .is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn lookups() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_string_lossy().into_owned();
        let tool = dir.path().join("tool");
        std::fs::write(&tool, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink("tool", dir.path().join("cc")).unwrap();
        let p = FsProbe {
            path: format!("/nonexistent:{d}"),
        };
        assert_eq!(p.which("tool"), Some(format!("{d}/tool")));
        assert_eq!(p.which("missing"), None);
        assert_eq!(p.read_link(&format!("{d}/cc")).as_deref(), Some("tool"));
        assert_eq!(p.read_link(&format!("{d}/tool")), None);
        assert!(p.on_path("tool"));
        assert!(p.is_executable(&format!("{d}/cc")));
    }
}
