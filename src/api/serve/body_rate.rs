//! A request body that must keep arriving: nothing for `server.body_timeout_secs`, or less than
//! `server.min_body_bytes_per_sec` on average once that much time has been spent waiting for it,
//! ends the body with [`BodyTooSlow`], which the extractors answer as 408 / 40800.
//!
//! Only time spent waiting for the client counts (the body was asked for its next bytes and had
//! none): a handler busy storing what it has read does not make its client look slow.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::time::Sleep;

/// How a request body must keep arriving.
#[derive(Debug, Clone)]
pub struct BodyRate {
    /// Longest wait for the next bytes; also the grace before the average rate applies.
    pub gap: Duration,
    /// Least average rate, in bytes per second of waiting, once `gap` has been waited.
    pub min_bytes_per_sec: u64,
}

impl BodyRate {
    /// When, having received `received` bytes and waited `waited` before the current wait
    /// (that began at `since`), the body becomes too slow if nothing more arrives.
    fn deadline(&self, received: u64, waited: Duration, since: Instant) -> Instant {
        let rate_allows = if self.min_bytes_per_sec == 0 {
            Duration::MAX
        } else {
            Duration::from_secs_f64(received as f64 / self.min_bytes_per_sec as f64)
        };
        let total_allowed = self.gap.max(rate_allows);
        let by_rate = total_allowed.saturating_sub(waited);
        let wait = by_rate.min(self.gap);
        since.checked_add(wait).unwrap_or(since + self.gap)
    }
}

/// The error a too-slow body ends with.
#[derive(Debug, thiserror::Error)]
#[error(
    "the request body arrived too slowly: {received} bytes in {waited_secs} s of waiting \
     (server.body_timeout_secs {gap_secs}, server.min_body_bytes_per_sec {min_rate})"
)]
pub struct BodyTooSlow {
    pub received: u64,
    pub waited_secs: u64,
    pub gap_secs: u64,
    pub min_rate: u64,
}

/// Whether `error` (or anything in its source chain) is a [`BodyTooSlow`].
pub(crate) fn too_slow<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a BodyTooSlow> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(slow) = error.downcast_ref::<BodyTooSlow>() {
            return Some(slow);
        }
        current = error.source();
    }
    None
}

/// `inner` under a [`BodyRate`].
pub struct RateLimitedBody<B> {
    inner: B,
    rate: BodyRate,
    received: u64,
    /// Time spent waiting for the client before the current wait.
    waited: Duration,
    /// When the current wait began.
    waiting_since: Option<Instant>,
    timer: Option<Pin<Box<Sleep>>>,
    failed: bool,
}

impl<B> RateLimitedBody<B> {
    pub fn new(inner: B, rate: BodyRate) -> RateLimitedBody<B> {
        RateLimitedBody {
            inner,
            rate,
            received: 0,
            waited: Duration::ZERO,
            waiting_since: None,
            timer: None,
            failed: false,
        }
    }

    fn end_wait(&mut self) {
        if let Some(since) = self.waiting_since.take() {
            self.waited += since.elapsed();
        }
        self.timer = None;
    }
}

impl<B> Body for RateLimitedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.failed {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.end_wait();
                if let Some(Ok(frame)) = &frame {
                    if let Some(data) = frame.data_ref() {
                        this.received += data.len() as u64;
                    }
                }
                Poll::Ready(frame.map(|frame| frame.map_err(Into::into)))
            }
            Poll::Pending => {
                let since = *this.waiting_since.get_or_insert_with(Instant::now);
                let deadline = this.rate.deadline(this.received, this.waited, since);
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline.into())));
                if timer.deadline() != deadline.into() {
                    timer.as_mut().reset(deadline.into());
                }
                if timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.end_wait();
                this.failed = true;
                Poll::Ready(Some(Err(Box::new(BodyTooSlow {
                    received: this.received,
                    waited_secs: this.waited.as_secs(),
                    gap_secs: this.rate.gap.as_secs(),
                    min_rate: this.rate.min_bytes_per_sec,
                }))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> BodyRate {
        BodyRate {
            gap: Duration::from_secs(30),
            min_bytes_per_sec: 1000,
        }
    }

    #[test]
    fn a_body_may_wait_the_gap_before_the_rate_applies() {
        let now = Instant::now();
        assert_eq!(
            rule().deadline(0, Duration::ZERO, now),
            now + Duration::from_secs(30)
        );
        // 10 s waited, 5 bytes: 30 s of grace in all, 20 left.
        assert_eq!(
            rule().deadline(5, Duration::from_secs(10), now),
            now + Duration::from_secs(20)
        );
    }

    #[test]
    fn a_trickle_is_cut_off_once_its_average_falls_below_the_rate() {
        let now = Instant::now();
        // 40 s waited for 35,000 bytes: the rate allows 35 s of waiting, the grace 30: over.
        assert_eq!(rule().deadline(35_000, Duration::from_secs(40), now), now);
        // A fast body earns waiting time, but never more than the gap at once.
        assert_eq!(
            rule().deadline(100_000_000, Duration::from_secs(40), now),
            now + Duration::from_secs(30)
        );
    }
}
