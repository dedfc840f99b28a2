//! The `local` channel: fetches the request's media safely, renders a preview MP4 with
//! `reelay-render`, and stores the video (and last frame) in object storage.

use std::sync::Arc;

use reelay_catalog::{Catalog, MediaKind as CatalogKind, MediaRef, ValidatedRequest};
use reelay_media::{Fetcher, MediaKind, MediaLimits};
use reelay_render::{MediaInput, RenderRequest};
use tokio::sync::watch;

use crate::storage::{self, Storage};
use crate::tasks::{StoredResult, TaskFailure};

/// Frame rate of every output (API.md §10).
const FPS: u32 = 24;

/// What the local channel needs.
#[derive(Clone)]
pub struct LocalProvider {
    pub catalog: Arc<Catalog>,
    pub fetcher: Fetcher,
    pub limits: MediaLimits,
    pub storage: Storage,
    /// Asset bytes (`asset://` inputs) are read from storage through this.
    pub assets: crate::assets::Assets,
    /// Render seconds are recorded here.
    pub metrics: Arc<crate::metrics::Metrics>,
}

impl LocalProvider {
    /// Runs one task to a stored result. `progress` receives 0.0–1.0.
    pub async fn run(
        &self,
        task_id: &str,
        request: &ValidatedRequest,
        progress: watch::Sender<f32>,
    ) -> Result<StoredResult, TaskFailure> {
        let inputs = self.fetch_inputs(request).await?;
        let ratio = self.effective_ratio(request, &inputs)?;
        let (width, height) =
            reelay_catalog::output_size(&request.resolution, &ratio).ok_or_else(|| {
                TaskFailure::new(
                    "internal",
                    format!("no output size for {} at {ratio}", request.resolution),
                )
            })?;
        let render_request = RenderRequest {
            prompt: request.prompt.clone(),
            duration_secs: request.duration,
            width,
            height,
            fps: FPS,
            seed: request.seed.unwrap_or(0),
            watermark: request.watermark,
            return_last_frame: request.return_last_frame,
            label: format!("local preview · {}", request.model),
            first_frame: inputs.first_frame,
            last_frame: inputs.last_frame,
            images: inputs.images,
            reference_videos: inputs.reference_videos,
            reference_audios: inputs.reference_audios,
        };
        let started = std::time::Instant::now();
        let output = tokio::task::spawn_blocking(move || {
            let mut report = |fraction: f32| {
                let _ = progress.send(fraction);
                true
            };
            reelay_render::render(&render_request, &mut report)
        })
        .await
        .map_err(|e| TaskFailure::new("internal", format!("render thread stopped: {e}")))?
        .map_err(|e| match e {
            reelay_render::RenderError::InvalidInput { .. } => {
                TaskFailure::new("invalid_input", e.to_string())
            }
            other => {
                tracing::error!(task_id, error = %other, "local render failed");
                TaskFailure::new("render_failed", other.to_string())
            }
        })?;
        self.metrics
            .render_finished(&request.model, started.elapsed().as_secs_f64());

        let video_key = storage::video_key(task_id);
        let size_bytes = output.mp4.len() as u64;
        self.storage
            .put(&video_key, output.mp4)
            .await
            .map_err(|e| TaskFailure::new("storage", format!("storing the video failed: {e}")))?;
        let last_frame_key = match output.last_frame_png {
            Some(png) => {
                let key = storage::last_frame_key(task_id);
                self.storage.put(&key, png).await.map_err(|e| {
                    TaskFailure::new("storage", format!("storing the last frame failed: {e}"))
                })?;
                Some(key)
            }
            None => None,
        };
        Ok(StoredResult {
            video_key,
            last_frame_key,
            width: output.width,
            height: output.height,
            duration: output.duration_secs,
            fps: output.fps,
            frames: output.frames,
            size_bytes,
            has_audio: output.has_audio,
            channel: super::LOCAL_CHANNEL.to_string(),
            ratio,
        })
    }

