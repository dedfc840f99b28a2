//! The one function that stores a task's outputs, whatever channel made them: the video at
//! `results/<task>/video.mp4`, the last frame beside it, and the facts the task's result
//! records ([`StoredResult`]).

use super::StoredResult;
use crate::providers::Output;
use crate::storage::{self, Storage};

/// Stores `output` of `task_id`, made by `channel`. On an error, what was stored before it stays
/// (the caller fails the task and deletes `results/<task>/`, or retries).
pub async fn store(
    storage: &Storage,
    task_id: &str,
    channel: &str,
    output: Output,
) -> Result<StoredResult, String> {
    let video_key = storage::video_key(task_id);
    let size_bytes = output.video.len() as u64;
    storage
        .put(&video_key, output.video)
        .await
        .map_err(|e| format!("storing the video failed: {e}"))?;
    let last_frame_key = match output.last_frame {
        Some(png) => {
            let key = storage::last_frame_key(task_id);
            storage
                .put(&key, png)
                .await
                .map_err(|e| format!("storing the last frame failed: {e}"))?;
            Some(key)
        }
        None => None,
    };
    Ok(StoredResult {
        video_key,
        last_frame_key,
        width: output.width,
        height: output.height,
        duration: output.duration,
        fps: output.fps,
        frames: output.frames,
        size_bytes,
        has_audio: output.has_audio,
        channel: channel.to_string(),
        ratio: output.ratio,
    })
}
