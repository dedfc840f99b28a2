//! A channel's provider with every call counted in the process metrics: calls by channel and
//! call, failures by kind (API.md §8 "upstream calls and errors by channel"). Every channel's
//! provider is wrapped, `local` included (its `run`s: a failure the request caused counts as
//! `rejected`, any other as `failed`).

use std::sync::Arc;

use futures::future::BoxFuture;

use super::{CallError, Execution, Job, Outcome, Provider, SubmitRequest, UpstreamTask};
use crate::metrics::Metrics;

/// Wraps `inner`, the provider of channel `channel`.
pub(crate) struct Counted {
    inner: Arc<dyn Provider>,
    channel: String,
    metrics: Arc<Metrics>,
}

impl Counted {
    pub fn new(inner: Arc<dyn Provider>, channel: &str, metrics: Arc<Metrics>) -> Counted {
        Counted {
            inner,
            channel: channel.to_string(),
            metrics,
        }
    }

    fn count<T>(&self, call: &'static str, answer: &Result<T, CallError>) {
        self.metrics.upstream_call(
            &self.channel,
            call,
            answer.as_ref().err().map(CallError::kind),
        );
    }
}

impl Provider for Counted {
    fn execution(&self) -> Execution {
        self.inner.execution()
    }

    fn run<'a>(&'a self, job: Job<'a>) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let outcome = self.inner.run(job).await;
            let error = match &outcome {
                Outcome::Completed(_) => None,
                Outcome::Failed(failure) if failure.is_request_fault() => Some("rejected"),
                Outcome::Failed(_) => Some("failed"),
            };
            self.metrics.upstream_call(&self.channel, "run", error);
            outcome
        })
    }

    fn submit<'a>(
        &'a self,
        request: SubmitRequest<'a>,
    ) -> BoxFuture<'a, Result<String, CallError>> {
        Box::pin(async move {
            let answer = self.inner.submit(request).await;
            self.count("submit", &answer);
            answer
        })
    }

    fn find_by_marker<'a>(
        &'a self,
        upstream_model: &'a str,
        marker: &'a str,
        since: i64,
    ) -> BoxFuture<'a, Result<Option<String>, CallError>> {
        Box::pin(async move {
            let answer = self
                .inner
                .find_by_marker(upstream_model, marker, since)
                .await;
            self.count("find", &answer);
            answer
        })
    }

    fn statuses<'a>(
        &'a self,
        ids: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<UpstreamTask>, CallError>> {
        Box::pin(async move {
            let answer = self.inner.statuses(ids).await;
            self.count("statuses", &answer);
            answer
        })
    }

    fn cancel<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), CallError>> {
        Box::pin(async move {
            let answer = self.inner.cancel(id).await;
            self.count("cancel", &answer);
            answer
        })
    }

    fn max_batch(&self) -> usize {
        self.inner.max_batch()
    }

    fn idempotent_create(&self) -> bool {
        self.inner.idempotent_create()
    }
}
