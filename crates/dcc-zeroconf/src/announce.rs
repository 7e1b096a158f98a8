//! `distccd --zeroconf`: announce this helper over mDNS/DNS-SD while the daemon runs (distcc
//! src/zeroconf-reg.c, src/gcc-id.c, src/dparent.c; reference §4.1).
//!
//! distcc 3.4 registers one service with Avahi: type `_distcc._tcp`, instance
//! `distcc@<hostname>`, the daemon's port, TXT `txtvers=1 cpus=N jobs=N distcc=VERSION
//! gnuhost=HOST cc_version=… cc_machine=…`, and the subtype
//! `_<cc -dumpmachine>--<cc -dumpversion>._sub._distcc._tcp` that `+zeroconf` clients browse
//! for, so that they only find helpers with their own compiler. We do the same with the
//! mdns-sd crate, which answers queries itself (no avahi-daemon needed):
//!
//! - [`probe_compiler`] runs `cc` (else `gcc`) from the daemon's compiler PATH once, at
//!   start-up, for the version and machine; [`subtype`] and [`txt`] build the names and TXT.
//! - [`publish`] starts the responder after the daemon has detached (mdns-sd runs a thread, and
//!   threads must not exist before the fork) and returns an [`Announcement`]; dropping it
//!   unregisters (mDNS "goodbye" records, so browsers forget the helper at once) and stops the
//!   responder. With `--listen ADDR` mDNS runs on ADDR's interface only.
//! - Where distcc cannot reach Avahi it exits (EXIT_CONNECT_FAILED); with no Avahi to reach we
//!   only warn when the responder cannot start and keep serving: an unannounced helper is still
//!   a helper. mdns-sd finds interfaces through netlink; where a sandbox forbids it (systemd's
//!   `RestrictAddressFamilies` without `AF_NETLINK`) it would announce nothing without a word,
//!   so [`publish`] checks first and says so.

use std::ffi::OsStr;
use std::net::IpAddr;
use std::time::Duration;

use dcc_common::sys::{EmptyElement, SkipDistcc, find_on_path};
use dcc_common::{Level, dcc_log};
use mdns_sd::{IfKind, ServiceDaemon, ServiceInfo, UnregisterStatus};

use crate::id::{CompilerId, SERVICE_TYPE, netlink, subtype};

/// How long shutdown waits for the goodbye to go out.
const UNREGISTER_WAIT: Duration = Duration::from_secs(1);

/// Ask `cc`, else `gcc`, found on `path` (the daemon's compiler PATH: `DISTCCD_PATH` or
/// `PATH`). distcc popens `cc -dumpversion` through the shell; `None` when there is no such
/// compiler or it prints nothing.
pub fn probe_compiler(path: &str) -> Option<CompilerId> {
    let path = OsStr::new(path);
    let cc = ["cc", "gcc"].iter().find_map(|n| {
        find_on_path(
            path,
            OsStr::new(n),
            EmptyElement::Skip,
            SkipDistcc::Never,
            |_| {},
        )
    })?;
    CompilerId::ask(&cc, path)
}

/// The TXT record, in distcc's order. `cc_version` and `cc_machine` are left out when the
/// compiler could not be asked, as distcc does.
pub fn txt(cpus: usize, jobs: usize, id: Option<&CompilerId>) -> Vec<(&'static str, String)> {
    let mut v = vec![
        ("txtvers", "1".to_owned()),
        ("cpus", cpus.to_string()),
        ("jobs", jobs.to_string()),
        ("distcc", dcc_common::DISTCC_COMPAT_VERSION.to_owned()),
        ("gnuhost", dcc_common::gnu_host()),
    ];
    if let Some(id) = id {
        v.push(("cc_version", id.version.clone()));
        v.push(("cc_machine", id.machine.clone()));
    }
    v
}

/// The instance name, `distcc@<hostname>` (distcc `dcc_zeroconf_register`), and the mDNS host
/// name its address records use, `<first label of hostname>.local.`.
fn names() -> (String, String) {
    let host = dcc_common::sys::hostname_or_localhost();
    let label = host.split('.').next().unwrap_or("localhost");
    let label = if label.is_empty() { "localhost" } else { label };
    (format!("distcc@{host}"), format!("{label}.local."))
}

/// A running announcement; dropping it withdraws it.
pub struct Announcement {
    mdns: ServiceDaemon,
    fullname: String,
}

impl std::fmt::Debug for Announcement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Announcement")
            .field("fullname", &self.fullname)
            .finish()
    }
}

impl Announcement {
    /// The registered instance (`distcc@host._distcc._tcp.local.`).
    pub fn fullname(&self) -> &str {
        &self.fullname
    }
}

impl Drop for Announcement {
    fn drop(&mut self) {
        // distcc dparent.c unregisters after the last job; goodbye records (TTL 0) make
        // browsers drop the helper now rather than when its records expire.
        if let Ok(rx) = self.mdns.unregister(&self.fullname) {
            match rx.recv_timeout(UNREGISTER_WAIT) {
                Ok(UnregisterStatus::OK) => dcc_log!(
                    Level::Info,
                    "dcc_zeroconf_unregister",
                    "withdrew {} from mDNS",
                    self.fullname
                ),
                _ => dcc_log!(
                    Level::Warning,
                    "dcc_zeroconf_unregister",
                    "could not withdraw {} from mDNS",
                    self.fullname
                ),
            }
        }
        if let Ok(rx) = self.mdns.shutdown() {
            let _ = rx.recv_timeout(UNREGISTER_WAIT);
        }
    }
}

