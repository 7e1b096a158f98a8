//! `distccd(1)`: the options come from `dcc_server::options::Options`; the rest describes
//! `dcc_server` (access.rs, compiler.rs, vetting.rs, daemon.rs, options.rs `ServerEnv`).

use clap::CommandFactory;

use crate::man::{Block::*, Page, Section};

/// distccd's clap command with a one-line NAME (its `about` is distcc's multi-line text).
pub fn distccd_command() -> clap::Command {
    let cmd = dcc_server::options::Options::command();
    let long = cmd.get_about().map(|a| a.to_string()).unwrap_or_default();
    cmd.about("distributed C/C++ compiler server")
        .long_about(long)
        .version(env!("CARGO_PKG_VERSION"))
}

pub fn distccd() -> Page {
    Page {
        command: distccd_command(),
        section: "1",
        extra: vec![
            Section::new(
                "ACCESS CONTROL",
                vec![
                    Para(
                        "Every connection, to the compile port and to the stats port, is checked \
                         against the --allow list before a single byte is read or sent. A client \
                         outside it is disconnected and the log says: connection from client \
                         'IP:PORT' denied by access list.",
                    ),
                    Para(
                        "With no --allow and no --allow-private, distccd warns and allows the \
                         private ranges: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 127.0.0.0/8, \
                         fe80::/10, fc00::/7 and ::1. (distccd 3.4 printed the same warning and \
                         then allowed every address.) In --inetd mode with no --allow, no check \
                         is made.",
                    ),
                ],
            ),
            Section::new(
                "STATISTICS",
                vec![
                    // The same text as `distccd --help` prints after the options.
                    Example(dcc_server::options::STATS_HELP),
                    Para(
                        "/status.json and /ui name the helper (host name, compile port, \
                         version) and list the jobs in flight and the last 50 failures and \
                         refusals, each with its client, compiler and source file. The /metrics \
                         families are listed in docs/guide; every counter is present at zero \
                         from start-up.",
                    ),
                ],
            ),
            Section::new(
                "WHAT MAY RUN",
                vec![
                    Para(
                        "The compiler: a leading /bin/ or /usr/bin/ is removed from the name the \
                         client sends; any other path is refused. The name must be listed in \
                         /usr/lib/distcc (only its presence counts; update-distcc-symlinks(8) \
                         makes the links) and look like a gcc or clang driver (gcc, g++, cc, c++, \
                         clang, clang++, c89, c99, with an optional target prefix and version \
                         suffix). It is then looked up on DISTCCD_PATH, or PATH; an entry that is \
                         itself a link to distcc is skipped with a warning.",
                    ),
                    Para(
                        "The arguments: every option is checked against an allow-list. Options \
                         that make the compiler run a program, load code, or read or write files \
                         the client names (-wrapper, -B, -fplugin=, -specs=, -Xclang, @file, \
                         -save-temps, ...) are refused.",
                    ),
                    Para(
                        "A refused job is answered with exit status 110 (compiler) or 113 \
                         (options, pump file list) and one line on the client's stderr saying \
                         why; the client then compiles locally. distccd 3.4 closed the connection \
                         without a word.",
                    ),
                    Para(
                        "--enable-tcp-insecure (alias --make-me-a-botnet) skips the whitelist, so \
                         any client the access list admits chooses the program; only the \
                         driver-name check and the argument allow-list remain. Do not use it on \
                         a network you do not fully trust.",
                    ),
                ],
            ),
            Section::new(
                "SYSTEMD",
                vec![Para(
                    "With --daemon --no-detach, distccd tells the service manager it is ready \
                         (sd_notify READY=1 and MAINPID) once its sockets accept, so units use \
                         Type=notify. SIGTERM and SIGINT stop accepting, kill running compilers, \
                         remove every job directory and the pid file, and exit 0. SIGHUP reopens \
                         the --log-file (logrotate; distccd 3.4 stops instead). \
                         Started as root, distccd changes to --user (default distccd, then \
                         distcc, then nobody) before opening the log file; started as another \
                         user (the packaged units use User=distccd), it stays that user.",
                )],
            ),
            Section::new(
                "ENVIRONMENT",
                vec![
                    Item(
                        "DISTCCD_PATH",
                        "Replaces PATH for finding compilers, and is the PATH compilers run with.",
                    ),
                    Item(
                        "PATH",
                        "Where compilers are found when DISTCCD_PATH is unset (logged at start-up).",
                    ),
                    Item(
                        "DISTCC_CMDLIST",
                        "A file of absolute compiler paths, one per line. When set, the \
                         whitelist is not used: a job's compiler must match a line by its last \
                         DISTCC_CMDLIST_NUMWORDS path components (default 1) and is replaced by \
                         that line.",
                    ),
                    Item("DISTCC_CMDLIST_NUMWORDS", "See DISTCC_CMDLIST."),
                    Item(
                        "DISTCC_RS_WHITELIST_DIR",
                        "Colon-separated directories that replace /usr/lib/distcc as the whitelist.",
                    ),
                    Item(
                        "TMPDIR",
                        "Where job directories are made (default /tmp); also the daemon's working directory.",
                    ),
                    Item("DISTCC_SAVE_TEMPS", "1: keep job directories."),
                    Item(
                        "DISTCC_IO_TIMEOUT",
                        "Seconds to wait for a client's next bytes (default 300).",
                    ),
                    Item(
                        "DISTCC_RS_HEADER_TIMEOUT",
                        "Seconds from a connection to its complete request header (default 30), \
                         however slowly it trickles in.",
                    ),
                    Item(
                        "DISTCC_RS_BODY_TIMEOUT",
                        "Seconds a body may take once its token has arrived (default 10), plus \
                         its length at DISTCC_RS_BODY_RATE; a request's bodies together get the \
                         sum. The pause before a body's token (a client preprocessing) is \
                         DISTCC_IO_TIMEOUT's.",
                    ),
                    Item(
                        "DISTCC_RS_BODY_RATE",
                        "The slowest upload, in KiB/s, that DISTCC_RS_BODY_TIMEOUT allows for \
                         (default 64).",
                    ),
                    Item(
                        "DISTCC_TCP_DEFER_ACCEPT",
                        "0: do not set TCP_DEFER_ACCEPT on the listening socket.",
                    ),
                    Item(
                        "NOTIFY_SOCKET",
                        "Set by systemd: where readiness is reported.",
                    ),
                ],
            ),
            Section::new(
                "FILES",
                vec![
                    Item(
                        "/usr/lib/distcc",
                        "The compiler whitelist (see update-distcc-symlinks(8)).",
                    ),
                    Item("/etc/conf.d/distccd", "DISTCC_ARGS for distccd.service."),
                    Item(
                        "/etc/conf.d/distccd-NAME",
                        "DISTCC_ARGS and DISTCCD_PATH for distccd@NAME.service, one daemon and \
                         port per toolchain.",
                    ),
                ],
            ),
            Section::new(
                "EXIT STATUS",
                vec![
                    Item("0", "Stopped by a signal or --lifetime."),
                    Item("101", "Bad option or environment value."),
                    Item("102", "The port could not be bound."),
                    Item("107", "TMPDIR is not usable."),
                    Item(
                        "110",
                        "No whitelist directory, or it is empty (run update-distcc-symlinks), or \
                         DISTCC_CMDLIST cannot be read.",
                    ),
                    Item("112", "Root privileges could not be dropped."),
                    Item("113", "--inetd: the client is not allowed."),
                ],
            ),
            Section::new(
                "SEE ALSO",
                vec![Para(
                    "distcc(1), distccmon-text(1), lsdistcc(1), update-distcc-symlinks(8)",
                )],
            ),
        ],
    }
}
