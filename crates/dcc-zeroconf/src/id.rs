//! What the daemon that announces itself over mDNS (`distccd --zeroconf`) and the client that
//! browses for helpers (`+zeroconf`) share:
//!
//! - the native compiler's identity (distcc src/gcc-id.c): both sides ask a compiler the same
//!   two questions ([`CompilerId::ask`]) and build the same DNS-SD subtype ([`subtype`]), so a
//!   master only finds helpers with its own compiler. How each finds its compiler differs (the
//!   daemon searches its compiler PATH, the client skips its own masquerade links), so that
//!   stays with them;
//! - [`netlink`]: whether mDNS can list interfaces at all here.

use std::ffi::OsStr;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The DNS-SD service type (distcc src/zeroconf.h `DCC_DNS_SERVICE_TYPE`).
pub const SERVICE_TYPE: &str = "_distcc._tcp";

/// How long a compiler may take to answer `-dumpversion` or `-dumpmachine`.
pub const PROBE_LIMIT: Duration = Duration::from_secs(10);

/// The native compiler's identity, as `cc -dumpversion` and `cc -dumpmachine` print it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompilerId {
    pub version: String,
    pub machine: String,
}

impl CompilerId {
    /// Ask the compiler `cc` (run with `PATH=path`) for its version and machine; `None` when
    /// it cannot run, prints nothing or takes longer than [`PROBE_LIMIT`] (it is killed).
    pub fn ask(cc: &Path, path: &OsStr) -> Option<CompilerId> {
        Some(CompilerId {
            version: first_word(cc, "-dumpversion", path)?,
            machine: first_word(cc, "-dumpmachine", path)?,
        })
    }
}

/// Run `cc arg` and return the first word of its output (distcc src/gcc-id.c reads one line
/// and cuts it at the first blank).
fn first_word(cc: &Path, arg: &str, path: &OsStr) -> Option<String> {
    let mut child = Command::new(cc)
        .arg(arg)
        .env("PATH", path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if start.elapsed() < PROBE_LIMIT => {
                std::thread::sleep(Duration::from_millis(5));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let mut out = String::new();
    child
        .stdout
        .take()?
        .take(4096)
        .read_to_string(&mut out)
        .ok()?;
    out.split_whitespace().next().map(str::to_owned)
}

/// distcc src/gcc-id.c `strip_bad_chars`: keep `a-z` and `0-9`, lower-case `A-Z`, turn every
/// other byte into `-`; at most 63 bytes (distcc copies into a 64-byte buffer first).
fn dns_label(s: &str) -> String {
    s.bytes()
        .take(63)
        .map(|b| match b {
            b'a'..=b'z' | b'0'..=b'9' => b as char,
            b'A'..=b'Z' => b.to_ascii_lowercase() as char,
            _ => '-',
        })
        .collect()
}

/// The subtype helpers with this compiler are found by:
/// `_<machine>--<version>._sub._distcc._tcp` (distcc `dcc_make_dnssd_subtype`).
pub fn subtype(id: &CompilerId) -> String {
    format!(
        "_{}--{}._sub.{SERVICE_TYPE}",
        dns_label(&id.machine),
        dns_label(&id.version)
    )
}

/// Whether this process may open a netlink socket: mdns-sd lists interfaces with getifaddrs,
/// which uses one (a systemd unit without `AF_NETLINK` in `RestrictAddressFamilies` forbids
/// it, and mDNS then has no interface).
pub fn netlink() -> std::io::Result<()> {
    // SAFETY: socket(2) with constant arguments; the descriptor is closed at once.
    unsafe {
        let fd = libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        );
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        libc::close(fd);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn subtype_is_distccs() {
        let id = CompilerId {
            version: "14".into(),
            machine: "x86_64-linux-gnu".into(),
        };
        assert_eq!(subtype(&id), "_x86-64-linux-gnu--14._sub._distcc._tcp");
        let id = CompilerId {
            version: "4.2.1".into(),
            machine: "ARM-Linux_GNUeabi".into(),
        };
        assert_eq!(subtype(&id), "_arm-linux-gnueabi--4-2-1._sub._distcc._tcp");
        // Non-ASCII bytes each become '-'; labels stop at 63 bytes.
        assert_eq!(dns_label("é1"), "--1");
        assert_eq!(dns_label(&"a".repeat(100)).len(), 63);
    }

    fn script(dir: &Path, body: &str) -> std::path::PathBuf {
        let cc = dir.join("cc");
        std::fs::write(&cc, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&cc, std::fs::Permissions::from_mode(0o755)).unwrap();
        cc
    }

    #[test]
    fn ask_reads_the_first_word_of_each_answer() {
        let dir = tempfile::tempdir().unwrap();
        let cc = script(
            dir.path(),
            "case \"$1\" in -dumpversion) echo '9.3.0 extra';; \
             -dumpmachine) printf 'mips-linux-gnu\\n';; esac",
        );
        assert_eq!(
            CompilerId::ask(&cc, OsStr::new("/usr/bin:/bin")),
            Some(CompilerId {
                version: "9.3.0".into(),
                machine: "mips-linux-gnu".into()
            })
        );
    }

    #[test]
    fn a_silent_or_missing_compiler_gives_no_identity() {
        let dir = tempfile::tempdir().unwrap();
        let cc = script(dir.path(), "exit 0");
        assert_eq!(CompilerId::ask(&cc, OsStr::new("/usr/bin:/bin")), None);
        let gone = dir.path().join("nonexistent");
        assert_eq!(CompilerId::ask(&gone, OsStr::new("/usr/bin:/bin")), None);
    }
}
