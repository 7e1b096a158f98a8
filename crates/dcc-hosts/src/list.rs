//! The parsed host list and what callers ask of it: order (`--randomize`), the `-j` total, the
//! protocol version a host speaks, and the names used in lock files and logs.

use dcc_common::DEFAULT_PORT;

/// `--localslots` when the list does not say (distcc src/hosts.c `dcc_hostdef_local`).
pub const DEFAULT_LOCALSLOTS: u32 = 4;
/// `--localslots_cpp` when the list does not say (distcc src/hosts.c `dcc_hostdef_local_cpp`).
pub const DEFAULT_LOCALSLOTS_CPP: u32 = 8;
/// The limit of a TCP or SSH host without `/LIMIT`.
pub const DEFAULT_REMOTE_LIMIT: u32 = 4;
/// The limit of `localhost` without `/LIMIT`.
pub const DEFAULT_LOCAL_LIMIT: u32 = 2;

/// Our zstd protocol versions set this bit on distcc's 2 and 3 (dcc-proto `version::ZSTD_FLAG`).
const ZSTD_FLAG: u32 = 0x100;

/// A parsed host list: the hosts in list order plus the global options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostList {
    pub hosts: Vec<HostSpec>,
    /// `--randomize` was given. [`crate::parse`] never shuffles; the caller calls
    /// [`HostList::shuffle`] (distcc seeds with its pid) after any zeroconf splice.
    pub randomize: bool,
    /// `--localslots=N`: local jobs that cannot be distributed.
    pub localslots: u32,
    /// `--localslots_cpp=N`: local preprocessing and include scanning.
    pub localslots_cpp: u32,
    /// `+zeroconf` was given.
    pub zeroconf: bool,
    /// Where `+zeroconf` stood: the index in `hosts` before which the hosts found by mDNS go
    /// (distcc inserts them in place). Meaningful only when `zeroconf` is set.
    pub zeroconf_at: usize,
}

impl Default for HostList {
    fn default() -> Self {
        HostList {
            hosts: Vec::new(),
            randomize: false,
            localslots: DEFAULT_LOCALSLOTS,
            localslots_cpp: DEFAULT_LOCALSLOTS_CPP,
            zeroconf: false,
            zeroconf_at: 0,
        }
    }
}

/// One host of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSpec {
    /// The verbatim token, as `distcc --show-hosts` prints it.
    pub spec: String,
    pub kind: HostKind,
    /// How many jobs may run there at once (`/LIMIT`).
    pub limit: u32,
    pub compression: Compression,
    /// `,cpp`: pump mode, the server preprocesses.
    pub cpp: bool,
    /// `,down`: never use this host.
    pub down: bool,
    /// distcc's `,auth[=NAME]`: `Some(None)` authenticates with the host's own name,
    /// `Some(Some(NAME))` with NAME instead.
    pub gssapi_auth: Option<Option<String>>,
    /// Our `,secure`: authenticated, encrypted transport.
    pub secure: bool,
}

/// How a host is reached.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostKind {
    /// `localhost`: run here, without a daemon.
    Local,
    /// A distccd listening on TCP. An IPv6 `host` is stored without its brackets.
    Tcp { host: String, port: u16 },
    /// `ssh [-l user] host command --inetd`; `command` defaults to `distccd` (distcc src/ssh.c).
    Ssh {
        user: Option<String>,
        host: String,
        command: Option<String>,
    },
}

/// How request and reply bodies are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    #[default]
    None,
    /// `,lzo`: LZO1X-1, distcc's protocols 2 and 3.
    Lzo,
    /// `,zstd`: our extension, understood by distcc-rs daemons only.
    Zstd,
}

