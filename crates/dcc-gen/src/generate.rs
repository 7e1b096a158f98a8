//! What `dcc-gen` writes into `packaging/`: the man pages ([`crate::docs::pages`]) as
//! `man/NAME.1`, and bash, zsh and fish completions for the programs with clap parsers as
//! `completions/bash/NAME`, `completions/zsh/_NAME`, `completions/fish/NAME.fish`.
//!
//! Generation is deterministic (no dates), so the committed copies can be compared byte for
//! byte with fresh ones ([`stale`]); a test does that.

use std::path::{Path, PathBuf};

use clap_complete::Shell;

/// One generated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// Path relative to the packaging directory.
    pub path: PathBuf,
    pub contents: Vec<u8>,
}

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    #[error("rendering the man page of {name}: {source}")]
    Render {
        name: String,
        source: std::io::Error,
    },
    #[error("writing {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The completion file of `name` for `shell`, relative to the packaging directory.
pub fn completion_path(shell: Shell, name: &str) -> PathBuf {
    let file = match shell {
        Shell::Zsh => format!("_{name}"),
        Shell::Fish => format!("{name}.fish"),
        _ => name.to_owned(),
    };
    PathBuf::from("completions")
        .join(shell.to_string())
        .join(file)
}

/// Every generated file, in a fixed order.
pub fn artifacts() -> Result<Vec<Artifact>, GenError> {
    let mut out = Vec::new();
    for page in crate::docs::pages() {
        let name = page.command.get_name().to_owned();
        let text = crate::man::render(&page).map_err(|source| GenError::Render {
            name: name.clone(),
            source,
        })?;
        out.push(Artifact {
            path: PathBuf::from("man").join(format!("{name}.{}", page.section)),
            contents: text.into_bytes(),
        });
    }
    for cmd in crate::docs::completion_commands() {
        let name = cmd.get_name().to_owned();
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cmd.clone(), &name, &mut buf);
            out.push(Artifact {
                path: completion_path(shell, &name),
                contents: buf,
            });
        }
    }
    Ok(out)
}

/// Write every artifact under `dir`, creating directories; returns the paths written.
pub fn write_all(dir: &Path) -> Result<Vec<PathBuf>, GenError> {
    let mut written = Vec::new();
    for a in artifacts()? {
        let path = dir.join(&a.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| GenError::Write {
                path: parent.to_owned(),
                source,
            })?;
        }
        std::fs::write(&path, &a.contents).map_err(|source| GenError::Write {
            path: path.clone(),
            source,
        })?;
        written.push(path);
    }
    Ok(written)
}

/// The artifacts whose copy under `dir` is missing or differs.
pub fn stale(dir: &Path) -> Result<Vec<PathBuf>, GenError> {
    Ok(artifacts()?
        .into_iter()
        .filter(|a| std::fs::read(dir.join(&a.path)).ok().as_deref() != Some(&a.contents[..]))
        .map(|a| a.path)
        .collect())
}
