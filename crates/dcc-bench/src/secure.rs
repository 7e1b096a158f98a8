//! Our secure transport (`,secure` hosts, docs/security/secure-transport.md) set up as a user
//! would: `distcc-keygen` makes a client key and a host key, the daemon gets `--host-key` and
//! `--auth-keys` (a file listing the client), the client gets its key (`DISTCC_RS_KEY`) and a
//! known_hosts file naming the daemon's address and key (`DISTCC_RS_KNOWN_HOSTS`).
//!
//! Without `distcc-keygen` in our binaries' directory the secure configurations are skipped.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{BenchError, Result, io};

/// Keys made for one benchmark run.
#[derive(Debug, Clone)]
pub struct Keys {
    dir: PathBuf,
    client_key: PathBuf,
    host_key: PathBuf,
    /// The host's public key line (`dcc-x25519 BASE64 comment`), for known_hosts.
    host_line: String,
    authorized: PathBuf,
}

fn keygen(bin_dir: &Path, file: &Path, comment: &str) -> Result<String> {
    let out = Command::new(bin_dir.join("distcc-keygen"))
        .arg("-f")
        .arg(file)
        .args(["-C", comment, "--force"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map_err(io("run distcc-keygen"))?;
    let line = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() || line.is_empty() {
        return Err(BenchError::step(
            "secure transport",
            format!("distcc-keygen -f {} failed", file.display()),
        ));
    }
    Ok(line)
}

impl Keys {
    /// Make the keys under `work/secure`, or None if `distcc-keygen` is not built.
    pub fn make(bin_dir: &Path, work: &Path) -> Result<Option<Keys>> {
        if !bin_dir.join("distcc-keygen").exists() {
            return Ok(None);
        }
        let dir = work.join("secure");
        std::fs::create_dir_all(&dir).map_err(io("mkdir secure"))?;
        let client_key = dir.join("client.key");
        let host_key = dir.join("host.key");
        let client_line = keygen(bin_dir, &client_key, "bench@master")?;
        let host_line = keygen(bin_dir, &host_key, "bench@helper")?;
        // Read again for every handshake, after the daemon dropped root: world-readable.
        let authorized = dir.join("authorized_keys");
        std::fs::write(&authorized, format!("{client_line}\n")).map_err(io("authorized_keys"))?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
            .map_err(io("chmod secure"))?;
        std::fs::set_permissions(&authorized, std::fs::Permissions::from_mode(0o644))
            .map_err(io("chmod authorized_keys"))?;
        Ok(Some(Keys {
            dir,
            client_key,
            host_key,
            host_line,
            authorized,
        }))
    }

    /// Our daemon's options.
    pub fn daemon_args(&self) -> Vec<String> {
        vec![
            "--host-key".into(),
            self.host_key.to_string_lossy().into_owned(),
            "--auth-keys".into(),
            self.authorized.to_string_lossy().into_owned(),
        ]
    }

    /// The client's environment for a daemon (or proxy) at 127.0.0.1:`port`.
    pub fn client_env(&self, port: u16) -> Result<Vec<(&'static str, String)>> {
        let known = self.dir.join(format!("known_hosts-{port}"));
        std::fs::write(&known, format!("127.0.0.1:{port} {}\n", self.host_line))
            .map_err(io("known_hosts"))?;
        Ok(vec![
            (
                "DISTCC_RS_KEY",
                self.client_key.to_string_lossy().into_owned(),
            ),
            (
                "DISTCC_RS_KNOWN_HOSTS",
                known.to_string_lossy().into_owned(),
            ),
        ])
    }
}

/// Whether host options `opts` use the secure transport.
pub fn is_secure(opts: &str) -> bool {
    opts.split(',').any(|o| o == "secure")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_options() {
        assert!(is_secure(",secure"));
        assert!(is_secure(",secure,zstd"));
        assert!(!is_secure(",lzo"));
        assert!(!is_secure(""));
    }

    #[test]
    fn no_keygen_no_keys() {
        let d = tempfile::tempdir().expect("tempdir");
        assert!(Keys::make(d.path(), d.path()).expect("make").is_none());
    }
}
