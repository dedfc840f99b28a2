//! The catalog's data types: one [`ModelSpec`] per model (its family's keys
//! merged with its own), the shared request vocabulary ([`RequestRules`]) and
//! the byte-level media limits ([`MediaLimits`]).
//!
//! These types only hold data; `load.rs` builds them from `catalog.toml` and
//! checks them, `validate.rs` reads them. No rule about a particular model
//! lives in code.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How a model is billed.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum BillingUnit {
    /// `prices[resolution] × duration`.
    PerSecond,
    /// `prices[resolution]`, whatever the duration.
    PerTask,
}

impl BillingUnit {
    /// The wire name (`per_second` / `per_task`).
    pub fn as_str(self) -> &'static str {
        match self {
            BillingUnit::PerSecond => "per_second",
            BillingUnit::PerTask => "per_task",
        }
    }
}

/// What frame mode (`first_image` / `last_image`) a model accepts.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FrameMode {
    /// A first frame alone, or a first and a last frame.
    FirstOnlyOrBoth,
    /// Frame mode needs both frames.
    BothRequired,
    /// No frame mode at all (not used by the built-in catalog; for operators).
    None,
}

impl FrameMode {
    /// The wire name used in the catalog file and in `GET /models`.
    pub fn as_str(self) -> &'static str {
        match self {
            FrameMode::FirstOnlyOrBoth => "first_only_or_both",
            FrameMode::BothRequired => "both_required",
            FrameMode::None => "none",
        }
    }
}

/// A way a request may point at a media file.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MediaForm {
    /// A public `https://` URL.
    Https,
    /// `asset://{id}`: an asset or real-person record of the caller.
    Asset,
}

impl MediaForm {
    /// The wire name (`https` / `asset`).
    pub fn as_str(self) -> &'static str {
        match self {
            MediaForm::Https => "https",
            MediaForm::Asset => "asset",
        }
    }
}

/// Allowed `duration` values, in seconds.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DurationSpec {
    /// Smallest accepted duration.
    pub min: u32,
    /// Largest accepted duration.
    pub max: u32,
    /// Duration used when the request gives none.
    pub default: u32,
}

/// Output resolutions of a model.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ResolutionSpec {
    /// Resolutions the model produces (may include `2k`/`4k` on the Full route).
    pub allowed: Vec<String>,
    /// Resolution used when the request gives none (or always, when `fixed`).
    pub default: String,
    /// When true, a valid request `resolution` that differs is ignored.
    pub fixed: bool,
}

/// Reference-image (`images`) rules.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ImageSpec {
    /// Most items in `images`.
    pub max: u32,
    /// Whether GIF images are accepted (checked once the bytes are known).
    pub gif: bool,
    /// Whether at least one image (in `images` or `first_image`) is required.
    pub required: bool,
}

/// Reference-video rules (absent when the model takes no reference video).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ReferenceVideoSpec {
    /// Most items in `reference_videos`.
    pub max: u32,
    /// Most seconds of all reference videos together (checked with the bytes).
    pub total_seconds: u32,
    /// Most bytes of all reference videos together (checked with the bytes).
    #[serde(default)]
    pub total_bytes: Option<u64>,
    /// Smallest accepted pixel size of each side (checked with the bytes).
    #[serde(default)]
    pub min_side_px: Option<u32>,
    /// Largest accepted pixel size of each side (checked with the bytes).
    #[serde(default)]
    pub max_side_px: Option<u32>,
}

/// Reference-audio rules (absent when the model takes no reference audio).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ReferenceAudioSpec {
    /// Most items in `reference_audios`.
    pub max: u32,
    /// Most seconds of all reference audios together (checked with the bytes).
    pub total_seconds: u32,
    /// Whether reference audio may be used together with `first_image`.
    pub in_frame_mode: bool,
}

/// Everything the catalog says about one model.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelSpec {
    /// The `model` value clients send.
    pub name: String,
    /// Key of the family the model belongs to (e.g. `sp_economy`).
    pub family: String,
    /// Human title of the family (e.g. `SP economy (经济版)`), for docs and the console.
    pub title: String,
    /// Per second or per task.
    pub billing: BillingUnit,
    /// Credits per effective resolution (per second or per task).
    pub prices: BTreeMap<String, i64>,
    /// Allowed durations and the default.
    pub duration: DurationSpec,
    /// Output resolutions.
    pub resolution: ResolutionSpec,
    /// Allowed ratios, in catalog order; `adaptive` allowed when listed.
    pub ratios: Vec<String>,
    /// Reference-image rules.
    pub images: ImageSpec,
    /// Frame-mode rule.
    pub frames: FrameMode,
    /// Reference-video rules, `None` when not allowed.
    pub reference_videos: Option<ReferenceVideoSpec>,
    /// Reference-audio rules, `None` when not allowed.
    pub reference_audios: Option<ReferenceAudioSpec>,
    /// Accepted media forms.
    pub media_forms: Vec<MediaForm>,
    /// Whether `asset://` ids must have passed the Full-route audit.
    pub assets_audited: bool,
    /// Most characters (Unicode scalar values) in `prompt`.
    pub prompt_max_chars: u32,
    /// Whether the model can generate a soundtrack (`generate_audio`).
    pub audio_output: bool,
    /// Other names clients may send for this model (e.g. Ark's model ids); a request naming
    /// an alias is the same request as one naming the model.
    pub aliases: Vec<String>,
}

impl ModelSpec {
    /// Whether `ratio: adaptive` is allowed.
    pub fn allows_adaptive(&self) -> bool {
        self.ratios.iter().any(|ratio| ratio == "adaptive")
    }

    /// Whether the model takes media in this form.
    pub fn takes_form(&self, form: MediaForm) -> bool {
        self.media_forms.contains(&form)
    }
}

/// The request vocabulary shared by every model (`[request]` in the file).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RequestRules {
    /// Values `resolution` may take on any model.
    pub resolutions: Vec<String>,
    /// Ratio when neither `ratio` nor `orientation` is given (outside first-frame mode).
    pub default_ratio: String,
    /// `orientation` values and their ratio.
    pub orientations: BTreeMap<String, String>,
}

/// Image limits checked once the bytes are known.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ImageLimits {
    /// Accepted formats (lowercase names).
    pub formats: Vec<String>,
    /// Smallest side in pixels.
    pub min_side_px: u32,
    /// Largest side in pixels.
    pub max_side_px: u32,
    /// Smallest width / height.
    pub min_aspect: f64,
    /// Largest width / height.
    pub max_aspect: f64,
    /// Size limit: files must be strictly smaller.
    pub max_bytes: u64,
}

/// Video or audio limits checked once the bytes are known.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TimedMediaLimits {
    /// Accepted formats (lowercase names).
    pub formats: Vec<String>,
    /// Shortest clip in seconds.
    pub min_seconds: u32,
    /// Longest clip in seconds.
    pub max_seconds: u32,
    /// Size limit: files must be strictly smaller.
    pub max_bytes: u64,
}

/// Seedance's published media rules (`[media_limits]` in the file).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MediaLimits {
    /// Images (reference images and frames).
    pub image: ImageLimits,
    /// Reference videos.
    pub video: TimedMediaLimits,
    /// Reference audios.
    pub audio: TimedMediaLimits,
}
