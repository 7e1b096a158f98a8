//! The stats port (`--stats`, `--stats-port`), after the same access check as the compile port.
//!
//! - any request (or none) except the paths below: distcc's page, exactly as distccd 3.4 writes
//!   it (distcc src/stats.c `dcc_service_stats_request` does no HTTP parsing at all, so every
//!   scraper that worked with distcc keeps working);
//! - `GET /metrics`: Prometheus / OpenMetrics text ([`crate::metrics`]);
//! - `GET /status.json`: counters, jobs in flight and recent failures as JSON;
//! - `GET /ui`: a small live page of the helper that polls `/status.json`.

use std::sync::Arc;
use std::time::Duration;

use dcc_common::{Level, dcc_log};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::access::canonical;
use crate::exec::Runner;
use crate::live::{Failure, JobView};
use crate::server::Server;
use crate::stats::JobResult;

/// How long to wait for a request before answering with distcc's page anyway.
const REQUEST_WAIT: Duration = Duration::from_millis(250);

/// Serve the stats port until the runtime stops.
pub async fn serve<R: Runner>(srv: Arc<Server<R>>, listener: TcpListener) {
    loop {
        let (sock, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                dcc_log!(Level::Error, "dcc_stats_server", "accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if !srv.access_check(peer) {
            continue;
        }
        let ip = canonical(peer.ip());
        let srv = srv.clone();
        tokio::spawn(async move {
            if let Err(e) = answer(srv, sock).await {
                dcc_log!(Level::Debug, "dcc_stats_server", "answer to {ip}: {e}");
            }
        });
    }
}

/// Which page a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Distcc,
    Metrics,
    Status,
    Ui,
}

/// Route by the request line's path; anything unrecognised gets distcc's page.
pub fn route(request: &[u8]) -> Route {
    let line = request.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut words = line.split_whitespace();
    let (Some("GET" | "HEAD"), Some(path)) = (words.next(), words.next()) else {
        return Route::Distcc;
    };
    match path.split('?').next().unwrap_or_default() {
        "/metrics" => Route::Metrics,
        "/status.json" => Route::Status,
        "/ui" | "/ui/" => Route::Ui,
        _ => Route::Distcc,
    }
}

fn http(content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.0 200 OK\r\nContent-Type: {content_type}\r\nX-Content-Type-Options: nosniff\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

async fn answer<R: Runner>(srv: Arc<Server<R>>, mut sock: TcpStream) -> std::io::Result<()> {
    let mut req = [0u8; 1024];
    let n = tokio::time::timeout(REQUEST_WAIT, sock.read(&mut req))
        .await
        .unwrap_or(Ok(0))
        .unwrap_or(0);
    let page = match route(&req[..n]) {
        // A scan of every process in /proc, statvfs and /proc/diskstats: a blocking thread's
        // work, not a runtime worker's.
        Route::Distcc => {
            let srv = srv.clone();
            tokio::task::spawn_blocking(move || srv.stats.distcc_page(&srv.env.tmpdir))
                .await
                .map_err(std::io::Error::other)?
        }
        Route::Metrics => http(
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            &srv.metrics.encode(),
        ),
        Route::Status => http("application/json", &status_json(&srv)),
        Route::Ui => http("text/html; charset=utf-8", UI_PAGE),
    };
    sock.write_all(page.as_bytes()).await?;
    sock.shutdown().await
}

#[derive(Debug, Serialize)]
struct Status<'a> {
    /// Which helper this is: its host name and compile port (a farm has many pages open).
    host: String,
    port: u16,
    version: &'a str,
    pid: u32,
    max_jobs: usize,
    running: usize,
    load: [f64; 3],
    counters: Counters,
    jobs: Vec<JobView>,
    recent_failures: Vec<Failure>,
    /// The daemon-wide budget for request bodies being received (crate::budget), in bytes.
    receive: Receive,
}

#[derive(Debug, Serialize)]
struct Receive {
    memory_in_use: u64,
    memory_budget: u64,
    disk_in_use: u64,
    disk_budget: u64,
}

#[derive(Debug, Serialize)]
struct Counters {
    accepted: u64,
    compile_ok: u64,
    compile_error: u64,
    compile_timeout: u64,
    cli_disconnect: u64,
    rej_bad_req: u64,
    other: u64,
}

