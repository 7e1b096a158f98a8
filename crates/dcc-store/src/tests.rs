use super::*;

fn h(data: &[u8]) -> Hash {
    *blake3::hash(data).as_bytes()
}

fn blob(n: u8) -> Vec<u8> {
    vec![n; 100]
}

#[test]
fn put_checks_the_hash_and_stores_nothing_on_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path(), 1000).unwrap();
    let err = s.put(&h(b"other"), b"content").unwrap_err();
    assert!(matches!(err, StoreError::HashMismatch(_)));
    assert!(!s.has(&h(b"other")));
    assert_eq!(s.total_bytes(), 0);
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn least_recently_used_blob_is_evicted_first() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path(), 300).unwrap();
    for n in 1..=3 {
        s.put(&h(&blob(n)), &blob(n)).unwrap();
    }
    assert!(s.has(&h(&blob(1)))); // 1 is now more recent than 2
    s.put(&h(&blob(4)), &blob(4)).unwrap();
    assert!(!s.has(&h(&blob(2))));
    assert!(!dir.path().join(hex(&h(&blob(2)))).exists());
    for n in [1, 3, 4] {
        assert!(s.has(&h(&blob(n))), "{n}");
    }
    assert_eq!(s.total_bytes(), 300);
}

#[test]
fn pinned_blobs_are_never_evicted_and_the_bound_holds() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path(), 200).unwrap();
    s.put(&h(&blob(1)), &blob(1)).unwrap();
    s.put(&h(&blob(2)), &blob(2)).unwrap();
    let (pin, missing) = s.pin(&[h(&blob(1)), h(&blob(2)), h(&blob(1)), h(&blob(3))]);
    assert_eq!(missing, vec![h(&blob(3))]);
    let err = s.put(&h(&blob(3)), &blob(3)).unwrap_err();
    assert!(matches!(err, StoreError::Full { need: 100, free: 0 }));
    assert_eq!(s.total_bytes(), 200);
    drop(pin);
    s.put(&h(&blob(3)), &blob(3)).unwrap();
    assert_eq!(s.total_bytes(), 200);
}

#[test]
fn restart_removes_temporaries_and_adopts_blobs() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = Store::open(dir.path(), 1000).unwrap();
        s.put(&h(&blob(1)), &blob(1)).unwrap();
    }
    fs::write(dir.path().join("tmp-1-0"), b"half a blo").unwrap();
    fs::write(dir.path().join("not-a-hash"), b"left alone").unwrap();
    let s = Store::open(dir.path(), 1000).unwrap();
    assert!(!dir.path().join("tmp-1-0").exists());
    assert!(dir.path().join("not-a-hash").exists());
    assert!(s.has(&h(&blob(1))));
    assert_eq!(s.total_bytes(), 100);
    // A smaller bound than last time evicts at open.
    drop(s);
    let s = Store::open(dir.path(), 50).unwrap();
    assert_eq!(s.total_bytes(), 0);
}

#[test]
fn verify_removes_a_blob_corrupted_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path(), 1000).unwrap();
    s.put(&h(&blob(1)), &blob(1)).unwrap();
    assert!(s.verify(&h(&blob(1))).unwrap());
    let path = dir.path().join(hex(&h(&blob(1))));
    let mut perm = fs::metadata(&path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)] // test: simulate corruption
    perm.set_readonly(false);
    fs::set_permissions(&path, perm).unwrap();
    fs::write(&path, blob(2)).unwrap();
    assert!(!s.verify(&h(&blob(1))).unwrap());
    assert!(!s.has(&h(&blob(1))));
    assert_eq!(s.total_bytes(), 0);
}

#[test]
fn a_linked_file_survives_eviction() {
    let dir = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path(), 100).unwrap();
    s.put(&h(&blob(1)), &blob(1)).unwrap();
    let dest = root.path().join("stdio.h");
    s.link_into(&h(&blob(1)), &dest).unwrap();
    s.put(&h(&blob(2)), &blob(2)).unwrap(); // evicts 1
    assert!(!s.has(&h(&blob(1))));
    assert_eq!(fs::read(&dest).unwrap(), blob(1));
    assert!(matches!(
        s.link_into(&h(&blob(1)), &root.path().join("x")),
        Err(StoreError::Missing(_))
    ));
}

#[test]
fn concurrent_jobs_never_see_a_partial_or_vanished_pinned_blob() {
    // Eight jobs over 40 distinct blobs in a store that holds 10: constant eviction. Each
    // job pins its set, puts what is missing, links everything into its root and checks
    // every linked file's content against its hash.
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path(), 10 * 4096).unwrap();
    let blobs: Vec<Vec<u8>> = (0..40u8).map(|n| vec![n; 4096]).collect();
    std::thread::scope(|scope| {
        for job in 0..8usize {
            let s = Arc::clone(&s);
            let blobs = &blobs;
            scope.spawn(move || {
                for round in 0..30usize {
                    let root = tempfile::tempdir().unwrap();
                    let set: Vec<usize> = (0..3).map(|i| (job * 7 + round * 3 + i) % 40).collect();
                    let hashes: Vec<Hash> = set.iter().map(|&i| h(&blobs[i])).collect();
                    let (mut pin, missing) = s.pin(&hashes);
                    for m in missing {
                        let i = set[hashes.iter().position(|x| *x == m).unwrap()];
                        match s.put(&m, &blobs[i]) {
                            Ok(()) => pin.add(m),
                            // Other jobs' pins can fill the store; the bound wins.
                            Err(StoreError::Full { .. }) => {}
                            Err(e) => panic!("{e}"),
                        }
                    }
                    for (k, hash) in pin.hashes.clone().iter().enumerate() {
                        let dest = root.path().join(format!("f{k}"));
                        s.link_into(hash, &dest).unwrap();
                        assert_eq!(&h(&fs::read(&dest).unwrap()), hash);
                    }
                    assert!(s.total_bytes() <= 10 * 4096);
                    drop(pin);
                }
            });
        }
    });
    // Nothing left half-written, and the index matches the directory.
    let names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| parse_hex(n).is_some()), "{names:?}");
    let on_disk: u64 = names.len() as u64 * 4096;
    assert_eq!(on_disk, s.total_bytes());
}
