//! Which scene a request gets, and the pure arithmetic of its timeline: which still (or pair of
//! stills, mid-transition) shows at each frame, the Ken Burns camera path of each still, fades,
//! and the seeded random numbers everything "creative" is derived from.
//!
//! | inputs                                  | scene                                               |
//! |-----------------------------------------|-----------------------------------------------------|
//! | prompt only                             | title card: typeset prompt over a seeded backdrop   |
//! | `first_image`                           | Ken Burns on the image                              |
//! | `first_image` + `last_image`            | slow crossfade from first to last over the clip     |
//! | `images`                                | slideshow, equal shares, crossfades between         |
//! | `reference_videos`                      | the videos (in turn) as moving background + title   |
//! | `reference_videos` + any images         | videos as background, the stills in an inset panel  |
//!
//! Stills are ordered `first_image`, `images…`, `last_image`. The first still starts at zoom 1
//! (so frame 0 is the image, cover-cropped) and the last one ends at zoom 1 (so the final frame is
//! the last image).

use crate::draw::View;
use crate::yuv::Yuv420;

/// How far (as a zoom factor) the Ken Burns camera moves into a still; pictures are prepared at
/// this much more than the output size so the deepest zoom samples them 1:1.
pub const ZOOM_HEADROOM: f64 = 1.12;

/// The kind of scene a request renders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SceneKind {
    /// Prompt typeset over a generated backdrop.
    TitleCard,
    /// Still images (one, first+last, or a slideshow).
    Stills,
    /// Reference videos as the background, with the prompt as title.
    Video,
    /// Reference videos as the background and the stills in an inset panel.
    VideoWithStills,
}

/// Picks the scene from what the request carries.
pub fn scene_kind(still_count: usize, video_count: usize) -> SceneKind {
    match (still_count > 0, video_count > 0) {
        (false, false) => SceneKind::TitleCard,
        (true, false) => SceneKind::Stills,
        (false, true) => SceneKind::Video,
        (true, true) => SceneKind::VideoWithStills,
    }
}

/// splitmix64: small, fast and fully deterministic.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// Seeds from the prompt text and the request's `seed` (FNV-1a over both).
    pub fn for_request(prompt: &str, seed: i64) -> Self {
        let mut hash = 0xcbf2_9ce4_8422_2325u64;
        for byte in prompt.bytes().chain(seed.to_le_bytes()) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        Self(hash)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A float in `0.0..1.0`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A float in `low..high`.
    pub fn range(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }
}

/// A Ken Burns camera path over a picture prepared at [`ZOOM_HEADROOM`] × the output size.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Motion {
    /// Zoom at the start (1.0 shows the whole picture).
    pub zoom_from: f64,
    /// Zoom at the end.
    pub zoom_to: f64,
    /// Pan at the start, each axis in -1..=1 of the slack the zoom leaves.
    pub pan_from: (f64, f64),
    /// Pan at the end.
    pub pan_to: (f64, f64),
}

impl Motion {
    /// A seeded direction of travel: a unit-ish pan target.
    fn direction(rng: &mut Rng) -> (f64, f64) {
        let angle = rng.range(0.0, std::f64::consts::TAU);
        (angle.cos(), angle.sin())
    }

    /// Starts on the whole picture and pushes in towards a seeded direction.
    pub fn push_in(rng: &mut Rng) -> Self {
        Self {
            zoom_from: 1.0,
            zoom_to: ZOOM_HEADROOM,
            pan_from: (0.0, 0.0),
            pan_to: Self::direction(rng),
        }
    }

    /// Starts pushed in and pulls back to the whole picture.
    pub fn pull_out(rng: &mut Rng) -> Self {
        Self {
            zoom_from: ZOOM_HEADROOM,
            zoom_to: 1.0,
            pan_from: Self::direction(rng),
            pan_to: (0.0, 0.0),
        }
    }

    /// The part of `picture` to show at `progress` (0..=1, eased here).
    pub fn view(&self, picture: &Yuv420, progress: f64) -> View {
        let t = smoothstep(progress);
        let zoom = lerp(self.zoom_from, self.zoom_to, t);
        let (width, height) = (picture.width as f64, picture.height as f64);
        let (view_width, view_height) = (width / zoom, height / zoom);
        let pan_x = lerp(self.pan_from.0, self.pan_to.0, t);
        let pan_y = lerp(self.pan_from.1, self.pan_to.1, t);
        let x = (width - view_width) / 2.0 * (1.0 + pan_x);
        let y = (height - view_height) / 2.0 * (1.0 + pan_y);
        View {
            x,
            y,
            width: view_width,
            height: view_height,
        }
    }
}

/// Camera paths for `count` stills: the first pushes in from the whole picture, the last (when
/// there are two or more) pulls back to the whole picture, the others alternate.
pub fn still_motions(count: usize, rng: &mut Rng) -> Vec<Motion> {
    (0..count)
        .map(|i| {
            let last = count >= 2 && i == count - 1;
            if last || (i % 2 == 1) {
                Motion::pull_out(rng)
            } else {
                Motion::push_in(rng)
            }
        })
        .collect()
}

/// What the stills contribute to one frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StillsAt {
    /// One still at its own progress.
    One {
        /// Index of the still.
        still: usize,
        /// Its camera progress, 0..=1.
        progress: f64,
    },
    /// A transition: `to` blended over `from` with `weight` (0..=256).
    Blend {
        /// Outgoing still and its progress.
        from: (usize, f64),
        /// Incoming still and its progress.
        to: (usize, f64),
        /// Share of the incoming still, 0..=256.
        weight: u32,
    },
}