impl HostList {
    /// `--randomize`: reorder the hosts, deterministically for a given seed.
    ///
    /// distcc src/hosts.c `dcc_randomize_host_list` sorts by `rand()` after `srand(getpid())`;
    /// any uniform permutation is equivalent, so this is a Fisher-Yates shuffle driven by
    /// splitmix64 (no dependency, same order on every platform for the same seed).
    pub fn shuffle(&mut self, seed: u64) {
        let mut state = seed;
        for i in (1..self.hosts.len()).rev() {
            let bound = u64::try_from(i + 1).unwrap_or(u64::MAX);
            // Multiply-shift maps a 64-bit draw onto 0..bound without a modulo; the bias is
            // at most bound / 2^64, irrelevant for host lists.
            let draw = u128::from(splitmix64(&mut state)) * u128::from(bound);
            let j = usize::try_from(draw >> 64).unwrap_or(i);
            self.hosts.swap(i, j);
        }
    }

    /// `distcc -j`: the sum of every host's limit, `,down` hosts and `localhost` included
    /// (distcc src/distcc.c `dcc_concurrency_level`).
    pub fn total_limit(&self) -> u32 {
        self.hosts
            .iter()
            .fold(0u32, |sum, h| sum.saturating_add(h.limit))
    }

    /// Put the hosts found by `+zeroconf` where the token stood, as distcc does. Call it before
    /// [`HostList::shuffle`], since distcc randomizes the complete list.
    pub fn splice_zeroconf(&mut self, found: Vec<HostSpec>) {
        let at = self.zeroconf_at.min(self.hosts.len());
        self.hosts.splice(at..at, found);
    }
}

impl HostSpec {
    /// The `DIST` version a client asks this host for: 1 plain, 2 `,lzo`, 3 `,lzo,cpp`
    /// (distcc src/hosts.c `dcc_get_protover_from_features`); `0x102` `,zstd` and `0x103`
    /// `,zstd,cpp` are ours.
    pub fn protocol_version(&self) -> u32 {
        match (self.compression, self.cpp) {
            // parse rejects ,cpp without compression; without compression there is no pump.
            (Compression::None, _) => 1,
            (Compression::Lzo, false) => 2,
            (Compression::Lzo, true) => 3,
            (Compression::Zstd, false) => ZSTD_FLAG | 2,
            (Compression::Zstd, true) => ZSTD_FLAG | 3,
        }
    }

    /// The host part of distcc's lock and backoff file names (`cpu_<name>_<slot>`,
    /// `backoff_<name>_0`): `localhost`, `tcp_<host>_<port>` or `ssh_<host>`
    /// (distcc src/lock.c `dcc_make_lock_filename`). The SSH user is not part of it.
    pub fn lock_name(&self) -> String {
        match &self.kind {
            HostKind::Local => "localhost".to_owned(),
            HostKind::Tcp { host, port } => format!("tcp_{host}_{port}"),
            HostKind::Ssh { host, .. } => format!("ssh_{host}"),
        }
    }

    /// A short name for logs: `localhost`, `host`, `host:port` / `[v6]:port` when the port is
    /// not 3632, `user@host` for SSH.
    pub fn display_name(&self) -> String {
        match &self.kind {
            HostKind::Local => "localhost".to_owned(),
            HostKind::Tcp { host, port } if *port == DEFAULT_PORT => host.clone(),
            HostKind::Tcp { host, port } if host.contains(':') => format!("[{host}]:{port}"),
            HostKind::Tcp { host, port } => format!("{host}:{port}"),
            HostKind::Ssh {
                user: Some(user),
                host,
                ..
            } => format!("{user}@{host}"),
            HostKind::Ssh { host, .. } => host.clone(),
        }
    }

    /// The host name (`localhost` for the local host), without brackets or port.
    pub fn hostname(&self) -> &str {
        match &self.kind {
            HostKind::Local => "localhost",
            HostKind::Tcp { host, .. } | HostKind::Ssh { host, .. } => host,
        }
    }

    /// True for `localhost`: jobs run here without a daemon.
    pub fn is_local(&self) -> bool {
        self.kind == HostKind::Local
    }
}

