use super::*;
use proptest::prelude::*;

fn ev(kind: EventKind, host: &str, file: &str, reason: &str) -> Event {
    Event {
        time: UNIX_EPOCH + Duration::from_millis(1_715_000_000_123),
        pid: 4242,
        kind,
        host: host.into(),
        file: file.into(),
        reason: reason.into(),
    }
}

#[test]
fn line_format_is_the_documented_one() {
    let e = ev(
        EventKind::Backoff,
        "127.0.0.1:3632/4,lzo",
        "src/a.c",
        "failed to connect to 127.0.0.1:3632: Connection refused",
    );
    assert_eq!(
        encode_event(&e),
        "1715000000.123\t4242\tbackoff\t127.0.0.1:3632/4,lzo\tsrc/a.c\t\
         failed to connect to 127.0.0.1:3632: Connection refused\n"
    );
    let line = encode_event(&e);
    assert_eq!(decode_event(line.trim_end_matches('\n')), Some(e));
}

#[test]
fn empty_names_are_dashes_and_control_characters_spaces() {
    let e = ev(EventKind::Local, "", "we\tird\nname.c", "a\tb");
    let line = encode_event(&e);
    assert_eq!(line, "1715000000.123\t4242\tlocal\t-\twe ird name.c\ta b\n");
    let d = decode_event(line.trim_end()).unwrap();
    assert_eq!(d.host, "");
    assert_eq!(d.file, "we ird name.c");
    assert_eq!(d.reason, "a b");
}

#[test]
fn long_fields_are_cut_at_a_character_boundary() {
    let e = ev(
        EventKind::Failed,
        &"h".repeat(300),
        &"é".repeat(200),
        &"r".repeat(5000),
    );
    let line = encode_event(&e);
    assert!(line.len() < 1600, "{}", line.len());
    let d = decode_event(line.trim_end()).unwrap();
    assert_eq!(d.host.len(), 255);
    assert_eq!(d.file.len(), 254, "é is two bytes: cut before the 128th");
    assert_eq!(d.reason.len(), 1000);
}

#[test]
fn bad_lines_are_skipped() {
    for bad in [
        "",
        "x\t1\tlocal\t-\t-\tr",
        "1.5\tx\tlocal\t-\t-\tr",
        "1\t1\tmystery\t-\t-\tr",
        "1\t1\tlocal\t-\t-",
        "-1\t1\tlocal\t-\t-\tr",
        "1.1234567890\t1\tlocal\t-\t-\tr",
    ] {
        assert_eq!(decode_event(bad), None, "{bad:?}");
    }
    let d = decode_event("7\t1\terror\th\tf\treason\twith tab").unwrap();
    assert_eq!(d.time, UNIX_EPOCH + Duration::from_secs(7));
    assert_eq!(d.kind, EventKind::Error);
    assert_eq!(d.reason, "reason\twith tab", "the reason runs to the end");
}

#[test]
fn append_then_read() {
    let tmp = tempfile::tempdir().unwrap();
    assert_eq!(read_events(tmp.path()).unwrap(), vec![]);
    let a = ev(
        EventKind::Backoff,
        "h1",
        "a.c",
        "timeout while connecting to h1",
    );
    let b = ev(
        EventKind::Local,
        "h1",
        "a.c",
        "timeout while connecting to h1",
    );
    append_event(tmp.path(), &a).unwrap();
    append_event(tmp.path(), &b).unwrap();
    assert_eq!(read_events(tmp.path()).unwrap(), vec![a, b]);
}

#[test]
fn writer_rotates_at_the_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let big = ev(EventKind::Failed, "h", "f.c", &"x".repeat(900));
    let line_len = encode_event(&big).len() as u64;
    let n = EVENTS_MAX_BYTES / line_len + 1;
    for _ in 0..n {
        append_event(tmp.path(), &big).unwrap();
    }
    assert!(!events_old_path(tmp.path()).exists());
    assert!(std::fs::metadata(events_path(tmp.path())).unwrap().len() >= EVENTS_MAX_BYTES);
    let last = ev(EventKind::Local, "h", "g.c", "after rotation");
    append_event(tmp.path(), &last).unwrap();
    assert_eq!(
        std::fs::metadata(events_old_path(tmp.path()))
            .unwrap()
            .len(),
        n * line_len
    );
    assert_eq!(
        std::fs::read_to_string(events_path(tmp.path())).unwrap(),
        encode_event(&last)
    );
    let all = read_events(tmp.path()).unwrap();
    assert_eq!(all.len() as u64, n + 1);
    assert_eq!(all.last(), Some(&last));
}

