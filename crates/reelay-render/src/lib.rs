//! reelay's embedded preview renderer: turns a task's inputs into a real, playable H.264 MP4 of
//! exactly the requested duration, size and frame rate, with no upstream model involved.
//!
//! It is a *preview*: every frame carries the request's `label` (e.g. "local preview ·
//! seedance2.0-sp") so nobody mistakes it for the model's output. What it draws is chosen in
//! [`plan`]: a typeset title card for text-only prompts, Ken Burns motion on a first frame, a
//! crossfade from first to last frame, a slideshow of reference images, reference videos as a
//! moving background; reference audio (MP3 or WAV) becomes the audio track.
//!
//! The same request (including `seed`) always produces byte-identical output.
//!
//! Codemap: [`plan`] (which scene, timelines, camera paths) → [`scene`] (decoded inputs, sprites;
//! paints frame *i*) using [`draw`], [`sprite`], [`text`], [`backdrop`], [`still`], [`video_in`]
//! on [`yuv`] planes → [`encode`] (OpenH264) → [`mux`] (MP4) with [`audio`]. [`pipeline`] runs
//! drawing and encoding concurrently.

pub mod audio;
pub mod backdrop;
pub mod draw;
pub mod encode;
pub mod mux;
pub mod pipeline;
pub mod plan;
pub mod scene;
pub mod sprite;
pub mod still;
pub mod text;
pub mod video_in;
pub mod yuv;

/// One input file of the request, already fetched.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MediaInput {
    /// The request field it came from, e.g. `"images[1]"` or `"first_image"`; used in errors.
    pub field: String,
    /// The file's bytes.
    pub bytes: Vec<u8>,
}

/// Everything the renderer needs for one task.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RenderRequest {
    /// The text prompt (typeset on title cards, captioned over images).
    pub prompt: String,
    /// Clip length in whole seconds (≥ 1).
    pub duration_secs: u32,
    /// Output width in pixels (even).
    pub width: u32,
    /// Output height in pixels (even).
    pub height: u32,
    /// Frames per second (24 for Seedance).
    pub fps: u32,
    /// Seed for every creative choice (colours, camera paths); same seed, same bytes.
    pub seed: i64,
    /// Draw a small "reelay preview" mark.
    pub watermark: bool,
    /// Also return the last frame as PNG.
    pub return_last_frame: bool,
    /// Small text drawn on every frame, e.g. "local preview · seedance2.0-sp".
    pub label: String,
    /// `first_image`: the clip starts on it.
    pub first_frame: Option<MediaInput>,
    /// `last_image`: the clip ends on it.
    pub last_frame: Option<MediaInput>,
    /// Reference images, shown in turn.
    pub images: Vec<MediaInput>,
    /// Reference videos (H.264 in MP4/MOV), used as the moving background.
    pub reference_videos: Vec<MediaInput>,
    /// Reference audio (MP3 or WAV); the first one becomes the audio track.
    pub reference_audios: Vec<MediaInput>,
}

/// The rendered clip.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RenderOutput {
    /// The MP4 file (fast start).
    pub mp4: Vec<u8>,
    /// The last frame as PNG, when asked for.
    pub last_frame_png: Option<Vec<u8>>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// Number of frames (`duration_secs * fps`).
    pub frames: u32,
    /// Duration in seconds.
    pub duration_secs: f64,
    /// Whether the MP4 has an audio track (iff reference audio was given).
    pub has_audio: bool,
}

/// Why a render failed.
#[derive(thiserror::Error, Debug)]
pub enum RenderError {
    /// An input file is unusable (undecodable image, video or audio); the user's fault.
    #[error("{field}: {reason}")]
    InvalidInput {
        /// The request field, e.g. `"reference_videos[0]"`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The renderer itself failed, or was called with impossible parameters (odd size).
    #[error("render failed: {0}")]
    Internal(String),
    /// The `progress` callback returned `false`.
    #[error("render cancelled")]
    Cancelled,
}

/// Renders `request` into an MP4. Synchronous and CPU-bound (call it from `spawn_blocking`).
///
/// `progress` is called from this thread now and then with 0.0..=1.0; returning `false` stops the
/// render with [`RenderError::Cancelled`].
pub fn render(
    request: &RenderRequest,
    progress: &mut dyn FnMut(f32) -> bool,
) -> Result<RenderOutput, RenderError> {
    pipeline::run(request, progress)
}

/// Pixel size of an encoded image (PNG, JPEG, WebP, BMP, GIF), read from its header, so the
/// server can resolve the `adaptive` ratio before choosing the output size.
pub fn image_dimensions(bytes: &[u8]) -> Result<(u32, u32), String> {
    still::image_dimensions(bytes)
}
