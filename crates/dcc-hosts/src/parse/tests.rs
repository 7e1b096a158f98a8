use super::*;
use proptest::prelude::*;

/// The output format of distcc's test helper `h_hosts` (test/h_hosts.c): the count, then per host
/// `%4d ` limit and `LOCAL`, `TCP host port` or `SSH user host command`.
fn h_hosts(list: &HostList) -> String {
    let mut out = format!("{}\n", list.hosts.len());
    for h in &list.hosts {
        let what = match &h.kind {
            HostKind::Local => "LOCAL".to_owned(),
            HostKind::Tcp { host, port } => format!("TCP {host} {port}"),
            HostKind::Ssh {
                user,
                host,
                command,
            } => format!(
                "SSH {} {host} {}",
                user.as_deref().unwrap_or("(no-user)"),
                command.as_deref().unwrap_or("(no-command)")
            ),
        };
        out += &format!("{:4} {what}\n", h.limit);
    }
    out
}

fn one(token: &str) -> HostSpec {
    let list = parse(token).unwrap_or_else(|e| panic!("{token:?}: {e}"));
    assert_eq!(list.hosts.len(), 1, "{token:?}");
    list.hosts.into_iter().next().unwrap()
}

fn tcp(host: &str, port: u16) -> HostKind {
    HostKind::Tcp {
        host: host.into(),
        port,
    }
}

/// distcc test/testdistcc.py `ParseHostSpec_Case`, input and expected output verbatim.
#[test]
fn parse_host_spec_case() {
    let spec = "localhost 127.0.0.1 @angry   ted@angry
        \t@angry:/home/mbp/bin/distccd  angry:4204
        ipv4-localhost
        angry/44
        angry:300/44
        angry/44:300
        angry,lzo
        angry:3000,lzo    # some comment
        angry/44,lzo
        @angry,lzo#asdasd
        # oh yeah nothing here
        @angry:/usr/sbin/distccd,lzo
        localhostbutnotreally
        ";
    let expected = "16
   2 LOCAL
   4 TCP 127.0.0.1 3632
   4 SSH (no-user) angry (no-command)
   4 SSH ted angry (no-command)
   4 SSH (no-user) angry /home/mbp/bin/distccd
   4 TCP angry 4204
   4 TCP ipv4-localhost 3632
  44 TCP angry 3632
  44 TCP angry 300
  44 TCP angry 300
   4 TCP angry 3632
   4 TCP angry 3000
  44 TCP angry 3632
   4 SSH (no-user) angry (no-command)
   4 SSH (no-user) angry /usr/sbin/distccd
   4 TCP localhostbutnotreally 3632
";
    let list = parse(spec).unwrap();
    assert_eq!(h_hosts(&list), expected);
    assert_eq!(list.hosts[10].compression, Compression::Lzo);
    assert_eq!(list.hosts[13].spec, "@angry,lzo");
    assert_eq!(list.hosts[13].compression, Compression::Lzo);
    assert!(!list.randomize && !list.zeroconf);
}

/// distcc test/testdistcc.py `InvalidHostSpec_Case`: each must fail with EXIT_BAD_HOSTSPEC.
#[test]
fn invalid_host_spec_case() {
    for spec in ["", "    ", "\t", "  @ ", ":", "mbp@", "angry::", ":4200"] {
        let err = parse(spec).expect_err(spec);
        assert_eq!(err.exit_code().code(), 106, "{spec:?}: {err}");
    }
    assert!(matches!(parse(""), Err(HostsError::NoHosts)));
    assert!(matches!(
        parse("  @ "),
        Err(HostsError::MissingHostname { kind: "SSH", token }) if token == "@"
    ));
    assert!(matches!(
        parse(":4200"),
        Err(HostsError::MissingHostname { kind: "tcp", token }) if token == ":4200"
    ));
    assert!(matches!(parse("angry::"), Err(HostsError::BadPort { token }) if token == "angry::"));
}