#[test]
fn tail_follows_appends_partial_lines_and_rotation() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut tail = EventTail::new(dir);
    assert_eq!(tail.poll().unwrap(), vec![]);
    let a = ev(EventKind::Backoff, "h1", "a.c", "one");
    append_event(dir, &a).unwrap();
    assert_eq!(tail.poll().unwrap(), vec![a.clone()]);
    assert_eq!(tail.poll().unwrap(), vec![], "nothing new");

    // Half a line now, the rest later.
    let b = ev(EventKind::Local, "h1", "b.c", "two");
    let line = encode_event(&b);
    let (head, rest) = line.split_at(10);
    let mut f = OpenOptions::new()
        .append(true)
        .open(events_path(dir))
        .unwrap();
    f.write_all(head.as_bytes()).unwrap();
    assert_eq!(tail.poll().unwrap(), vec![]);
    f.write_all(rest.as_bytes()).unwrap();
    assert_eq!(tail.poll().unwrap(), vec![b]);

    // Rotation between polls: the end of the old file, then the new one.
    let c = ev(EventKind::Failed, "h2", "c.c", "three");
    let d = ev(EventKind::Local, "h2", "d.c", "four");
    append_event(dir, &c).unwrap();
    std::fs::rename(events_path(dir), events_old_path(dir)).unwrap();
    append_event(dir, &d).unwrap();
    assert_eq!(tail.poll().unwrap(), vec![c, d]);

    // Truncated by hand: read from the start again.
    std::fs::write(events_path(dir), "").unwrap();
    let e = ev(EventKind::Error, "", "e.c", "five");
    append_event(dir, &e).unwrap();
    assert_eq!(tail.poll().unwrap(), vec![e]);

    // A new tail starts with the whole history.
    let mut fresh = EventTail::new(dir);
    assert_eq!(fresh.poll().unwrap().len(), 4);
}

#[test]
fn huge_foreign_file_reads_only_its_end() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let filler = vec![b'z'; (READ_MAX + 10_000) as usize];
    std::fs::write(events_path(dir), &filler).unwrap();
    let mut f = OpenOptions::new()
        .append(true)
        .open(events_path(dir))
        .unwrap();
    f.write_all(b"\n").unwrap();
    let a = ev(EventKind::Local, "h", "a.c", "end");
    f.write_all(encode_event(&a).as_bytes()).unwrap();
    assert_eq!(read_events(dir).unwrap(), vec![a]);
}

proptest! {
    #[test]
    fn round_trip(
        ms in 0u64..4_000_000_000_000,
        pid in any::<u32>(),
        kind in prop_oneof![
            Just(EventKind::Backoff), Just(EventKind::Failed),
            Just(EventKind::Local), Just(EventKind::Error)
        ],
        host in "[^\\p{C}]{1,40}",
        file in "[^\\p{C}]{1,40}",
        reason in "[^\\p{C}]{0,80}",
    ) {
        let e = Event {
            time: UNIX_EPOCH + Duration::from_millis(ms),
            pid, kind, host, file, reason,
        };
        let line = encode_event(&e);
        prop_assert!(line.ends_with('\n'));
        prop_assert_eq!(line.matches('\n').count(), 1);
        let d = decode_event(&line[..line.len() - 1]).unwrap();
        // "-" alone is the empty name; nothing else changes.
        let norm = |s: &str| if s == "-" { String::new() } else { s.to_owned() };
        prop_assert_eq!(d.time, e.time);
        prop_assert_eq!(d.pid, e.pid);
        prop_assert_eq!(d.kind, e.kind);
        prop_assert_eq!(d.host, norm(&e.host));
        prop_assert_eq!(d.file, norm(&e.file));
        prop_assert_eq!(d.reason, e.reason);
    }

    #[test]
    fn decode_never_panics(s in "\\PC*") {
        let _ = decode_event(&s);
    }
}
