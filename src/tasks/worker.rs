//! The worker: claims runnable tasks, runs them on the local channel with a heartbeat that
//! renews the lease and records progress, and hands the outcome to the state machine.
//!
//! Concurrency is bounded by `worker.local_concurrency`. At shutdown it stops claiming, lets
//! in-flight renders finish within the grace period, then releases what is left so that the next
//! start (or another replica) resumes it at once.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::state;
use super::TaskFailure;
use crate::config::WorkerSettings;
use crate::providers::local::LocalProvider;
use crate::store::tasks::TaskRow;
use crate::store::Db;

/// Everything a worker needs.
#[derive(Clone)]
pub struct Worker {
    pub id: String,
    pub db: Db,
    pub local: LocalProvider,
    pub settings: WorkerSettings,
    /// Poked when a task is created, so an idle worker claims it without waiting.
    pub wake: Arc<Notify>,
    /// Upstream channels exist: claim only tasks routed to the local channel.
    pub routed: bool,
}

/// What one pass of the claim loop did (tests drive the worker with it).
#[derive(Debug, PartialEq, Eq)]
pub enum PollOutcome {
    Started,
    Idle,
}

impl Worker {
    /// Claims and runs tasks until `shutdown` fires, then drains within `grace`.
    pub async fn run(self, shutdown: CancellationToken, grace: Duration) {
        let permits = Arc::new(Semaphore::new(self.settings.local_concurrency));
        let mut running = JoinSet::new();
        let poll = Duration::from_millis(self.settings.poll_interval_ms);
        loop {
            let permit = tokio::select! {
                _ = shutdown.cancelled() => break,
                permit = permits.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
            };
            while running.try_join_next().is_some() {}
            match state::claim(
                &self.db,
                &self.id,
                self.settings.lease_secs,
                self.settings.max_attempts,
                self.routed,
            )
            .await
            {
                Ok(Some(task)) => {
                    let worker = self.clone();
                    running.spawn(async move {
                        worker.execute(task).await;
                        drop(permit);
                    });
                }
                Ok(None) => {
                    drop(permit);
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = self.wake.notified() => {}
                        _ = tokio::time::sleep(poll) => {}
                    }
                }
                Err(error) => {
                    drop(permit);
                    tracing::error!(%error, "claiming a task failed");
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(poll) => {}
                    }
                }
            }
        }
        if !running.is_empty() {
            tracing::info!(in_flight = running.len(), "waiting for in-flight renders");
            let drained = tokio::time::timeout(grace, async {
                while running.join_next().await.is_some() {}
            })
            .await;
            if drained.is_err() {
                running.abort_all();
            }
        }
        match state::release_claims(&self.db, &self.id).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(released = n, "released unfinished tasks for the next start"),
            Err(error) => {
                tracing::error!(%error, "releasing claims failed; they resume after the lease")
            }
        }
    }

    /// Claims one task and runs it to the end (for tests that drive the worker by hand).
    pub async fn poll_once(&self) -> Result<PollOutcome, sqlx::Error> {
        match state::claim(
            &self.db,
            &self.id,
            self.settings.lease_secs,
            self.settings.max_attempts,
            self.routed,
        )
        .await?
        {
            Some(task) => {
                self.execute(task).await;
                Ok(PollOutcome::Started)
            }
            None => Ok(PollOutcome::Idle),
        }
    }

    /// Runs one claimed task with a heartbeat, then records the outcome.
    #[tracing::instrument(skip_all, fields(task_id = %task.id, model = %task.model))]
    async fn execute(&self, task: TaskRow) {
        let outcome = match serde_json::from_str(&task.request) {
            Ok(request) => {
                let (progress_tx, progress_rx) = watch::channel(0.0f32);
                let heartbeat = self.heartbeat(task.id.clone(), progress_rx);
                let run = self.local.run(&task.id, &request, progress_tx);
                tokio::pin!(run);
                tokio::select! {
                    outcome = &mut run => outcome,
                    lost = heartbeat => {
                        tracing::warn!(reason = %lost, "claim lost; abandoning the render");
                        super::discard_if_failed(&self.db, &self.local.storage, &task.id).await;
                        return;
                    }
                }
            }
            Err(error) => Err(TaskFailure::new(
                "internal",
                format!("stored request unreadable: {error}"),
            )),
        };
        let recorded = match outcome {
            Ok(result) => match serde_json::to_string(&result) {
                Ok(json) => state::complete(&self.db, &task.id, &self.id, &json).await,
                Err(error) => Err(sqlx::Error::Protocol(error.to_string())),
            },
            Err(failure) => {
                tracing::info!(code = %failure.code, message = %failure.message, "task failed");
                let failed = state::fail(
                    &self.db,
                    &task.id,
                    state::FailGuard::ClaimedBy(&self.id),
                    &failure.code,
                    &failure.message,
                )
                .await;
                if let Ok(true) = failed {
                    // A video stored before its last frame failed to store, for instance.
                    super::discard_results(&self.local.storage, &task.id).await;
                }
                failed
            }
        };
        match recorded {
            Ok(true) => tracing::info!("task finished"),
            Ok(false) => {
                tracing::warn!("task was taken over before it finished; outcome dropped");
                super::discard_if_failed(&self.db, &self.local.storage, &task.id).await;
            }
            Err(error) => {
                tracing::error!(%error, "recording the outcome failed; the task resumes after its lease")
            }
        }
    }

    /// Renews the lease and writes progress about once a second; returns only when the claim is lost.
    async fn heartbeat(&self, task_id: String, progress: watch::Receiver<f32>) -> String {
        let every = Duration::from_secs(1);
        loop {
            tokio::time::sleep(every).await;
            let percent = 1 + (*progress.borrow() * 98.0) as i64;
            match state::heartbeat(
                &self.db,
                &task_id,
                &self.id,
                percent,
                self.settings.lease_secs,
            )
            .await
            {
                Ok(true) => {}
                Ok(false) => return "the task is no longer claimed by this worker".to_string(),
                Err(error) => tracing::warn!(%error, "heartbeat failed"),
            }
        }
    }
}