/// splitmix64 (Steele, Lea, Flood 2014): a tiny, well-mixed generator, enough for a shuffle.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    fn specs(list: &HostList) -> Vec<&str> {
        list.hosts.iter().map(|h| h.spec.as_str()).collect()
    }

    #[test]
    fn total_limit_is_distcc_dash_j() {
        // §2.1, measured with distcc 3.4.
        let list =
            parse("localhost/3 127.0.0.1:3698/7,lzo @buildbox/2 user@host2 [::1]:3632/5").unwrap();
        assert_eq!(list.total_limit(), 21);
        assert_eq!(parse("h1 h2").unwrap().total_limit(), 8);
        // ,down hosts still count, as in distcc.
        assert_eq!(parse("a,down b/3").unwrap().total_limit(), 7);
        // No overflow on silly limits.
        assert_eq!(
            parse("a/4294967295 b/4294967295").unwrap().total_limit(),
            u32::MAX
        );
    }

    #[test]
    fn shuffle_is_a_deterministic_permutation() {
        let text = "a b c d e f g h i j";
        let mut one = parse(text).unwrap();
        let mut again = parse(text).unwrap();
        one.shuffle(42);
        again.shuffle(42);
        assert_eq!(specs(&one), specs(&again));
        let mut sorted = specs(&one);
        sorted.sort_unstable();
        assert_eq!(sorted, text.split(' ').collect::<Vec<_>>());
        let mut other = parse(text).unwrap();
        other.shuffle(43);
        assert_ne!(specs(&one), specs(&other));
        assert_ne!(specs(&one), text.split(' ').collect::<Vec<_>>());
    }

    #[test]
    fn shuffle_reaches_every_position() {
        // Each host should land first for some seed: a biased or broken shuffle would not.
        let base = parse("a b c d").unwrap();
        let mut firsts = std::collections::BTreeSet::new();
        for seed in 0..64 {
            let mut list = base.clone();
            list.shuffle(seed);
            firsts.insert(list.hosts[0].spec.clone());
        }
        assert_eq!(firsts.len(), 4);
    }

    #[test]
    fn shuffle_handles_empty_and_single() {
        let mut empty = HostList::default();
        empty.shuffle(7);
        assert!(empty.hosts.is_empty());
        let mut one = parse("a").unwrap();
        one.shuffle(7);
        assert_eq!(specs(&one), ["a"]);
    }

    #[test]
    fn protocol_versions() {
        let list = parse("a a,lzo a,cpp,lzo a,zstd a,cpp,zstd a,lzo,secure").unwrap();
        let versions: Vec<u32> = list.hosts.iter().map(HostSpec::protocol_version).collect();
        assert_eq!(versions, [1, 2, 3, 0x102, 0x103, 2]);
    }

    #[test]
    fn lock_names_match_distcc_files() {
        // §2.5, measured: lock/cpu_tcp_127.0.0.1_3698_0, lock/cpu_localhost_0.
        let list =
            parse("localhost/3 127.0.0.1:3698 fred@build:/opt/distccd [::1]:4000 plain").unwrap();
        let names: Vec<String> = list.hosts.iter().map(HostSpec::lock_name).collect();
        assert_eq!(
            names,
            [
                "localhost",
                "tcp_127.0.0.1_3698",
                "ssh_build",
                "tcp_::1_4000",
                "tcp_plain_3632"
            ]
        );
    }

    #[test]
    fn display_names() {
        let list = parse("localhost angry angry:4000 [::1] [::1]:4000 @b ted@b:/x").unwrap();
        let names: Vec<String> = list.hosts.iter().map(HostSpec::display_name).collect();
        assert_eq!(
            names,
            [
                "localhost",
                "angry",
                "angry:4000",
                "::1",
                "[::1]:4000",
                "b",
                "ted@b"
            ]
        );
        assert_eq!(list.hosts[0].hostname(), "localhost");
        assert!(list.hosts[0].is_local());
        assert_eq!(list.hosts[4].hostname(), "::1");
    }

    #[test]
    fn zeroconf_hosts_go_where_the_token_was() {
        let mut list = parse("a +zeroconf b").unwrap();
        assert!(list.zeroconf);
        assert_eq!(list.zeroconf_at, 1);
        let found = parse("10.0.0.1:3632/8 [fe80::1]:3632/2").unwrap().hosts;
        list.splice_zeroconf(found);
        assert_eq!(
            specs(&list),
            ["a", "10.0.0.1:3632/8", "[fe80::1]:3632/2", "b"]
        );
    }
}
