//! DIST 0x303 end to end with a real gcc: lua units sent to our daemon as manifest, chain and
//! blobs (the manifest from dcc_include's scanner, the chain from the compiler's search path,
//! as a client will send them) give the object of a local build byte for byte, with and
//! without -g; a later unit sharing headers with an earlier one is asked only for the rest.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::BytesMut;
use dcc_include::args::Lang;
use dcc_include::search_path::probe;
use dcc_include::{Kind, Manifest, Origin, Outcome, Scanner};
use dcc_proto::cas::{self, ChainDir, ChainKind, Hash};
use dcc_testkit::daemon::{DaemonKind, DaemonOptions};
use dcc_testkit::wire::{compile_local, decode_reply};
use dcc_testkit::{Daemon, World, workload};

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

/// What a client sends for one unit, and where the master's copy of each shipped file is.
struct Unit {
    head: Vec<u8>,
    manifest: Manifest,
    files: HashMap<Hash, PathBuf>,
}

fn unit(src: &Path, flags: &[String], name: &str) -> Unit {
    let mut argv = vec!["gcc".to_owned()];
    argv.extend(flags.iter().cloned());
    argv.extend(["-c".into(), name.into(), "-o".into(), "remote.o".into()]);
    let manifest = match Scanner::default()
        .scan(Path::new("gcc"), &argv, src)
        .outcome
    {
        Outcome::Complete(m) => m,
        Outcome::GiveUp(r) => panic!("scanner gave up on {name}: {r}"),
    };
    // The chain in search order (lua has no -I: every bracket directory is a default one).
    let (sp, _) = probe(Path::new("gcc"), flags, Lang::C, None).unwrap();
    let mut chain = Vec::new();
    for (kind, dirs) in [
        (ChainKind::Quote, &sp.quote),
        (ChainKind::System, &sp.bracket),
        (ChainKind::Include, &sp.preinclude),
    ] {
        for d in dirs {
            chain.push(ChainDir {
                kind,
                path: d.display().to_string(),
            });
        }
    }
    let mut head = Vec::new();
    dcc_proto::encode_request_header(&mut head, cas::PROTOCOL, src.to_str(), &argv).unwrap();
    cas::encode_manifest(&mut head, &manifest.to_text(), &chain).unwrap();
    let files = manifest
        .files()
        .filter_map(|(p, e)| match (&e.kind, e.origin) {
            (Kind::File { hash, .. }, Origin::Shipped) => Some((*hash, p.to_owned())),
            _ => None,
        })
        .collect();
    Unit {
        head,
        manifest,
        files,
    }
}

/// Send the unit, answer NEED with the blobs, return NEED and the reply.
fn send(d: &Daemon, u: &Unit) -> (Vec<Hash>, dcc_proto::Reply) {
    let mut s = TcpStream::connect(d.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.write_all(&u.head).unwrap();
    let mut buf = BytesMut::new();
    let mut chunk = [0u8; 65536];
    let need = loop {
        if let Some(n) = cas::decode_need(&mut buf, u.files.len()).unwrap() {
            break n;
        }
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "closed before NEED: {}", d.log_text());
        buf.extend_from_slice(&chunk[..n]);
    };
    let mut blobs = Vec::new();
    for h in &need {
        cas::encode_blob(&mut blobs, &std::fs::read(&u.files[h]).unwrap()).unwrap();
    }
    s.write_all(&blobs).unwrap();
    let mut rest = buf.to_vec();
    s.read_to_end(&mut rest).unwrap();
    let reply = decode_reply(&rest, cas::CAS_WIRE).expect("a reply");
    assert_eq!(
        reply.status,
        0,
        "{}",
        String::from_utf8_lossy(&reply.stderr)
    );
    (need, reply)
}