    /// `adaptive` takes the first image's shape, snapped to the model's nearest ratio.
    fn effective_ratio(
        &self,
        request: &ValidatedRequest,
        inputs: &Inputs,
    ) -> Result<String, TaskFailure> {
        if request.ratio != "adaptive" {
            return Ok(request.ratio.clone());
        }
        let source = inputs.first_frame.as_ref().or(inputs.images.first());
        let Some(source) = source else {
            return Ok("16:9".to_string());
        };
        let (w, h) = reelay_render::image_dimensions(&source.bytes).map_err(|reason| {
            TaskFailure::new("invalid_input", format!("{}: {reason}", source.field))
        })?;
        let allowed: Vec<&str> = self
            .catalog
            .model(&request.model)
            .map(|m| {
                m.ratios
                    .iter()
                    .map(String::as_str)
                    .filter(|r| *r != "adaptive")
                    .collect()
            })
            .unwrap_or_default();
        Ok(reelay_catalog::nearest_ratio(w, h, &allowed))
    }

    async fn fetch_inputs(&self, request: &ValidatedRequest) -> Result<Inputs, TaskFailure> {
        let mut inputs = Inputs::default();
        for item in request.media() {
            let kind = match item.kind {
                CatalogKind::Image => MediaKind::Image,
                CatalogKind::Video => MediaKind::Video,
                CatalogKind::Audio => MediaKind::Audio,
            };
            let bytes = self.fetch_one(&item.field, kind, item.media).await?;
            let input = MediaInput {
                field: item.field.clone(),
                bytes,
            };
            match item.field.as_str() {
                "first_image" => inputs.first_frame = Some(input),
                "last_image" => inputs.last_frame = Some(input),
                field if field.starts_with("images") => inputs.images.push(input),
                field if field.starts_with("reference_videos") => {
                    inputs.reference_videos.push(input)
                }
                _ => inputs.reference_audios.push(input),
            }
        }
        Ok(inputs)
    }

    async fn fetch_one(
        &self,
        field: &str,
        kind: MediaKind,
        media: &MediaRef,
    ) -> Result<Vec<u8>, TaskFailure> {
        let url = match media {
            MediaRef::Https(url) => url,
            MediaRef::Asset(id) => return self.read_asset(field, kind, id).await,
        };
        let fetched = self
            .fetcher
            .get(url, self.limits.max_bytes(kind))
            .await
            .map_err(|e| TaskFailure::new("invalid_input", format!("{field}: {e}")))?;
        reelay_media::probe_and_check(kind, &fetched.bytes, &self.limits)
            .map_err(|reason| TaskFailure::new("invalid_input", format!("{field}: {reason}")))?;
        Ok(fetched.bytes.to_vec())
    }
}

impl LocalProvider {
    /// An `asset://` input: its stored bytes (never a re-fetch), checked again for the field.
    async fn read_asset(
        &self,
        field: &str,
        kind: MediaKind,
        id: &str,
    ) -> Result<Vec<u8>, TaskFailure> {
        let (_row, bytes) = self.assets.read_active(id).await.map_err(|e| match e {
            crate::assets::UseError::Db(error) => {
                tracing::error!(%error, asset_id = id, "reading an asset row failed");
                TaskFailure::new("internal", format!("{field}: reading asset://{id} failed"))
            }
            other => TaskFailure::new("invalid_input", format!("{field}: {other}")),
        })?;
        reelay_media::probe_and_check(kind, &bytes, &self.limits)
            .map_err(|reason| TaskFailure::new("invalid_input", format!("{field}: {reason}")))?;
        Ok(bytes.to_vec())
    }
}

/// The fetched media, by role.
#[derive(Default)]
struct Inputs {
    first_frame: Option<MediaInput>,
    last_frame: Option<MediaInput>,
    images: Vec<MediaInput>,
    reference_videos: Vec<MediaInput>,
    reference_audios: Vec<MediaInput>,
}
