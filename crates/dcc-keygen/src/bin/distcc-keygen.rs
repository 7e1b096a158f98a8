//! `distcc-keygen`: make a key pair for the secure transport, or show a key's public line.
//!
//! ```text
//! distcc-keygen [-f FILE] [-C COMMENT] [--force]   write FILE (private, 0600) and FILE.pub
//! distcc-keygen -y [-f FILE]                       print the public line of FILE
//! ```
//!
//! The public line goes to stdout (and FILE.pub), ready for a daemon's authorized keys file
//! or, after the host's name, for a client's known_hosts. FILE defaults to the client key
//! the distcc client uses: `$DISTCC_RS_KEY`, else `$DISTCC_DIR/client.key`, else
//! `~/.distcc/client.key`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Parser;
use dcc_keygen::KeygenOptions as Args;
use dcc_secure::PrivateKey;

fn default_file() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("DISTCC_RS_KEY").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    if let Some(d) = std::env::var_os("DISTCC_DIR").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(d).join("client.key"));
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(h) => Ok(PathBuf::from(h).join(".distcc").join("client.key")),
        None => bail!("HOME is not set: give the key file with -f"),
    }
}

fn default_comment() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "distcc".into());
    let host = dcc_common::sys::hostname_or_localhost();
    format!("{user}@{host}")
}

fn pub_path(file: &std::path::Path) -> PathBuf {
    let mut s = file.as_os_str().to_owned();
    s.push(".pub");
    PathBuf::from(s)
}

fn run(args: Args) -> anyhow::Result<()> {
    let file = match args.file {
        Some(f) => f,
        None => default_file()?,
    };
    if args.public {
        let (key, comment) = PrivateKey::load(&file)?;
        let comment = args.comment.unwrap_or(comment);
        println!("{}", key.public().to_line(&comment));
        return Ok(());
    }
    let comment = args.comment.unwrap_or_else(default_comment);
    if comment.contains(['\n', '\r']) {
        bail!("the comment must be one line");
    }
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    let public_file = pub_path(&file);
    if !args.force && public_file.exists() {
        bail!(
            "{} already exists (remove it first, or pass --force)",
            public_file.display()
        );
    }
    let key = PrivateKey::generate()?;
    key.save(&file, &comment, args.force)?;
    let line = key.public().to_line(&comment);
    std::fs::write(&public_file, format!("{line}\n"))
        .with_context(|| format!("writing {}", public_file.display()))?;
    eprintln!(
        "distcc-keygen: private key in {}, public key in {}",
        file.display(),
        public_file.display()
    );
    println!("{line}");
    Ok(())
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(args) {
        eprintln!("distcc-keygen: {e:#}");
        std::process::exit(1);
    }
}
