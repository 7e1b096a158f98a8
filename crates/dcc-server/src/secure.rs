//! The secure transport in front of the job (`--auth-keys`; dcc-secure,
//! docs/security/secure-transport.md).
//!
//! After the access list, a connection goes through [`serve`]:
//! - no `--auth-keys`: straight to the job, exactly as before;
//! - otherwise the first bytes are sniffed: our preamble starts a Noise handshake, anything
//!   else is a plain distcc request, served only on the main port and only without
//!   `--require-auth`. A refused plain client gets no byte (distcc clients then fall back,
//!   as for any silent server) and the log names it;
//! - the handshake reads the client's key, looks it up in the authorized keys file (read
//!   again every time, so deleting a line revokes at once), tells the client the verdict,
//!   and waits for the client's first encrypted message. Only then does the job start, on
//!   the decrypting and encrypting halves; a failed handshake (unknown or revoked key,
//!   garbage, tampering, a replayed session) is logged with the reason and the peer, and
//!   nothing reaches the job.

use std::net::SocketAddr;
use std::path::PathBuf;

use dcc_common::{ExitCode, Level, dcc_log};
use dcc_secure::tokio_io::{AcceptError, Sniffed, accept, sniff};
use dcc_secure::{AuthorizedKeys, PrivateKey, PublicKey, Verdict};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};

use crate::access::client_name;
use crate::admit::{Admission, HELLO_TIMEOUT};
use crate::exec::Runner;
use crate::job;
use crate::metrics::RefusalReason;
use crate::options::SecureOptions;
use crate::server::Server;

/// Which listener a connection came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Port {
    /// `--port` (or inetd): plain and secure, or secure only with `--require-auth`.
    Main,
    /// `--secure-port`: secure only.
    SecureOnly,
}

/// The daemon's secure-transport state: its key and where the authorized keys are.
#[derive(Debug)]
pub struct Gate {
    key: PrivateKey,
    auth_keys: PathBuf,
    require_auth: bool,
}

impl Gate {
    /// Load the host key. Call this before privileges are dropped: the key is usually
    /// readable by root only. Errors go to the start-up log; the code is "bad arguments".
    pub fn load(o: &SecureOptions) -> Result<Gate, ExitCode> {
        let (key, _) = dcc_secure::PrivateKey::load(&o.host_key).map_err(|e| {
            dcc_log!(Level::Error, "secure_setup", "host key: {e}");
            ExitCode::BadArguments
        })?;
        Ok(Gate {
            key,
            auth_keys: o.auth_keys.clone(),
            require_auth: o.require_auth,
        })
    }

    /// Check, as the user that serves (after privileges are dropped and the log is open),
    /// that the authorized keys file can be read, so a mistake shows at start-up; log what
    /// the secure transport will do.
    pub fn check(&self) -> Result<(), ExitCode> {
        let ak = AuthorizedKeys::load(&self.auth_keys).map_err(|e| {
            dcc_log!(Level::Error, "secure_setup", "authorized keys: {e}");
            ExitCode::BadArguments
        })?;
        for (line, why) in &ak.bad_lines {
            dcc_log!(
                Level::Warning,
                "secure_setup",
                "{}:{line}: ignored: {why}",
                self.auth_keys.display()
            );
        }
        dcc_log!(
            Level::Info,
            "secure_setup",
            "secure transport on: host key {}, {} authorized client keys in {}{}",
            self.key.public(),
            ak.len(),
            self.auth_keys.display(),
            if self.require_auth {
                "; plain distcc clients refused"
            } else {
                ""
            }
        );
        Ok(())
    }

    /// The daemon's public key.
    pub fn public(&self) -> PublicKey {
        self.key.public()
    }

    /// Look `key` up in the authorized keys file, read now. The comment of its line when it
    /// is authorized.
    fn authorize(&self, key: &PublicKey) -> Result<String, Verdict> {
        match AuthorizedKeys::load(&self.auth_keys) {
            Ok(ak) => ak.find(key).map(str::to_owned).ok_or(Verdict::UnknownKey),
            Err(e) => {
                dcc_log!(
                    Level::Error,
                    "secure_accept",
                    "cannot read authorized keys, refusing every secure client: {e}"
                );
                Err(Verdict::ServerError)
            }
        }
    }
}

/// Serve one connection that passed the access list: plain, or secure, or refused.
pub async fn serve<R, I, O>(
    srv: &Server<R>,
    gate: Option<&Gate>,
    port: Port,
    mut input: I,
    output: O,
    peer: Option<SocketAddr>,
    admission: Option<Admission>,
) where
    R: Runner,
    I: AsyncRead + Unpin + Send,
    O: AsyncWrite + Unpin + Send,
{
    let Some(gate) = gate else {
        return job::serve(srv, input, output, peer, admission).await;
    };
    let client = client_name(peer);
    // Short: a peer without a key must not hold its place long (crate::admit).
    let timeout = srv.env.io_timeout.min(HELLO_TIMEOUT);
    let refuse = |why: &str| {
        srv.metrics.refused(RefusalReason::Access);
        srv.live.failed(&client, "", "", "AUTH", why);
    };
    let first = match tokio::time::timeout(timeout, sniff(&mut input)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            dcc_log!(
                Level::Error,
                "secure_accept",
                "read from {client} failed: {e}"
            );
            return;
        }
        Err(_) => {
            dcc_log!(
                Level::Error,
                "secure_accept",
                "{client} sent nothing within {}s",
                timeout.as_secs()
            );
            return;
        }
    };
    match first {
        Sniffed::Eof(_) => {
            dcc_log!(
                Level::Info,
                "secure_accept",
                "{client} closed the connection before a request"
            );
        }
        Sniffed::Plain(prefix) => {
            if port == Port::SecureOnly || gate.require_auth {
                let why = if port == Port::SecureOnly {
                    "plain distcc request on the secure port"
                } else {
                    "plain distcc request refused: --require-auth"
                };
                dcc_log!(
                    Level::Error,
                    "secure_accept",
                    "connection from client '{client}' refused: {why}"
                );
                refuse(why);
                return;
            }
            let input = std::io::Cursor::new(prefix).chain(input);
            job::serve(srv, input, output, peer, admission).await;
        }
        Sniffed::Secure => {
            let mut comment = String::new();
            let authorize = |k: &PublicKey| match gate.authorize(k) {
                Ok(c) => {
                    comment = c;
                    Verdict::Accepted
                }
                Err(v) => v,
            };
            let shaken =
                tokio::time::timeout(timeout, accept(input, output, &gate.key, authorize)).await;
            let accepted = match shaken {
                Ok(Ok(a)) => a,
                Ok(Err(e)) => {
                    let why = match &e {
                        AcceptError::Refused {
                            client: key,
                            verdict: Verdict::UnknownKey,
                        } => format!(
                            "key {key} is not in {} (unknown or revoked)",
                            gate.auth_keys.display()
                        ),
                        other => other.to_string(),
                    };
                    dcc_log!(
                        Level::Error,
                        "secure_accept",
                        "secure handshake from client '{client}' refused: {why}"
                    );
                    refuse(&why);
                    return;
                }
                Err(_) => {
                    dcc_log!(
                        Level::Error,
                        "secure_accept",
                        "secure handshake from client '{client}' timed out"
                    );
                    refuse("handshake timed out");
                    return;
                }
            };
            dcc_log!(
                Level::Info,
                "secure_accept",
                "secure session from {client}: key {} {comment}",
                accepted.client
            );
            job::serve(srv, accepted.reader, accepted.writer, peer, admission).await;
        }
    }
}
