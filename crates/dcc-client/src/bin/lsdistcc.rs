//! `lsdistcc`: list the distcc servers that answer (see `dcc_client::lsdistcc`).

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(dcc_client::lsdistcc::main(&args));
}