/// The JSON status document.
pub fn status_json<R: Runner>(srv: &Server<R>) -> String {
    let s = &srv.stats;
    let status = Status {
        host: dcc_common::sys::hostname_or_localhost(),
        port: srv.cfg.port,
        version: env!("CARGO_PKG_VERSION"),
        pid: std::process::id(),
        max_jobs: s.max_kids(),
        running: s.current_load(),
        load: crate::stats::loadavg(),
        counters: Counters {
            accepted: s.accepted_count(),
            compile_ok: s.count(JobResult::CompileOk),
            compile_error: s.count(JobResult::CompileError),
            compile_timeout: s.count(JobResult::CompileTimeout),
            cli_disconnect: s.count(JobResult::CliDisconn),
            rej_bad_req: s.count(JobResult::RejBadReq),
            other: s.count(JobResult::Other),
        },
        jobs: srv.live.jobs(),
        recent_failures: srv.live.recent(),
        receive: {
            let (memory_in_use, disk_in_use) = srv.budget.in_use();
            let (memory_budget, disk_budget) = srv.budget.totals();
            Receive {
                memory_in_use,
                memory_budget,
                disk_in_use,
                disk_budget,
            }
        },
    };
    serde_json::to_string_pretty(&status).unwrap_or_else(|_| "{}".into())
}

/// The live page: static HTML whose script polls `/status.json` once a second. No external
/// resources (helpers often have no Internet), no framework.
pub const UI_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>distccd</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em;margin:0 0 .3em} h2{font-size:1.05em;margin:1.2em 0 .3em}
table{border-collapse:collapse;min-width:40em} td,th{padding:.2em .8em;border-bottom:1px solid #ddd;text-align:left}
.num{font-variant-numeric:tabular-nums} .muted{color:#777} #err{color:#b00}
.bar{display:inline-block;height:.8em;background:#4a8;vertical-align:middle}
</style></head>
<body>
<h1>distccd on <span id="helper"></span> <span id="version" class="muted"></span></h1>
<div id="summary" class="num">loading…</div><div id="err"></div>
<h2>Jobs now</h2>
<table><thead><tr><th>client</th><th>compiler</th><th>file</th><th>phase</th><th>age</th></tr></thead>
<tbody id="jobs"></tbody></table>
<h2>Recent failures</h2>
<table><thead><tr><th>when</th><th>client</th><th>compiler</th><th>file</th><th>result</th><th>reason</th></tr></thead>
<tbody id="failures"></tbody></table>
<script>
function cell(tr, text){const td=document.createElement('td');td.textContent=text;tr.appendChild(td);}
function fill(id, rows, cols){const tb=document.getElementById(id);tb.replaceChildren();
  if(rows.length===0){const tr=document.createElement('tr');cell(tr,'none');tr.className='muted';tb.appendChild(tr);return;}
  for(const r of rows){const tr=document.createElement('tr');for(const c of cols)cell(tr,c(r));tb.appendChild(tr);}}
async function tick(){
  try{
    const s=await (await fetch('/status.json',{cache:'no-store'})).json();
    document.getElementById('helper').textContent=s.host+':'+s.port;
    document.title='distccd '+s.host+':'+s.port;
    document.getElementById('version').textContent='distcc-rs '+s.version+', pid '+s.pid;
    const c=s.counters;
    const pct=Math.round(100*s.running/Math.max(1,s.max_jobs));
    document.getElementById('summary').innerHTML='';
    const sum=document.getElementById('summary');
    sum.append('running '+s.running+' of '+s.max_jobs+' ');
    const bar=document.createElement('span');bar.className='bar';bar.style.width=(pct*2)+'px';sum.append(bar);
    sum.append(' · load '+s.load.map(x=>x.toFixed(2)).join(' ')+' · ok '+c.compile_ok+' · errors '+c.compile_error+
      ' · timeouts '+c.compile_timeout+' · disconnects '+c.cli_disconnect+' · bad requests '+c.rej_bad_req+' · refused/other '+c.other);
    fill('jobs', s.jobs, [j=>j.client, j=>j.compiler, j=>j.input, j=>j.phase, j=>(j.age_ms/1000).toFixed(1)+' s']);
    fill('failures', s.recent_failures, [f=>new Date(f.time*1000).toLocaleTimeString(), f=>f.client, f=>f.compiler, f=>f.input, f=>f.result, f=>f.reason]);
    document.getElementById('err').textContent='';
  }catch(e){document.getElementById('err').textContent='cannot reach the daemon: '+e;}
}
tick(); setInterval(tick, 1000);
</script>
</body></html>
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_path_and_defaults_to_distccs_page() {
        assert_eq!(
            route(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Route::Metrics
        );
        assert_eq!(route(b"GET /status.json HTTP/1.0\r\n\r\n"), Route::Status);
        assert_eq!(route(b"GET /ui HTTP/1.0\r\n\r\n"), Route::Ui);
        assert_eq!(route(b"GET / HTTP/1.0\r\n\r\n"), Route::Distcc);
        assert_eq!(route(b"GET /anything HTTP/1.0\r\n\r\n"), Route::Distcc);
        assert_eq!(route(b""), Route::Distcc);
        assert_eq!(route(b"\xff\xfe garbage"), Route::Distcc);
        assert_eq!(route(b"POST /metrics HTTP/1.0\r\n\r\n"), Route::Distcc);
    }
}