fn shipped(m: &Manifest, file_name: &str) -> Hash {
    m.files()
        .find_map(|(p, e)| match e.kind {
            Kind::File { hash, .. }
                if e.origin == Origin::Shipped && p.file_name().is_some_and(|n| n == file_name) =>
            {
                Some(hash)
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("{file_name} not shipped"))
}

#[test]
fn lua_units_over_dist_303_are_byte_identical_and_shared_headers_go_once() {
    let w = World::new();
    let d = Daemon::start(&w, DaemonOptions::new(DaemonKind::Ours));
    let dir = workload::prepare("lua");
    let (flags, src, _) = workload::units(&dir);
    let out = tempfile::tempdir().unwrap();
    let mut sent: Vec<Hash> = Vec::new();
    for extra in ["", "-g"] {
        let mut flags = words(&flags);
        flags.extend(words(extra));
        for (i, name) in ["lauxlib.c", "liolib.c"].into_iter().enumerate() {
            let u = unit(&src, &flags, name);
            let (need, reply) = send(&d, &u);
            let local_o = out.path().join("local.o").display().to_string();
            let mut args: Vec<&str> = flags.iter().map(String::as_str).collect();
            args.extend(["-c", name, "-o", &local_o]);
            let local = compile_local(&src, &args, &local_o);
            assert!(local == reply.object, "{name} {extra}: objects differ");
            let stdio = shipped(&u.manifest, "stdio.h");
            if extra.is_empty() && i == 0 {
                // A fresh store lacks everything, <stdio.h> included.
                assert!(need.contains(&stdio));
            } else {
                // Never a header the daemon already has: <stdio.h> went with lauxlib.c.
                assert!(
                    !need.contains(&stdio),
                    "{name} {extra}: stdio.h asked again"
                );
                assert!(
                    need.iter().all(|h| !sent.contains(h)),
                    "{name} {extra}: a header asked for twice"
                );
            }
            if extra.is_empty() && i == 1 {
                // liolib.c reads headers lauxlib.c does not (the test can see a NEED).
                assert!(!need.is_empty(), "liolib.c: nothing new");
            }
            sent.extend(need);
        }
    }
    d.wait_log("COMPILE_OK", 4);
    assert!(w.tmp_leftovers().is_empty(), "{:?}", w.tmp_leftovers());
}

/// Run `argv` (its path, then arguments) in a mount namespace whose /usr/include is an empty
/// tmpfs but for a `stdio.h` that fails any compile: a helper without the master's -dev
/// packages, and with a different header where it has one.
fn without_usr_include() -> Vec<String> {
    [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        "mount -t tmpfs none /usr/include && \
         echo '#error the helper used its own stdio.h' > /usr/include/stdio.h && \
         exec \"$0\" \"$@\"",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[test]
fn a_helper_without_the_masters_headers_builds_the_masters_object() {
    let dir = workload::prepare("lua");
    let (flags, src, _) = workload::units(&dir);
    let flags = words(&flags);
    // The control: in that namespace, gcc cannot compile the unit from its own headers.
    let mut control = without_usr_include();
    control.extend(["gcc".into(), "-fsyntax-only".into(), "lauxlib.c".into()]);
    control.extend(flags.iter().cloned());
    let st = std::process::Command::new(&control[0])
        .args(&control[1..])
        .current_dir(&src)
        .output()
        .unwrap();
    assert!(!st.status.success(), "the namespace hides nothing");

    let w = World::new();
    let mut o = DaemonOptions::new(DaemonKind::Ours);
    o.wrapper = without_usr_include();
    let d = Daemon::start(&w, o);
    // The daemon itself sees the poisoned /usr/include.
    let seen = std::fs::read_to_string(format!("/proc/{}/root/usr/include/stdio.h", d.pid()));
    assert!(seen.unwrap().contains("#error"));
    let out = tempfile::tempdir().unwrap();
    for extra in ["", "-g"] {
        let mut flags = flags.clone();
        flags.extend(words(extra));
        let u = unit(&src, &flags, "lauxlib.c");
        let (_, reply) = send(&d, &u);
        let local_o = out.path().join("local.o").display().to_string();
        let mut args: Vec<&str> = flags.iter().map(String::as_str).collect();
        args.extend(["-c", "lauxlib.c", "-o", &local_o]);
        let local = compile_local(&src, &args, &local_o);
        assert!(local == reply.object, "lauxlib.c {extra}: objects differ");
    }
}
