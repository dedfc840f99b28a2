//! A scene materialised from a request: the decoded, pre-scaled pictures (or video sources),
//! their camera paths, and the pre-rendered text sprites; `draw` paints frame `i` into a YUV
//! frame. Everything expensive happens once in `Scene::build`; `draw` only samples and blends.

use crate::backdrop;
use crate::draw::{blend, dim, draw_view, Rect};
use crate::plan::{
    fade_in, scene_kind, still_motions, Motion, Rng, SceneKind, StillsAt, Timeline, ZOOM_HEADROOM,
};
use crate::sprite::Sprite;
use crate::still;
use crate::text::{fit, Typeface};
use crate::video_in::VideoSequence;
use crate::yuv::Yuv420;
use crate::{MediaInput, RenderError, RenderRequest};

/// Text of the watermark chip.
const WATERMARK: &str = "reelay preview";

/// A sprite placed in the frame, fading in at a given time.
struct Overlay {
    sprite: Sprite,
    x: i64,
    y: i64,
    fade_start: f64,
    fade_length: f64,
}

/// Still pictures with their camera paths and timeline, drawn into `rect`.
struct Stills {
    pictures: Vec<Yuv420>,
    motions: Vec<Motion>,
    timeline: Timeline,
    rect: Rect,
}

/// What fills the frame behind the overlays.
enum Backdrop {
    Card {
        picture: Yuv420,
        motion: Motion,
    },
    Stills(Stills),
    Video {
        videos: VideoSequence,
        inset: Option<Stills>,
    },
}

/// A request turned into something that can paint frames.
pub struct Scene {
    backdrop: Backdrop,
    overlays: Vec<Overlay>,
    scratch: Yuv420,
    frames: u32,
    fps: u32,
}

fn even(value: f64) -> usize {
    ((value.round() as usize) & !1).max(2)
}

