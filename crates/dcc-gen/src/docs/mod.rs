//! The man pages of every binary we ship, as [`Page`]s.
//!
//! - `distccd` and `update-distcc-symlinks` have clap parsers: their pages start from the real
//!   `clap::Command` (`dcc_server::options::Options`, [`dcc_tools::cli::Options`]), so an option
//!   added there shows up in the page and the completions at the next `dcc-gen`.
//! - `distcc`, `distccmon-text` and `lsdistcc` must not run clap over their argv (distcc's is
//!   a compiler command line; the other two parse as distcc does). For them, [`client`] builds
//!   a `clap::Command` used only for documentation, listing the options those parsers accept.
//!
//! Text that clap has no place for (environment, files, exit status) is in [`crate::man`]
//! sections. Every statement should match the code it describes; cite the module.

pub mod client;
pub mod daemon;

use clap::CommandFactory;

use crate::man::Page;

/// Every man page, in a fixed order.
pub fn pages() -> Vec<Page> {
    vec![
        client::distcc(),
        daemon::distccd(),
        client::distccmon_text(),
        distccmon_top(),
        distcc_keygen(),
        client::lsdistcc(),
        client::pump(),
        update_distcc_symlinks(),
    ]
}

/// The clap commands shells complete: the programs with real clap parsers.
pub fn completion_commands() -> Vec<clap::Command> {
    vec![
        daemon::distccd_command(),
        dcc_tools::cli::Options::command(),
        dcc_monitor::top::Options::command(),
        dcc_keygen::KeygenOptions::command(),
    ]
}

/// `distccmon-top`: its clap parser is the real one (dcc-monitor `top::Options`).
fn distccmon_top() -> Page {
    use crate::man::{Block::*, Section};
    Page {
        command: dcc_monitor::top::Options::command(),
        section: "1",
        extra: vec![
            Section::new(
                "FILES",
                vec![
                    Item(
                        "$DISTCC_DIR/state/binstate_PID",
                        "One per running client (ours and C distcc's): file, host, slot, phase.",
                    ),
                    Item(
                        "$DISTCC_DIR/state/events",
                        "Our client's failures and fallbacks, one line each (time, pid, kind, \
                         host, file, reason); rotated to events.1 at 256 KiB.",
                    ),
                    Item(
                        "$DISTCC_DIR/state/counters",
                        "This master's jobs and failures per helper (distcc --show-stats), \
                         for the farm panel.",
                    ),
                    Item(
                        "$DISTCC_DIR/lock/cpu_HOST_SLOT, backoff_HOST_0",
                        "Slot locks (probed, never taken) and backoff marks, for the farm \
                         panel.",
                    ),
                ],
            ),
            Section::new(
                "ENVIRONMENT",
                vec![
                    Item(
                        "DISTCC_DIR",
                        "Where the state files are (default ~/.distcc).",
                    ),
                    Item(
                        "DISTCC_HOSTS",
                        "The helpers of the farm panel, one row each; unset: the hosts files \
                         distcc reads ($DISTCC_DIR/hosts, /etc/distcc/hosts); no list: no panel.",
                    ),
                    Item(
                        "DISTCC_BACKOFF_PERIOD",
                        "How long a backoff mark counts (default 60 seconds), as in distcc.",
                    ),
                    Item(
                        "DISTCC_LOG",
                        "Write warnings there while the screen is in use.",
                    ),
                ],
            ),
            Section::new(
                "SEE ALSO",
                vec![Para("distcc(1), distccd(1), distccmon-text(1)")],
            ),
        ],
    }
}

/// `distcc-keygen`: its clap parser is the real one (dcc-keygen `KeygenOptions`).
fn distcc_keygen() -> Page {
    use crate::man::{Block::*, Section};
    Page {
        command: dcc_keygen::KeygenOptions::command(),
        section: "1",
        extra: vec![
            Section::new(
                "FILES",
                vec![Item(
                    "FILE",
                    "Default: $DISTCC_RS_KEY, else $DISTCC_DIR/client.key, else \
                     ~/.distcc/client.key.",
                )],
            ),
            Section::new("SEE ALSO", vec![Para("distcc(1), distccd(1)")]),
        ],
    }
}

fn update_distcc_symlinks() -> Page {
    use crate::man::{Block::*, Section};
    Page {
        command: dcc_tools::cli::Options::command(),
        // An administrator's command in /usr/sbin: section 8.
        section: "8",
        extra: vec![
            Section::new(
                "FILES",
                vec![
                    Item(
                        "/usr/lib/distcc",
                        "The whitelist: distccd runs a compiler only if its name is here. \
                         Each entry is a link to distcc (../../bin/distcc).",
                    ),
                    Item(
                        "/usr/lib/distcc/bin",
                        "The masquerade directory: put it first on PATH (makepkg does, for \
                         BUILDENV=(distcc)) and gcc, cc, g++ ... run the distcc client.",
                    ),
                    Item(
                        "/etc/distcc/compiler-dirs",
                        "More bin directories to scan, one per line, for cross toolchains \
                         outside /usr/bin (e.g. /opt/x-tools8/aarch64-unknown-linux-gnu/bin). \
                         The daemon must find the same compilers on its PATH or DISTCCD_PATH.",
                    ),
                ],
            ),
            Section::new(
                "EXAMPLES",
                vec![
                    Para("What would change, without changing anything:"),
                    Example("update-distcc-symlinks --dry-run"),
                    Para(
                        "A whitelist in a directory of your own, for a daemon started with DISTCC_RS_WHITELIST_DIR:",
                    ),
                    Example(
                        "update-distcc-symlinks --whitelist-only --dir ~/distcc-whitelist\n\
                         DISTCC_RS_WHITELIST_DIR=~/distcc-whitelist distccd --daemon --allow 10.0.0.0/8",
                    ),
                ],
            ),
            Section::new(
                "EXIT STATUS",
                vec![
                    Item(
                        "0",
                        "Success (also when no compiler was found: a warning is printed).",
                    ),
                    Item(
                        "1",
                        "A directory could not be read or a link could not be made or removed.",
                    ),
                    Item("2", "Bad options."),
                ],
            ),
            Section::new("SEE ALSO", vec![Para("distcc(1), distccd(1)")]),
        ],
    }
}