/// Why the announcement could not start.
#[derive(Debug, thiserror::Error)]
pub enum ZeroconfError {
    #[error("cannot start the mDNS responder: {0}")]
    Responder(mdns_sd::Error),
    #[error("cannot describe the service: {0}")]
    Service(mdns_sd::Error),
    #[error("cannot register the service: {0}")]
    Register(mdns_sd::Error),
}

/// What the daemon announces: where it listens and how much it takes.
#[derive(Debug, Clone)]
pub struct Helper<'a> {
    /// `--listen`: mDNS runs on this address's interface only (unless unspecified).
    pub listen: Option<IpAddr>,
    pub port: u16,
    pub cpus: usize,
    /// `--jobs`.
    pub jobs: usize,
    /// The daemon's compiler PATH (`DISTCCD_PATH` or `PATH`), where `cc` is asked.
    pub compiler_path: &'a str,
}

/// Start announcing `helper`: `None` (logged) when the responder cannot start. Call it in the
/// daemon process after detaching, only when `--zeroconf` was given; keep the result for the
/// daemon's life.
pub fn publish(helper: &Helper<'_>) -> Option<Announcement> {
    if let Err(e) = netlink() {
        // mdns-sd would start, find no interface and announce nothing, silently.
        dcc_log!(
            Level::Warning,
            "dcc_zeroconf_register",
            "cannot list network interfaces (netlink: {e}); the daemon is not announced over \
             mDNS (a systemd unit needs AF_NETLINK in RestrictAddressFamilies)"
        );
        return None;
    }
    let id = probe_compiler(helper.compiler_path);
    if id.is_none() {
        dcc_log!(
            Level::Warning,
            "dcc_zeroconf_register",
            "failed to determine CC version, not registering DNS-SD service subtype"
        );
    }
    match announce(
        helper.listen,
        helper.port,
        helper.cpus,
        helper.jobs,
        id.as_ref(),
    ) {
        Ok(a) => {
            dcc_log!(
                Level::Info,
                "dcc_zeroconf_register",
                "announcing {} on port {} ({})",
                a.fullname,
                helper.port,
                id.as_ref().map_or_else(|| SERVICE_TYPE.to_owned(), subtype)
            );
            Some(a)
        }
        Err(e) => {
            dcc_log!(
                Level::Warning,
                "dcc_zeroconf_register",
                "{e}; the daemon is not announced over mDNS"
            );
            None
        }
    }
}

/// Register the service: on `listen`'s interface only when it is a specific address,
/// otherwise on every interface with its addresses kept up to date.
pub fn announce(
    listen: Option<IpAddr>,
    port: u16,
    cpus: usize,
    jobs: usize,
    id: Option<&CompilerId>,
) -> Result<Announcement, ZeroconfError> {
    let mdns = ServiceDaemon::new().map_err(ZeroconfError::Responder)?;
    let listen = listen.filter(|ip| !ip.is_unspecified());
    if let Some(ip) = listen {
        // Leave every interface, then join ADDR's: mDNS stays on the network --listen chose.
        mdns.disable_interface(IfKind::All)
            .map_err(ZeroconfError::Responder)?;
        mdns.enable_interface(IfKind::Addr(ip))
            .map_err(ZeroconfError::Responder)?;
    }
    let ty = match id {
        Some(id) => format!("{}.local.", subtype(id)),
        None => format!("{SERVICE_TYPE}.local."),
    };
    let (instance, host) = names();
    let props = txt(cpus, jobs, id);
    let addrs: Vec<IpAddr> = listen.into_iter().collect();
    let mut info = ServiceInfo::new(&ty, &instance, &host, &addrs[..], port, &props[..])
        .map_err(ZeroconfError::Service)?;
    if let Some(ip) = listen {
        info.set_interfaces(vec![IfKind::Addr(ip)]);
    } else {
        info = info.enable_addr_auto();
    }
    let fullname = info.get_fullname().to_owned();
    mdns.register(info).map_err(ZeroconfError::Register)?;
    Ok(Announcement { mdns, fullname })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txt_in_distccs_order() {
        let id = CompilerId {
            version: "14".into(),
            machine: "x86_64-linux-gnu".into(),
        };
        let t = txt(8, 10, Some(&id));
        let keys: Vec<&str> = t.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            keys,
            [
                "txtvers",
                "cpus",
                "jobs",
                "distcc",
                "gnuhost",
                "cc_version",
                "cc_machine"
            ]
        );
        assert_eq!(t[1].1, "8");
        assert_eq!(t[2].1, "10");
        assert_eq!(t[3].1, "3.4");
        assert_eq!(t[5].1, "14");
        assert_eq!(t[6].1, "x86_64-linux-gnu");
        assert_eq!(txt(1, 3, None).len(), 5);
    }

    #[test]
    fn probe_reads_the_first_word_of_cc() {
        let dir = tempfile::tempdir().unwrap();
        let cc = dir.path().join("cc");
        std::fs::write(
            &cc,
            "#!/bin/sh\ncase \"$1\" in -dumpversion) echo '9.3.0 extra';; \
             -dumpmachine) printf 'mips-linux-gnu\\n';; esac\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&cc, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = format!("/nonexistent:{}", dir.path().display());
        assert_eq!(
            probe_compiler(&path),
            Some(CompilerId {
                version: "9.3.0".into(),
                machine: "mips-linux-gnu".into()
            })
        );
        // No compiler at all: no identity (distcc then registers no subtype).
        assert_eq!(probe_compiler("/nonexistent"), None);
    }

    #[test]
    fn a_silent_compiler_gives_no_identity() {
        let dir = tempfile::tempdir().unwrap();
        let cc = dir.path().join("gcc");
        std::fs::write(&cc, "#!/bin/sh\nexit 0\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&cc, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(probe_compiler(&dir.path().display().to_string()), None);
    }
}
