//! Documentation-only clap commands for the programs that parse their argv as distcc does:
//! `distcc` (dcc-client invoke.rs, config.rs, dcc-hosts), `distccmon-text` (dcc-monitor) and
//! `lsdistcc` (dcc-client lsdistcc.rs). They are never used to parse anything.

use clap::{Arg, ArgAction, Command};

use crate::man::{Block::*, Page, Section};

fn flag(name: &'static str, help: &'static str) -> Arg {
    Arg::new(name)
        .long(name)
        .action(ArgAction::SetTrue)
        .help(help)
}

/// `distcc`: the options it recognises as its first argument, and the compiler command line.
pub fn distcc_command() -> Command {
    Command::new("distcc")
        .version(env!("CARGO_PKG_VERSION"))
        .about("distributed C/C++ compiler client")
        .long_about(
            "distcc sends each compile of a C, C++ or Objective-C file to a helper running \
             distccd(1): the source is preprocessed here, compiled there, and the object comes \
             back. Everything that cannot be distributed (linking, -E, -M, assembly, \
             -march=native, profiling builds, autoconf's conftest.c) runs here, and so does any \
             job a helper refuses or fails to answer.\n\n\
             The options below are recognised only as the first argument; anything else is a \
             compiler command line.",
        )
        .override_usage(
            "distcc [COMPILER] [compile options] -o OBJECT -c SOURCE\n\
             distcc [--help | --version | --show-hosts | -j | --scan-includes]\n\
             distcc --check-hosts [COMPILER]\n\
             distcc --show-stats | --zero-stats\n\
             COMPILER [compile options] -o OBJECT -c SOURCE      (through a masquerade link)",
        )
        .disable_help_flag(true)
        .disable_version_flag(true)
        .arg(flag("help", "Explain usage, and exit."))
        .arg(flag("version", "Show version, and exit."))
        .arg(flag(
            "show-hosts",
            "Show the host list (each entry as written), and exit.",
        ))
        .arg(
            Arg::new("concurrency")
                .short('j')
                .action(ArgAction::SetTrue)
                .help("Show the concurrency level (the sum of the hosts' limits), and exit."),
        )
        .arg(
            Arg::new("check-hosts")
                .long("check-hosts")
                .value_name("COMPILER")
                .num_args(0..=1)
                .help(
                    "Try every host of the list as a compile would (connect and IO timeouts, \
                     the host's protocol, ,secure keys): compile a tiny preprocessed source \
                     with COMPILER (default gcc, sent under the name a compile sends) and \
                     compare the compiler's version in the returned object with the one here. \
                     Prints one line per host, HOST: ok: VERSION or HOST: FIX: what to fix; \
                     exits 0 when every host is fine, 1 otherwise, 106 when the list does not \
                     parse. A distcc-rs addition.",
                ),
        )
        .arg(flag(
            "show-stats",
            "Print this master's compile counters since the last --zero-stats (like \
             sccache --show-stats): compile requests sent to helpers, helper failures and \
             refusals, local fallbacks; per helper the jobs, failures, preprocessed bytes \
             sent, object bytes received and time; then the reasons of the failures and \
             fallbacks with their counts. Read from $DISTCC_DIR/state/counters, which every \
             compile of this master adds to. A distcc-rs addition.",
        ))
        .arg(flag(
            "zero-stats",
            "Reset those counters to zero, and exit.",
        ))
        .arg(flag(
            "scan-includes",
            "Pump mode's include scan: not implemented by this client; exits 100.",
        ))
        .arg(Arg::new("COMPILER").help(
            "The compiler to run (default cc when the first argument is an option or a source \
             file).",
        ))
        .arg(
            Arg::new("ARGS")
                .num_args(0..)
                .trailing_var_arg(true)
                .allow_hyphen_values(true)
                .help("The compiler's arguments, unchanged."),
        )
}

