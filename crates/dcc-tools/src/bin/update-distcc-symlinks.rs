//! `update-distcc-symlinks`: see `dcc_tools::symlinks`.

use clap::Parser;

fn main() {
    let o = dcc_tools::cli::Options::parse();
    let code = dcc_tools::cli::run(&o, &mut std::io::stdout(), &mut std::io::stderr());
    std::process::exit(code);
}