fn load_stills(
    inputs: &[&MediaInput],
    rect: Rect,
    frames: u32,
    fps: u32,
    rng: &mut Rng,
) -> Result<Stills, RenderError> {
    let width = even(rect.width as f64 * ZOOM_HEADROOM);
    let height = even(rect.height as f64 * ZOOM_HEADROOM);
    let pictures = inputs
        .iter()
        .map(|input| {
            still::load_cover(&input.bytes, width, height).map_err(|reason| {
                RenderError::InvalidInput {
                    field: input.field.clone(),
                    reason,
                }
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let motions = still_motions(pictures.len(), rng);
    let first_and_last = inputs.len() == 2 && inputs[1].field.starts_with("last");
    let timeline = if first_and_last {
        Timeline::first_to_last(frames)
    } else {
        Timeline::slideshow(pictures.len(), frames, fps)
    };
    Ok(Stills {
        pictures,
        motions,
        timeline,
        rect,
    })
}

impl Stills {
    fn draw(&self, index: u32, frame: &mut Yuv420, scratch: &mut Yuv420) {
        let rect = self.rect;
        match self.timeline.at(index) {
            StillsAt::One { still, progress } => {
                let picture = &self.pictures[still];
                draw_view(
                    frame,
                    rect,
                    picture,
                    self.motions[still].view(picture, progress),
                );
            }
            StillsAt::Blend { from, to, weight } => {
                let (a, b) = (&self.pictures[from.0], &self.pictures[to.0]);
                draw_view(frame, rect, a, self.motions[from.0].view(a, from.1));
                draw_view(scratch, rect, b, self.motions[to.0].view(b, to.1));
                blend(frame, scratch, rect, weight);
            }
        }
    }
}

impl Scene {
    /// Decodes and prepares everything the request's frames need.
    pub fn build(request: &RenderRequest, face: &Typeface) -> Result<Self, RenderError> {
        let (width, height) = (request.width as usize, request.height as usize);
        let frames = request.duration_secs * request.fps;
        let duration = f64::from(request.duration_secs);
        let full = Rect::full(width, height);
        let mut rng = Rng::for_request(&request.prompt, request.seed);
        let stills: Vec<&MediaInput> = request
            .first_frame
            .iter()
            .chain(&request.images)
            .chain(&request.last_frame)
            .collect();
        let kind = scene_kind(stills.len(), request.reference_videos.len());
        let backdrop = match kind {
            SceneKind::TitleCard => {
                let picture = backdrop::render(
                    even(width as f64 * ZOOM_HEADROOM),
                    even(height as f64 * ZOOM_HEADROOM),
                    &mut rng,
                );
                let motion = if rng.unit() < 0.5 {
                    Motion::push_in(&mut rng)
                } else {
                    Motion::pull_out(&mut rng)
                };
                Backdrop::Card { picture, motion }
            }
            SceneKind::Stills => {
                Backdrop::Stills(load_stills(&stills, full, frames, request.fps, &mut rng)?)
            }
            SceneKind::Video | SceneKind::VideoWithStills => {
                let videos = VideoSequence::open(&request.reference_videos)?;
                let inset = if kind == SceneKind::VideoWithStills {
                    let (w, h) = (even(width as f64 * 0.64), even(height as f64 * 0.64));
                    let rect = Rect {
                        x: ((width - w) / 2) & !1,
                        y: ((height - h) / 2) & !1,
                        width: w,
                        height: h,
                    };
                    Some(load_stills(&stills, rect, frames, request.fps, &mut rng)?)
                } else {
                    None
                };
                Backdrop::Video { videos, inset }
            }
        };
        let mut overlays = Vec::new();
        let prompt = request.prompt.trim();
        if !prompt.is_empty() {
            match kind {
                SceneKind::TitleCard | SceneKind::Video => {
                    title_overlays(&mut overlays, face, prompt, width, height, duration)
                }
                SceneKind::Stills | SceneKind::VideoWithStills => {
                    caption_overlay(&mut overlays, face, prompt, width, height)
                }
            }
        }
        chip_overlays(&mut overlays, face, request, width, height);
        Ok(Self {
            backdrop,
            overlays,
            scratch: Yuv420::black(width, height),
            frames,
            fps: request.fps,
        })
    }

    /// Paints frame `index` into `frame` (which must be the output size).
    pub fn draw(&mut self, index: u32, frame: &mut Yuv420) -> Result<(), RenderError> {
        let full = Rect::full(frame.width, frame.height);
        let progress = if self.frames > 1 {
            f64::from(index) / f64::from(self.frames - 1)
        } else {
            1.0
        };
        match &mut self.backdrop {
            Backdrop::Card { picture, motion } => {
                draw_view(frame, full, picture, motion.view(picture, progress))
            }
            Backdrop::Stills(stills) => stills.draw(index, frame, &mut self.scratch),
            Backdrop::Video { videos, inset } => {
                let source = videos.frame(index, self.frames, self.fps)?;
                draw_view(
                    frame,
                    full,
                    source,
                    crate::draw::View::cover(source.width, source.height, full),
                );
                match inset {
                    Some(stills) => {
                        dim(frame, full, 170);
                        stills.draw(index, frame, &mut self.scratch);
                    }
                    None => dim(frame, full, 200),
                }
            }
        }
        let time = f64::from(index) / f64::from(self.fps.max(1));
        for overlay in &self.overlays {
            let opacity = fade_in(time, overlay.fade_start, overlay.fade_length);
            overlay.sprite.draw(frame, overlay.x, overlay.y, opacity);
        }
        Ok(())
    }
}

/// The prompt, large and centred, each line fading in a little after the previous one.
fn title_overlays(
    overlays: &mut Vec<Overlay>,
    face: &Typeface,
    prompt: &str,
    width: usize,
    height: usize,
    duration: f64,
) {
    let short_side = width.min(height) as f32;
    let max_size = short_side / 7.5;
    let min_size = (short_side / 26.0).max(12.0);
    let fitted = fit(
        face,
        prompt,
        width as f32 * 0.8,
        height as f32 * 0.62,
        12,
        min_size,
        max_size,
    );
    let line_height = face.line_height(fitted.size);
    let block_height = line_height * fitted.lines.len() as f32;
    let top = (height as f32 - block_height) / 2.0;
    let margin = (fitted.size / 6.0).ceil() as usize + 2;
    let fade_length = (duration * 0.2).min(0.6);
    for (i, line) in fitted.lines.iter().enumerate() {
        let mask = face.rasterize_line(line, fitted.size);
        let sprite = Sprite::text_with_shadow(&mask, margin);
        let x = (width as i64 - mask.width as i64) / 2 - margin as i64;
        let y = (top + line_height * i as f32).round() as i64 - margin as i64;
        let fade_start = (0.15 + 0.12 * i as f64).min(duration * 0.3);
        overlays.push(Overlay {
            sprite,
            x,
            y,
            fade_start,
            fade_length,
        });
    }
}

/// The prompt as a small caption near the top, fading in after the first half second.
fn caption_overlay(
    overlays: &mut Vec<Overlay>,
    face: &Typeface,
    prompt: &str,
    width: usize,
    height: usize,
) {
    let short_side = width.min(height) as f32;
    let size = (short_side / 20.0).max(12.0);
    let fitted = fit(
        face,
        prompt,
        width as f32 * 0.86,
        size * 2.6,
        2,
        (short_side / 34.0).max(10.0),
        size,
    );
    let line_height = face.line_height(fitted.size);
    let margin = (fitted.size / 6.0).ceil() as usize + 2;
    for (i, line) in fitted.lines.iter().enumerate() {
        let mask = face.rasterize_line(line, fitted.size);
        let sprite = Sprite::text_with_shadow(&mask, margin);
        let x = (width as i64 - mask.width as i64) / 2 - margin as i64;
        let y = (height as f32 * 0.05 + line_height * i as f32).round() as i64 - margin as i64;
        overlays.push(Overlay {
            sprite,
            x,
            y,
            fade_start: 0.4,
            fade_length: 0.5,
        });
    }
}

/// The label (always) bottom-left and the watermark (when asked) bottom-right, from frame 0.
fn chip_overlays(
    overlays: &mut Vec<Overlay>,
    face: &Typeface,
    request: &RenderRequest,
    width: usize,
    height: usize,
) {
    let size = (width.min(height) as f32 / 30.0).max(11.0);
    let padding = (size / 3.0).ceil() as usize;
    let inset = (width.min(height) as i64 / 40).max(4);
    let label = request.label.trim();
    if !label.is_empty() {
        let fitted = fit(
            face,
            label,
            width as f32 * 0.55,
            size * 1.5,
            1,
            size * 0.7,
            size,
        );
        if let Some(line) = fitted.lines.first() {
            let sprite = Sprite::chip(&face.rasterize_line(line, fitted.size), padding);
            let y = height as i64 - inset - sprite.height as i64;
            overlays.push(Overlay {
                sprite,
                x: inset,
                y,
                fade_start: 0.0,
                fade_length: 0.0,
            });
        }
    }
    if request.watermark {
        let sprite = Sprite::chip(&face.rasterize_line(WATERMARK, size), padding);
        let x = width as i64 - inset - sprite.width as i64;
        let y = height as i64 - inset - sprite.height as i64;
        overlays.push(Overlay {
            sprite,
            x,
            y,
            fade_start: 0.0,
            fade_length: 0.0,
        });
    }
}