pub fn distcc() -> Page {
    Page {
        command: distcc_command(),
        section: "1",
        extra: vec![
            Section::new(
                "INVOCATION",
                vec![
                    Item(
                        "distcc gcc -c x.c",
                        "Explicit: the compiler follows distcc.",
                    ),
                    Item(
                        "distcc -c x.c",
                        "Implicit: the first argument is an option, a source or an object file, \
                         so the compiler is cc.",
                    ),
                    Item(
                        "gcc -c x.c",
                        "Masquerade: gcc is a link to distcc in a directory early on PATH \
                         (/usr/lib/distcc/bin, which makepkg's BUILDENV=(distcc) puts first; \
                         update-distcc-symlinks(8) makes it). distcc removes that directory and \
                         everything before it from PATH, so the real gcc is found next.",
                    ),
                ],
            ),
            Section::new(
                "HOST SPECIFICATIONS",
                vec![
                    Para(
                        "Hosts are read from DISTCC_HOSTS, else $DISTCC_DIR/hosts, else \
                         ~/.distcc/hosts, else /etc/distcc/hosts: whitespace-separated, # starts \
                         a comment. The first hosts get the jobs first (slot 0 of every host \
                         before slot 1 of any).",
                    ),
                    Item(
                        "localhost[/LIMIT]",
                        "Run jobs here, without a daemon (default limit 2).",
                    ),
                    Item(
                        "HOST[:PORT][/LIMIT]",
                        "TCP to distccd (port 3632, limit 4 by default). HOST may be [IPv6].",
                    ),
                    Item(
                        "[USER]@HOST[/LIMIT][:COMMAND]",
                        "Run COMMAND (default distccd) over ssh in --inetd mode.",
                    ),
                    Item(",lzo", "Compress with LZO (protocol 2)."),
                    Item(",zstd", "Compress with zstd (distcc-rs daemons only)."),
                    Item(
                        ",secure",
                        "Authenticated, encrypted transport (Noise IK) to a distcc-rs daemon \
                         started with --auth-keys: needs this client's key (distcc-keygen) and \
                         the daemon's public key in known_hosts. Combines with ,lzo and ,zstd.",
                    ),
                    Item(
                        ",cpp",
                        "Preprocess on the host (protocol 3): the client finds the unit's \
                         headers itself (no include server, pump not needed) and sends them; \
                         a unit it cannot prove complete is preprocessed here. Alone it means \
                         ,cpp,lzo.",
                    ),
                    Item("--randomize", "Shuffle the hosts."),
                    Item(
                        "+zeroconf",
                        "Add the helpers found over mDNS: daemons started with distccd \
                         --zeroconf on this network whose compiler matches this machine's cc. \
                         A background browser keeps the list in $DISTCC_DIR/zeroconf/hosts.",
                    ),
                    Item(
                        "--localslots=N, --localslots_cpp=N",
                        "Local jobs that cannot be distributed (4), local preprocessors (8).",
                    ),
                    Example(
                        "DISTCC_HOSTS=\"--randomize 10.3.0.6/8,lzo 10.3.0.2:3632/4 localhost/2\"",
                    ),
                ],
            ),
            Section::new(
                "ENVIRONMENT",
                vec![
                    Item("DISTCC_HOSTS", "The host list."),
                    Item(
                        "DISTCC_DIR",
                        "Lock, state and backoff files, and the hosts file (default ~/.distcc).",
                    ),
                    Item("DISTCC_VERBOSE", "1: debug messages."),
                    Item(
                        "DISTCC_LOG",
                        "Append messages to this file instead of stderr.",
                    ),
                    Item(
                        "UNCACHED_ERR_FD",
                        "Without DISTCC_LOG, write messages to this descriptor (ccache sets it).",
                    ),
                    Item(
                        "DISTCC_FALLBACK",
                        "0: fail instead of compiling locally when distribution fails.",
                    ),
                    Item(
                        "DISTCC_BACKOFF_PERIOD",
                        "Seconds a failed host is skipped (default 60; 0 disables backoff).",
                    ),
                    Item(
                        "DISTCC_IO_TIMEOUT",
                        "Seconds to wait on a silent network (default 300). A reply that has \
                         started must also be complete within 5 s plus its size (or the \
                         request's, if larger) at 64 KiB/s.",
                    ),
                    Item("DISTCC_SAVE_TEMPS", "1: keep temporary files."),
                    Item(
                        "DISTCC_SSH",
                        "The ssh command for @HOST entries, split on spaces.",
                    ),
                    Item(
                        "DISTCC_SKIP_LOCAL_RETRY",
                        "Set: a compile error on a helper is final (no local retry).",
                    ),
                    Item(
                        "DISTCC_NO_REWRITE_CROSS",
                        "Set: do not rewrite gcc to TRIPLE-gcc before sending.",
                    ),
                    Item(
                        "DISTCC_RS_KEY",
                        "The client's private key for ,secure hosts (default \
                         $DISTCC_DIR/client.key, mode 0600; make it with distcc-keygen).",
                    ),
                    Item(
                        "DISTCC_RS_REPLY_LIMIT_MB",
                        "The most one body of a helper's reply (object, diagnostics) may \
                         hold, in MiB (default 64; a whole reply twice that). A larger reply \
                         is refused and the file compiled elsewhere.",
                    ),
                    Item(
                        "DISTCC_RS_KNOWN_HOSTS",
                        "Daemon public keys for ,secure hosts, lines HOST[:PORT] KEY \
                         (default $DISTCC_DIR/known_hosts).",
                    ),
                    Item("TMPDIR", "Temporary files (default /tmp)."),
                    Item(
                        "DEPENDENCIES_OUTPUT, SUNPRO_DEPENDENCIES",
                        "gcc's dependency-file variables, honoured as gcc does.",
                    ),
                ],
            ),
            Section::new(
                "EXIT STATUS",
                vec![Para(
                    "The compiler's own status, whether it ran here or on a helper. Else one \
                         of distcc's: 100 failed, 101 bad arguments, 103 connect failed, 106 bad \
                         host list, 107 I/O error, 110 compiler missing, 111 recursion, 113 \
                         access denied, 116 no hosts, 118 timeout (see distccd(1)).",
                )],
            ),
            Section::new(
                "SEE ALSO",
                vec![Para(
                    "distccd(1), distccmon-text(1), lsdistcc(1), update-distcc-symlinks(8)",
                )],
            ),
        ],
    }
}

