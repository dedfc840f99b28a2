//! What one connection is doing, and the watchdog that closes it when it idles too long.
//!
//! [`WatchedIo`] notes when bytes are read and written; [`Tracked`] notes when a request is
//! handed to the router and when its answer is ready. From those the [`watchdog`] knows the
//! connection's phase and its deadline:
//! - a request is being handled: no deadline here (its body has [`super::body_rate`]);
//! - bytes of a next request arrived, or nothing was ever served: the head must be complete
//!   within `header_timeout` (from the first byte, or from the connection's start);
//! - otherwise the connection is idle between requests: `keepalive_timeout` from its last byte
//!   in either direction (a streamed answer, SSE or a download, keeps writing).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::Router;
use hyper::body::Incoming;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::body_rate::{BodyRate, RateLimitedBody};

/// Milliseconds since the connection started, for lock-free timestamps.
fn millis_since(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// What one connection has done, written by its IO and its service, read by its watchdog.
pub(super) struct Activity {
    start: Instant,
    /// Requests handed to the router and not yet answered.
    in_flight: AtomicUsize,
    /// Requests answered so far.
    served: AtomicU64,
    /// Bytes have arrived since the last request was handed over or answered.
    head_started: AtomicBool,
    /// When those bytes began to arrive (ms since start).
    head_started_at: AtomicU64,
    /// Last byte read or written, or last answer (ms since start).
    last_activity: AtomicU64,
}

impl Activity {
    pub(super) fn new() -> Activity {
        Activity {
            start: Instant::now(),
            in_flight: AtomicUsize::new(0),
            served: AtomicU64::new(0),
            head_started: AtomicBool::new(false),
            head_started_at: AtomicU64::new(0),
            last_activity: AtomicU64::new(0),
        }
    }

    fn now(&self) -> u64 {
        millis_since(self.start)
    }

    fn read(&self) {
        let now = self.now();
        self.last_activity.store(now, Ordering::Relaxed);
        if self.in_flight.load(Ordering::Acquire) == 0
            && !self.head_started.swap(true, Ordering::AcqRel)
        {
            self.head_started_at.store(now, Ordering::Release);
        }
    }

    fn wrote(&self) {
        self.last_activity.store(self.now(), Ordering::Relaxed);
    }

    fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.head_started.store(false, Ordering::Release);
    }

    fn request_answered(&self) {
        self.served.fetch_add(1, Ordering::Relaxed);
        self.head_started.store(false, Ordering::Release);
        self.last_activity.store(self.now(), Ordering::Relaxed);
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }

    /// When the connection must be closed if nothing changes (ms since start), and why; `None`
    /// while a request is being handled.
    fn deadline(&self, header: u64, keepalive: u64) -> Option<(u64, &'static str)> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let last = self.last_activity.load(Ordering::Relaxed);
        if self.head_started.load(Ordering::Acquire) {
            // From the head's first byte, or from the last byte written while an answer was
            // still streaming out (a pipelined request waits for it).
            let from = self.head_started_at.load(Ordering::Acquire).max(last);
            Some((
                from + header,
                "request head not complete in server.header_timeout_secs",
            ))
        } else if self.served.load(Ordering::Relaxed) == 0 {
            Some((header, "no request in server.header_timeout_secs"))
        } else {
            Some((last + keepalive, "idle past server.keepalive_timeout_secs"))
        }
    }
}

/// Resolves, with the reason, when the connection has passed its deadline.
pub(super) async fn watchdog(
    activity: &Activity,
    header: Duration,
    keepalive: Duration,
) -> &'static str {
    let header = u64::try_from(header.as_millis()).unwrap_or(u64::MAX);
    let keepalive = u64::try_from(keepalive.as_millis()).unwrap_or(u64::MAX);
    // While a request is handled, look again this often (its end is not signalled here).
    const BUSY_RECHECK: Duration = Duration::from_secs(1);
    loop {
        match activity.deadline(header, keepalive) {
            None => tokio::time::sleep(BUSY_RECHECK).await,
            Some((deadline, reason)) => {
                let now = activity.now();
                if now >= deadline {
                    return reason;
                }
                // Activity may move the deadline later: wake at the current one and look again.
                tokio::time::sleep(Duration::from_millis(deadline - now)).await;
            }
        }
    }
}

/// A TCP stream that tells its [`Activity`] when bytes move.
pub(super) struct WatchedIo {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl WatchedIo {
    pub(super) fn new(stream: TcpStream, activity: Arc<Activity>) -> WatchedIo {
        WatchedIo { stream, activity }
    }
}

impl AsyncRead for WatchedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read();
        }
        polled
    }
}

impl AsyncWrite for WatchedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The router as one connection's service: notes each request's start and answer, and gives
/// its body the [`BodyRate`] rule.
#[derive(Clone)]
pub(super) struct Tracked {
    router: Router,
    activity: Arc<Activity>,
    rate: BodyRate,
}

impl Tracked {
    pub(super) fn new(router: Router, activity: Arc<Activity>, rate: BodyRate) -> Tracked {
        Tracked {
            router,
            activity,
            rate,
        }
    }
}

/// Marks a request answered when dropped: when its answer is ready, or when the connection
/// ends while it is handled.
struct Answered(Arc<Activity>);

impl Drop for Answered {
    fn drop(&mut self) {
        self.0.request_answered();
    }
}

impl tower::Service<axum::http::Request<Incoming>> for Tracked {
    type Response = axum::response::Response;
    type Error = std::convert::Infallible;
    type Future = Pin<
        Box<dyn Future<Output = Result<axum::response::Response, std::convert::Infallible>> + Send>,
    >;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // A router is always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: axum::http::Request<Incoming>) -> Self::Future {
        self.activity.request_started();
        let answered = Answered(self.activity.clone());
        let rate = self.rate.clone();
        let (parts, body) = request.into_parts();
        let (body, leftover) = super::leftover::share(RateLimitedBody::new(body, rate));
        let request = axum::http::Request::from_parts(parts, Body::new(body));
        let call = tower::ServiceExt::oneshot(self.router.clone(), request);
        Box::pin(async move {
            let mut response = match call.await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            // Still a request in flight for the watchdog while its unread body is read.
            if !leftover.drain().await {
                response.headers_mut().insert(
                    axum::http::header::CONNECTION,
                    axum::http::HeaderValue::from_static("close"),
                );
            }
            drop(answered);
            Ok(response)
        })
    }
}
