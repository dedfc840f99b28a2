//! The worker: claims the tasks the dispatcher routed to this process's in-process channels
//! (`local`), runs each on its channel's provider with a heartbeat that renews the lease and
//! records progress, stores the outputs (`outputs::store`) and hands the outcome to the state
//! machine. The channel counts each run (metrics, health, breaker) as it counts remote calls.
//!
//! Concurrency is bounded by `worker.local_concurrency`. At shutdown it stops claiming, lets
//! in-flight renders finish within the grace period, then releases what is left so that the next
//! start (or another replica) resumes it at once.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::state::{self, Holder};
use super::upstream::Upstream;
use crate::config::WorkerSettings;
use crate::providers::channels::Channel;
use crate::providers::{Execution, Job, Outcome, TaskFailure};
use crate::storage::Storage;
use crate::store::tasks::TaskRow;
use crate::store::Db;

/// Everything a worker needs.
#[derive(Clone)]
pub struct Worker {
    pub id: String,
    pub db: Db,
    pub storage: Storage,
    /// The in-process channels whose tasks this worker claims.
    pub channels: Vec<Arc<Channel>>,
    /// The dispatcher; `poll_once` routes queued tasks through it before claiming.
    pub router: Arc<Upstream>,
    pub settings: WorkerSettings,
    /// Poked when a task is routed to an in-process channel, so an idle worker claims it at once.
    pub wake: Arc<Notify>,
}

/// What one pass of the claim loop did (tests drive the worker with it).
#[derive(Debug, PartialEq, Eq)]
pub enum PollOutcome {
    Started,
    Idle,
}

impl Worker {
    /// The in-process channels of `channels` (what a worker runs).
    pub(crate) fn in_process(channels: &crate::providers::channels::Channels) -> Vec<Arc<Channel>> {
        channels
            .list
            .iter()
            .filter(|channel| channel.execution() == Execution::InProcess)
            .cloned()
            .collect()
    }

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
            match self.claim().await {
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

    /// Routes what is queued (one dispatcher pass), then claims one task and runs it to the end
    /// (for tests that drive the worker by hand).
    pub async fn poll_once(&self) -> Result<PollOutcome, sqlx::Error> {
        self.route_queued().await?;
        match self.claim().await? {
            Some(task) => {
                self.execute(task).await;
                Ok(PollOutcome::Started)
            }
            None => Ok(PollOutcome::Idle),
        }
    }

    /// Routes the queued tasks to channels: one dispatcher pass, its submissions awaited.
    pub async fn route_queued(&self) -> Result<usize, sqlx::Error> {
        let mut submits = JoinSet::new();
        let routed = self.router.dispatch_once(&mut submits).await?;
        while submits.join_next().await.is_some() {}
        Ok(routed)
    }

    /// Claims the oldest runnable task of this worker's channels.
    async fn claim(&self) -> Result<Option<TaskRow>, sqlx::Error> {
        let names: Vec<String> = self
            .channels
            .iter()
            .map(|channel| channel.name().to_string())
            .collect();
        state::claim(
            &self.db,
            &self.id,
            &names,
            self.settings.lease_secs,
            self.settings.max_attempts,
        )
        .await
    }

    /// Runs one claimed task on its channel with a heartbeat, then records the outcome.
    #[tracing::instrument(skip_all, fields(task_id = %task.id, model = %task.model))]
    async fn execute(&self, task: TaskRow) {
        let channel = task
            .channel
            .as_deref()
            .and_then(|name| self.channels.iter().find(|c| c.name() == name))
            .or(self.channels.first())
            .cloned();
        let Some(channel) = channel else {
            tracing::error!("no in-process channel to run the task on; it resumes after its lease");
            return;
        };
        let outcome = match task.request.decode() {
            Ok(request) => {
                let (progress_tx, progress_rx) = watch::channel(0.0f32);
                let heartbeat = self.heartbeat(task.id.clone(), progress_rx);
                let run = channel.provider.run(Job {
                    task_id: &task.id,
                    request: &request,
                    progress: progress_tx,
                });
                tokio::pin!(run);
                tokio::select! {
                    outcome = &mut run => outcome,
                    lost = heartbeat => {
                        tracing::warn!(reason = %lost, "claim lost; abandoning the render");
                        super::discard_if_failed(&self.db, &self.storage, &task.id).await;
                        return;
                    }
                }
            }
            Err(error) => Outcome::Failed(TaskFailure::new(
                "internal",
                format!("stored request unreadable: {error}"),
            )),
        };
        channel.record_outcome(&outcome);
        let holder = Holder::Worker(&self.id);
        let recorded = super::finish(
            &self.db,
            &self.storage,
            &task.id,
            channel.name(),
            holder,
            outcome,
        )
        .await;
        match recorded {
            Ok(true) => tracing::info!("task finished"),
            Ok(false) => {
                tracing::warn!("task was taken over before it finished; outcome dropped");
                super::discard_if_failed(&self.db, &self.storage, &task.id).await;
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
