//! The load report our daemon appends to a reply in our extension versions (dcc_proto::load,
//! docs/PROTOCOL.md "Our extensions"): free `--jobs` slots, jobs queued, slots, cores and the
//! moving average of compile times. Clients of the master share it ($DISTCC_DIR/rs_view) to
//! place jobs where they finish first; distcc's own versions never get it.

use dcc_proto::Protocol;
use dcc_proto::load::{LoadReport, carries_report};

use crate::exec::Runner;
use crate::server::Server;

/// The report as of now, for a job that is about to give back its slot.
pub fn report<R: Runner>(srv: &Server<R>) -> LoadReport {
    let slots = srv.cfg.jobs;
    // The reporting job still holds its permit; it is released right after the reply.
    let free = (srv.jobs.available_permits() + 1).min(slots);
    let sat = |v: usize| u16::try_from(v).unwrap_or(u16::MAX);
    LoadReport {
        free: sat(free),
        queued: sat(usize::try_from(srv.metrics.queued.get()).unwrap_or(0)),
        slots: sat(slots),
        cores: sat(std::thread::available_parallelism().map_or(1, |n| n.get())),
        compile_ms: srv.live.compile_ms(),
    }
}

/// Append the report to an encoded reply when the protocol carries one.
pub fn append<R: Runner>(srv: &Server<R>, protocol: Protocol, reply: &mut Vec<u8>) {
    if carries_report(protocol) {
        report(srv).encode(reply);
    }
}
