//! `,secure` hosts: the client's side of dcc-secure's transport
//! (docs/security/secure-transport.md).
//!
//! 1. Before connecting: the client's private key (`DISTCC_RS_KEY`, default
//!    `$DISTCC_DIR/client.key`, mode 0600) and the daemon's public key from known_hosts
//!    (`DISTCC_RS_KNOWN_HOSTS`, default `$DISTCC_DIR/known_hosts`). Either missing: the host
//!    fails with a warning that says what to do, and nothing is sent anywhere.
//! 2. After the TCP connect: the preamble and hello, then the welcome, read while the
//!    preprocessor's pipe is drained (as during the connect), so the extra round trip is
//!    spent while cpp runs anyway.
//! 3. Then the connection is a [`crate::conn::Conn::Secure`], which the rest of the attempt
//!    uses like any other.
//!
//! `,secure` on an ssh host (`user@host,secure`) changes nothing: ssh already authenticates
//! both ends and encrypts.

use std::io::{self, Write as _};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use dcc_common::ExitCode;
use dcc_secure::{Initiator, KeyError, KnownHosts, PrivateKey, PublicKey, SecureError, frame};
use dcc_state::DistccDir;

use crate::config::Config;
use crate::conn::{Deadlined, poll2};
use crate::cpp::Preprocessed;

/// Where the client's key and known hosts are.
#[derive(Debug, Clone, Default)]
pub struct Files {
    /// `None` when neither the variable nor a distcc directory gives a path.
    pub key: Option<PathBuf>,
    pub known_hosts: Option<PathBuf>,
}

impl Files {
    /// The paths from the configuration: `DISTCC_RS_KEY`, `DISTCC_RS_KNOWN_HOSTS`, else in
    /// `DISTCC_DIR` (default `~/.distcc`).
    pub fn new(cfg: &Config, dir: Option<&DistccDir>) -> Files {
        let in_dir = |name: &str| dir.map(|d| d.path().join(name));
        Files {
            key: cfg.secure_key.clone().or_else(|| in_dir("client.key")),
            known_hosts: cfg.known_hosts.clone().or_else(|| in_dir("known_hosts")),
        }
    }
}

/// Why a `,secure` host could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SecureFailure {
    #[error("no client key for ,secure hosts: set DISTCC_RS_KEY, DISTCC_DIR or HOME")]
    NoKeyPath,
    #[error("client key for ,secure hosts: {0} (make one with distcc-keygen)")]
    Key(KeyError),
    #[error("known hosts for ,secure hosts: {0}")]
    KnownHosts(KeyError),
    #[error(
        "{host}:{port} has no key in {file}: add the line \"{host} distcc-rs-x25519 KEY\" with the key its admin gives you (distcc-keygen -y -f HOST_KEY on the helper)"
    )]
    UnknownHost {
        host: String,
        port: u16,
        file: String,
    },
    #[error("secure handshake with {host}: {source}")]
    Handshake { host: String, source: SecureError },
    #[error("secure handshake with {host}: timed out")]
    Timeout { host: String },
}

impl SecureFailure {
    /// distcc's exit code: authentication problems are distcc's `EXIT_GSSAPI_FAILED` (its
    /// code for "authentication failed"); IO and truncation as for any connection.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            SecureFailure::Handshake {
                source: SecureError::Io(_),
                ..
            } => ExitCode::IoError,
            SecureFailure::Handshake {
                source: SecureError::Eof(_),
                ..
            } => ExitCode::Truncated,
            SecureFailure::Timeout { .. } => ExitCode::Timeout,
            _ => ExitCode::GssapiFailed,
        }
    }
}

/// The keys for one attempt.
#[derive(Debug)]
pub struct Keys {
    pub client: PrivateKey,
    pub server: PublicKey,
}

/// Load the client key and the daemon's key for `host:port`.
pub fn keys(files: &Files, host: &str, port: u16) -> Result<Keys, SecureFailure> {
    let key_path = files.key.as_deref().ok_or(SecureFailure::NoKeyPath)?;
    let (client, _) = PrivateKey::load(key_path).map_err(SecureFailure::Key)?;
    let kh_path = files
        .known_hosts
        .as_deref()
        .ok_or(SecureFailure::NoKeyPath)?;
    // A missing file knows no host: say which line to add.
    let known = match KnownHosts::load(kh_path) {
        Err(KeyError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            KnownHosts::default()
        }
        r => r.map_err(SecureFailure::KnownHosts)?,
    };
    let server = known
        .find(host, port)
        .ok_or_else(|| SecureFailure::UnknownHost {
            host: host.to_owned(),
            port,
            file: kh_path.display().to_string(),
        })?;
    Ok(Keys { client, server })
}

/// What went wrong during [`handshake`]: the host's fault, or the preprocessor's.
#[derive(Debug)]
pub enum HandshakeError {
    Host(SecureFailure),
    Cpp(io::Error),
}

