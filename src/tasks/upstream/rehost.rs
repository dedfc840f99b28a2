//! Copies an upstream result into reelay's storage before the task completes: the upstream's
//! links die (Ark: 24 h) and are never handed to users. Downloads use a plain HTTP client (the
//! URLs come from the operator's upstream, not from users) with a size cap and a timeout; a
//! failed copy is retried from a fresh status (a fresh link) with a growing delay, and after
//! `download_attempts` the task fails with a refund.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use reelay_catalog::ValidatedRequest;

use super::Upstream;
use crate::providers::channels::Channel;
use crate::providers::{Output, TaskFailure, UpstreamTask};
use crate::store::upstream::{self as rows, now_ms, DueRow};
use crate::tasks::state::{self, Holder};
use crate::tasks::{outputs, StoredResult};

const FPS: u32 = 24;
/// Quick tries of one download before it counts as a failed attempt.
const QUICK_TRIES: u32 = 2;

impl Upstream {
    /// Copies the result in the background (bounded by a semaphore).
    pub(super) fn start_rehost(
        self: &Arc<Self>,
        channel: Arc<Channel>,
        row: DueRow,
        task: UpstreamTask,
    ) {
        if !self.rehosting_set().insert(row.task_id.clone()) {
            return;
        }
        let upstream = self.clone();
        tokio::spawn(async move {
            let permit = upstream.rehost_permits.clone().acquire_owned().await;
            let outcome = upstream.rehost(&channel, &row, &task).await;
            drop(permit);
            upstream.rehosting_set().remove(&row.task_id);
            if let Err(error) = outcome {
                tracing::error!(%error, task_id = %row.task_id, "recording a result copy failed");
            }
        });
    }

    #[tracing::instrument(skip_all, fields(task_id = %row.task_id, channel = %channel.name()))]
    async fn rehost(
        &self,
        channel: &Channel,
        row: &DueRow,
        task: &UpstreamTask,
    ) -> Result<(), sqlx::Error> {
        match self.copy_result(channel, &row.task_id, task).await {
            Ok(stored) => {
                let holder = Holder::Channel(channel.name());
                if state::complete(&self.db, &row.task_id, holder, &stored).await? {
                    tracing::info!(
                        size_bytes = stored.size_bytes,
                        "result copied; task completed"
                    );
                } else {
                    tracing::warn!("result copied, but the task had already ended");
                    crate::tasks::discard_if_failed(&self.db, &self.storage, &row.task_id).await;
                }
                Ok(())
            }
            Err(reason) => {
                let delay = (channel.settings.poll_min_ms as i64) << row.downloads.clamp(0, 6);
                let attempts = rows::record_download_failure(
                    &self.db,
                    &row.task_id,
                    now_ms() + delay,
                    &reason,
                )
                .await?;
                tracing::warn!(%reason, attempts, "copying the result failed; will retry");
                if attempts >= i64::from(self.settings.download_attempts) {
                    let failure = TaskFailure::new(
                        "result_download_failed",
                        format!("the result could not be copied from the upstream ({reason}); the task was refunded"),
                    );
                    let holder = Holder::Channel(channel.name());
                    if state::fail(&self.db, &row.task_id, holder, &failure).await? {
                        // The video may be stored when its last frame was what failed.
                        crate::tasks::discard_results(&self.storage, &row.task_id).await;
                    }
                }
                Ok(())
            }
        }
    }

    async fn copy_result(
        &self,
        channel: &Channel,
        task_id: &str,
        task: &UpstreamTask,
    ) -> Result<StoredResult, String> {
        let url = task
            .video_url
            .as_deref()
            .ok_or("the upstream reported success without a video URL")?;
        let video = self.download(url).await?;
        let request: Option<ValidatedRequest> = crate::store::tasks::get(&self.db, task_id)
            .await
            .map_err(|e| format!("reading the task: {e}"))?
            .and_then(|row| row.request.decode().ok());
        let probe = reelay_media::probe(&video).ok();
        let ratio = task
            .ratio
            .clone()
            .or_else(|| request.as_ref().map(|r| r.ratio.clone()))
            .unwrap_or_else(|| "16:9".to_string());
        let fallback = request
            .as_ref()
            .and_then(|r| reelay_catalog::output_size(&r.resolution, &ratio));
        let width = probe
            .as_ref()
            .and_then(|p| p.width)
            .or(task.width)
            .or(fallback.map(|f| f.0))
            .unwrap_or(0);
        let height = probe
            .as_ref()
            .and_then(|p| p.height)
            .or(task.height)
            .or(fallback.map(|f| f.1))
            .unwrap_or(0);
        let duration = probe
            .as_ref()
            .and_then(|p| p.duration_secs)
            .or(task.duration)
            .or(request.as_ref().map(|r| f64::from(r.duration)))
            .unwrap_or(0.0);
        let last_frame = match task.last_frame_url.as_deref() {
            Some(url) => Some(self.download(url).await?),
            None => None,
        };
        let output = Output {
            video,
            last_frame,
            width,
            height,
            duration,
            fps: FPS,
            frames: (duration * f64::from(FPS)).round() as u32,
            has_audio: task.has_audio.unwrap_or(false),
            ratio,
        };
        outputs::store(&self.storage, task_id, channel.name(), output).await
    }

    /// Downloads one file, capped at `download_max_bytes`, trying twice quickly.
    async fn download(&self, url: &str) -> Result<Vec<u8>, String> {
        let mut last = String::new();
        for attempt in 0..QUICK_TRIES {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            match self.download_once(url).await {
                Ok(bytes) => return Ok(bytes),
                Err(error) => last = error,
            }
        }
        Err(last)
    }

    async fn download_once(&self, url: &str) -> Result<Vec<u8>, String> {
        let max = self.settings.download_max_bytes;
        let response = self
            .downloader
            .get(url)
            .send()
            .await
            .map_err(|e| format!("download: {e}"))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("download answered HTTP {status}"));
        }
        if response.content_length().is_some_and(|len| len > max) {
            return Err(format!("result larger than {max} bytes"));
        }
        let mut bytes = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| format!("download: {e}"))?;
            if bytes.len() as u64 + chunk.len() as u64 > max {
                return Err(format!("result larger than {max} bytes"));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }
}