/// §2.3, measured: `--show-hosts` prints the host tokens verbatim; global options are not hosts.
#[test]
fn show_hosts_tokens_are_verbatim() {
    let list = parse(
        "--randomize localhost/3 127.0.0.1:3698/7,lzo @buildbox/2:/opt/bin/distccd,lzo,cpp \
         user@host2 [::1]:3632/5 oldhost/6:4000 --localslots=9 --localslots_cpp=11 hostx,down",
    )
    .unwrap();
    let specs: Vec<&str> = list.hosts.iter().map(|h| h.spec.as_str()).collect();
    assert_eq!(
        specs,
        [
            "localhost/3",
            "127.0.0.1:3698/7,lzo",
            "@buildbox/2:/opt/bin/distccd,lzo,cpp",
            "user@host2",
            "[::1]:3632/5",
            "oldhost/6:4000",
            "hostx,down"
        ]
    );
    assert!(list.randomize);
    assert_eq!((list.localslots, list.localslots_cpp), (9, 11));
    let pump = &list.hosts[2];
    assert_eq!(
        pump.kind,
        HostKind::Ssh {
            user: None,
            host: "buildbox".into(),
            command: Some("/opt/bin/distccd".into())
        }
    );
    assert_eq!(
        (pump.limit, pump.cpp, pump.protocol_version()),
        (2, true, 3)
    );
    assert_eq!(list.hosts[4].kind, tcp("::1", 3632));
    assert_eq!(list.hosts[5].kind, tcp("oldhost", 4000));
    assert_eq!(list.hosts[5].limit, 6);
    assert!(list.hosts[6].down);
}

#[test]
fn localhost_forms() {
    assert_eq!(one("localhost").kind, HostKind::Local);
    assert_eq!(one("localhost").limit, 2);
    assert_eq!(one("localhost/7").limit, 7);
    // Everything after the limit is ignored, options included (distcc `dcc_parse_localhost`).
    let h = one("localhost/3,lzo");
    assert_eq!(
        (h.kind, h.limit, h.compression),
        (HostKind::Local, 3, Compression::None)
    );
    assert_eq!(one("localhost:3632").kind, tcp("localhost", 3632));
    assert_eq!(one("localhost,lzo").kind, tcp("localhost", 3632));
    // Measured: distcc -j gives 4 for "localhost=3": a TCP host named "localhost=3".
    assert_eq!(one("localhost=3").kind, tcp("localhost=3", 3632));
    assert!(matches!(
        parse("localhost/0"),
        Err(HostsError::BadMultiplier { token }) if token == "localhost/0"
    ));
    assert!(matches!(
        parse("localhost/"),
        Err(HostsError::BadMultiplier { .. })
    ));
}

#[test]
fn limits_and_their_quirks() {
    // Measured with distcc 3.4's -j: '=' is part of a host name, but works after ']' and
    // after a first limit.
    let h = one("angry=3");
    assert_eq!((h.kind, h.limit), (tcp("angry=3", 3632), 4));
    assert_eq!(one("[::1]=5").limit, 5);
    assert_eq!(one("angry/4=5").limit, 5);
    assert_eq!(one("angry/4:300/5").limit, 5);
    // Trailing junk after a limit is ignored, and hides what follows.
    let h = one("angry/3x:300");
    assert_eq!((h.kind, h.limit), (tcp("angry", 3632), 3));
    assert_eq!(one("angry/007").limit, 7);
    for bad in [
        "angry/0",
        "angry/",
        "angry/x",
        "angry/+3",
        "angry/-3",
        "angry/4294967296",
    ] {
        assert!(
            matches!(parse(bad), Err(HostsError::BadMultiplier { ref token }) if token == bad),
            "{bad}"
        );
    }
    assert_eq!(one("angry/4294967295").limit, u32::MAX);
    assert!(matches!(
        parse("@angry/0"),
        Err(HostsError::BadMultiplier { .. })
    ));
}

#[test]
fn ports() {
    assert_eq!(one("angry:1").kind, tcp("angry", 1));
    assert_eq!(one("angry:65535/2,lzo").kind, tcp("angry", 65535));
    assert_eq!(one("[fe80::1%eth0]:4000").kind, tcp("fe80::1%eth0", 4000));
    // distcc accepts the first four with nonsense ports; we refuse them.
    for bad in [
        "angry:",
        "angry:0",
        "angry:-1",
        "angry:70000",
        "angry:+80",
        "angry:80x",
        "angry:80:90",
        "angry:80=5",
        "[::1]:",
        "[::1]:x",
    ] {
        assert!(
            matches!(parse(bad), Err(HostsError::BadPort { ref token }) if token == bad),
            "{bad}: {:?}",
            parse(bad)
        );
    }
}

