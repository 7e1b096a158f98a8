//! The stats port (`--stats`, `--stats-port`): distcc's page for any request, after the same
//! access check as the compile port (distcc src/stats.c `dcc_service_stats_request`).
//!
//! distcc reads whatever the client sent (one read of up to 1024 bytes, no parsing) and
//! writes the page. We read the same way, waiting briefly for the request line.

use std::sync::Arc;
use std::time::Duration;

use dcc_common::{Level, dcc_log};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::access::canonical;
use crate::exec::Runner;
use crate::server::Server;

/// How long to wait for a request before answering anyway.
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
        let ip = canonical(peer.ip());
        if !srv.allows(ip) {
            dcc_log!(
                Level::Error,
                "dcc_check_client",
                "connection from client '{ip}:{}' denied by access list",
                peer.port()
            );
            continue;
        }
        let srv = srv.clone();
        tokio::spawn(async move {
            let _ = answer(&srv, sock).await;
        });
    }
}

async fn answer<R: Runner>(srv: &Server<R>, mut sock: TcpStream) -> std::io::Result<()> {
    let mut req = [0u8; 1024];
    let _ = tokio::time::timeout(REQUEST_WAIT, sock.read(&mut req)).await;
    let page = srv.stats.distcc_page(&srv.env.tmpdir);
    sock.write_all(page.as_bytes()).await?;
    sock.shutdown().await
}
