use super::*;
use proptest::prelude::*;

fn sample() -> TaskState {
    TaskState {
        pid: 32657,
        file: "/src/dir/big.c".into(),
        host: "127.0.0.1".into(),
        slot: 3,
        phase: Phase::Compile,
    }
}

#[test]
#[cfg(target_pointer_width = "64")]
fn layout_is_distccs_x86_64_struct() {
    assert_eq!(STATE_SIZE, 296);
    let b = encode_state(&sample());
    assert_eq!(&b[0..8], &296u64.to_ne_bytes());
    assert_eq!(&b[8..16], &0x4449_4800u64.to_ne_bytes());
    assert_eq!(&b[16..24], &32657u64.to_ne_bytes());
    assert_eq!(&b[24..31], b"big.c\0\0", "basename only");
    assert!(b[24..152].iter().skip(5).all(|&c| c == 0));
    assert_eq!(&b[152..162], b"127.0.0.1\0");
    assert!(b[152..280].iter().skip(9).all(|&c| c == 0));
    assert_eq!(&b[280..284], &3i32.to_ne_bytes());
    assert_eq!(&b[284..288], &5u32.to_ne_bytes());
    assert_eq!(&b[288..296], &[0u8; 8], "next pointer");
}

#[test]
#[cfg(all(target_pointer_width = "64", target_endian = "little"))]
fn matches_the_capture_in_the_reference() {
    // Reference §2.9: `28 01 00 …`, magic `00 48 49 44`.
    let b = encode_state(&sample());
    assert_eq!(&b[0..3], &[0x28, 0x01, 0x00]);
    assert_eq!(&b[8..12], &[0x00, 0x48, 0x49, 0x44]);
}

#[test]
fn long_names_are_truncated_like_strlcpy() {
    let mut s = sample();
    s.file = format!("dir/{}.c", "a".repeat(200));
    s.host = "h".repeat(300);
    let b = encode_state(&s);
    let d = decode_state(&b).unwrap();
    assert_eq!(d.file.len(), 127);
    assert!(d.file.bytes().all(|c| c == b'a'));
    assert_eq!(d.host, "h".repeat(127));
    assert_eq!(b[OFF_FILE + 127], 0);
    assert_eq!(b[OFF_HOST + 127], 0);
    // Bytes, not characters, as strlcpy: a split character reads back as U+FFFD (what C
    // distccmon-text shows of it is the same 127 bytes).
    s.host = "é".repeat(100);
    let d = decode_state(&encode_state(&s)).unwrap();
    assert_eq!(d.host, format!("{}\u{fffd}", "é".repeat(63)));
}

#[test]
fn names_stop_at_nul_and_trailing_slash_gives_empty() {
    let mut s = sample();
    s.file = "a\0b.c".into();
    s.host = "dir/".into(); // hosts are not basenamed
    assert_eq!(decode_state(&encode_state(&s)).unwrap().file, "a");
    s.file = "dir/".into();
    let d = decode_state(&encode_state(&s)).unwrap();
    assert_eq!(d.file, "");
    assert_eq!(d.host, "dir/");
}

#[test]
fn decode_checks_like_mon_c() {
    let good = encode_state(&sample());
    assert_eq!(decode_state(&good[..STATE_SIZE - 1]), Err(BadState::Short));
    assert_eq!(decode_state(&[]), Err(BadState::Short));
    let mut bad = good;
    bad[OFF_MAGIC] ^= 1;
    assert_eq!(decode_state(&bad), Err(BadState::WrongMagic));
    let mut bad = good;
    bad[OFF_SIZE] ^= 1;
    assert_eq!(decode_state(&bad), Err(BadState::WrongSize));
    // A longer file is read as its first STATE_SIZE bytes.
    let mut long = good.to_vec();
    long.extend_from_slice(b"junk");
    let d = decode_state(&long).unwrap();
    assert_eq!(d.file, "big.c");
    // Unknown phases read as Compile; unterminated names are cut at 127.
    let mut odd = good;
    odd[OFF_PHASE..OFF_PHASE + 4].copy_from_slice(&9u32.to_ne_bytes());
    odd[OFF_FILE..OFF_FILE + NAME_LEN].fill(b'x');
    let d = decode_state(&odd).unwrap();
    assert_eq!(d.phase, Phase::Compile);
    assert_eq!(d.file, "x".repeat(127));
}

#[test]
fn phase_names_and_numbers() {
    let all = [
        (Phase::Startup, "Startup"),
        (Phase::Blocked, "Blocked"),
        (Phase::Connect, "Connect"),
        (Phase::Preprocess, "Preprocess"),
        (Phase::Send, "Send"),
        (Phase::Compile, "Compile"),
        (Phase::Receive, "Receive"),
        (Phase::Done, "Done"),
    ];
    for (i, (p, n)) in all.iter().enumerate() {
        assert_eq!(*p as u32, i as u32);
        assert_eq!(Phase::from_raw(i as u32), *p);
        assert_eq!(p.name(), *n);
    }
    assert_eq!(Phase::from_raw(u32::MAX), Phase::Compile);
}