#[test]
fn ipv6() {
    assert_eq!(one("[::1]").kind, tcp("::1", 3632));
    let h = one("[2001:db8::2]/3:4000,lzo");
    assert_eq!(
        (h.kind, h.limit, h.compression),
        (tcp("2001:db8::2", 4000), 3, Compression::Lzo)
    );
    assert!(matches!(
        parse("[::1"),
        Err(HostsError::UnclosedBracket { .. })
    ));
    assert!(matches!(
        parse("[::1/3]"),
        Err(HostsError::UnclosedBracket { .. })
    ));
    assert!(matches!(
        parse("[]"),
        Err(HostsError::MissingHostname { .. })
    ));
    // Brackets for SSH are ours; distcc would take "[" as the host.
    let h = one("fred@[::1]/2:/bin/distccd");
    assert_eq!(
        h.kind,
        HostKind::Ssh {
            user: Some("fred".into()),
            host: "::1".into(),
            command: Some("/bin/distccd".into())
        }
    );
    assert_eq!(h.limit, 2);
    // A bare IPv6 address is not a host spec.
    assert!(parse("::1").is_err());
    assert!(parse("fe80::1").is_err());
}

#[test]
fn ssh_forms() {
    let ssh = |user: Option<&str>, host: &str, command: Option<&str>| HostKind::Ssh {
        user: user.map(Into::into),
        host: host.into(),
        command: command.map(Into::into),
    };
    assert_eq!(one("@h").kind, ssh(None, "h", None));
    assert_eq!(one("u@h:").kind, ssh(Some("u"), "h", None));
    assert_eq!(one("u@h:,lzo").compression, Compression::Lzo);
    // The command keeps ':' '/' '@'; a limit after it is part of it.
    assert_eq!(one("@h:/a:b@c/4").kind, ssh(None, "h", Some("/a:b@c/4")));
    assert_eq!(one("@h:/a:b@c/4").limit, 4);
    assert_eq!(one("@h:22").kind, ssh(None, "h", Some("22")));
    // Only the first '@' splits user from host, as in distcc.
    let h = one("a@b@c/3");
    assert_eq!((h.kind, h.limit), (ssh(Some("a"), "b@c", None), 3));
    // '@' anywhere makes it SSH, even after a ':'.
    assert_eq!(one("angry:x@y").kind, ssh(Some("angry:x"), "y", None));
    for bad in ["@", "mbp@", "u@/3", "u@:cmd", "u@,lzo"] {
        assert!(
            matches!(
                parse(bad),
                Err(HostsError::MissingHostname { kind: "SSH", .. })
            ),
            "{bad}"
        );
    }
}

#[test]
fn options() {
    let h = one("angry,lzo,cpp");
    assert_eq!(
        (h.compression, h.cpp, h.protocol_version()),
        (Compression::Lzo, true, 3)
    );
    assert_eq!(one("angry,cpp,lzo").protocol_version(), 3);
    assert_eq!(one("angry,lzo,lzo").compression, Compression::Lzo);
    let h = one("angry,down");
    assert!(h.down && h.compression == Compression::None);
    assert_eq!(one("angry,auth").gssapi_auth, Some(None));
    assert_eq!(one("angry,auth=").gssapi_auth, Some(None));
    assert_eq!(
        one("angry,auth=host/x,cpp").gssapi_auth,
        Some(Some("host".into()))
    );
    let h = one("angry,auth=svc.example,lzo");
    assert_eq!(h.gssapi_auth, Some(Some("svc.example".into())));
    assert_eq!(h.compression, Compression::Lzo);
    assert_eq!(one("angry").gssapi_auth, None);
    // Prefix matching and the silent end of the list at a non-',' (distcc quirks).
    assert_eq!(one("angry,lzox").compression, Compression::Lzo);
    let h = one("angry,lzox,cpp");
    assert!(!h.cpp, "distcc never sees ,cpp after junk");
    assert!(one("angry,downtown").down);
}