/// `distccmon-text [DELAY]` (dcc-monitor).
pub fn distccmon_text() -> Page {
    let command = Command::new("distccmon-text")
        .version(env!("CARGO_PKG_VERSION"))
        .about("show the compile jobs of this user's distcc clients")
        .long_about(
            "Prints one line per running distcc job of this user on this machine: process id, \
             phase (Startup, Preprocess, Connect, Send, Compile, Receive, ...), source file, \
             host and slot, then an empty line. It reads the state files the clients write in \
             $DISTCC_DIR/state; it does not contact the helpers (their stats page, distccd \
             --stats, shows what they run).",
        )
        .override_usage("distccmon-text [DELAY]")
        .disable_help_flag(true)
        .disable_version_flag(true)
        .arg(Arg::new("DELAY").help(
            "Repeat every DELAY seconds (fractions allowed: 0.5). Without it, or 0, print once.",
        ));
    Page {
        command,
        section: "1",
        extra: vec![
            Section::new(
                "ENVIRONMENT",
                vec![
                    Item(
                        "DISTCC_DIR",
                        "Where the state files are (default ~/.distcc).",
                    ),
                    Item("DISTCC_LOG, DISTCC_VERBOSE", "As for distcc(1)."),
                ],
            ),
            Section::new(
                "EXIT STATUS",
                vec![
                    Item("0", "Success."),
                    Item("1", "Bad arguments (the usage is printed)."),
                    Item("101", "No HOME and no DISTCC_DIR."),
                    Item("107", "The state directory cannot be made or read."),
                ],
            ),
            Section::new("SEE ALSO", vec![Para("distcc(1), distccd(1)")]),
        ],
    }
}

