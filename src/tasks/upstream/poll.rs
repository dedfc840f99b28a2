//! One poller per remote channel: status calls for many tasks at once (Ark's list with
//! `filter.task_ids`), run concurrently up to `poll_concurrency` and within `poll_rpm`; each task
//! is polled again after an interval that grows with its age (`poll_min_ms` → `poll_max_ms`).
//! No per-task sleeps: the loop sleeps only until the earliest due task, or until a callback or a
//! new submission wakes it.
//!
//! Status mapping: `queued` stays queued; `running` → processing; `succeeded` → result copied,
//! then completed; `failed` → failed with the upstream's code; `expired` / `cancelled` → failed
//! with that code at once; unknown → logged, polled again. Every failure is refunded once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use super::Upstream;
use crate::providers::channels::Channel;
use crate::providers::{CallError, Provider, TaskFailure, UpstreamStatus, UpstreamTask};
use crate::store::upstream::{self as rows, now_ms, DueRow, UpstreamRow};
use crate::tasks::state::{self, Holder};

/// Polls without the task in the answer before reelay gives up on it.
const MAX_MISSES: i64 = 10;
/// How long a channel's poller lease lasts without renewal: one replica polls a channel at a
/// time (so `poll_rpm` holds across replicas); after a crash another takes over within this.
const POLLER_LEASE_MS: i64 = 15_000;
/// How long a task being copied is left alone by the poller.
const REHOST_HOLD_MS: i64 = 60_000;

impl Upstream {
    pub(super) async fn poll_loop(
        self: Arc<Self>,
        channel: Arc<Channel>,
        shutdown: CancellationToken,
    ) {
        loop {
            let now = now_ms();
            let holds = match rows::hold_poller(
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
            let wait = if holds {
                if let Err(error) = self.poll_channel_once(&channel).await {
                    tracing::error!(%error, channel = %channel.name(), "polling failed");
                }
                match rows::next_due(&self.db, channel.name()).await {
                    Ok(Some(at)) => (at - now_ms()).clamp(5, channel.settings.poll_min_ms as i64),
                    _ => channel.settings.poll_min_ms as i64,
                }
            } else {
                // Another replica polls this channel; look again well before its lease ends.
                POLLER_LEASE_MS / 5
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = channel.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
            }
        }
        if let Err(error) = rows::release_poller(&self.db, channel.name(), &self.instance).await {
            tracing::warn!(%error, channel = %channel.name(), "releasing the poller lease failed");
        }
    }

    /// One round: cancel upstream what reelay already ended, reconcile unknown submissions, poll
    /// what is due. Returns how many tasks were looked at.
    pub(super) async fn poll_channel_once(
        self: &Arc<Self>,
        channel: &Arc<Channel>,
    ) -> Result<usize, sqlx::Error> {
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
        let now = now_ms();
        let unresolved = rows::unresolved(&self.db, name, now, 20).await?;
        for row in &unresolved {
            self.reconcile(channel, provider.as_ref(), row).await?;
        }
        let batch = provider.max_batch();
        let limit = (batch * channel.settings.poll_concurrency as usize * 2) as i64;
        let due = rows::due(&self.db, name, now, limit).await?;
        let due: Vec<DueRow> = {
            let rehosting = self.rehosting_set();
            due.into_iter()
                .filter(|row| !rehosting.contains(&row.task_id))
                .collect()
        };
        let looked = due.len() + unresolved.len();
        let chunks: Vec<Vec<DueRow>> = due.chunks(batch).map(<[DueRow]>::to_vec).collect();
        let results: Vec<Result<(), sqlx::Error>> = futures::stream::iter(chunks)
            .map(|chunk| self.poll_batch(channel, provider.as_ref(), chunk))
            .buffer_unordered(channel.settings.poll_concurrency as usize)
            .collect()
            .await;
        for result in results {
            result?;
        }
        Ok(looked)
    }

    /// The next poll time of a task accepted at `submitted_ms`.
    fn next_poll(&self, channel: &Channel, submitted_ms: i64) -> i64 {
        let now = now_ms();
        let age = (now - submitted_ms).max(0);
        let min = channel.settings.poll_min_ms as i64;
        let max = channel.settings.poll_max_ms as i64;
        now + (age / 20).clamp(min, max)
    }

    async fn poll_batch(
        self: &Arc<Self>,
        channel: &Arc<Channel>,
        provider: &dyn Provider,
        rows: Vec<DueRow>,
    ) -> Result<(), sqlx::Error> {
        while let Err(wait) = channel.take_poll() {
            tokio::time::sleep(wait.min(Duration::from_secs(1))).await;
        }
        let ids: Vec<String> = rows.iter().map(|r| r.upstream_id.clone()).collect();
        let answer = provider.statuses(&ids).await;
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
                return rows::reschedule_many(&self.db, &later).await;
            }
        };
        let mut by_id: HashMap<String, UpstreamTask> =
            tasks.into_iter().map(|t| (t.id.clone(), t)).collect();
        let mut later = Vec::new();
        for row in rows {
            let Some(task) = by_id.remove(&row.upstream_id) else {
                let misses = rows::record_miss(
                    &self.db,
                    &row.task_id,
                    self.next_poll(channel, row.submitted_ms),
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
                    row.task_id,
                    self.next_poll(channel, row.submitted_ms),
                    status_word,
                )),
                UpstreamStatus::Running => {
                    state::running(
                        &self.db,
                        &row.task_id,
                        channel.name(),
                        task.progress.unwrap_or(1),
                    )
                    .await?;
                    later.push((
                        row.task_id,
                        self.next_poll(channel, row.submitted_ms),
                        status_word,
                    ));
                }
                UpstreamStatus::Succeeded => {
                    rows::reschedule(
                        &self.db,
                        &row.task_id,
                        now_ms() + REHOST_HOLD_MS,
                        Some("succeeded"),
                        None,
                    )
                    .await?;
                    self.start_rehost(channel.clone(), row, task);
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
                        row.task_id,
                        self.next_poll(channel, row.submitted_ms),
                        status_word,
                    ));
                }
            }
        }
        rows::reschedule_many(&self.db, &later).await
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
                rows::mark_submitted(&self.db, &row.task_id, &upstream_id, now_ms()).await?;
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
