//! The dispatcher: routes every `queued` task to a channel, in-process (`local`) or remote, by
//! the same rules (MODELS.md §Routing), and submits it when the channel is remote. A task routed
//! to an in-process channel wakes the local workers, which claim it.
//!
//! A task no channel can take now stays `queued` (unrouted) until `queue_timeout_secs`, then fails
//! with a refund. Submissions run concurrently; each one's outcome decides what comes next:
//! accepted → polled; surely not accepted → the task skips that channel for a while and is routed
//! again (failover); channel down → breaker; rejected → the task fails with the upstream's code;
//! ambiguous → left `submitting` for the poller to reconcile.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use reelay_catalog::ValidatedRequest;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{marker_for, Upstream};
use crate::clock::now;
use crate::providers::channels::Channel;
use crate::providers::routing::{self, Candidate};
use crate::providers::{CallError, Execution, SubmitRequest, TaskFailure};
use crate::store::tasks::TaskRow;
use crate::store::upstream::{self as rows, now_ms};
use crate::tasks::state::{self, Holder, NewSubmission};

/// Unrouted tasks looked at per pass.
const PASS: i64 = 500;
/// How long an upstream may fetch a task's assets from reelay (it may queue the task for hours).
const ASSET_URL_TTL_SECS: i64 = 24 * 3600;
/// How far ahead a remote channel's create may book its `rpm` slot (the submission sleeps until
/// it): one routing pass spreads its creates over this instead of one per pass.
const CREATE_BOOKING: Duration = Duration::from_secs(1);
/// How long a task skips a channel that refused it without a `Retry-After`.
const DEFAULT_AVOID: Duration = Duration::from_secs(30);

