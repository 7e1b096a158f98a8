//! Our parser against Debian's distcc 3.4: `distcc -j` (sum of limits) and `distcc --show-hosts`
//! (verbatim tokens) must agree for every list both accept, and both must refuse the same
//! lists, apart from the refusals documented as ours in the crate docs.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::path::Path;
use std::process::Command;

const DISTCC: &str = "/usr/bin/distcc";

/// Lists both implementations accept; each must give the same `-j` and `--show-hosts`.
const ACCEPTED: &[&str] = &[
    "localhost/3 127.0.0.1:3698/7,lzo @buildbox/2 user@host2 [::1]:3632/5",
    "h1 h2",
    "localhost 127.0.0.1 @angry   ted@angry\n\t@angry:/home/mbp/bin/distccd  angry:4204\n\
     ipv4-localhost angry/44 angry:300/44 angry/44:300 angry,lzo angry:3000,lzo # c\n\
     angry/44,lzo @angry,lzo#asdasd\n# nothing\n@angry:/usr/sbin/distccd,lzo localhostbutnotreally",
    "localhost/3 127.0.0.1:3698/7,lzo @buildbox/2:/opt/bin/distccd,lzo,cpp user@host2 \
     [::1]:3632/5 oldhost/6:4000 --localslots=9 --localslots_cpp=11 hostx,down",
    "angry=3",
    "[::1]=5",
    "angry/4=5",
    "angry/4:300/5",
    "localhost=3",
    "localhost/3,lzo",
    "angry/3x:300",
    "angry,lzox",
    "angry,lzox,cpp",
    "a@b@c/3",
    "+zeroconfx",
    "@h:/a:b@c/4",
    "u@h:,lzo",
    "angry,auth=svc,lzo,cpp angry,auth",
    "--randomizeplease --localslotsjunk --localslots/3 a",
    "angry:65535/9",
    "a\r\nb\x0cc",
];

/// Lists both implementations refuse.
const REFUSED: &[&str] = &[
    "",
    "    ",
    "\t",
    "  @ ",
    ":",
    "mbp@",
    "angry::",
    ":4200",
    "angry,",
    "angry,foo",
    "angry/0",
    "angry/",
    "localhost/0",
    "[::1",
    "[]",
    "@angry/0",
    "angry:80x",
    "# only comment",
];

fn require_distcc() {
    assert!(
        Path::new(DISTCC).exists(),
        "{DISTCC} not found: install Debian's distcc 3.4 (apt-get install distcc) to run this test"
    );
}

/// Run distcc with only DISTCC_HOSTS and a private DISTCC_DIR; stdout, if it exited 0.
fn distcc(hosts: &str, arg: &str, dir: &Path) -> String {
    let out = Command::new(DISTCC)
        .arg(arg)
        .env_clear()
        .env("DISTCC_HOSTS", hosts)
        .env("DISTCC_DIR", dir)
        .output()
        .expect("run distcc");
    // distcc exits 0 for -j and --show-hosts even when the list is refused (§2.1).
    assert!(out.status.success(), "distcc {arg} for {hosts:?}: {out:?}");
    String::from_utf8(out.stdout).expect("utf-8 output")
}

#[test]
fn accepted_lists_agree_with_distcc() {
    require_distcc();
    let dir = tempfile::tempdir().unwrap();
    for &hosts in ACCEPTED {
        let list = dcc_hosts::parse(hosts).unwrap_or_else(|e| panic!("{hosts:?}: {e}"));
        assert_eq!(
            distcc(hosts, "-j", dir.path()),
            format!("{}\n", list.total_limit()),
            "-j for {hosts:?}"
        );
        let shown: String = list.hosts.iter().map(|h| format!("{}\n", h.spec)).collect();
        assert_eq!(
            distcc(hosts, "--show-hosts", dir.path()),
            shown,
            "--show-hosts for {hosts:?}"
        );
    }
}

#[test]
fn refused_lists_agree_with_distcc() {
    require_distcc();
    let dir = tempfile::tempdir().unwrap();
    for &hosts in REFUSED {
        assert!(dcc_hosts::parse(hosts).is_err(), "we accept {hosts:?}");
        assert_eq!(
            distcc(hosts, "-j", dir.path()),
            "",
            "distcc accepts {hosts:?}"
        );
    }
}

/// `,cpp` alone: distcc refuses the list ("pump mode (',cpp') requires compression"); ours
/// takes it as `,cpp,lzo` (docs/decisions/remote-preprocessing.md), a deliberate difference.
#[test]
fn cpp_alone_is_refused_by_distcc_and_means_cpp_lzo_here() {
    require_distcc();
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(distcc("angry,cpp", "-j", dir.path()), "");
    let list = dcc_hosts::parse("angry,cpp").unwrap();
    assert_eq!(list.hosts[0].protocol_version(), 3);
}
