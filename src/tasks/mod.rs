//! Tasks: the state machine (the only writer of status), the dispatcher that routes every task
//! to a channel (`upstream`: routing, and for remote channels submission, polling and the copy
//! of results), the worker that runs the local channel's tasks, the one function that stores a
//! task's outputs (`outputs`), the sweeps (lost workers, retention) and the public view.

pub mod accept;
pub(crate) mod outputs;
mod service;
pub mod state;
pub mod submit;
pub mod sweep;
pub mod upstream;
pub mod view;
pub mod worker;

use serde::{Deserialize, Serialize};

use crate::providers::{Outcome, TaskFailure};
use crate::storage::Storage;

pub use crate::store::tasks::{
    ClientMeta, ListFilter, NumberedFilter, StatusFilter, TaskRow, TaskStatus,
};
pub use service::Tasks;

/// What a completed task stores about its output (JSON in `tasks.result`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StoredResult {
    pub video_key: String,
    pub last_frame_key: Option<String>,
    pub width: u32,
    pub height: u32,
    pub duration: f64,
    pub fps: u32,
    pub frames: u32,
    pub size_bytes: u64,
    pub has_audio: bool,
    /// The channel that produced it (`local` for the built-in preview renderer).
    pub channel: String,
    /// The ratio actually rendered (resolves `adaptive`).
    pub ratio: String,
}

/// Records how a task ended on `channel`, for its `holder`: the outputs are stored
/// ([`outputs::store`]) and the task completed, or it fails with a refund (a storage error fails
/// it too) and what it stored is deleted. False when the task was no longer `holder`'s.
pub async fn finish(
    db: &crate::store::Db,
    storage: &Storage,
    task_id: &str,
    channel: &str,
    holder: state::Holder<'_>,
    outcome: Outcome,
) -> Result<bool, sqlx::Error> {
    let failure = match outcome {
        Outcome::Completed(output) => match outputs::store(storage, task_id, channel, output).await
        {
            Ok(result) => return state::complete(db, task_id, holder, &result).await,
            Err(message) => TaskFailure::new("storage", message),
        },
        Outcome::Failed(failure) => failure,
    };
    tracing::info!(code = %failure.code, message = %failure.message, "task failed");
    let failed = state::fail(db, task_id, holder, &failure).await?;
    if failed {
        // A video stored before its last frame failed to store, for instance.
        discard_results(storage, task_id).await;
    }
    Ok(failed)
}

/// Deletes what a failed task left under `results/<task_id>/` (a video stored just before its
/// worker died, a video without its last frame). Called by whoever moved the task to `failed`
/// (after the move, so that a task completed by another worker keeps its files), and by a
/// worker or copier whose outcome was dropped because the task had failed meanwhile. Errors are
/// logged, not returned: the task has failed and is refunded either way.
pub(crate) async fn discard_results(storage: &Storage, task_id: &str) {
    match storage.delete_results(task_id).await {
        Ok(0) => {}
        Ok(files) => tracing::info!(task_id, files, "deleted the files of a failed task"),
        Err(error) => tracing::error!(
            %error,
            task_id,
            "deleting the files of a failed task failed; they stay in storage under results/<task_id>/"
        ),
    }
}

/// After an outcome was dropped (the task is no longer this process's): deletes the files it may
/// have stored when the task has failed meanwhile. A task that another worker holds or completed
/// keeps them (the keys are the same).
pub(crate) async fn discard_if_failed(db: &crate::store::Db, storage: &Storage, task_id: &str) {
    match crate::store::tasks::get(db, task_id).await {
        Ok(Some(row)) if row.status == TaskStatus::Failed => {
            discard_results(storage, task_id).await
        }
        Ok(_) => {}
        Err(error) => {
            tracing::warn!(%error, task_id, "reading the task after a dropped outcome failed")
        }
    }
}
