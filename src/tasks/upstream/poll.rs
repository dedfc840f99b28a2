//! One poller per remote channel: status calls for many tasks at once (Ark's list with
//! `filter.task_ids`), paced evenly within `poll_rpm` (a slot every `60 s / poll_rpm`, booked in
//! the database, `store::rate`) and up to `poll_concurrency` at once.
//!
//! Every slot is spent where it matters most: a call takes the tasks whose planned look is due,
//! earliest planned first, and fills the rest of its batch with tasks not looked at for
//! `poll_min_ms`, again by plan; when no task is due, a call is still made if it can be full
//! (the budget is there to be used). A task's next look is planned from the run times learned
//! for its class (`runtime`): closer together as it nears the usual end, never later than
//! `poll_max_ms` after the last one. So with N tasks in flight, each is looked at least every
//! `N / (poll_rpm / 60 × poll_batch)` seconds, sooner near its end.
//!
//! Status mapping: `queued` stays queued; `running` → processing; `succeeded` → result copied,
//! then completed; `failed` → failed with the upstream's code; `expired` / `cancelled` → failed
//! with that code at once; unknown → logged, polled again. Every failure is refunded once.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use super::runtime::Class;
use super::Upstream;
use crate::providers::channels::Channel;
use crate::providers::{CallError, Provider, TaskFailure, UpstreamStatus, UpstreamTask};
use crate::store::upstream::{self as rows, now_ms, DueRow, UpstreamRow};
use crate::tasks::state::{self, Holder};

/// Polls without the task in the answer before reelay gives up on it.
const MAX_MISSES: i64 = 10;
/// How long a channel's poller lease lasts without renewal: one replica polls a channel at a
/// time; after a crash another takes over within this.
const POLLER_LEASE_MS: i64 = 15_000;
/// How often the lease is renewed, and the longest the loop sleeps.
const RENEW_EVERY: Duration = Duration::from_millis((POLLER_LEASE_MS / 5) as u64);
/// How often orphans are cancelled and unknown submissions reconciled.
const CHORES_EVERY: Duration = Duration::from_secs(1);
/// How far ahead the poller books its `poll_rpm` slots (at least two slots): one pick books
/// every slot within it, so a fast `poll_rpm` does not wait on one database write per call.
const POLL_BOOKING: Duration = Duration::from_millis(100);
/// How long a task being copied is left alone by the poller.
const REHOST_HOLD_MS: i64 = 60_000;

/// When the poll loop picks again.
struct Next {
    wait: Duration,
    /// The wait is for the next `poll_rpm` slot (a wake-up changes nothing), not for something
    /// to become worth a call.
    for_slot: bool,
}

