//! Periodic sweeps: fail-and-refund tasks whose worker died on their last claim, delete
//! result files after `results.retention_hours` (the task stays `completed`, marked expired),
//! delete failed tasks' files once more after a grace period, fail asset intakes a restart
//! interrupted, and prune rate windows and idempotency records.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{state, StoredResult};
use crate::clock::now;
use crate::storage::Storage;
use crate::store::Db;

/// What the sweeps need.
#[derive(Clone)]
pub struct Sweeper {
    pub db: Db,
    pub storage: Storage,
    pub max_attempts: i64,
    /// 0 = keep results forever.
    pub retention_secs: i64,
    /// A URL intake untouched for longer than this was interrupted by a restart.
    pub asset_intake_timeout_secs: i64,
    /// How long after a task failed its `results/<task_id>/` is deleted once more (see
    /// [`Sweeper::sweep_discards`]).
    pub discard_grace_secs: i64,
    /// Deletes `/files/upload` files past their time.
    pub assets: crate::assets::Assets,
}

impl Sweeper {
    /// Runs both sweeps every `every` until `shutdown`.
    pub async fn run(self, every: Duration, shutdown: CancellationToken) {
        loop {
            if let Err(error) = self.sweep_lost().await {
                tracing::error!(%error, "lost-worker sweep failed");
            }
            if let Err(error) = self.sweep_retention().await {
                tracing::error!(%error, "retention sweep failed");
            }
            if let Err(error) = self.sweep_discards().await {
                tracing::error!(%error, "failed-task file sweep failed");
            }
            if let Err(error) = self.sweep_interrupted_assets().await {
                tracing::error!(%error, "asset intake sweep failed");
            }
            match self.sweep_start_deadlines().await {
                Ok(0) => {}
                Ok(expired) => tracing::info!(expired, "tasks not started within their execution_expires_after failed and were refunded"),
                Err(error) => tracing::error!(%error, "start-deadline sweep failed"),
            }
            if let Err(error) = self.assets.sweep_expired_uploads().await {
                tracing::error!(%error, "expired upload sweep failed");
            }
            if let Err(error) = crate::store::rate::prune(&self.db, crate::clock::now_us()).await {
                tracing::error!(%error, "pruning rate windows failed");
            }
            if let Err(error) = self.sweep_idempotency().await {
                tracing::error!(%error, "pruning idempotency records failed");
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
        }
    }

    /// Fails as `expired` (refunding) the queued tasks whose start deadline (Ark's
    /// `execution_expires_after`) passed; how many.
    pub async fn sweep_start_deadlines(&self) -> Result<u64, sqlx::Error> {
        super::state::expire_unstarted(&self.db).await
    }

    /// Fails (refunding) tasks whose worker died on their last allowed claim, deleting first
    /// whatever that worker stored before it died. Files go before the status: no worker may
    /// claim such a task again, and a crash in between leaves it for the next sweep.
    pub async fn sweep_lost(&self) -> Result<u64, sqlx::Error> {
        let mut failed = 0;
        for task_id in state::exhausted(&self.db, self.max_attempts).await? {
            super::discard_results(&self.storage, &task_id).await;
            if state::fail_exhausted(&self.db, &task_id, self.max_attempts).await? {
                failed += 1;
            }
        }
        if failed > 0 {
            tracing::warn!(failed, "failed and refunded tasks whose workers kept dying");
        }
        Ok(failed)
    }

    /// Deletes `results/<task_id>/` once more for tasks that failed at least `discard_grace_secs`
    /// ago, then clears their request for it; returns how many prefixes held files. Whoever
    /// failed the task deleted them at once; this pass retries a delete that met a storage
    /// error and removes what a worker stored after its task had failed under it (a worker
    /// paused past its lease that was killed before it noticed). A storage error leaves the
    /// request for the next sweep.
    pub async fn sweep_discards(&self) -> Result<u64, sqlx::Error> {
        let cutoff = now() - self.discard_grace_secs;
        let mut found = 0;
        loop {
            let due = state::discards_due(&self.db, cutoff, 100).await?;
            if due.is_empty() {
                return Ok(found);
            }
            let mut progressed = false;
            for task_id in due {
                match self.storage.delete_results(&task_id).await {
                    Ok(files) => {
                        if files > 0 {
                            tracing::warn!(task_id, files, "deleted files left by a failed task");
                            found += 1;
                        }
                        state::discard_done(&self.db, &task_id).await?;
                        progressed = true;
                    }
                    Err(error) => tracing::error!(
                        %error,
                        task_id,
                        "deleting a failed task's files failed; retried at the next sweep"
                    ),
                }
            }
            if !progressed {
                return Ok(found);
            }
        }
    }

    /// Deletes idempotency records past their 24-hour window.
    pub async fn sweep_idempotency(&self) -> Result<u64, sqlx::Error> {
        let deleted = crate::store::idempotency::prune(&self.db, now()).await?;
        if deleted > 0 {
            tracing::info!(deleted, "deleted idempotency records past their window");
        }
        Ok(deleted)
    }

    /// Fails asset URL intakes that a restart left `Processing` with nothing stored.
    pub async fn sweep_interrupted_assets(&self) -> Result<u64, sqlx::Error> {
        let cutoff = now() - self.asset_intake_timeout_secs;
        let failed = crate::store::assets::fail_interrupted_intakes(&self.db, cutoff).await?;
        if failed > 0 {
            tracing::warn!(failed, "failed asset intakes interrupted by a restart");
        }
        Ok(failed)
    }

    /// Deletes result files past retention; returns how many tasks were expired.
    pub async fn sweep_retention(&self) -> Result<u64, sqlx::Error> {
        if self.retention_secs <= 0 {
            return Ok(0);
        }
        let cutoff = now() - self.retention_secs;
        let mut expired = 0;
        loop {
            let due = state::due_for_expiry(&self.db, cutoff, 100).await?;
            if due.is_empty() {
                return Ok(expired);
            }
            let mut progressed = false;
            for task in due {
                let mut deleted = true;
                if let Some(stored) = task
                    .result
                    .as_deref()
                    .and_then(|r| serde_json::from_str::<StoredResult>(r).ok())
                {
                    let keys = std::iter::once(stored.video_key).chain(stored.last_frame_key);
                    for key in keys {
                        if let Err(error) = self.storage.delete(&key).await {
                            tracing::error!(%error, task_id = %task.id, "deleting an expired result failed; retried at the next sweep");
                            deleted = false;
                        }
                    }
                }
                // A file that could not be deleted keeps its task unexpired, so the next sweep
                // tries again instead of orphaning the file.
                if deleted && state::mark_expired(&self.db, &task.id).await? {
                    expired += 1;
                    progressed = true;
                }
            }
            if !progressed {
                return Ok(expired);
            }
        }
    }
}
