//! What a handler left of its request body is read and dropped once it has answered, as Go's
//! `net/http` does: a handler that answers without reading the body (a `DELETE` that an SDK
//! sends with `{}`, an early 401 or 400) would otherwise leave hyper to close the connection if
//! those bytes had not arrived yet, after an answer that did not say so, and a client that reuses
//! the connection for its next request reads "server disconnected". Up to [`LEFTOVER_MAX`] bytes
//! arriving within [`LEFTOVER_WAIT`] are read (still under the body's [`super::body_rate`]
//! rule); a larger or slower rest, and the answer says `Connection: close`, so the client knows.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};

/// The most of an unread body read to keep the connection.
const LEFTOVER_MAX: u64 = 256 * 1024;
/// The longest wait for an unread body's rest.
const LEFTOVER_WAIT: Duration = Duration::from_secs(2);

/// The request body as the handler sees it; the rest stays reachable through [`Leftover`].
pub(super) struct SharedBody<B>(Arc<Mutex<B>>);

/// The part of a request body its handler did not read, for after the answer.
pub(super) struct Leftover<B>(Arc<Mutex<B>>);

/// Splits `body` into the handler's side and the server's.
pub(super) fn share<B>(body: B) -> (SharedBody<B>, Leftover<B>) {
    let shared = Arc::new(Mutex::new(body));
    (SharedBody(shared.clone()), Leftover(shared))
}

impl<B: Body + Unpin> Body for SharedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut body = self.0.lock().unwrap_or_else(|p| p.into_inner());
        Pin::new(&mut *body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).size_hint()
    }
}

impl<B: Body<Data = Bytes> + Unpin> Leftover<B> {
    /// Reads and drops what the handler left; whether the connection may carry another request.
    pub(super) async fn drain(self) -> bool {
        // A handler whose answer still reads the body (a stream) keeps it: nothing is left yet.
        let Ok(body) = Arc::try_unwrap(self.0) else {
            return true;
        };
        let mut body = body.into_inner().unwrap_or_else(|p| p.into_inner());
        if body.is_end_stream() {
            return true;
        }
        // Declared larger than we would read: no wait for it.
        if body.size_hint().lower() > LEFTOVER_MAX {
            return false;
        }
        let read = async {
            let mut seen = 0u64;
            while let Some(frame) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
                let Ok(frame) = frame else { return false };
                if let Some(data) = frame.data_ref() {
                    seen += data.len() as u64;
                    if seen > LEFTOVER_MAX {
                        return false;
                    }
                }
            }
            true
        };
        tokio::time::timeout(LEFTOVER_WAIT, read)
            .await
            .unwrap_or(false)
    }
}
