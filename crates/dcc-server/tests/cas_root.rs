//! DIST 0x303's helper side without the wire: a lua unit's job root built from the
//! content-addressed store (manifest from dcc_include), compiled with the master's chain under
//! the root, gives the object of a local build byte for byte, with and without -g.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::path::Path;
use std::process::Command;

use dcc_include::args::Lang;
use dcc_include::search_path::probe;
use dcc_include::{Kind, Origin, Outcome, Scanner};
use dcc_proto::cas::{ChainDir, ChainKind};
use dcc_server::cas_root::{build_root, chain_args, shipped_hashes};
use dcc_server::pump::Tree;
use dcc_store::Store;
use dcc_testkit::workload;

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

fn gcc(args: &[String], cwd: &Path) {
    let out = Command::new("gcc")
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "gcc {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Compile `unit` of lua locally and from a root built out of the store; the objects.
fn both(
    unit: &str,
    extra: &str,
    map_root: bool,
    store: &std::sync::Arc<Store>,
) -> (Vec<u8>, Vec<u8>) {
    let dir = workload::prepare("lua");
    let (flags, src, _) = workload::units(&dir);
    let mut flags = words(&flags);
    flags.extend(words(extra));
    let out = tempfile::tempdir().unwrap();
    let local = out.path().join("local.o");
    let mut argv = flags.clone();
    argv.extend([
        "-c".into(),
        unit.into(),
        "-o".into(),
        local.display().to_string(),
    ]);
    gcc(&argv, &src);

    let mut scan_argv = vec!["gcc".to_owned()];
    scan_argv.extend(argv.iter().cloned());
    let m = match Scanner::default()
        .scan(Path::new("gcc"), &scan_argv, &src)
        .outcome
    {
        Outcome::Complete(m) => m,
        Outcome::GiveUp(r) => panic!("scanner gave up: {r}"),
    };
    // What the client will send as CHNS (lua has no -I: every bracket directory is a
    // default system one).
    let (sp, _) = probe(Path::new("gcc"), &flags, Lang::C, None).unwrap();
    let mut chain: Vec<ChainDir> = Vec::new();
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
    // The master's side of the store: what the client would send as blobs.
    let (pin, missing) = store.pin(&shipped_hashes(&m));
    let mut pin = pin;
    for (path, e) in m.files() {
        if let (Kind::File { hash, .. }, Origin::Shipped) = (&e.kind, e.origin)
            && missing.contains(hash)
            && !store.has(hash)
        {
            store.put(hash, &std::fs::read(path).unwrap()).unwrap();
            pin.add(*hash);
        }
    }
    let root = tempfile::tempdir().unwrap();
    let mut tree = Tree::new(root.path().to_path_buf());
    build_root(&mut tree, &m, store).unwrap();
    let cwd = tree.make_cwd(src.to_str().unwrap()).unwrap();
    let remote = out.path().join("remote.o");
    let mut argv = flags.clone();
    argv.extend(chain_args(root.path(), &chain, &m).unwrap());
    if map_root {
        argv.push(format!("-ffile-prefix-map={}=", root.path().display()));
    }
    argv.extend([
        "-c".into(),
        unit.into(),
        "-o".into(),
        remote.display().to_string(),
    ]);
    gcc(&argv, &cwd);
    drop(pin);
    (
        std::fs::read(&local).unwrap(),
        std::fs::read(&remote).unwrap(),
    )
}

#[test]
fn lua_units_from_the_store_are_byte_identical_to_local_builds() {
    let store_dir = tempfile::tempdir().unwrap();
    let store = Store::open(store_dir.path(), dcc_store::DEFAULT_MAX_BYTES).unwrap();
    for unit in ["lapi.c", "lauxlib.c", "liolib.c"] {
        for extra in ["", "-g"] {
            let (local, remote) = both(unit, extra, true, &store);
            assert!(local == remote, "{unit} {extra}: objects differ");
        }
    }
}

#[test]
fn without_mapping_the_root_a_debug_object_differs() {
    // The control that shows the comparison above can fail: the root's path is in the
    // debug info unless it is mapped away.
    let store_dir = tempfile::tempdir().unwrap();
    let store = Store::open(store_dir.path(), dcc_store::DEFAULT_MAX_BYTES).unwrap();
    let (local, remote) = both("lapi.c", "-g", false, &store);
    assert!(local != remote);
}