proptest! {
    #[test]
    fn round_trip(file in "[^/\0]{0,127}", host in "[^\0]{0,127}", slot: i32, pid: u32, phase in 0u32..8) {
        prop_assume!(file.len() <= 127 && host.len() <= 127);
        let s = TaskState { pid, file, host, slot, phase: Phase::from_raw(phase) };
        prop_assert_eq!(decode_state(&encode_state(&s)), Ok(s));
    }

    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = decode_state(&bytes);
    }
}

#[test]
fn state_file_is_rewritten_in_place_and_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let mut sf = StateFile::create(tmp.path()).unwrap();
    let path = tmp.path().join(format!("binstate_{}", std::process::id()));
    assert_eq!(sf.path(), path);
    let mut s = TaskState::new(Phase::Startup, "x/long_name_file.c", "", 0);
    s.pid = 1; // ignored: the file carries our pid
    sf.write(&s).unwrap();
    s.phase = Phase::Send;
    s.file = "b.c".into();
    s.host = "box".into();
    sf.write(&s).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len(), STATE_SIZE);
    let d = decode_state(&bytes).unwrap();
    assert_eq!(d.pid, std::process::id());
    assert_eq!(
        (d.file.as_str(), d.host.as_str(), d.phase),
        ("b.c", "box", Phase::Send)
    );
    // No stale tail of the longer first name.
    assert!(bytes[OFF_FILE + 3..OFF_HOST].iter().all(|&c| c == 0));
    drop(sf);
    assert!(!path.exists());

    let sf = StateFile::create(tmp.path()).unwrap();
    sf.finish().unwrap();
    assert!(!path.exists());
}

/// A pid above any pid_max (4194304 at most on Linux).
const DEAD_PID: u32 = 1 << 30;

fn put(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn st(pid: u32, file: &str, host: &str, slot: i32, phase: Phase) -> TaskState {
    TaskState {
        pid,
        file: file.into(),
        host: host.into(),
        slot,
        phase,
    }
}

#[test]
fn read_states_filters_deletes_and_sorts_like_mon_c() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let me = std::process::id();
    put(
        d,
        "binstate_1",
        &encode_state(&st(me, "z.c", "beta", 1, Phase::Compile)),
    );
    put(
        d,
        "binstate_2",
        &encode_state(&st(me, "y.c", "alpha", 2, Phase::Send)),
    );
    put(
        d,
        "binstate_3",
        &encode_state(&st(me, "x.c", "beta", 0, Phase::Blocked)),
    );
    put(
        d,
        "binstate_4",
        &encode_state(&st(me, "w.c", "a-z", 9, Phase::Receive)),
    );
    let dead = put(
        d,
        "binstate_5",
        &encode_state(&st(DEAD_PID, "dead.c", "a", 0, Phase::Compile)),
    );
    put(
        d,
        "binstate_6",
        &encode_state(&st(DEAD_PID, "done.c", "zz", 0, Phase::Done)),
    );
    let mut bad = encode_state(&st(me, "bad.c", "a", 0, Phase::Compile));
    bad[OFF_MAGIC + 1] ^= 0xff;
    let badp = put(d, "binstate_7", &bad);
    put(d, "binstate_8", b"");
    put(
        d,
        "other_9",
        &encode_state(&st(me, "other.c", "a", 0, Phase::Compile)),
    );
    let old = put(
        d,
        "binstate_10",
        &encode_state(&st(me, "old.c", "a", 0, Phase::Compile)),
    );
    let now = SystemTime::now();
    File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(now - Duration::from_secs(61))
        .unwrap();

    let got = read_states(d, now).unwrap();
    let got: Vec<_> = got
        .iter()
        .map(|s| (s.file.as_str(), s.host.as_str(), s.slot))
        .collect();
    assert_eq!(
        got,
        [
            ("w.c", "a-z", 9),
            ("y.c", "alpha", 2),
            ("x.c", "beta", 0),
            ("z.c", "beta", 1),
            ("done.c", "zz", 0),
        ]
    );
    assert!(!old.exists(), "files older than 60 s are deleted");
    assert!(dead.exists(), "orphans are hidden, not deleted (src/mon.c)");
    assert!(badp.exists(), "wrong magic is skipped, not deleted");
}

#[test]
fn sixty_seconds_exactly_is_not_stale() {
    let tmp = tempfile::tempdir().unwrap();
    let p = put(
        tmp.path(),
        "binstate_1",
        &encode_state(&TaskState::new(Phase::Compile, "a.c", "h", 0)),
    );
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    File::options()
        .write(true)
        .open(&p)
        .unwrap()
        .set_modified(t)
        .unwrap();
    assert_eq!(
        read_states(tmp.path(), t + Duration::from_millis(60_999))
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        read_states(tmp.path(), t + Duration::from_secs(61))
            .unwrap()
            .len(),
        0
    );
    assert!(!p.exists());
}

#[test]
fn missing_state_dir_is_opendir_error() {
    let tmp = tempfile::tempdir().unwrap();
    let err = read_states(&tmp.path().join("no"), SystemTime::now()).unwrap_err();
    assert!(matches!(err, StateError::OpenDir { .. }));
    assert!(err.to_string().starts_with("failed to opendir "), "{err}");
}