impl Upstream {
    pub(super) async fn poll_loop(
        self: Arc<Self>,
        channel: Arc<Channel>,
        shutdown: CancellationToken,
    ) {
        let permits = Arc::new(Semaphore::new(channel.settings.poll_concurrency() as usize));
        let mut holds = false;
        let mut renewed: Option<Instant> = None;
        let mut chores: Option<Instant> = None;
        loop {
            if renewed.is_none_or(|at| at.elapsed() >= RENEW_EVERY) {
                let now = now_ms();
                holds = match rows::hold_poller(
                    &self.db,
                    channel.name(),
                    &self.instance,
                    now,
                    now + POLLER_LEASE_MS,
                )
                .await
                {
                    Ok(holds) => holds,
                    Err(error) => {
                        tracing::error!(%error, channel = %channel.name(), "taking the poller lease failed");
                        false
                    }
                };
                renewed = Some(Instant::now());
            }
            let (wait, for_slot) = if !holds {
                // Another replica polls this channel; look again well before its lease ends.
                (RENEW_EVERY, false)
            } else {
                if chores.is_none_or(|at| at.elapsed() >= CHORES_EVERY) {
                    chores = Some(Instant::now());
                    if let Err(error) = self.poll_chores(&channel).await {
                        tracing::error!(%error, channel = %channel.name(), "reconciling submissions failed");
                    }
                }
                // Wait for room among the calls in flight; each call takes its own permit once
                // its slot has come, so waiting for a slot does not count as a call in flight.
                let room = tokio::select! {
                    _ = shutdown.cancelled() => break,
                    permit = permits.clone().acquire_owned() => permit,
                };
                let Ok(room) = room else { break };
                drop(room);
                match self.poll_next(&channel, permits.clone(), &shutdown).await {
                    Ok(next) if next.wait.is_zero() => continue,
                    Ok(next) => (next.wait, next.for_slot),
                    Err(error) => {
                        tracing::error!(%error, channel = %channel.name(), "polling failed");
                        (Duration::from_millis(channel.settings.poll_min_ms), false)
                    }
                }
            };
            let wait = wait.min(RENEW_EVERY).min(CHORES_EVERY);
            if for_slot {
                // Waiting for the next slot: a wake-up (a callback, a submission) could not be
                // served sooner; the next pick takes what became due meanwhile.
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(wait) => {}
                }
            } else {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = channel.wake.notified() => {}
                    _ = tokio::time::sleep(wait) => {}
                }
            }
        }
        // Let the calls in flight upstream end.
        let _ = permits
            .acquire_many(channel.settings.poll_concurrency())
            .await;
        if let Err(error) = rows::release_poller(&self.db, channel.name(), &self.instance).await {
            tracing::warn!(%error, channel = %channel.name(), "releasing the poller lease failed");
        }
    }

    /// Cancels upstream what reelay already ended and reconciles unknown submissions.
    async fn poll_chores(self: &Arc<Self>, channel: &Arc<Channel>) -> Result<(), sqlx::Error> {
        let provider = channel.provider.clone();
        let name = channel.name();
        for (task_id, upstream_id) in rows::orphaned(&self.db, name, 50).await? {
            // Best effort: Ark refuses to cancel a running task; nothing more can be done then.
            match provider.cancel(&upstream_id).await {
                Ok(()) => {
                    tracing::info!(%task_id, %upstream_id, channel = %name, "cancelled upstream")
                }
                Err(error) => {
                    tracing::warn!(%task_id, %upstream_id, channel = %name, %error, "upstream cancel refused")
                }
            }
            rows::mark_done(&self.db, &task_id).await?;
        }
        for row in &rows::unresolved(&self.db, name, now_ms(), 20).await? {
            self.reconcile(channel, provider.as_ref(), row).await?;
        }
        Ok(())
    }

    /// Picks the next batches, books their `poll_rpm` slots (all the slots within the booking
    /// window, in one take) and starts their status calls; each waits for its slot, then for
    /// one of `permits` (`poll_concurrency`), held until the upstream answered. Returns how long
    /// to wait before picking again: until the slot after the last one booked can be booked,
    /// or, when nothing is worth a call, until something may be.
    async fn poll_next(
        self: &Arc<Self>,
        channel: &Arc<Channel>,
        permits: Arc<Semaphore>,
        shutdown: &CancellationToken,
    ) -> Result<Next, sqlx::Error> {
        let name = channel.name();
        let batch = channel.provider.max_batch().max(1);
        let now = now_ms();
        let min_ms = channel.settings.poll_min_ms as i64;
        let rpm = i64::from(channel.settings.poll_rpm);
        let interval_us = crate::store::rate::slot_us(rpm);
        // Slots are booked up to `POLL_BOOKING` (at least two slots) ahead, so that the next
        // batches are picked while these wait for their slots; the calls stay one slot apart.
        let ahead_us = (2 * interval_us).max(POLL_BOOKING.as_micros() as i64);
        let most = (ahead_us / interval_us + 1) as usize;
        let busy: HashSet<String> = {
            let polling = self.polling_set();
            let rehosting = self.rehosting_set();
            polling.iter().chain(rehosting.iter()).cloned().collect()
        };
        let limit = (batch * most + busy.len()) as i64;
        let rows = rows::due(&self.db, name, now, now - min_ms, limit).await?;
        let picked: Vec<DueRow> = rows
            .into_iter()
            .filter(|row| !busy.contains(&row.task_id))
            .take(batch * most)
            .collect();
        // Due rows come first (earliest planned first), then the filler: a batch is worth a
        // call when it holds a due row or is full.
        let mut batches: Vec<Vec<DueRow>> = Vec::new();
        let mut picked = picked.into_iter().peekable();
        while picked.peek().is_some() {
            let chunk: Vec<DueRow> = picked.by_ref().take(batch).collect();
            if chunk.len() == batch || chunk.iter().any(|row| row.next_poll_ms <= now) {
                batches.push(chunk);
            }
        }
        if batches.is_empty() {
            // Not sooner than a slot: rows due but in a call now are rescheduled by its answer.
            let soonest = (interval_us / 1000).max(5).min(min_ms);
            let next = match rows::next_due(&self.db, name).await? {
                Some(at) => (at - now).clamp(soonest, min_ms),
                None => min_ms,
            };
            return Ok(Next {
                wait: Duration::from_millis(next as u64),
                for_slot: false,
            });
        }
        let now_us = crate::clock::now_us();
        let slots = match crate::store::rate::take_many(
            &self.db,
            &format!("poll:{name}"),
            rpm,
            now_us,
            Duration::from_micros(ahead_us as u64),
            batches.len() as i64,
        )
        .await?
        {
            Ok(slots) => slots,
            Err(wait) => {
                return Ok(Next {
                    wait,
                    for_slot: true,
                })
            }
        };
        for (i, picked) in batches.into_iter().take(slots.count as usize).enumerate() {
            {
                let mut polling = self.polling_set();
                for row in &picked {
                    polling.insert(row.task_id.clone());
                }
            }
            let slot = slots.at(i as i64);
            let upstream = self.clone();
            let channel = channel.clone();
            let shutdown = shutdown.clone();
            let permits = permits.clone();
            tokio::spawn(async move {
                let wait = slot - crate::clock::now_us();
                if wait > 0 {
                    tokio::select! {
                        _ = shutdown.cancelled() => {}
                        _ = tokio::time::sleep(Duration::from_micros(wait as u64)) => {}
                    }
                }
                let ids: Vec<String> = picked.iter().map(|row| row.task_id.clone()).collect();
                let permit = tokio::select! {
                    _ = shutdown.cancelled() => None,
                    permit = permits.acquire_owned() => permit.ok(),
                };
                if let Some(permit) = permit.filter(|_| !shutdown.is_cancelled()) {
                    let provider = channel.provider.clone();
                    if let Err(error) = upstream
                        .poll_batch(&channel, provider.as_ref(), picked, permit)
                        .await
                    {
                        tracing::error!(%error, channel = %channel.name(), "recording polled statuses failed");
                    }
                }
                let mut polling = upstream.polling_set();
                for id in &ids {
                    polling.remove(id);
                }
            });
        }
        // The slot after the last one booked can be booked once it is within the window.
        let next_booking = slots.at(slots.count) - ahead_us - crate::clock::now_us();
        Ok(Next {
            wait: Duration::from_micros(next_booking.max(0) as u64),
            for_slot: true,
        })
    }

    /// The next poll time of a task seen still running (or queued) now: planned by its class's
    /// learned run times, at least `poll_min_ms` and at most `poll_max_ms` from now.
    fn next_poll(&self, channel: &Channel, row: &DueRow) -> i64 {
        let now = now_ms();
        let age = (now - row.submitted_ms).max(0);
        let min = channel.settings.poll_min_ms as i64;
        let max = channel.settings.poll_max_ms as i64;
        now + self.run_times.next_look_in(&class_of(row), age, min, max)
    }

    async fn poll_batch(
        self: &Arc<Self>,
        channel: &Arc<Channel>,
        provider: &dyn Provider,
        rows: Vec<DueRow>,
        permit: OwnedSemaphorePermit,
    ) -> Result<(), sqlx::Error> {
        let ids: Vec<String> = rows.iter().map(|r| r.upstream_id.clone()).collect();
        let asked_ms = now_ms();
        let answer = provider.statuses(&ids).await;
        // `poll_concurrency` bounds the calls in flight upstream, not the recording.
        drop(permit);
        let tasks = match answer {
            Ok(tasks) => {
                channel.record_success();
                tasks
            }
            Err(error) => {
                match &error {
                    CallError::ChannelDown { code, reason } => channel.open_breaker(code, reason),
                    other => channel.record_failure(&other.to_string()),
                }
                let later: Vec<(String, i64, String)> = rows
                    .iter()
                    .map(|r| {
                        (
                            r.task_id.clone(),
                            now_ms() + channel.settings.poll_min_ms as i64,
                            "poll_error".to_string(),
                        )
                    })
                    .collect();
                return rows::reschedule_many(&self.db, &later, asked_ms).await;
            }
        };
        let mut by_id: HashMap<String, UpstreamTask> =
            tasks.into_iter().map(|t| (t.id.clone(), t)).collect();
        // What the answer says is written once per call, not once per task: the tasks seen
        // running for the first time, then every task's next look; then the copies start.
        let mut later = Vec::new();
        let mut running = Vec::new();
        let mut succeeded = Vec::new();
        for row in rows {
            let Some(task) = by_id.remove(&row.upstream_id) else {
                let misses = rows::record_miss(
                    &self.db,
                    &row.task_id.clone(),
                    self.next_poll(channel, &row),
                )
                .await?;
                tracing::warn!(task_id = %row.task_id, upstream_id = %row.upstream_id, misses, "upstream did not list the task");
                if misses >= MAX_MISSES {
                    let message = "the upstream lost track of this task; the task was refunded";
                    state::fail(
                        &self.db,
                        &row.task_id,
                        Holder::Channel(channel.name()),
                        &TaskFailure::new("upstream_lost", message),
                    )
                    .await?;
                }
                continue;
            };
            let status_word = match &task.status {
                UpstreamStatus::Unknown(word) => word.clone(),
                known => format!("{known:?}").to_lowercase(),
            };
            match task.status {
                UpstreamStatus::Queued => later.push((
                    row.task_id.clone(),
                    self.next_poll(channel, &row),
                    status_word,
                )),
                UpstreamStatus::Running => {
                    // A task already `processing` changes only when the upstream reports
                    // progress (Ark does not): no write for the looks in between.
                    if row.task_status != "processing" || task.progress.is_some() {
                        running.push((row.task_id.clone(), task.progress.unwrap_or(1)));
                    }
                    later.push((
                        row.task_id.clone(),
                        self.next_poll(channel, &row),
                        status_word,
                    ));
                }
                UpstreamStatus::Succeeded => {
                    // It ended between the last look and this one: learn the middle.
                    let now = now_ms();
                    let ended = row.last_look_ms.clamp(row.submitted_ms, now) / 2 + now / 2;
                    self.run_times
                        .record(class_of(&row), ended - row.submitted_ms);
                    // Left alone while its result is copied (the copy reschedules it if it
                    // fails); recorded before the copy starts.
                    later.push((row.task_id.clone(), now + REHOST_HOLD_MS, status_word));
                    succeeded.push((row, task));
                }
                UpstreamStatus::Failed => {
                    let (code, message) = task.error.clone().unwrap_or_else(|| {
                        (
                            "upstream_failed".to_string(),
                            "the upstream failed the task".to_string(),
                        )
                    });
                    tracing::info!(task_id = %row.task_id, %code, "upstream failed the task");
                    let message = if message.is_empty() {
                        format!("the upstream failed the task ({code})")
                    } else {
                        message
                    };
                    state::fail(
                        &self.db,
                        &row.task_id,
                        Holder::Channel(channel.name()),
                        &TaskFailure::new(&code, message),
                    )
                    .await?;
                }
                UpstreamStatus::Expired => {
                    let message = "the upstream let the task expire before it finished; the task was refunded";
                    state::fail(
                        &self.db,
                        &row.task_id,
                        Holder::Channel(channel.name()),
                        &TaskFailure::new("expired", message),
                    )
                    .await?;
                }
                UpstreamStatus::Cancelled => {
                    let message = "the upstream cancelled the task; the task was refunded";
                    state::fail(
                        &self.db,
                        &row.task_id,
                        Holder::Channel(channel.name()),
                        &TaskFailure::new("cancelled", message),
                    )
                    .await?;
                }
                UpstreamStatus::Unknown(word) => {
                    tracing::warn!(task_id = %row.task_id, status = %word, "unknown upstream status; polling again");
                    later.push((
                        row.task_id.clone(),
                        self.next_poll(channel, &row),
                        status_word,
                    ));
                }
            }
        }
        state::running_many(&self.db, channel.name(), &running).await?;
        rows::reschedule_many(&self.db, &later, asked_ms).await?;
        for (row, task) in succeeded {
            self.start_rehost(channel.clone(), row, task);
        }
        Ok(())
    }

    /// Resolves a submission whose create never reported back (see the module doc of `upstream`).
    async fn reconcile(
        self: &Arc<Self>,
        channel: &Arc<Channel>,
        provider: &dyn Provider,
        row: &UpstreamRow,
    ) -> Result<(), sqlx::Error> {
        let since = row.submit_started_ms / 1000;
        match provider
            .find_by_marker(&row.upstream_model, &row.marker, since)
            .await
        {
            Ok(Some(upstream_id)) => {
                tracing::info!(task_id = %row.task_id, %upstream_id, channel = %channel.name(), "reconciled: the upstream had accepted the task");
                rows::mark_submitted_many(
                    &self.db,
                    &[(row.task_id.clone(), upstream_id.clone(), now_ms())],
                )
                .await?;
                channel.wake.notify_one();
            }
            Ok(None) if provider.idempotent_create() => {
                let Some(task) = crate::store::tasks::get(&self.db, &row.task_id).await? else {
                    return rows::mark_done(&self.db, &row.task_id).await;
                };
                let retry_at = now_ms()
                    + (channel.settings.request_timeout_ms + channel.settings.reconcile_after_ms)
                        as i64;
                rows::reschedule(&self.db, &row.task_id, retry_at, None, None).await?;
                tracing::info!(task_id = %row.task_id, channel = %channel.name(), "repeating an idempotent create");
                let upstream = self.clone();
                let channel = channel.clone();
                let row = row.clone();
                tokio::spawn(async move {
                    upstream
                        .submit(&channel, &task, &row.upstream_model, &row.marker)
                        .await;
                });
            }
            Ok(None)
                if now_ms() - row.submit_started_ms
                    >= channel.settings.reconcile_grace_ms as i64 =>
            {
                tracing::warn!(task_id = %row.task_id, channel = %channel.name(), "reconciled: the upstream never accepted the task; routing it again");
                state::unroute(&self.db, &row.task_id, channel.name()).await?;
                self.wake.notify_one();
            }
            Ok(None) => {
                let at = now_ms() + channel.settings.reconcile_after_ms as i64;
                rows::reschedule(&self.db, &row.task_id, at, Some("not_found_yet"), None).await?;
            }
            Err(error) => {
                channel.record_failure(&error.to_string());
                let at = now_ms() + channel.settings.reconcile_after_ms as i64;
                rows::reschedule(&self.db, &row.task_id, at, None, Some(&error.to_string()))
                    .await?;
            }
        }
        Ok(())
    }
}

/// The class a task's run time is learned under.
fn class_of(row: &DueRow) -> Class {
    Class {
        model: row.model.clone(),
        seconds: row.cost_seconds,
        credits: row.cost_credits,
    }
}
