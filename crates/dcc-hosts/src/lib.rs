//! distcc's host list: the `DISTCC_HOSTS` grammar and the places a host list is read from.
//!
//! How the pieces fit:
//! - [`load`] finds the text, in distcc's order (src/hosts.c `dcc_get_hostlist`), and says where it
//!   came from ([`HostSource`]). It only reads the paths the caller hands in and the [`Env`] it is
//!   given, so it is testable without touching `$HOME` or the process environment.
//! - [`parse`] turns that text into a [`HostList`]: the hosts in order plus the global options.
//!   It is pure and total: any string gives `Ok` or a [`HostsError`] naming the offending token,
//!   never a panic. Every parse error maps to distcc's `EXIT_BAD_HOSTSPEC` (106).
//! - [`HostList::shuffle`] implements `--randomize`; [`HostList::total_limit`] is `distcc -j`;
//!   [`HostSpec::lock_name`] gives the name used in distcc's lock and backoff files
//!   (`cpu_<name>_<slot>`, `backoff_<name>_0`), so C and Rust clients share slot accounting.
//!
//! # Grammar
//!
//! ```text
//! DISTCC_HOSTS = { HOSTSPEC | GLOBAL | COMMENT }, separated by whitespace (space \t \n \r \f \v)
//! COMMENT      = '#' up to the end of the line; a '#' inside a token also ends the token
//! GLOBAL       = --randomize | --localslots(=|/)N | --localslots_cpp(=|/)N | +zeroconf
//! LOCAL_HOST   = localhost[/LIMIT]                  exactly "localhost" or "localhost/..."
//! SSH_HOST     = [USER]@HOST[/LIMIT][:COMMAND][OPTIONS]      any '@' in the token means SSH
//! TCP_HOST     = HOST[:PORT][/LIMIT][OPTIONS]  |  HOST[/LIMIT][:PORT][/LIMIT][OPTIONS]
//! HOST         = name | IPv4 | '[' IPv6 ']'
//! LIMIT        = decimal > 0                        ("bad multiplier" if 0 or missing)
//! OPTIONS      = { ,lzo | ,cpp | ,down | ,auth[=NAME] | ,zstd | ,secure }
//! ```
//!
//! - Defaults: port 3632 (1..=65535 accepted), limit 4 for TCP and SSH hosts, 2 for `localhost`;
//!   `--localslots` 4 and `--localslots_cpp` 8.
//! - `localhost` and `localhost/N` run jobs here, without a daemon. `localhost:3632`,
//!   `127.0.0.1` and `localhostbutnotreally` are TCP hosts. Anything after `localhost/N` is
//!   ignored, options included (distcc src/hosts.c `dcc_parse_localhost`).
//! - A host name runs up to `/`, `:` or `,` (SSH and TCP alike), so `angry=3` is a host named
//!   `angry=3` with limit 4, exactly as in distcc. `=` works as a limit separator only where
//!   distcc reaches its multiplier parser with it: after `]` (`[::1]=5`), after a first limit
//!   (`angry/4=5`, the last one wins) and in `--localslots=N` / `--localslots_cpp=N`.
//! - An SSH command runs up to `,`, so it may contain `/`, `:` and `@`.
//! - Options are matched by prefix and the option list ends at the first character that is not
//!   `,`: `angry,lzox` is `angry,lzo`, `angry/3x` is `angry/3`, and in `angry,lzox,cpp` the
//!   `,cpp` is never seen. An unknown option (`angry,foo`, `angry,`) is an error.
//! - `,cpp` (the server preprocesses, protocol 3) needs compression: `,cpp` alone is distcc's
//!   error `pump mode (',cpp') requires compression (',lzo')`; ours takes it as `,cpp,lzo`.
//! - `,down` marks the host unusable (undocumented in distcc; `lsdistcc -x` writes it).
//! - `,auth` / `,auth=NAME`: GSS-API authentication, NAME replacing the principal's host part.
//! - `--randomize`, `--localslots` and `--localslots_cpp` are matched by prefix, and trailing junk
//!   after them is ignored (`--randomizeplease`). `+zeroconf` must match exactly; it asks for the
//!   hosts found by mDNS, which the caller splices in with [`HostList::splice_zeroconf`].
//! - The verbatim token ([`HostSpec::spec`]) is what `distcc --show-hosts` prints.
//!
//! # distcc-rs extensions
//!
//! - `,zstd`: bulk bodies are zstd-compressed instead of LZO (protocol versions `0x102` and, with
//!   `,cpp`, `0x103`; see dcc-proto). Only distcc-rs daemons understand it; a distcc 3.4 daemon
//!   rejects the version and the client falls back as for any failed host. `,zstd,cpp` is valid
//!   pump mode; `,lzo` together with `,zstd` is an error.
//! - `,secure`: authenticated, encrypted transport to a distcc-rs daemon. It combines with any
//!   compression and with `,cpp`, and does not change the protocol version.
//!
//! Both are rejected by distcc 3.4 ("unrecognized option"), so a host file that uses them is for
//! distcc-rs clients only.
//!
//! # Where we are stricter than distcc 3.4
//!
//! distcc accepts these silently and produces a host that can never work; we reject them with
//! exit 106 so the mistake is seen:
//! - ports outside 1..=65535 (`angry:`, `angry:0`, `angry:-1`, `angry:70000`);
//! - limits with a sign or beyond `u32` (`angry/+3`, `angry/-3`: distcc uses `atoi`);
//! - `--localslots=0` (distcc logs "bad multiplier" and then treats the token as a TCP host named
//!   `--localslots=0`) and `--localslots_cpp=0` (distcc logs and ignores it).
//!
//! And where we read more sense into junk:
//! - A `#` ends the token everywhere. distcc cuts the verbatim token at `#` but its TCP and SSH
//!   parsers read past it, so for distcc `angry#x/3` is a host `angry#x` with limit 3.
//! - `\v` separates tokens (distcc skips it between tokens but keeps it inside one).
//! - `[IPv6]` is also accepted as an SSH host (`@[::1]`); distcc would call the host `[`.
//! - A list that is only `+zeroconf` parses (with no hosts yet); distcc would complain later if
//!   mDNS found nothing, which is the caller's check ([`HostList::hosts`] empty).