/// Run the client's handshake on a connected socket, draining `cpp` meanwhile. Returns the
/// secure stream.
pub fn handshake(
    mut stream: TcpStream,
    keys: &Keys,
    host: &str,
    timeout: Duration,
    mut cpp: Option<&mut Preprocessed>,
) -> Result<dcc_secure::SecureStream<Deadlined>, HandshakeError> {
    let fail = |source: SecureError| {
        HandshakeError::Host(SecureFailure::Handshake {
            host: host.to_owned(),
            source,
        })
    };
    let (init, flight) = Initiator::start(&keys.client, &keys.server).map_err(fail)?;
    stream
        .write_all(&flight)
        .map_err(|e| fail(SecureError::Io(e)))?;
    let deadline = Instant::now() + timeout;
    let mut raw = Vec::with_capacity(64);
    loop {
        if let Some(r) = frame::complete(&raw) {
            let session = init.finish(&raw[r.clone()]).map_err(fail)?;
            raw.drain(..r.end);
            return Ok(dcc_secure::SecureStream::new(
                Deadlined::new(stream, timeout),
                session,
                raw,
            ));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(HandshakeError::Host(SecureFailure::Timeout {
                host: host.to_owned(),
            }));
        }
        let cpp_fd = cpp.as_deref().and_then(Preprocessed::fd);
        let (sock_ready, cpp_ready) = poll2(stream.as_raw_fd(), libc::POLLIN, cpp_fd, left)
            .map_err(|e| fail(SecureError::Io(e)))?;
        if cpp_ready && let Some(c) = cpp.as_deref_mut() {
            c.read_some().map_err(HandshakeError::Cpp)?;
        }
        if sock_ready {
            let start = raw.len();
            raw.resize(start + frame::missing(&raw), 0);
            let n = loop {
                match io::Read::read(&mut stream, &mut raw[start..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(fail(SecureError::Io(e))),
                }
            };
            raw.truncate(start + n);
            if n == 0 {
                return Err(fail(SecureError::Eof("handshake")));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dcc_common::MapEnv;

    /// The files as the client finds them in `env`.
    fn files(env: &MapEnv) -> Files {
        let cfg = Config::from_env(env);
        let dir = DistccDir::from_env(env, cfg.home.as_deref().map(std::path::Path::new)).ok();
        Files::new(&cfg, dir.as_ref())
    }

    #[test]
    fn default_paths() {
        let f = files(&MapEnv::new().with("DISTCC_DIR", "/d"));
        assert_eq!(f.key, Some(PathBuf::from("/d/client.key")));
        assert_eq!(f.known_hosts, Some(PathBuf::from("/d/known_hosts")));
        let f = files(&MapEnv::new().with("HOME", "/h"));
        assert_eq!(f.key, Some(PathBuf::from("/h/.distcc/client.key")));
        let f = files(
            &MapEnv::new()
                .with("HOME", "/h")
                .with("DISTCC_RS_KEY", "/k")
                .with("DISTCC_RS_KNOWN_HOSTS", "/kh"),
        );
        assert_eq!(f.key, Some(PathBuf::from("/k")));
        assert_eq!(f.known_hosts, Some(PathBuf::from("/kh")));
        assert!(files(&MapEnv::new()).key.is_none());
    }

    #[test]
    fn missing_pieces_are_explained() {
        let dir = tempfile::tempdir().unwrap();
        let files = Files {
            key: Some(dir.path().join("client.key")),
            known_hosts: Some(dir.path().join("known_hosts")),
        };
        let e = keys(&files, "h", 3632).unwrap_err();
        assert!(e.to_string().contains("distcc-keygen"), "{e}");
        assert_eq!(e.exit_code(), ExitCode::GssapiFailed);
        PrivateKey::generate()
            .unwrap()
            .save(files.key.as_deref().unwrap(), "", false)
            .unwrap();
        let e = keys(&files, "h", 3632).unwrap_err();
        assert!(e.to_string().contains("h:3632 has no key in"), "{e}");
        std::fs::create_dir(files.known_hosts.as_deref().unwrap()).unwrap();
        let e = keys(&files, "h", 3632).unwrap_err();
        assert!(matches!(e, SecureFailure::KnownHosts(_)), "{e}");
        std::fs::remove_dir(files.known_hosts.as_deref().unwrap()).unwrap();
        let server = PrivateKey::generate().unwrap().public();
        std::fs::write(
            files.known_hosts.as_deref().unwrap(),
            format!("other {}\n", server.to_line("")),
        )
        .unwrap();
        let e = keys(&files, "h", 3632).unwrap_err();
        assert!(e.to_string().contains("h:3632 has no key in"), "{e}");
        std::fs::write(
            files.known_hosts.as_deref().unwrap(),
            format!("h {}\n", server.to_line("")),
        )
        .unwrap();
        assert_eq!(keys(&files, "h", 3632).unwrap().server, server);
    }
}
