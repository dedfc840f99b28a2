//! The `local` channel: fetches the request's media safely and renders a preview MP4 with
//! `reelay-render`, in this process ([`Execution::InProcess`]). It returns the files; the tasks
//! layer stores them, as it does for every channel.

use std::sync::Arc;

use futures::future::BoxFuture;
use reelay_catalog::{Catalog, MediaKind as CatalogKind, MediaRef, ValidatedRequest};
use reelay_media::{Fetcher, MediaKind, MediaLimits};
use reelay_render::{MediaInput, RenderRequest};
use tokio::sync::watch;

use super::{Execution, Job, Outcome, Output, Provider, TaskFailure};
use crate::metrics::Metrics;

/// Frame rate of every output (API.md §10).
const FPS: u32 = 24;

/// Where an `asset://` input's stored bytes come from (the asset library implements it).
pub trait AssetReader: Send + Sync {
    /// The bytes of an Active asset, never a re-fetch.
    fn read_active<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Vec<u8>, AssetReadError>>;

    /// The bytes behind one of reelay's own file URLs (e.g. a `/files/upload` answer), read
    /// from storage; `None` for any other URL (it is fetched).
    fn read_own_url<'a>(
        &'a self,
        url: &'a str,
    ) -> BoxFuture<'a, Option<Result<Vec<u8>, AssetReadError>>>;
}

/// Why an asset input cannot be read.
#[derive(Debug)]
pub enum AssetReadError {
    /// The asset is gone or not usable: the request's fault (the message says why).
    Unusable(String),
    /// reelay could not read it (database or storage); the message is for the log.
    Internal(String),
}

/// What the local channel needs.
#[derive(Clone)]
pub struct LocalProvider {
    pub catalog: Arc<Catalog>,
    pub fetcher: Fetcher,
    pub limits: MediaLimits,
    /// Asset bytes (`asset://` inputs) are read through this.
    pub assets: Arc<dyn AssetReader>,
    /// Render seconds are recorded here.
    pub metrics: Arc<Metrics>,
}

impl Provider for LocalProvider {
    fn execution(&self) -> Execution {
        Execution::InProcess
    }

    fn run<'a>(&'a self, job: Job<'a>) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            match self.render(job.task_id, job.request, job.progress).await {
                Ok(output) => Outcome::Completed(output),
                Err(failure) => Outcome::Failed(failure),
            }
        })
    }
}

impl LocalProvider {
    /// Renders one task. `progress` receives 0.0–1.0.
    async fn render(
        &self,
        task_id: &str,
        request: &ValidatedRequest,
        progress: watch::Sender<f32>,
    ) -> Result<Output, TaskFailure> {
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

        Ok(Output {
            video: output.mp4,
            last_frame: output.last_frame_png,
            width: output.width,
            height: output.height,
            duration: output.duration_secs,
            fps: output.fps,
            frames: output.frames,
            has_audio: output.has_audio,
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
        let bytes = match self.assets.read_own_url(url).await {
            Some(read) => read.map_err(|e| read_failure(field, url, e))?,
            None => self
                .fetcher
                .get(url, self.limits.max_bytes(kind))
                .await
                .map_err(|e| TaskFailure::new("invalid_input", format!("{field}: {e}")))?
                .bytes
                .to_vec(),
        };
        reelay_media::probe_and_check(kind, &bytes, &self.limits)
            .map_err(|reason| TaskFailure::new("invalid_input", format!("{field}: {reason}")))?;
        Ok(bytes)
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
        let bytes = self
            .assets
            .read_active(id)
            .await
            .map_err(|e| read_failure(field, &format!("asset://{id}"), e))?;
        reelay_media::probe_and_check(kind, &bytes, &self.limits)
            .map_err(|reason| TaskFailure::new("invalid_input", format!("{field}: {reason}")))?;
        Ok(bytes)
    }
}

/// The task's failure when stored input bytes (an asset, reelay's own file URL) cannot be read.
fn read_failure(field: &str, what: &str, error: AssetReadError) -> TaskFailure {
    match error {
        AssetReadError::Internal(error) => {
            tracing::error!(%error, input = what, "reading a stored input failed");
            TaskFailure::new("internal", format!("{field}: reading {what} failed"))
        }
        AssetReadError::Unusable(reason) => {
            TaskFailure::new("invalid_input", format!("{field}: {reason}"))
        }
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