mod list;
mod load;
mod parse;

pub use list::{Compression, HostKind, HostList, HostSpec};
pub use load::{HostSource, MAX_HOSTS_FILE_SIZE, SYSCONFDIR, load};
pub use parse::parse;

use std::path::PathBuf;

pub use dcc_common::Env;
use dcc_common::ExitCode;

/// Everything that can go wrong reading or parsing a host list.
///
/// Parse errors carry the offending token; their `Display` starts with distcc's own message.
#[derive(Debug, thiserror::Error)]
pub enum HostsError {
    /// The list has no hosts (empty, only blanks, comments or global options).
    #[error("host list contained no hosts; can't distribute work")]
    NoHosts,
    /// A limit of 0, a missing one, or one that is not a plain decimal.
    #[error("bad multiplier in host specification \"{token}\"")]
    BadMultiplier { token: String },
    /// `@`, `:4200`, `mbp@`, `[]` …: the host name is empty.
    #[error("hostname is required in {kind} host specification \"{token}\"")]
    MissingHostname { kind: &'static str, token: String },
    /// `[::1` without its `]`.
    #[error("IPv6 Hostname requires closing ']' in \"{token}\"")]
    UnclosedBracket { token: String },
    /// A port that is not a decimal in 1..=65535, or is followed by something other than `/` `,`.
    #[error("invalid tcp port specification in \"{token}\"")]
    BadPort { token: String },
    /// `,foo` or a lone `,`.
    #[error("unrecognized option in host specification: {options} (in \"{token}\")")]
    UnknownOption { token: String, options: String },
    /// `,lzo` and `,zstd` on the same host.
    #[error("',lzo' and ',zstd' cannot both be used in \"{token}\"")]
    ConflictingCompression { token: String },
    /// A hosts file bigger than distcc's 1 MiB limit (src/loadfile.c).
    #[error("{} is too large to load ({size} bytes)", path.display())]
    FileTooLarge { path: PathBuf, size: u64 },
    /// A hosts file exists and is readable but reading it failed (a directory, an IO error).
    #[error("failed to read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl HostsError {
    /// distcc's exit status for this error.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            // distcc src/loadfile.c: a file over 1 MiB is EXIT_OUT_OF_MEMORY.
            HostsError::FileTooLarge { .. } => ExitCode::OutOfMemory,
            HostsError::Read { .. } => ExitCode::IoError,
            _ => ExitCode::BadHostspec,
        }
    }

    /// The host-list token the error is about, if it is a parse error about one token.
    pub fn token(&self) -> Option<&str> {
        match self {
            HostsError::BadMultiplier { token }
            | HostsError::MissingHostname { token, .. }
            | HostsError::UnclosedBracket { token }
            | HostsError::BadPort { token }
            | HostsError::UnknownOption { token, .. }
            | HostsError::ConflictingCompression { token } => Some(token),
            HostsError::NoHosts | HostsError::FileTooLarge { .. } | HostsError::Read { .. } => None,
        }
    }
}
