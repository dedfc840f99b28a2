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
use std::sync::atomic::Ordering;
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

/// What one routing pass did.
#[derive(Debug, Default)]
struct Pass {
    routed: usize,
    /// The pass was full and routed some: more tasks are likely waiting.
    more: bool,
}
/// How long an upstream may fetch a task's assets from reelay (it may queue the task for hours).
const ASSET_URL_TTL_SECS: i64 = 24 * 3600;
/// How far ahead a remote channel's create may book its `rpm` slot (the submission sleeps until
/// it): one routing pass spreads its creates over this instead of one per pass.
const CREATE_BOOKING: Duration = Duration::from_secs(1);
/// How long a task skips a channel that refused it without a `Retry-After`.
const DEFAULT_AVOID: Duration = Duration::from_secs(30);

/// One routing pass's tasks picked for one channel, with the upstream model of each.
type Group = Vec<(TaskRow, String)>;

impl Upstream {
    pub(super) async fn dispatch_loop(self: Arc<Self>, shutdown: CancellationToken) {
        let mut submits = JoinSet::new();
        let every = Duration::from_millis(self.settings.dispatch_interval_ms);
        loop {
            while submits.try_join_next().is_some() {}
            let more = match self.dispatch_pass(&mut submits).await {
                Ok(pass) => pass.more,
                Err(error) => {
                    tracing::error!(%error, "dispatching queued tasks failed");
                    false
                }
            };
            if more {
                // A full pass routed tasks: more are waiting; route them now.
                tokio::task::yield_now().await;
                continue;
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
        Ok(self.dispatch_pass(submits).await?.routed)
    }

    /// One routing pass over the oldest `PASS` unrouted tasks. Each task picks a channel by the
    /// routing rules among those that can take it now; each channel's picks are then booked
    /// together (its `rpm` slots in one take, its create permits) and routed in one transaction,
    /// which counts the channel's `max_concurrency` in the database. A channel that could not
    /// take all of its picks (out of slots, permits or room) is skipped by the next round of
    /// the same pass, so the rest fall over to the other channels, as when routed one by one.
    async fn dispatch_pass(
        self: &Arc<Self>,
        submits: &mut JoinSet<()>,
    ) -> Result<Pass, sqlx::Error> {
        let tasks = crate::store::tasks::unrouted(&self.db, PASS).await?;
        if tasks.is_empty() {
            return Ok(Pass::default());
        }
        let full = tasks.len() as i64 >= PASS;
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
        let mut pending = Vec::with_capacity(tasks.len());
        for task in tasks {
            if now() - task.created_at < timeout {
                pending.push(task);
                continue;
            }
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
        }
        let mut routed = 0;
        // Channels that take nothing more in this pass.
        let mut spent: Vec<bool> = vec![false; self.channels.list.len()];
        while !pending.is_empty() {
            let mut groups: Vec<Group> = vec![Vec::new(); self.channels.list.len()];
            for task in pending {
                let avoided = self.avoided(&task.id);
                let serving: Vec<(usize, String)> = self
                    .channels
                    .list
                    .iter()
                    .enumerate()
                    .filter_map(|(i, c)| {
                        c.settings
                            .upstream_model(&task.model)
                            .map(|m| (i, m.to_string()))
                    })
                    .collect();
                let candidates: Vec<Candidate> = serving
                    .iter()
                    .map(|(i, _)| {
                        let channel = &self.channels.list[*i];
                        let name = channel.name();
                        let picked = groups[*i].len() as i64;
                        let available = !spent[*i]
                            && !avoided.iter().any(|a| a == name)
                            && channel.can_submit()
                            // A cooled-down breaker lets one trial call through.
                            && (picked == 0 || !channel.on_trial())
                            && (!channel.limited
                                || in_flight.get(name).copied().unwrap_or(0) + picked
                                    < i64::from(channel.settings.max_concurrency));
                        Candidate {
                            priority: channel.settings.priority,
                            weight: channel.settings.weight,
                            available,
                        }
                    })
                    .collect();
                let roll = rand::thread_rng().gen::<u64>();
                // A task no channel can take now stays unrouted until a later pass.
                if let Some(index) = routing::pick(&candidates, roll) {
                    let (i, upstream_model) = &serving[index];
                    groups[*i].push((task, upstream_model.clone()));
                }
            }
            pending = Vec::new();
            for (i, group) in groups.into_iter().enumerate() {
                if group.is_empty() {
                    continue;
                }
                let channel = self.channels.list[i].clone();
                let (count, left) = self
                    .route_group(&channel, group, &mut in_flight, submits)
                    .await?;
                routed += count;
                if !left.is_empty() {
                    spent[i] = true;
                    pending.extend(left);
                }
            }
        }
        Ok(Pass {
            routed,
            more: full && routed > 0,
        })
    }

    /// Books and routes one channel's picks (oldest first); returns how many were routed and
    /// the picks it could not take (out of `rpm` slots, create permits or `max_concurrency`).
    async fn route_group(
        self: &Arc<Self>,
        channel: &Arc<Channel>,
        mut group: Group,
        in_flight: &mut HashMap<String, i64>,
        submits: &mut JoinSet<()>,
    ) -> Result<(usize, Vec<TaskRow>), sqlx::Error> {
        let remote = channel.execution() == Execution::Remote;
        let mut left: Vec<TaskRow> = Vec::new();
        // Create calls in flight in this process: a permit per routed task, taken first.
        let mut permits = Vec::new();
        if remote {
            if let Some(semaphore) = self.create_permits.get(channel.name()) {
                while permits.len() < group.len() {
                    match semaphore.clone().try_acquire_owned() {
                        Ok(permit) => permits.push(permit),
                        Err(_) => {
                            self.creates_starved.store(true, Ordering::SeqCst);
                            break;
                        }
                    }
                }
                left.extend(group.drain(permits.len()..).map(|(task, _)| task));
                if group.is_empty() {
                    return Ok((0, left));
                }
            }
        }
        // The channel's create RPM, paced in the database so that it holds across replicas:
        // a remote channel's creates may book slots up to `CREATE_BOOKING` ahead (each
        // submission waits for its own), an in-process routing takes only a slot that is due.
        let mut slots = None;
        if channel.limited {
            let booking = if remote {
                CREATE_BOOKING
            } else {
                Duration::ZERO
            };
            let now_us = crate::clock::now_us();
            match crate::store::rate::take_many(
                &self.db,
                &format!("channel:{}", channel.name()),
                i64::from(channel.settings.rpm),
                now_us,
                booking,
                group.len() as i64,
            )
            .await?
            {
                Ok(taken) => {
                    if (taken.count as usize) < group.len() {
                        // Look again when half a booking's worth of slots has freed (at least
                        // the next slot), so that one pass books several.
                        let next = taken.at(taken.count) - booking.as_micros() as i64 - now_us;
                        let wait = Duration::from_micros(next.max(1) as u64);
                        channel.pause_creates_until(Instant::now() + wait.max(booking / 2));
                        left.extend(group.drain(taken.count as usize..).map(|(task, _)| task));
                    }
                    slots = Some(taken);
                }
                Err(wait) => {
                    channel.pause_creates_until(Instant::now() + wait.max(booking / 2));
                    left.extend(group.into_iter().map(|(task, _)| task));
                    return Ok((0, left));
                }
            }
        }
        let max_in_flight = channel
            .limited
            .then_some(i64::from(channel.settings.max_concurrency));
        let name = channel.name();
        if !remote {
            let items: Vec<(&str, Option<NewSubmission<'_>>)> = group
                .iter()
                .map(|(task, _)| (task.id.as_str(), None))
                .collect();
            let (routed, tried) = state::route_many(&self.db, name, max_in_flight, &items).await?;
            for _ in &routed {
                channel.reserve_submit();
                self.local_wake.notify_one();
            }
            *in_flight.entry(name.to_string()).or_insert(0) += routed.len() as i64;
            if !routed.is_empty() {
                crate::store::notify::announce(&self.db, crate::store::notify::Topic::Local).await;
            }
            // Those not tried (the channel is full) may go elsewhere; those tried and not
            // routed are no longer routable.
            left.extend(group.into_iter().skip(tried).map(|(task, _)| task));
            return Ok((routed.len(), left));
        }
        let markers: Vec<String> = group.iter().map(|(task, _)| marker_for(&task.id)).collect();
        let reconcile_at_ms = now_ms()
            + channel.settings.request_timeout_ms as i64
            + channel.settings.reconcile_after_ms as i64;
        let items: Vec<(&str, Option<NewSubmission<'_>>)> = group
            .iter()
            .zip(&markers)
            .map(|((task, upstream_model), marker)| {
                let submission = NewSubmission {
                    upstream_model,
                    marker,
                    reconcile_at_ms,
                };
                (task.id.as_str(), Some(submission))
            })
            .collect();
        let (routed, tried) = state::route_many(&self.db, name, max_in_flight, &items).await?;
        *in_flight.entry(name.to_string()).or_insert(0) += routed.len() as i64;
        let mut count = 0;
        let mut permits = permits.into_iter();
        for (i, ((task, upstream_model), marker)) in group.into_iter().zip(markers).enumerate() {
            if !routed.contains(&task.id) {
                // Not tried: the channel is full, the task may go elsewhere. Tried and not
                // routed: it is no longer routable.
                if i >= tried {
                    left.push(task);
                }
                continue;
            }
            channel.reserve_submit();
            // Slots in the order of the picks routed; a pick not routed leaves its slot unused.
            let not_before_us = slots.map(|slots| slots.at(count as i64));
            count += 1;
            let permit = permits.next();
            let upstream = self.clone();
            let channel = channel.clone();
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
                drop(permit);
                if upstream.creates_starved.swap(false, Ordering::SeqCst) {
                    upstream.wake.notify_one();
                }
            });
        }
        Ok((count, left))
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
                match self
                    .accepted
                    .record(&self.db, task_id, &upstream_id, next)
                    .await
                {
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
