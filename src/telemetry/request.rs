//! The context of one HTTP request that its log lines carry: request id, method, path, and the
//! account and task once the request knows them.
//!
//! It is a task-local value, not a `tracing` span: a span costs a registry slot, the formatting
//! of its fields when it is created and recorded, and an enter and exit on every poll of the
//! request's future — about a tenth of a task poll's server CPU (docs/BENCHMARKS.md) — even
//! though a request that goes well logs nothing at the default level. Here the fields are kept
//! as they are and formatted only when a line is written (`super::format`). Spans opened inside a
//! request (`#[tracing::instrument]`) still nest under it in the output.

use std::cell::RefCell;
use std::future::Future;

use axum::http::{Method, Uri};

tokio::task_local! {
    static REQUEST: Request;
}

/// What is known about the request being served.
#[derive(Debug)]
pub struct Request {
    id: String,
    method: Method,
    uri: Uri,
    account_id: RefCell<Option<String>>,
    task_id: RefCell<Option<String>>,
}

impl Request {
    pub fn new(id: String, method: Method, uri: Uri) -> Request {
        Request {
            id,
            method,
            uri,
            account_id: RefCell::new(None),
            task_id: RefCell::new(None),
        }
    }

    /// Runs `future` as this request: log lines written while it runs carry the request.
    pub(crate) async fn scope<F: Future>(self, future: F) -> F::Output {
        REQUEST.scope(self, future).await
    }
}

/// Names the account of the request being served (after authentication); no-op outside one.
pub(crate) fn record_account(account_id: &str) {
    let _ = REQUEST.try_with(|request| {
        if let Ok(mut slot) = request.account_id.try_borrow_mut() {
            *slot = Some(account_id.to_owned());
        }
    });
}

/// Names the task the request being served is about; no-op outside one.
pub(crate) fn record_task(task_id: &str) {
    let _ = REQUEST.try_with(|request| {
        if let Ok(mut slot) = request.task_id.try_borrow_mut() {
            *slot = Some(task_id.to_owned());
        }
    });
}

/// The fields of the request being served, as `(name, value, quoted)`: `quoted` marks the
/// fields the text format writes as strings (as `tracing` writes a recorded `&str`). Never
/// panics: a field being written at that moment is left out.
pub(super) fn with_fields<R>(write: impl FnOnce(&[(&str, &str, bool)]) -> R) -> Option<R> {
    REQUEST
        .try_with(|request| {
            let account = request.account_id.try_borrow().ok();
            let task = request.task_id.try_borrow().ok();
            let method = request.method.as_str();
            let mut fields: [(&str, &str, bool); 5] = [("", "", false); 5];
            let mut n = 0;
            for field in [
                Some(("request_id", request.id.as_str(), false)),
                Some(("method", method, false)),
                Some(("path", request.uri.path(), false)),
                account
                    .as_deref()
                    .and_then(Option::as_deref)
                    .map(|a| ("account_id", a, true)),
                task.as_deref()
                    .and_then(Option::as_deref)
                    .map(|t| ("task_id", t, true)),
            ]
            .into_iter()
            .flatten()
            {
                fields[n] = field;
                n += 1;
            }
            write(&fields[..n])
        })
        .ok()
}
