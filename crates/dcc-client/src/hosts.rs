//! The host list as the client uses it (distcc src/hosts.c `dcc_get_hostlist`, src/where.c,
//! src/backoff.c; reference §2.2-2.3): read and parsed by dcc-hosts, then narrowed to the hosts
//! this client can use now.
//!
//! - A list that does not parse is an error naming the token (exit 106); distcc 3.4 logs the
//!   error and compiles locally instead (see docs/decisions/client.md).
//! - An empty list, or none at all, is distcc's warning and a local compile.
//! - `+zeroconf` is replaced, where it stood, by the helpers found over mDNS
//!   (dcc-zeroconf's `client`).
//! - Hosts that can never work from this client are left out with a warning: `,auth`
//!   (GSS-API is not built in). `,down` hosts are left out silently, as distcc does.
//!   `,secure` hosts are used (crate::secure); a missing key fails the host when it is tried.
//! - Hosts in their backoff period are left out for this compile.

use std::path::Path;

use dcc_common::{Env, ExitCode, Level, dcc_log};
use dcc_hosts::{HostList, HostSource, HostSpec, HostsError};

use crate::config::Config;

pub use dcc_hosts::SYSCONFDIR;

/// The parsed list and where it came from.
#[derive(Debug)]
pub struct Hosts {
    pub list: HostList,
    pub source: HostSource,
}

/// Read and parse the host list. `Ok` with no hosts when the list is empty or missing (the
/// caller warns and compiles locally); `Err` for a list that does not parse.
pub fn load(cfg: &Config, env: &dyn Env) -> Result<Hosts, HostsError> {
    let (source, text) = dcc_hosts::load(
        env,
        cfg.distcc_dir.as_deref().map(Path::new),
        cfg.home.as_deref().map(Path::new),
        Path::new(SYSCONFDIR),
    )?;
    let mut list = match dcc_hosts::parse(&text) {
        Ok(l) => l,
        Err(HostsError::NoHosts) => HostList::default(),
        Err(e) => return Err(e),
    };
    if list.zeroconf {
        list.splice_zeroconf(dcc_zeroconf::client::hosts(
            env,
            cfg.home.as_deref(),
            cfg.path.as_deref(),
        ));
    }
    if list.randomize {
        // distcc seeds rand() with its pid; any seed that differs between clients will do.
        list.shuffle(u64::from(std::process::id()));
    }
    Ok(Hosts { list, source })
}

/// Log a host-list failure as distcc does and return its exit code.
pub fn report(e: &HostsError) -> ExitCode {
    dcc_log!(Level::Error, "dcc_parse_hosts", "{e}");
    e.exit_code()
}

/// distcc's warning for a list without hosts.
pub fn warn_empty(source: &HostSource) {
    match source {
        HostSource::None => {
            dcc_log!(
                Level::Warning,
                "dcc_get_hostlist",
                "no hostlist is set; can't distribute work"
            );
        }
        s => {
            dcc_log!(
                Level::Warning,
                "dcc_parse_hosts",
                "{s} contained no hosts; can't distribute work"
            );
        }
    }
}

/// Why a listed host is not used by this client at all, if it is not.
pub fn unsupported(h: &HostSpec) -> Option<&'static str> {
    if h.gssapi_auth.is_some() {
        Some("GSS-API authentication (,auth) is not supported by this distcc")
    } else {
        None
    }
}

/// The hosts to consider for this compile, as indexes into `list.hosts`: not `,down`, not
/// unsupported (warned about), not in backoff. `lock_dir` is `None` when there is no lock
/// directory (then backoff marks cannot be read either).
pub fn usable(list: &HostList, cfg: &Config, lock_dir: Option<&Path>) -> Vec<usize> {
    let period = cfg.backoff_duration();
    let mut out = Vec::with_capacity(list.hosts.len());
    for (i, h) in list.hosts.iter().enumerate() {
        if h.down {
            continue;
        }
        if let Some(why) = unsupported(h) {
            dcc_log!(
                Level::Warning,
                "dcc_get_hostlist",
                "{why}: not using {}",
                h.spec
            );
            continue;
        }
        if cfg.backoff_enabled()
            && !h.is_local()
            && let Some(dir) = lock_dir
            && dcc_state::is_backed_off(dir, &h.lock_name(), period)
        {
            dcc_log!(
                Level::Debug,
                "dcc_remove_disliked",
                "still in backoff period for {}",
                h.spec
            );
            continue;
        }
        out.push(i);
    }
    out
}

/// What `distcc -j` prints for `DISTCC_HOSTS=localhost`: the safe answer when the list does
/// not parse.
pub fn local_only_limit() -> u32 {
    dcc_hosts::parse("localhost").map_or(1, |l| l.total_limit())
}

/// The exit code distcc would give when no host is left, given what was left out.
pub fn no_host_code(list: &HostList) -> ExitCode {
    if list.hosts.iter().any(|h| h.gssapi_auth.is_some()) {
        ExitCode::GssapiFailed
    } else {
        ExitCode::NoHosts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dcc_common::MapEnv;

    #[test]
    fn env_wins_and_bad_specs_are_errors() {
        let env = MapEnv::new().with("DISTCC_HOSTS", "a b/3");
        let cfg = Config::from_env(&env);
        let h = load(&cfg, &env).unwrap();
        assert_eq!(h.source, HostSource::Env);
        assert_eq!(h.list.hosts.len(), 2);

        let env = MapEnv::new().with("DISTCC_HOSTS", "good angry::");
        let e = load(&Config::from_env(&env), &env).unwrap_err();
        assert_eq!(e.exit_code().code(), 106);
        assert_eq!(e.token(), Some("angry::"));

        let env = MapEnv::new().with("DISTCC_HOSTS", "  # nothing");
        let h = load(&Config::from_env(&env), &env).unwrap();
        assert!(h.list.hosts.is_empty());
    }

    #[test]
    fn hosts_file_in_distcc_dir() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("hosts"), "filehost/2\n").unwrap();
        let env = MapEnv::new().with("DISTCC_DIR", dir.path().as_os_str());
        let h = load(&Config::from_env(&env), &env).unwrap();
        assert_eq!(h.source, HostSource::File(dir.path().join("hosts")));
        assert_eq!(h.list.hosts[0].spec, "filehost/2");
    }

    #[test]
    fn usable_hosts() {
        let dir = tempfile::tempdir().unwrap();
        let list = dcc_hosts::parse("a b,down c,auth d,secure localhost e").unwrap();
        dcc_state::mark_backoff(dir.path(), &list.hosts[5].lock_name()).unwrap();
        let cfg = Config::from_env(&MapEnv::new());
        assert_eq!(usable(&list, &cfg, Some(dir.path())), vec![0, 3, 4]);
        // Backoff disabled: the marked host is back.
        let cfg = Config::from_env(&MapEnv::new().with("DISTCC_BACKOFF_PERIOD", "0"));
        assert_eq!(usable(&list, &cfg, Some(dir.path())), vec![0, 3, 4, 5]);
        assert_eq!(no_host_code(&list), ExitCode::GssapiFailed);
        assert_eq!(
            no_host_code(&dcc_hosts::parse("a").unwrap()),
            ExitCode::NoHosts
        );
    }
}
