//! The render pipeline: validate the request, prepare audio and the scene (failing fast on bad
//! inputs), then draw frames on one thread (itself using rayon for rows) while this thread
//! encodes the previous ones, and finally mux.
//!
//! Frames travel through a bounded channel and come back for reuse, so memory stays at a few
//! frames whatever the duration.

use std::io::Cursor;
use std::sync::mpsc::{channel, sync_channel};

use crate::audio;
use crate::encode::H264Encoder;
use crate::mux::{write_mp4, AudioTrack, VideoTrack};
use crate::scene::Scene;
use crate::text::Typeface;
use crate::yuv::Yuv420;
use crate::{RenderError, RenderOutput, RenderRequest};

/// Largest output side OpenH264 encodes (level 5.2).
const MAX_LONG_SIDE: u32 = 3840;
/// Largest short side OpenH264 encodes.
const MAX_SHORT_SIDE: u32 = 2160;
/// Frames in flight between the drawing thread and the encoder.
const FRAMES_IN_FLIGHT: usize = 3;
/// Progress reports every this many frames.
const PROGRESS_EVERY: u32 = 12;

fn validate(request: &RenderRequest) -> Result<(), RenderError> {
    let (w, h) = (request.width, request.height);
    if w == 0 || h == 0 || w % 2 == 1 || h % 2 == 1 {
        return Err(RenderError::Internal(format!(
            "output size {w}x{h} must be non-zero and even"
        )));
    }
    if w.max(h) > MAX_LONG_SIDE || w.min(h) > MAX_SHORT_SIDE {
        return Err(RenderError::Internal(format!(
            "output size {w}x{h} exceeds the H.264 encoder's limit of {MAX_LONG_SIDE}x{MAX_SHORT_SIDE}"
        )));
    }
    if request.fps == 0 || request.fps > 120 {
        return Err(RenderError::Internal(format!(
            "frame rate {} is out of range 1..=120",
            request.fps
        )));
    }
    if request.duration_secs == 0 || request.duration_secs > 600 {
        return Err(RenderError::Internal(format!(
            "duration {} s is out of range 1..=600",
            request.duration_secs
        )));
    }
    Ok(())
}

/// Renders the request (see [`crate::render`]).
pub fn run(
    request: &RenderRequest,
    progress: &mut dyn FnMut(f32) -> bool,
) -> Result<RenderOutput, RenderError> {
    validate(request)?;
    let frames = request.duration_secs * request.fps;
    let audio = match request.reference_audios.first() {
        Some(input) => Some(audio::prepare(&input.bytes, request.duration_secs).map_err(
            |reason| RenderError::InvalidInput {
                field: input.field.clone(),
                reason,
            },
        )?),
        None => None,
    };
    let face = Typeface::embedded().map_err(RenderError::Internal)?;
    let scene = Scene::build(request, &face)?;
    if !progress(0.02) {
        return Err(RenderError::Cancelled);
    }
    let (width, height) = (request.width as usize, request.height as usize);
    let mut encoder =
        H264Encoder::new(width, height, request.fps).map_err(RenderError::Internal)?;
    let (samples, last_frame) =
        draw_and_encode(scene, &mut encoder, frames, width, height, progress)?;
    let video = VideoTrack {
        width: request.width,
        height: request.height,
        fps: request.fps,
        parameter_sets: &encoder.parameter_sets,
        samples: &samples,
    };
    let mp4 = write_mp4(&video, audio.as_ref());
    let last_frame_png = if request.return_last_frame {
        Some(png(&last_frame)?)
    } else {
        None
    };
    progress(1.0);
    Ok(RenderOutput {
        mp4,
        last_frame_png,
        width: request.width,
        height: request.height,
        fps: request.fps,
        frames,
        duration_secs: f64::from(request.duration_secs),
        has_audio: audio
            .as_ref()
            .is_some_and(|track: &AudioTrack| !track.frames.is_empty()),
    })
}

type Drawn = Result<(u32, Yuv420), RenderError>;

/// Draws on a helper thread while encoding here; returns the samples and the last frame.
fn draw_and_encode(
    mut scene: Scene,
    encoder: &mut H264Encoder,
    frames: u32,
    width: usize,
    height: usize,
    progress: &mut dyn FnMut(f32) -> bool,
) -> Result<(Vec<crate::encode::Sample>, Yuv420), RenderError> {
    std::thread::scope(|scope| {
        let (drawn_tx, drawn_rx) = sync_channel::<Drawn>(FRAMES_IN_FLIGHT);
        let (free_tx, free_rx) = channel::<Yuv420>();
        for _ in 0..FRAMES_IN_FLIGHT {
            free_tx
                .send(Yuv420::black(width, height))
                .map_err(|_| RenderError::Internal("frame pool".into()))?;
        }
        scope.spawn(move || {
            for index in 0..frames {
                let Ok(mut frame) = free_rx.recv() else {
                    return;
                };
                let drawn = scene.draw(index, &mut frame).map(|()| (index, frame));
                let failed = drawn.is_err();
                if drawn_tx.send(drawn).is_err() || failed {
                    return;
                }
            }
        });
        let mut samples = Vec::with_capacity(frames as usize);
        let mut last = None;
        for expected in 0..frames {
            let (index, frame) = drawn_rx
                .recv()
                .map_err(|_| RenderError::Internal("drawing thread stopped".into()))??;
            if index != expected {
                return Err(RenderError::Internal(format!(
                    "frame {index} arrived in place of {expected}"
                )));
            }
            samples.push(encoder.encode(&frame).map_err(RenderError::Internal)?);
            if index + 1 == frames {
                last = Some(frame);
            } else {
                // The drawing thread may already have finished; a closed pool is fine.
                let _ = free_tx.send(frame);
            }
            if index % PROGRESS_EVERY == 0 && !progress(0.02 + 0.96 * index as f32 / frames as f32)
            {
                return Err(RenderError::Cancelled);
            }
        }
        let last = last.ok_or_else(|| RenderError::Internal("no frames".into()))?;
        Ok((samples, last))
    })
}

/// Encodes a frame as PNG.
fn png(frame: &Yuv420) -> Result<Vec<u8>, RenderError> {
    let rgb = frame.to_rgb();
    let image = image::RgbImage::from_raw(frame.width as u32, frame.height as u32, rgb)
        .ok_or_else(|| RenderError::Internal("last frame buffer size".into()))?;
    let mut out = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .map_err(|e| RenderError::Internal(format!("PNG encode: {e}")))?;
    Ok(out)
}
