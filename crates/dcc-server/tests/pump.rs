//! Protocol 3 (pump): a hand-built request in the shape distcc's pump client sends (reference
//! §1.7) compiles from the client's tree, returns the right .d, leaves no server path in the
//! object; and escapes through NAME or LINK are refused with nothing written outside the job.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::time::Duration;

use dcc_proto::{FileEntry, Protocol, Request, RequestBody, RequestHeader};
use dcc_testkit::wire::{decode_reply, exchange};
use dcc_testkit::{Daemon, World};

const T: Duration = Duration::from_secs(60);

fn up(depth: usize) -> String {
    "../".repeat(depth + 2)
}

/// The request a pump client sends for `gcc <flags> -MD -c m.c -o m.o` in `cwd`.
fn pump_request(cwd: &str, flags: &[&str], files: Vec<FileEntry>) -> Vec<u8> {
    let mut argv = vec!["gcc".to_string()];
    argv.extend(flags.iter().map(|s| s.to_string()));
    argv.extend(
        ["-MD", "-c", "m.c", "-o", "m.o", "-MT", "m.o"]
            .iter()
            .map(|s| s.to_string()),
    );
    Request {
        header: RequestHeader {
            protocol: Protocol::V3,
            cdir: Some(cwd.to_string()),
            argv,
        },
        body: RequestBody::Files(files),
    }
    .encode()
    .unwrap()
}

fn tree(w: &World) -> (String, Vec<FileEntry>) {
    let m = "#include <stdio.h>\n#include \"inc/a.h\"\nint main(void) { printf(\"%d\\n\", A); return 0; }\n";
    let a = "#define A 42\n";
    w.write("src/p3/m.c", m);
    w.write("src/p3/inc/a.h", a);
    let cwd = w.path("src/p3").to_string_lossy().into_owned();
    let depth = cwd.matches('/').count();
    let files = vec![
        FileEntry::File {
            name: format!("{cwd}/m.c"),
            contents: m.as_bytes().to_vec(),
        },
        FileEntry::File {
            name: format!("{cwd}/inc/a.h"),
            contents: a.as_bytes().to_vec(),
        },
        FileEntry::Link {
            name: "/usr/include".into(),
            target: format!("{}usr/include", up(1)),
        },
        FileEntry::File {
            name: format!("{cwd}/forcing_technique_271828"),
            contents: Vec::new(),
        },
        FileEntry::File {
            name: format!("{cwd}/inc/forcing_technique_271828"),
            contents: Vec::new(),
        },
    ];
    let _ = depth;
    (cwd, files)
}

#[test]
fn pump_compiles_with_a_clean_dotd_and_no_server_paths() {
    let w = World::new();
    let d = Daemon::ours(&w);
    let (cwd, files) = tree(&w);
    let ex = exchange(d.addr(), &pump_request(&cwd, &["-g", "-O2"], files), T);
    let r = decode_reply(&ex.reply, 3).expect("reply");
    assert_eq!(r.status, 0, "{}", String::from_utf8_lossy(&r.stderr));
    // The local build, in the same directory.
    let st = std::process::Command::new("gcc")
        .args(["-g", "-O2", "-MD", "-c", "m.c", "-o", "m.o"])
        .current_dir(w.path("src/p3"))
        .status()
        .unwrap();
    assert!(st.success());
    let local_d = std::fs::read_to_string(w.path("src/p3/m.d")).unwrap();
    let remote_d = String::from_utf8(r.dotd.clone().expect("DOTD on success")).unwrap();
    assert_eq!(remote_d, local_d, ".d as gcc writes it locally");
    let tmp = w.path("tmp").to_string_lossy().into_owned();
    let has = |needle: &[u8]| r.object.windows(needle.len()).any(|x| x == needle);
    assert!(!has(b"distccd_"), "a job path is left in the object");
    assert!(
        !has(tmp.as_bytes()),
        "the daemon's TMPDIR is left in the object"
    );
    let local_o = std::fs::read(w.path("src/p3/m.o")).unwrap();
    assert!(
        r.object == local_o,
        "the remote object is byte-identical to the local one"
    );
    let log = d.wait_log("COMPILE_OK", 1);
    assert!(log.contains("COMPILE_OK exit:0"), "{log}");
    assert!(w.tmp_leftovers().is_empty());
}

