use super::*;
use dcc_common::MapEnv;

fn os(v: &[&str]) -> Vec<OsString> {
    v.iter().map(OsString::from).collect()
}

#[test]
fn args_follow_strtod() {
    assert_eq!(parse_args(&os(&[])), Some(Delay::Once));
    assert_eq!(parse_args(&os(&[""])), Some(Delay::Once));
    assert_eq!(parse_args(&os(&["0"])), Some(Delay::Once));
    assert_eq!(parse_args(&os(&["0.0"])), Some(Delay::Once));
    assert_eq!(
        parse_args(&os(&["1"])),
        Some(Delay::Every(Duration::from_secs(1)))
    );
    assert_eq!(
        parse_args(&os(&[" \t.5"])),
        Some(Delay::Every(Duration::from_millis(500)))
    );
    assert_eq!(
        parse_args(&os(&["2e0"])),
        Some(Delay::Every(Duration::from_secs(2)))
    );
    for bad in [
        "x", "1x", "1 ", " ", "1e", "--help", "-1", "nan", "inf", "0x10",
    ] {
        assert_eq!(parse_args(&os(&[bad])), None, "{bad:?}");
    }
    assert_eq!(parse_args(&os(&["1", "2"])), None);
}

fn job(pid: u32, phase: Phase, file: &str, host: &str, slot: i32) -> TaskState {
    TaskState {
        pid,
        file: file.into(),
        host: host.into(),
        slot,
        phase,
    }
}

#[test]
fn line_matches_the_measured_distcc_output() {
    // Reference §2.9, measured with Debian's distccmon-text.
    let mut out = Vec::new();
    format_job(
        &job(32657, Phase::Compile, "big.c", "127.0.0.1", 0),
        &mut out,
    );
    assert_eq!(
        String::from_utf8(out).unwrap(),
        " 32657  Compile     big.c                                         127.0.0.1[0]\n"
    );
}

#[test]
fn long_fields_are_cut_like_printf_precision() {
    let mut out = Vec::new();
    let file = "a_very_long_file_name_exceeding_thirty_chars.c";
    let host = "a-very-long-host-name-exceeding-24.example.com";
    format_job(&job(1234567, Phase::Preprocess, file, host, -1), &mut out);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "1234567  Preprocess  a_very_long_file_name_exceedin a-very-long-host-name-ex[-1]\n"
    );
    // Cut by bytes, inside a two-byte character, as C does.
    let mut out = Vec::new();
    format_job(&job(1, Phase::Send, &"é".repeat(20), "h", 0), &mut out);
    assert_eq!(&out[20..50], "é".repeat(15).as_bytes());
    let mut out = Vec::new();
    format_job(
        &job(1, Phase::Send, &format!("{}é", "a".repeat(29)), "h", 0),
        &mut out,
    );
    assert_eq!(out[20 + 29], 0xc3, "first byte of é kept, second cut");
    assert_eq!(out[20 + 30], b' ');
}

#[test]
fn render_skips_done_and_ends_with_a_blank_line() {
    assert_eq!(render(&[]), b"\n");
    let states = [
        job(1, Phase::Done, "a.c", "h", 0),
        job(2, Phase::Blocked, "b.c", "h", 1),
    ];
    let text = String::from_utf8(render(&states)).unwrap();
    assert_eq!(
        text,
        format!(
            "     2  Blocked     b.c{} {:>24}[1]\n\n",
            " ".repeat(27),
            "h"
        )
    );
}

#[test]
fn run_once_reads_the_state_dir() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("binstate_1"),
        dcc_state::encode_state(&TaskState::new(Phase::Connect, "x.c", "box", 2)),
    )
    .unwrap();
    let mut out = Vec::new();
    run(tmp.path(), Delay::Once, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("  Connect     x.c "), "{text}");
    assert!(text.ends_with("box[2]\n\n"), "{text}");
    let err = run(&tmp.path().join("gone"), Delay::Once, &mut Vec::new()).unwrap_err();
    assert_eq!(exit_status(&err), 107);
}

#[test]
fn logging_follows_traceenv() {
    let (l, e) = logger_from_env("distccmon-text", &MapEnv::new());
    assert_eq!(l.level(), Level::Warning);
    assert!(e.is_none());
    let env = MapEnv::new().with("DISTCC_VERBOSE", "1");
    assert_eq!(logger_from_env("m", &env).0.level(), Level::Debug);
    let tmp = tempfile::tempdir().unwrap();
    let env = MapEnv::new().with("DISTCC_LOG", tmp.path().join("log").as_os_str());
    let (l, e) = logger_from_env("m", &env);
    assert_eq!(l.level(), Level::Info);
    assert!(e.is_none());
    let env = MapEnv::new().with("DISTCC_LOG", "/nonexistent/dir/log");
    let (l, e) = logger_from_env("m", &env);
    assert_eq!(l.level(), Level::Warning);
    assert_eq!(
        e.as_deref(),
        Some("failed to open logfile /nonexistent/dir/log: No such file or directory")
    );
}
