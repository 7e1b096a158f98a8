//! `distcc`: parse nothing here; the library does it all (see dcc_client's documentation).

fn main() {
    dcc_client::signals::install();
    let code = dcc_client::run(std::env::args_os().collect(), &dcc_common::ProcessEnv);
    std::process::exit(code);
}