/// `pump` (packaging/distcc/pump, a shell script): distcc's pump-mode wrapper, kept for its
/// interface; distcc-rs needs no include server.
pub fn pump() -> Page {
    let command = Command::new("pump")
        .version(env!("CARGO_PKG_VERSION"))
        .about("run a build with remote preprocessing (distcc's pump interface)")
        .long_about(
            "distcc 3.4's pump starts an include server and exports where it listens. \
             distcc-rs has none: the distcc client scans a unit's includes itself for every \
             host written with ,cpp in the host list, with or without this wrapper, and sends \
             the unit's files with protocol 3. pump keeps distcc's interface: it checks that \
             some host has ,cpp (as distcc's pump does), exports DISTCC_POTENTIAL_HOSTS (the \
             host list) and runs COMMAND.",
        )
        .override_usage(
            "pump COMMAND [ARG...]\n\
             eval `pump --startup`\n\
             pump --shutdown",
        )
        .disable_help_flag(true)
        .disable_version_flag(true)
        .arg(flag(
            "startup",
            "Print `export DISTCC_POTENTIAL_HOSTS='...'` for eval, and exit.",
        ))
        .arg(flag(
            "shutdown",
            "Nothing to stop (there is no include server); exit 0.",
        ))
        .arg(Arg::new("COMMAND").help("The build to run, e.g. make -j40."));
    Page {
        command,
        section: "1",
        extra: vec![
            Section::new(
                "ENVIRONMENT",
                vec![
                    Item(
                        "DISTCC_HOSTS",
                        "The host list; without it, the one distcc --show-hosts prints \
                         (the hosts files).",
                    ),
                    Item(
                        "DISTCC_POTENTIAL_HOSTS",
                        "Set for COMMAND (and by --startup) to the host list.",
                    ),
                ],
            ),
            Section::new(
                "EXIT STATUS",
                vec![
                    Item(
                        "1",
                        "No host has ,cpp, or no arguments (the usage is printed).",
                    ),
                    Item("other", "COMMAND's own status."),
                ],
            ),
            Section::new("SEE ALSO", vec![Para("distcc(1), distccd(1)")]),
        ],
    }
}

fn joined(short: char, value: &'static str, help: &'static str) -> Arg {
    Arg::new(value)
        .short(short)
        .value_name(value)
        .action(ArgAction::Set)
        .help(help)
}

/// `lsdistcc` (dcc-client lsdistcc.rs). Values are joined to their option (`-t5`).
pub fn lsdistcc() -> Page {
    let f = |short: char, help: &'static str| {
        Arg::new(help)
            .short(short)
            .action(ArgAction::SetTrue)
            .help(help)
    };
    let command = Command::new("lsdistcc")
        .version(env!("CARGO_PKG_VERSION"))
        .about("list the distcc servers that answer")
        .long_about(
            "Checks the HOSTs given, or the names FORMAT gives for 1, 2, 3 ... (default \
             distcc%d) until one does not resolve, and prints each one that accepts a connection \
             on the distcc port (and, with -p, compiles a test file) as a host-list entry, ready \
             for DISTCC_HOSTS. Option values are joined to the option: -t5, -r3632. Exit status \
             0 when some host is up, else 1.",
        )
        .override_usage(
            "lsdistcc [-l] [-n] [-x] [-v] [-d] [-tSECS] [-cMS] [-kMS] [-rPORT] [-PPROTOCOL] \
             [-pCOMPILER] [-mBITS] [-gGAP] [FORMAT | HOST...]",
        )
        .disable_help_flag(true)
        .disable_version_flag(true)
        .arg(f('l', "Print the latency in milliseconds after each host."))
        .arg(f('n', "Print IP addresses instead of names."))
        .arg(f('x', "Also list down hosts, with ,down."))
        .arg(f('d', "Append the DNS domain to each name."))
        .arg(f('v', "Verbose, on stderr."))
        .arg(joined('t', "SECS", "Stop after SECS seconds (7)."))
        .arg(joined('c', "MS", "Connect timeout in ms; 0: no connect (900)."))
        .arg(joined('k', "KMS", "Test-compile timeout in ms; 0: no test compile (1500)."))
        .arg(joined('r', "PORT", "The port (3632)."))
        .arg(joined('P', "PROTOCOL", "Protocol 1-3 for the test compile and the printed entry (1)."))
        .arg(joined('p', "COMPILER", "Compile a test file with COMPILER on each host."))
        .arg(joined('m', "BITS", "With FORMAT: stop at a host whose first BITS address bits differ from the first host's (0)."))
        .arg(joined('g', "GAP", "With FORMAT: names that may fail to resolve before giving up (0)."))
        .arg(
            Arg::new("HOST")
                .num_args(0..)
                .help("Hosts to check, or one FORMAT with %d."),
        );
    Page {
        command,
        section: "1",
        extra: vec![Section::new(
            "SEE ALSO",
            vec![Para("distcc(1), distccd(1)")],
        )],
    }
}
