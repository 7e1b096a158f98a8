//! dcc-keygen: the command line of `distcc-keygen`, which makes key pairs for the secure
//! transport (the keys themselves are dcc-secure's).
//!
//! The definition is here, not in the binary, so that dcc-gen builds the man page and
//! completions from the parser the binary uses; and not in dcc-secure, so that the client,
//! which links dcc-secure, links no clap.

use std::path::PathBuf;

/// `distcc-keygen [-f FILE] [-C COMMENT] [--force]` / `distcc-keygen -y [-f FILE]`.
#[derive(Debug, clap::Parser)]
#[command(
    name = "distcc-keygen",
    version,
    about = "Make a key pair for distcc-rs's secure transport (,secure hosts)",
    long_about = "Make a key pair for distcc-rs's secure transport (,secure hosts).\n\n\
        Writes an X25519 private key to FILE (mode 0600) and its public line to FILE.pub and \
        stdout. Put a client's line in a daemon's --auth-keys file to let that client compile \
        there (deleting the line revokes it at once); put a daemon's line, after its host name, \
        in a client's known_hosts."
)]
pub struct KeygenOptions {
    /// the private key file (the public key goes to FILE.pub)
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// comment for the public key line (default: user@host)
    #[arg(short = 'C', long = "comment", value_name = "COMMENT")]
    pub comment: Option<String>,
    /// print the public key line of an existing private key file
    #[arg(short = 'y', long = "public")]
    pub public: bool,
    /// replace existing key files
    #[arg(long)]
    pub force: bool,
}
