//! The validator's inputs and outputs: [`ValidateOptions`], the
//! [`ValidatedRequest`] that billing and dispatch accept, its [`Price`], and
//! [`ValidationError`] with its stable [`ErrorKind`] codes.
//!
//! `param` convention: a problem with one item of a list names the item
//! (`images[2]`, `reference_audios[0]`); a problem with the list as a whole
//! (not an array, too many items, not allowed on the model, combination
//! rules) names the list (`images`).

use serde::{Deserialize, Serialize};

use crate::media::{MediaItem, MediaKind, MediaRef};
use crate::spec::BillingUnit;

/// Switches the server sets from its configuration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ValidateOptions {
    /// Accept `http://` callback URLs (development and tests only).
    pub allow_http_callback: bool,
    /// Accept `http://` media URLs (development and tests only, `media.allow_http`).
    pub allow_http_media: bool,
}

/// The kind of a validation failure; each has a stable API code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// 40001: missing, wrong type, out of range, not allowed for this model.
    InvalidField,
    /// 40002: the model is not in the catalog.
    UnknownModel,
}

impl ErrorKind {
    /// The integer `code` of the API envelope.
    pub fn code(self) -> i64 {
        match self {
            ErrorKind::InvalidField => 40001,
            ErrorKind::UnknownModel => 40002,
        }
    }
}

/// Why a create (or quote) body was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValidationError {
    /// Which error code applies.
    pub kind: ErrorKind,
    /// The field at fault (`data.param` of the response), e.g. `duration` or `images[1]`.
    pub param: String,
    /// One sentence naming the field, the model and what is allowed.
    pub message: String,
}

impl ValidationError {
    /// A 40001 error on `param`.
    pub fn invalid(param: impl Into<String>, message: impl Into<String>) -> ValidationError {
        ValidationError {
            kind: ErrorKind::InvalidField,
            param: param.into(),
            message: message.into(),
        }
    }

    /// A 40002 error (always on `model`).
    pub fn unknown_model(message: impl Into<String>) -> ValidationError {
        ValidationError {
            kind: ErrorKind::UnknownModel,
            param: "model".to_string(),
            message: message.into(),
        }
    }
}

/// What a task costs.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Price {
    /// Credits to debit.
    pub credits: i64,
    /// Per second or per task.
    pub unit: BillingUnit,
    /// The task's duration in seconds (the multiplier when `unit` is per second;
    /// informative when it is per task).
    pub seconds: u32,
}

/// A create body that passed every check that needs no download, with every
/// default applied. The only thing billing and dispatch accept.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ValidatedRequest {
    /// Catalog model name.
    pub model: String,
    /// Family key of the model (e.g. `sp_economy`).
    pub family: String,
    /// The prompt, unchanged (not trimmed).
    pub prompt: String,
    /// Seconds.
    pub duration: u32,
    /// Effective resolution (the model's own one on fixed models).
    pub resolution: String,
    /// `16:9`, `4:3`, `1:1`, `3:4`, `9:16`, `21:9` or `adaptive` (lowercase;
    /// only with an image to take the shape from).
    pub ratio: String,
    /// Reference images (reference-image mode).
    pub images: Vec<MediaRef>,
    /// First frame (frame mode).
    pub first_image: Option<MediaRef>,
    /// Last frame (frame mode, with `first_image`).
    pub last_image: Option<MediaRef>,
    /// Reference videos.
    pub reference_videos: Vec<MediaRef>,
    /// Reference audios.
    pub reference_audios: Vec<MediaRef>,
    /// Seed, `-1` (random) to `2^32-1`; `None` when not given.
    pub seed: Option<i64>,
    /// Generate a soundtrack.
    pub generate_audio: bool,
    /// Add a watermark.
    pub watermark: bool,
    /// Keep the camera still.
    pub camera_fixed: bool,
    /// Also return the last frame as an image.
    pub return_last_frame: bool,
    /// Where to POST the task on terminal status.
    pub callback_url: Option<String>,
    /// The price at validation time.
    pub price: Price,
}

impl ValidatedRequest {
    /// Every media of the request with its field name (`images[1]`,
    /// `first_image`, `last_image`, `reference_videos[0]`, `reference_audios[2]`)
    /// and kind, in that order.
    pub fn media(&self) -> Vec<MediaItem<'_>> {
        let mut items = Vec::new();
        let lists = [
            ("images", MediaKind::Image, &self.images),
            ("reference_videos", MediaKind::Video, &self.reference_videos),
            ("reference_audios", MediaKind::Audio, &self.reference_audios),
        ];
        let frames = [
            ("first_image", &self.first_image),
            ("last_image", &self.last_image),
        ];
        let (images, others) = lists.split_at(1);
        for (name, kind, list) in images {
            push_list(&mut items, name, *kind, list);
        }
        for (name, frame) in frames {
            if let Some(media) = frame {
                items.push(MediaItem {
                    field: name.to_string(),
                    kind: MediaKind::Image,
                    media,
                });
            }
        }
        for (name, kind, list) in others {
            push_list(&mut items, name, *kind, list);
        }
        items
    }

    /// Asset ids referenced by the request, with their field names and kinds.
    pub fn asset_refs(&self) -> Vec<(String, MediaKind, &str)> {
        self.media()
            .into_iter()
            .filter_map(|item| {
                let field = item.field;
                let kind = item.kind;
                item.media.as_asset_id().map(|id| (field, kind, id))
            })
            .collect()
    }

    /// Whether the request is in frame mode (`first_image` given).
    pub fn is_frame_mode(&self) -> bool {
        self.first_image.is_some()
    }
}

fn push_list<'a>(
    items: &mut Vec<MediaItem<'a>>,
    name: &str,
    kind: MediaKind,
    list: &'a [MediaRef],
) {
    for (index, media) in list.iter().enumerate() {
        items.push(MediaItem {
            field: format!("{name}[{index}]"),
            kind,
            media,
        });
    }
}
