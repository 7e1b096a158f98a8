//! `distccd`: parse, set up, serve (all in the library).

fn main() {
    std::process::exit(dcc_server::main_with_args(std::env::args_os().collect()));
}
