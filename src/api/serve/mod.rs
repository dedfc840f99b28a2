//! The HTTP server loop: accepts connections under a cap and serves each with hyper, with the
//! connection discipline of the servers people trust (nginx's `client_header_timeout`,
//! `keepalive_timeout`, `client_body_timeout`; Go's `ReadHeaderTimeout` / `IdleTimeout`).
//!
//! - [`watch`]: per connection, a header-read timeout, an idle keep-alive timeout, and a
//!   watchdog that closes the connection when one passes.
//! - [`body_rate`]: per request, a body that stops arriving, or arrives slower than
//!   `server.min_body_bytes_per_sec`, ends with 408.
//! - [`leftover`]: what a handler left of its request body is read after it answers (up to
//!   256 KiB within 2 s), so the connection carries the client's next request; a larger or
//!   slower rest, and the answer says `Connection: close`.
//! - [`descriptors`]: the open-file limit raised to its hard limit at start, and the connection
//!   cap derived from it.
//! - Past the cap, a new connection is served by the overflow router (`/healthz`, `/readyz`, and
//!   a fast 503 for every other route) with no keep-alive, within a small second pool; past
//!   that too, it is answered a canned 503 without reading it and closed. The accept loop never
//!   waits for a connection to end.

pub(crate) mod body_rate;
pub mod descriptors;
mod leftover;
mod watch;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::config::ServerSettings;

/// The limits one server applies to its connections.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Connections served at once by the full router.
    pub max_connections: usize,
    /// Connections past the cap that are still read and answered (health, or 503).
    pub overflow_connections: usize,
    /// Time for a request head (from the connection's start, or from the first byte of a next
    /// request on a kept-alive connection).
    pub header_timeout: Duration,
    /// Time a kept-alive connection may wait for its next request.
    pub keepalive_timeout: Duration,
    /// How a request body must keep arriving.
    pub body: body_rate::BodyRate,
}

impl ConnectionLimits {
    /// The limits `server.*` asks for, the cap derived from `open_files` (the process's soft
    /// open-file limit) when `server.max_connections` is 0 and bounded by it otherwise.
    pub fn new(settings: &ServerSettings, open_files: Option<u64>) -> ConnectionLimits {
        let (max_connections, overflow_connections) =
            descriptors::connection_caps(settings.max_connections, open_files);
        ConnectionLimits {
            max_connections,
            overflow_connections,
            header_timeout: Duration::from_secs(settings.header_timeout_secs),
            keepalive_timeout: Duration::from_secs(settings.keepalive_timeout_secs),
            body: body_rate::BodyRate {
                gap: Duration::from_secs(settings.body_timeout_secs),
                min_bytes_per_sec: settings.min_body_bytes_per_sec,
            },
        }
    }
}

/// Time an overflow connection (past the cap) has to send its request.
const OVERFLOW_HEADER_TIMEOUT: Duration = Duration::from_secs(1);

/// The message of every 503 for a connection past the cap.
pub(crate) const BUSY_MESSAGE: &str =
    "server busy: too many open connections (server.max_connections); retry shortly";

/// The canned answer to a connection past both pools, written without reading the request: the
/// seed envelope with code 50301 and `Retry-After: 1`.
fn busy_response() -> bytes::Bytes {
    let (code, _) = super::error::ErrorCode::Busy.code_and_status();
    let body = serde_json::json!({"code": code, "data": null, "msg": BUSY_MESSAGE}).to_string();
    bytes::Bytes::from(format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         retry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    ))
}

/// Serves `app` on `listener` until `shutdown` fires, then lets open connections finish.
/// Connections past the cap are served by `overflow` (see the module doc).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    overflow: Router,
    limits: ConnectionLimits,
    shutdown: CancellationToken,
) {
    let limits = Arc::new(limits);
    let main_pool = Arc::new(Semaphore::new(limits.max_connections));
    let overflow_pool = Arc::new(Semaphore::new(limits.overflow_connections));
    let busy = busy_response();
    let mut last_accept_error: Option<std::time::Instant> = None;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => break,
        };
        let (stream, _peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of descriptors (the cap should keep this from happening) or a connection
                // reset before it was accepted: log at most once a second, pause briefly.
                if last_accept_error.is_none_or(|at| at.elapsed() >= Duration::from_secs(1)) {
                    tracing::warn!(%error, "accept failed");
                    last_accept_error = Some(std::time::Instant::now());
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        if let Ok(permit) = main_pool.clone().try_acquire_owned() {
            let service = app.clone();
            let limits = limits.clone();
            let stop = shutdown.clone();
            tokio::spawn(serve_connection(
                stream,
                service,
                Keep::Alive,
                limits,
                permit,
                stop,
            ));
        } else if let Ok(permit) = overflow_pool.clone().try_acquire_owned() {
            let service = overflow.clone();
            let limits = limits.clone();
            let stop = shutdown.clone();
            tokio::spawn(serve_connection(
                stream,
                service,
                Keep::Close,
                limits,
                permit,
                stop,
            ));
        } else {
            tokio::spawn(answer_busy(stream, busy.clone()));
        }
    }
    // Every connection task holds a permit until it ends: taking them all back waits for them.
    for (pool, size) in [
        (&main_pool, limits.max_connections),
        (&overflow_pool, limits.overflow_connections),
    ] {
        let _ = pool
            .acquire_many(u32::try_from(size).unwrap_or(u32::MAX))
            .await;
    }
}

/// Whether a connection may carry more than one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keep {
    Alive,
    Close,
}

async fn serve_connection(
    stream: TcpStream,
    app: Router,
    keep: Keep,
    limits: Arc<ConnectionLimits>,
    permit: OwnedSemaphorePermit,
    shutdown: CancellationToken,
) {
    let activity = Arc::new(watch::Activity::new());
    let io = TokioIo::new(watch::WatchedIo::new(stream, activity.clone()));
    let service = TowerToHyperService::new(watch::Tracked::new(
        app,
        activity.clone(),
        limits.body.clone(),
    ));
    let mut builder = http1::Builder::new();
    // The watchdog below times heads and idle connections; hyper's own head timer stays off.
    builder
        .keep_alive(keep == Keep::Alive)
        .header_read_timeout(None);
    // An overflow connection is there for one quick request: it may not linger.
    let header_timeout = match keep {
        Keep::Alive => limits.header_timeout,
        Keep::Close => limits.header_timeout.min(OVERFLOW_HEADER_TIMEOUT),
    };
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let watchdog = watch::watchdog(&activity, header_timeout, limits.keepalive_timeout);
    tokio::pin!(watchdog);
    let mut stopping = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%error, "connection ended with an error");
                }
                break;
            }
            reason = &mut watchdog => {
                tracing::debug!(reason, "connection closed");
                break;
            }
            () = shutdown.cancelled(), if !stopping => {
                stopping = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
    drop(permit);
}

/// Writes the canned 503 and closes, bounded in time so a client that does not read cannot hold
/// the descriptor.
async fn answer_busy(mut stream: TcpStream, busy: bytes::Bytes) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = stream.write_all(&busy).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canned_busy_answer_is_well_formed() {
        let busy = busy_response();
        let text = std::str::from_utf8(&busy).expect("ascii");
        let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length: "))
            .and_then(|v| v.parse().ok())
            .expect("content-length");
        assert_eq!(body.len(), length);
        assert!(head.starts_with("HTTP/1.1 503 "), "{head}");
        let json: serde_json::Value = serde_json::from_str(body).expect("JSON body");
        assert_eq!(json["code"], 50301);
        assert_eq!(json["msg"], BUSY_MESSAGE);
    }
}