/// Equal shares of the clip for each still, with crossfades centred on the boundaries.
#[derive(Clone, Debug)]
pub struct Timeline {
    boundaries: Vec<u32>,
    half_transition: u32,
    frames: u32,
}

impl Timeline {
    /// Slideshow timing: transitions of up to one second, never more than half a share.
    pub fn slideshow(stills: usize, frames: u32, fps: u32) -> Self {
        let share = frames / stills.max(1) as u32;
        Self::new(stills, frames, (fps / 2).min(share / 4))
    }

    /// First-to-last timing for two stills: the crossfade spans the middle 60 % of the clip.
    pub fn first_to_last(frames: u32) -> Self {
        Self::new(2, frames, frames * 3 / 10)
    }

    fn new(stills: usize, frames: u32, half_transition: u32) -> Self {
        let stills = stills.max(1) as u64;
        let boundaries = (0..=stills)
            .map(|k| (k * u64::from(frames) / stills) as u32)
            .collect();
        Self {
            boundaries,
            half_transition,
            frames,
        }
    }

    /// Progress of still `k` at frame `i` over its visible span (transitions included).
    fn progress(&self, k: usize, i: u32) -> f64 {
        let last_frame = self.frames.saturating_sub(1);
        let start = if k == 0 {
            0
        } else {
            self.boundaries[k].saturating_sub(self.half_transition)
        };
        let end = if k + 2 >= self.boundaries.len() {
            last_frame
        } else {
            (self.boundaries[k + 1] + self.half_transition).min(last_frame)
        };
        if end <= start {
            return 1.0;
        }
        (f64::from(i.saturating_sub(start)) / f64::from(end - start)).clamp(0.0, 1.0)
    }

    /// The stills at frame `i`.
    pub fn at(&self, i: u32) -> StillsAt {
        let count = self.boundaries.len() - 1;
        let k = (0..count).rfind(|&k| self.boundaries[k] <= i).unwrap_or(0);
        let h = self.half_transition;
        let blend_with = |from: usize, boundary: u32| {
            let t = (f64::from(i + h) - f64::from(boundary) + 0.5) / f64::from(2 * h);
            StillsAt::Blend {
                from: (from, self.progress(from, i)),
                to: (from + 1, self.progress(from + 1, i)),
                weight: (smoothstep(t) * 256.0).round() as u32,
            }
        };
        if h > 0 && k + 1 < count && i + h >= self.boundaries[k + 1] {
            return blend_with(k, self.boundaries[k + 1]);
        }
        if h > 0 && k > 0 && i < self.boundaries[k] + h {
            return blend_with(k - 1, self.boundaries[k]);
        }
        StillsAt::One {
            still: k,
            progress: self.progress(k, i),
        }
    }
}

/// Linear interpolation.
pub fn lerp(a: f64, b: f64, t: f64) -> f64 {
    a + (b - a) * t
}

/// Hermite ease, clamped to 0..=1.
pub fn smoothstep(t: f64) -> f64 {
    let t = t.clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Opacity (0..=256) of something fading in from `start` over `length` seconds, at `time`.
pub fn fade_in(time: f64, start: f64, length: f64) -> u32 {
    if length <= 0.0 {
        return if time >= start { 256 } else { 0 };
    }
    (smoothstep((time - start) / length) * 256.0).round() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slideshow_gives_each_still_its_share_with_crossfades() {
        let timeline = Timeline::slideshow(3, 120, 24);
        assert_eq!(
            timeline.at(0),
            StillsAt::One {
                still: 0,
                progress: 0.0
            }
        );
        assert!(matches!(timeline.at(60), StillsAt::One { still: 1, .. }));
        assert!(matches!(
            timeline.at(40),
            StillsAt::Blend {
                from: (0, _),
                to: (1, _),
                ..
            }
        ));
        assert!(
            matches!(timeline.at(119), StillsAt::One { still: 2, progress } if progress == 1.0)
        );
    }

    #[test]
    fn crossfade_weights_rise_monotonically_through_the_transition() {
        let timeline = Timeline::first_to_last(48);
        let weights: Vec<u32> = (0..48)
            .map(|i| match timeline.at(i) {
                StillsAt::One { still, .. } => 256 * still as u32,
                StillsAt::Blend { weight, .. } => weight,
            })
            .collect();
        assert!(weights.windows(2).all(|w| w[0] <= w[1]), "{weights:?}");
        assert_eq!((weights[0], weights[47]), (0, 256));
    }

    #[test]
    fn one_frame_clips_and_single_stills_do_not_divide_by_zero() {
        assert!(matches!(
            Timeline::slideshow(1, 1, 24).at(0),
            StillsAt::One { still: 0, .. }
        ));
        assert!(matches!(
            Timeline::slideshow(9, 24, 24).at(23),
            StillsAt::One { still: 8, .. }
        ));
    }

    #[test]
    fn the_same_prompt_and_seed_give_the_same_numbers() {
        let a: Vec<u64> = (0..4)
            .map({
                let mut rng = Rng::for_request("cat", 7);
                move |_| rng.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut rng = Rng::for_request("cat", 7);
                move |_| rng.next_u64()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(Rng::for_request("cat", 8).next_u64(), a[0]);
    }

    #[test]
    fn motions_start_and_end_on_the_whole_picture() {
        let mut rng = Rng::for_request("x", 1);
        let motions = still_motions(3, &mut rng);
        let picture = Yuv420::black(112, 56);
        assert_eq!(motions[0].view(&picture, 0.0), View::whole(&picture));
        assert_eq!(motions[2].view(&picture, 1.0), View::whole(&picture));
    }
}