impl Upstream {
    pub(super) async fn dispatch_loop(self: Arc<Self>, shutdown: CancellationToken) {
        let mut submits = JoinSet::new();
        let every = Duration::from_millis(self.settings.dispatch_interval_ms);
        loop {
            while submits.try_join_next().is_some() {}
            if let Err(error) = self.dispatch_once(&mut submits).await {
                tracing::error!(%error, "dispatching queued tasks failed");
            }
            // Tasks held back only by a channel's `rpm` are routed when its next slots free,
            // not a whole interval later.
            let now = Instant::now();
            let wait = self
                .channels
                .list
                .iter()
                .filter_map(|channel| channel.creates_resume_at())
                .map(|at| at.saturating_duration_since(now))
                .fold(every, Duration::min);
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
        // Submissions cut short stay `submitting` and are reconciled at the next start.
        submits.abort_all();
    }

    /// One routing pass; returns how many tasks were routed.
    pub(crate) async fn dispatch_once(
        self: &Arc<Self>,
        submits: &mut JoinSet<()>,
    ) -> Result<usize, sqlx::Error> {
        let tasks = crate::store::tasks::unrouted(&self.db, PASS).await?;
        if tasks.is_empty() {
            return Ok(0);
        }
        // An operator's pause may have been set through another replica's admin API.
        let paused = rows::paused_channels(&self.db).await?;
        for channel in &self.channels.list {
            channel.set_paused(paused.iter().any(|name| name == channel.name()));
        }
        let mut in_flight = rows::in_flight(&self.db).await?;
        for channel in &self.channels.list {
            if channel.limited && channel.execution() == Execution::InProcess {
                let count =
                    crate::store::tasks::routed_unfinished(&self.db, channel.name()).await?;
                in_flight.insert(channel.name().to_string(), count);
            }
        }
        let timeout = self.settings.queue_timeout_secs as i64;
        let mut routed = 0;
        for task in tasks {
            if now() - task.created_at >= timeout {
                let message = format!(
                    "no channel could take this task within {} minutes; the task was refunded",
                    timeout / 60
                );
                if state::fail(
                    &self.db,
                    &task.id,
                    Holder::Queued,
                    &TaskFailure::new("queue_timeout", message),
                )
                .await?
                {
                    tracing::warn!(task_id = %task.id, model = %task.model, "task timed out waiting for a channel");
                }
                continue;
            }
            let avoided = self.avoided(&task.id);
            let serving: Vec<(&Arc<Channel>, String)> = self
                .channels
                .list
                .iter()
                .filter_map(|c| {
                    c.settings
                        .upstream_model(&task.model)
                        .map(|m| (c, m.to_string()))
                })
                .collect();
            let candidates: Vec<Candidate> = serving
                .iter()
                .map(|(channel, _)| {
                    let name = channel.name();
                    let available = !avoided.iter().any(|a| a == name)
                        && channel.can_submit()
                        && (!channel.limited
                            || in_flight.get(name).copied().unwrap_or(0)
                                < i64::from(channel.settings.max_concurrency));
                    Candidate {
                        priority: channel.settings.priority,
                        weight: channel.settings.weight,
                        available,
                    }
                })
                .collect();
            let roll = rand::thread_rng().gen::<u64>();
            let Some(index) = routing::pick(&candidates, roll) else {
                continue;
            };
            let (channel, upstream_model) = &serving[index];
            // The channel's create RPM, paced in the database so that it holds across replicas:
            // a remote channel's create may book a slot up to `CREATE_BOOKING` ahead (its
            // submission waits for it), an in-process routing takes only a slot that is due.
            let mut not_before_us = None;
            if channel.limited {
                let booking = if channel.execution() == Execution::Remote {
                    CREATE_BOOKING
                } else {
                    Duration::ZERO
                };
                let now_us = crate::clock::now_us();
                match crate::store::rate::take(
                    &self.db,
                    &format!("channel:{}", channel.name()),
                    i64::from(channel.settings.rpm),
                    now_us,
                    booking,
                )
                .await?
                {
                    Ok(slot) => not_before_us = (slot > now_us).then_some(slot),
                    Err(wait) => {
                        // Look again when half a booking's worth of slots has freed (at least
                        // the next slot), so that one pass books several.
                        channel.pause_creates_until(Instant::now() + wait.max(booking / 2));
                        continue;
                    }
                }
            }
            let max_in_flight = channel
                .limited
                .then_some(i64::from(channel.settings.max_concurrency));
            if channel.execution() == Execution::InProcess {
                if state::route(&self.db, &task.id, channel.name(), max_in_flight, None).await? {
                    channel.reserve_submit();
                    *in_flight.entry(channel.name().to_string()).or_insert(0) += 1;
                    self.local_wake.notify_one();
                    crate::store::notify::announce(&self.db, crate::store::notify::Topic::Local)
                        .await;
                    routed += 1;
                }
                continue;
            }
            let marker = marker_for(&task.id);
            let reconcile_at_ms = now_ms()
                + channel.settings.request_timeout_ms as i64
                + channel.settings.reconcile_after_ms as i64;
            let submission = NewSubmission {
                upstream_model,
                marker: &marker,
                reconcile_at_ms,
            };
            if !state::route(
                &self.db,
                &task.id,
                channel.name(),
                max_in_flight,
                Some(submission),
            )
            .await?
            {
                continue;
            }
            channel.reserve_submit();
            *in_flight.entry(channel.name().to_string()).or_insert(0) += 1;
            routed += 1;
            let upstream = self.clone();
            let channel = (*channel).clone();
            let upstream_model = upstream_model.clone();
            submits.spawn(async move {
                if let Some(slot) = not_before_us {
                    let wait = slot - crate::clock::now_us();
                    if wait > 0 {
                        tokio::time::sleep(Duration::from_micros(wait as u64)).await;
                    }
                }
                upstream
                    .submit(&channel, &task, &upstream_model, &marker)
                    .await;
            });
        }
        Ok(routed)
    }

    /// Signed URLs of the request's assets (valid for `ASSET_URL_TTL_SECS`), by asset id; an
    /// asset deleted since the task was accepted fails the task.
    async fn asset_urls(
        &self,
        request: &ValidatedRequest,
    ) -> Result<HashMap<String, String>, String> {
        let mut urls = HashMap::new();
        for (field, _kind, id) in request.asset_refs() {
            let row = crate::store::assets::get(&self.db, id)
                .await
                .map_err(|e| format!("{field}: reading asset://{id} failed: {e}"))?;
            let key = row.and_then(|row| row.object_key).ok_or_else(|| {
                format!("{field}: asset://{id} no longer exists (it was deleted)")
            })?;
            let expires = crate::clock::now() + ASSET_URL_TTL_SECS;
            urls.insert(
                id.to_string(),
                format!(
                    "{}{}",
                    self.public_url,
                    self.storage.signed_path(&key, expires)
                ),
            );
        }
        Ok(urls)
    }

    /// Makes one create call for a task recorded `submitting`, and records its outcome.
    #[tracing::instrument(skip_all, fields(task_id = %task.id, channel = %channel.name()))]
    pub(super) async fn submit(
        &self,
        channel: &Channel,
        task: &TaskRow,
        upstream_model: &str,
        marker: &str,
    ) {
        let provider = channel.provider.clone();
        let request: ValidatedRequest = match task.request.decode() {
            Ok(request) => request,
            Err(error) => {
                let failure =
                    TaskFailure::new("internal", format!("stored request unreadable: {error}"));
                self.fail_on(channel, &task.id, &failure).await;
                return;
            }
        };
        let callback_url = channel.settings.sends_callbacks(&self.public_url).then(|| {
            format!(
                "{}/upstream/v1/callbacks/{}",
                self.public_url,
                channel.name()
            )
        });
        let asset_urls = match self.asset_urls(&request).await {
            Ok(urls) => urls,
            Err(message) => {
                let failure = TaskFailure::new("invalid_input", message);
                self.fail_on(channel, &task.id, &failure).await;
                return;
            }
        };
        let outcome = provider
            .submit(SubmitRequest {
                task_id: &task.id,
                marker,
                upstream_model,
                request: &request,
                callback_url,
                asset_urls,
            })
            .await;
        self.after_submit(channel, &task.id, outcome).await;
    }

    async fn after_submit(
        &self,
        channel: &Channel,
        task_id: &str,
        outcome: Result<String, CallError>,
    ) {
        let name = channel.name();
        match outcome {
            Ok(upstream_id) => {
                channel.record_success();
                let next = now_ms() + channel.settings.poll_min_ms as i64;
                match rows::mark_submitted(&self.db, task_id, &upstream_id, next).await {
                    Ok(true) => tracing::info!(%upstream_id, "accepted upstream"),
                    Ok(false) => {
                        // The answer came after the submission was resolved (reconciled as never
                        // accepted, or the task ended): nothing tracks this upstream task, so
                        // cancel it rather than pay for it (best effort: Ark refuses once running).
                        tracing::warn!(%upstream_id, "accepted upstream, but the submission was already resolved; cancelling the upstream task");
                        if let Err(error) = channel.provider.cancel(&upstream_id).await {
                            tracing::warn!(%upstream_id, %error, "cancelling the untracked upstream task failed");
                        }
                    }
                    Err(error) => {
                        tracing::error!(%error, %upstream_id, "recording an accepted submission failed; it will be reconciled")
                    }
                }
                channel.wake.notify_one();
            }
            Err(CallError::NotAccepted {
                reason,
                retry_after,
            }) => {
                tracing::warn!(%reason, "upstream did not accept the task; it goes back to routing");
                channel.record_failure(&reason);
                self.avoid(task_id, name, retry_after.unwrap_or(DEFAULT_AVOID));
                self.record(state::unroute(&self.db, task_id, name).await);
                self.wake.notify_one();
            }
            Err(CallError::ChannelDown { code, reason }) => {
                channel.open_breaker(&code, &reason);
                self.record(state::unroute(&self.db, task_id, name).await);
                self.wake.notify_one();
            }
            Err(CallError::Rejected { code, message }) => {
                channel.record_success();
                tracing::info!(%code, %message, "upstream refused the request");
                let failure = TaskFailure::new(
                    &code,
                    format!("the upstream refused the request: {message}"),
                );
                self.fail_on(channel, task_id, &failure).await;
            }
            Err(CallError::Ambiguous { reason }) => {
                tracing::warn!(%reason, "create outcome unknown; reconciling before any resubmission");
                channel.record_failure(&reason);
                let at = now_ms() + channel.settings.reconcile_after_ms as i64;
                self.record(
                    rows::reschedule(&self.db, task_id, at, None, Some(&reason))
                        .await
                        .map(|_| true),
                );
            }
        }
    }

    /// Fails (and refunds) a task routed to `channel` whose submission cannot succeed.
    async fn fail_on(&self, channel: &Channel, task_id: &str, failure: &TaskFailure) {
        let holder = Holder::Channel(channel.name());
        self.record(state::fail(&self.db, task_id, holder, failure).await);
    }

    fn record(&self, outcome: Result<bool, sqlx::Error>) {
        if let Err(error) = outcome {
            tracing::error!(%error, "recording an upstream outcome failed");
        }
    }
}