#[test]
fn pump_escapes_are_refused_and_nothing_lands_outside() {
    let w = World::new();
    let d = Daemon::ours(&w);
    let (cwd, files) = tree(&w);
    let outside = w.path("logs/escaped");
    let outside_s = outside.to_string_lossy().into_owned();
    let cases: Vec<Vec<FileEntry>> = vec![
        // ../ in a NAME.
        vec![FileEntry::File {
            name: format!("{cwd}/../../../../../../../../{outside_s}"),
            contents: b"x".to_vec(),
        }],
        // A link to a directory outside the job, then a file written through it.
        vec![
            FileEntry::Link {
                name: format!("{cwd}/out"),
                target: format!("{}{}", up(20), w.path("logs").display()),
            },
            FileEntry::File {
                name: format!("{cwd}/out/escaped"),
                contents: b"x".to_vec(),
            },
        ],
        // A system link, then a file written through it.
        vec![
            FileEntry::Link {
                name: "/usr/include".into(),
                target: format!("{}usr/include", up(1)),
            },
            FileEntry::File {
                name: "/usr/include/escaped.h".into(),
                contents: b"x".to_vec(),
            },
        ],
        // An absolute link target (distcc prefixes it with the root) and a write through it.
        vec![
            FileEntry::Link {
                name: format!("{cwd}/abs"),
                target: w.path("logs").to_string_lossy().into_owned(),
            },
            FileEntry::File {
                name: format!("{cwd}/abs/escaped"),
                contents: b"x".to_vec(),
            },
        ],
        // A relative NAME.
        vec![FileEntry::File {
            name: "relative/escaped".into(),
            contents: b"x".to_vec(),
        }],
    ];
    for (i, mut bad) in cases.into_iter().enumerate() {
        let mut all = files.clone();
        all.append(&mut bad);
        let ex = exchange(d.addr(), &pump_request(&cwd, &[], all), T);
        let r = decode_reply(&ex.reply, 3).unwrap_or_else(|e| panic!("case {i}: {e}"));
        assert_eq!(r.status, 113 << 8, "case {i}");
        assert!(
            String::from_utf8_lossy(&r.stderr).contains("refuses the file list"),
            "case {i}: {}",
            String::from_utf8_lossy(&r.stderr)
        );
        assert!(!outside.exists(), "case {i} wrote outside the job");
        assert!(!std::path::Path::new("/usr/include/escaped.h").exists());
    }
    // A cwd that climbs out, and an input that does.
    let req = Request {
        header: RequestHeader {
            protocol: Protocol::V3,
            cdir: Some("/a/../../..".into()),
            argv: ["gcc", "-c", "m.c", "-o", "m.o"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        },
        body: RequestBody::Files(files.clone()),
    }
    .encode()
    .unwrap();
    let r = decode_reply(&exchange(d.addr(), &req, T).reply, 3).unwrap();
    assert_ne!(r.status, 0);
    let mut t = w.tmp_leftovers();
    for _ in 0..100 {
        if t.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
        t = w.tmp_leftovers();
    }
    assert!(t.is_empty(), "{t:?}");
    // And an honest pump client is served afterwards.
    let ex = exchange(d.addr(), &pump_request(&cwd, &[], files), T);
    assert_eq!(decode_reply(&ex.reply, 3).unwrap().status, 0);
}

/// Wait for the daemon's TMPDIR to be empty (a job directory goes just after the reply).
fn assert_tmp_clean(w: &World) {
    for _ in 0..300 {
        if w.tmp_leftovers().is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("left in TMPDIR: {:?}", w.tmp_leftovers());
}

/// Issue 10, hole 1: a `NAME` 2000 directories deep compiled, then the daemon died of a stack
/// overflow removing the job's directory (every job in flight with it), leaving the tree.
#[test]
fn hole1_a_name_2000_directories_deep_is_refused_and_the_daemon_lives() {
    let w = World::new();
    let d = Daemon::ours(&w);
    let (cwd, mut files) = tree(&w);
    files.push(FileEntry::File {
        name: format!("/src/{}f", "d/".repeat(2000)),
        contents: b"int f;\n".to_vec(),
    });
    let ex = exchange(d.addr(), &pump_request(&cwd, &[], files.clone()), T);
    let r = decode_reply(&ex.reply, 3).expect("a refusal");
    assert_eq!(r.status, 113 << 8);
    let serr = String::from_utf8_lossy(&r.stderr);
    assert!(serr.contains("directories deep"), "{serr}");
    assert_tmp_clean(&w);
    files.pop();
    let ex = exchange(d.addr(), &pump_request(&cwd, &[], files), T);
    assert_eq!(decode_reply(&ex.reply, 3).unwrap().status, 0);
    assert_tmp_clean(&w);
}

/// Issue 10, hole 1: job directories a killed daemon left behind are removed when the next
/// daemon starts (here a tree 100 levels deep, kept with DISTCC_SAVE_TEMPS, then SIGKILL).
#[test]
fn hole1_leftover_job_directories_are_swept_at_start_up() {
    let w = World::new();
    let opts = dcc_testkit::daemon::DaemonOptions::new(dcc_testkit::DaemonKind::Ours)
        .env("DISTCC_SAVE_TEMPS", "1");
    let mut d = dcc_testkit::Daemon::start(&w, opts);
    let (cwd, mut files) = tree(&w);
    files.push(FileEntry::File {
        name: format!("/src/{}f", "d/".repeat(100)),
        contents: b"int f;\n".to_vec(),
    });
    let ex = exchange(d.addr(), &pump_request(&cwd, &[], files.clone()), T);
    assert_eq!(decode_reply(&ex.reply, 3).unwrap().status, 0);
    d.wait_log("COMPILE_OK", 1);
    assert_eq!(w.tmp_leftovers().len(), 1, "the job directory is kept");
    d.signal(libc::SIGKILL);
    assert!(d.wait(Duration::from_secs(10)).is_some());
    let d2 = Daemon::ours(&w);
    assert!(w.tmp_leftovers().is_empty(), "{:?}", w.tmp_leftovers());
    assert!(d2.log_text().contains("left in"), "{}", d2.log_text());
    files.pop();
    let ex = exchange(d2.addr(), &pump_request(&cwd, &[], files), T);
    assert_eq!(decode_reply(&ex.reply, 3).unwrap().status, 0);
    assert_tmp_clean(&w);
}

/// Issue 10, hole 3: a client shipped `a.h.gch` beside `a.h`; cc1 loaded it instead of the
/// header (a PCH is a raw image of cc1's memory; a corrupted one crashes cc1). Refused, as are
/// a `NAME.gch/` directory, clang's `.pch` and a link to a `.gch`.
#[test]
fn hole3_precompiled_headers_from_the_client_are_refused() {
    let w = World::new();
    let d = Daemon::ours(&w);
    let (cwd, files) = tree(&w);
    let garbage = b"gpch\x01\x02corrupted image of cc1's heap".to_vec();
    let cases: Vec<FileEntry> = vec![
        FileEntry::File {
            name: format!("{cwd}/inc/a.h.gch"),
            contents: garbage.clone(),
        },
        FileEntry::File {
            name: format!("{cwd}/inc/a.h.gch/x86_64.gch"),
            contents: garbage.clone(),
        },
        FileEntry::File {
            name: format!("{cwd}/inc/a.h.pch"),
            contents: garbage.clone(),
        },
        FileEntry::Link {
            name: format!("{cwd}/inc/b.h"),
            target: "a.h.gch".into(),
        },
    ];
    for (i, bad) in cases.into_iter().enumerate() {
        let mut all = files.clone();
        all.push(bad);
        let ex = exchange(d.addr(), &pump_request(&cwd, &["-H"], all), T);
        let r = decode_reply(&ex.reply, 3).unwrap_or_else(|e| panic!("case {i}: {e}"));
        assert_eq!(r.status, 113 << 8, "case {i}");
        let serr = String::from_utf8_lossy(&r.stderr);
        assert!(serr.contains("precompiled header"), "case {i}: {serr}");
        assert!(
            !serr.contains("a.h.gch\n"),
            "case {i}: cc1 must not have run: {serr}"
        );
        assert_tmp_clean(&w);
    }
    let ex = exchange(d.addr(), &pump_request(&cwd, &[], files), T);
    assert_eq!(decode_reply(&ex.reply, 3).unwrap().status, 0);
    assert_tmp_clean(&w);
}

/// Issue 10, weakness 6: `LINK /src/inc -> ../../../../../../usr/include`, then
/// `LINK /src/r -> inc/../..` passed the lexical checks, and `-I/src/r/etc` read the server's
/// `/etc` through `/`. The second link is refused.
#[test]
fn weakness6_a_link_chain_to_the_servers_root_is_refused() {
    let w = World::new();
    let d = Daemon::ours(&w);
    let (cwd, files) = tree(&w);
    let mut all = files.clone();
    all.push(FileEntry::Link {
        name: "/src/inc".into(),
        target: "../../../../../../usr/include".into(),
    });
    all.push(FileEntry::Link {
        name: "/src/r".into(),
        target: "inc/../..".into(),
    });
    let ex = exchange(d.addr(), &pump_request(&cwd, &["-I/src/r/etc"], all), T);
    let r = decode_reply(&ex.reply, 3).expect("a refusal");
    assert_eq!(r.status, 113 << 8);
    let serr = String::from_utf8_lossy(&r.stderr);
    assert!(serr.contains("inc/../.."), "{serr}");
    assert_tmp_clean(&w);
    let ex = exchange(d.addr(), &pump_request(&cwd, &[], files), T);
    assert_eq!(decode_reply(&ex.reply, 3).unwrap().status, 0);
    assert_tmp_clean(&w);
}

/// Issue 10, weakness 7: the compiler's messages named the job's server paths
/// (`.../distccd_XXXXXX/root/...`); they name the client's, as the object and .d do.
#[test]
fn weakness7_serr_names_the_clients_paths() {
    let w = World::new();
    let d = Daemon::ours(&w);
    let (cwd, mut files) = tree(&w);
    let m = "#include \"b.h\"\nint main(void) { return 0; }\n";
    files[0] = FileEntry::File {
        name: format!("{cwd}/m.c"),
        contents: m.as_bytes().to_vec(),
    };
    files.push(FileEntry::File {
        name: format!("{cwd}/inc/b.h"),
        contents: b"#error boom\n".to_vec(),
    });
    let inc = format!("-I{cwd}/inc");
    let ex = exchange(d.addr(), &pump_request(&cwd, &[&inc], files), T);
    let r = decode_reply(&ex.reply, 3).expect("reply");
    assert_eq!(r.status, 1 << 8);
    let serr = String::from_utf8_lossy(&r.stderr);
    assert!(
        serr.contains(&format!("{cwd}/inc/b.h:1:2: error")),
        "{serr}"
    );
    assert!(!serr.contains("distccd_"), "a server path in SERR: {serr}");
    assert!(
        !serr.contains(&*w.path("tmp").to_string_lossy()),
        "the daemon's TMPDIR in SERR: {serr}"
    );
    assert_tmp_clean(&w);
}