#[test]
fn option_errors() {
    // distcc refuses `,cpp` alone ("pump mode (',cpp') requires compression"); ours takes it
    // as `,cpp,lzo` (docs/decisions/remote-preprocessing.md).
    for spec in ["angry,cpp", "@h:/bin/x,cpp", "h,cpp,secure"] {
        let h = one(spec);
        assert_eq!(
            (h.compression, h.cpp, h.protocol_version()),
            (Compression::Lzo, true, 3),
            "{spec}"
        );
    }
    let err = parse("angry/2,lzo,zstd").unwrap_err();
    assert!(
        matches!(err, HostsError::ConflictingCompression { .. }),
        "{err}"
    );
    for (bad, options) in [
        ("angry,", ","),
        ("angry,foo", ",foo"),
        ("angry,lzo,,", ",lzo,,"),
    ] {
        match parse(bad) {
            Err(HostsError::UnknownOption { token, options: o }) => {
                assert_eq!((token.as_str(), o.as_str()), (bad, options));
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
    let err = parse("angry,zest").unwrap_err();
    assert_eq!(
        err.to_string(),
        "unrecognized option in host specification: ,zest (in \"angry,zest\")"
    );
}

#[test]
fn our_extensions() {
    let h = one("angry,zstd");
    assert_eq!(
        (h.compression, h.cpp, h.protocol_version()),
        (Compression::Zstd, false, 0x102)
    );
    let h = one("angry:4000/8,zstd,cpp,secure");
    assert_eq!(h.protocol_version(), 0x103);
    assert!(h.secure && h.cpp);
    assert_eq!(h.limit, 8);
    let h = one("u@h/2:/opt/distccd,secure,lzo");
    assert!(h.secure);
    assert_eq!(h.protocol_version(), 2);
    assert!(!one("angry,lzo").secure);
}

#[test]
fn globals() {
    let list = parse("--randomizeplease --localslots_cppjunk --localslotsjunk a").unwrap();
    assert!(list.randomize);
    assert_eq!((list.localslots, list.localslots_cpp), (4, 8));
    let list = parse("--localslots/3 --localslots_cpp/5 a --localslots=6").unwrap();
    assert_eq!((list.localslots, list.localslots_cpp), (6, 5));
    let list = parse("--localslots=3x a").unwrap();
    assert_eq!(list.localslots, 3);
    // distcc turns "--localslots=0" into a TCP host and ignores "--localslots_cpp=0"; we refuse.
    for bad in [
        "--localslots=0 a",
        "--localslots_cpp=0 a",
        "--localslots= a",
    ] {
        assert!(
            matches!(parse(bad), Err(HostsError::BadMultiplier { .. })),
            "{bad}"
        );
    }
    // Only global options is still "no hosts".
    assert!(matches!(
        parse("--randomize --localslots=2"),
        Err(HostsError::NoHosts)
    ));
    // +zeroconf must match exactly; alone, it parses with no hosts yet.
    let list = parse("+zeroconf").unwrap();
    assert!(list.zeroconf && list.hosts.is_empty());
    assert_eq!(one("+zeroconfx").kind, tcp("+zeroconfx", 3632));
    // A host named like an option is just a host (distcc does the same).
    assert_eq!(one("--foo").kind, tcp("--foo", 3632));
}

#[test]
fn separators_and_comments() {
    let list = parse("a\tb\nc\rd\x0ce\x0bf  g\r\n").unwrap();
    let specs: Vec<&str> = list.hosts.iter().map(|h| h.spec.as_str()).collect();
    assert_eq!(specs, ["a", "b", "c", "d", "e", "f", "g"]);
    // '#' ends a token and starts a comment that runs to \n or \r.
    let list = parse("a#b c\nd # e\r f#\n#only comment\ng").unwrap();
    let specs: Vec<&str> = list.hosts.iter().map(|h| h.spec.as_str()).collect();
    assert_eq!(specs, ["a", "d", "f", "g"]);
    // distcc would call this host "angry#x" with limit 3; we stop at '#'.
    let h = one("angry#x/3");
    assert_eq!(
        (h.spec.as_str(), h.kind, h.limit),
        ("angry", tcp("angry", 3632), 4)
    );
    assert!(matches!(
        parse("# nothing\n   # at all"),
        Err(HostsError::NoHosts)
    ));
    // Non-ASCII text is carried through, never split inside a character.
    assert_eq!(one("hôte/2").kind, tcp("hôte", 3632));
    assert_eq!(one("\u{a0}x").spec, "\u{a0}x");
}

/// A valid spec token for generated hosts, with the HostSpec it must parse to.
fn arb_host() -> impl Strategy<Value = HostSpec> {
    let name =
        "[a-z][a-z0-9.-]{0,12}".prop_filter("not localhost", |s| !s.starts_with("localhost"));
    let v6 = "[0-9a-f]{1,4}(:[0-9a-f]{0,4}){1,5}";
    let limit = proptest::option::of(1u32..=10_000);
    let tcp_kind = (
        prop_oneof![
            name.clone().prop_map(|n| (n.clone(), n)),
            v6.prop_map(|a| (format!("[{a}]"), a))
        ],
        proptest::option::of(1u16..=u16::MAX),
        any::<bool>(),
    );
    let ssh_kind = (
        proptest::option::of("[a-z_][a-z0-9_]{0,8}"),
        name,
        proptest::option::of("/[a-zA-Z0-9/_.:@-]{0,20}"),
    );
    let auth = proptest::option::of(proptest::option::of("[a-z][a-z0-9.]{0,10}"));
    let opts = (
        0u8..3,
        any::<bool>(),
        any::<bool>(),
        auth,
        any::<bool>(),
        any::<u64>(),
    );
    let kind = prop_oneof![
        Just(None),
        tcp_kind.prop_map(Some).prop_map(|k| k.map(Ok)),
        ssh_kind.prop_map(|k| Some(Err(k))),
    ];
    (kind, limit, opts).prop_map(|(kind, limit, (compr, cpp, down, auth, secure, order))| {
        let (text, kind, default_limit, options_allowed) = match kind {
            None => ("localhost".to_owned(), HostKind::Local, 2, false),
            Some(Ok(((shown, host), port, old_style))) => {
                let port_text = port.map(|p| format!(":{p}")).unwrap_or_default();
                let limit_text = limit.map(|l| format!("/{l}")).unwrap_or_default();
                let text = if old_style {
                    format!("{shown}{limit_text}{port_text}")
                } else {
                    format!("{shown}{port_text}{limit_text}")
                };
                let port = port.unwrap_or(3632);
                (text, HostKind::Tcp { host, port }, 4, true)
            }
            Some(Err((user, host, command))) => {
                let mut text = format!("{}@{host}", user.clone().unwrap_or_default());
                if let Some(l) = limit {
                    text += &format!("/{l}");
                }
                if let Some(c) = &command {
                    text += &format!(":{c}");
                }
                let command = command.filter(|c| !c.is_empty());
                (
                    text,
                    HostKind::Ssh {
                        user,
                        host,
                        command,
                    },
                    4,
                    true,
                )
            }
        };
        let mut spec = HostSpec {
            spec: String::new(),
            kind,
            limit: limit.unwrap_or(default_limit),
            compression: Compression::None,
            cpp: false,
            down: false,
            gssapi_auth: None,
            secure: false,
        };
        let mut text = text;
        if matches!(spec.kind, HostKind::Local) {
            if let Some(l) = limit {
                text += &format!("/{l}");
            }
        } else if options_allowed {
            let mut parts: Vec<String> = Vec::new();
            spec.compression =
                [Compression::None, Compression::Lzo, Compression::Zstd][usize::from(compr)];
            match spec.compression {
                Compression::Lzo => parts.push(",lzo".into()),
                Compression::Zstd => parts.push(",zstd".into()),
                Compression::None => {}
            }
            spec.cpp = cpp && spec.compression != Compression::None;
            if spec.cpp {
                parts.push(",cpp".into());
            }
            spec.down = down;
            if down {
                parts.push(",down".into());
            }
            if let Some(name) = &auth {
                parts.push(match name {
                    Some(n) => format!(",auth={n}"),
                    None => ",auth".into(),
                });
            }
            spec.gssapi_auth = auth;
            spec.secure = secure;
            if secure {
                parts.push(",secure".into());
            }
            // Options may come in any order.
            let n = parts.len();
            if n > 1 {
                parts.rotate_left(usize::try_from(order % n as u64).unwrap_or(0));
            }
            text += &parts.concat();
        }
        spec.spec = text;
        spec
    })
}

proptest! {
    #[test]
    fn parse_never_panics(text in "\\PC{0,64}") {
        let _ = parse(&text);
    }

    #[test]
    fn parse_never_panics_on_grammar_soup(text in "[a-z@:/=,\\[\\]#+0-9 \t\n.-]{0,48}") {
        if let Ok(list) = parse(&text) {
            // Every host's verbatim token is a piece of the input.
            for h in &list.hosts {
                prop_assert!(text.contains(&h.spec));
                prop_assert!(h.limit > 0);
            }
        }
    }

    #[test]
    fn generated_lists_round_trip(
        hosts in proptest::collection::vec(arb_host(), 1..8),
        seps in proptest::collection::vec(prop_oneof![
            Just(" "), Just("\t"), Just("\n"), Just("\r\n"), Just("  # note\n")
        ], 8),
    ) {
        let mut text = String::new();
        for (h, sep) in hosts.iter().zip(seps.iter().cycle()) {
            text += &h.spec;
            text += sep;
        }
        let list = parse(&text).map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        prop_assert_eq!(&list.hosts, &hosts);
        // And the verbatim tokens alone parse the same, one by one.
        for h in &hosts {
            prop_assert_eq!(&parse(&h.spec).map_err(|e| TestCaseError::fail(e.to_string()))?.hosts[0], h);
        }
    }
}
