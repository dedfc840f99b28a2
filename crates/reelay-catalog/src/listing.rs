//! The `data` of `GET /api/open-api/v1/models` (API.md §4): the catalog as
//! the validator enforces it, one item per model in file order. Beyond API.md's list it adds
//! `audio_output` (whether `generate_audio` may be true) and `assets_audited` (whether
//! `asset://` ids must come from the Full-route audit), so clients such as the console can
//! offer only what the model accepts.

use serde_json::{json, Value};

use crate::spec::ModelSpec;

/// One listing item for `spec`, with the channels that serve it.
pub(crate) fn model_item(spec: &ModelSpec, channels: Vec<String>) -> Value {
    let prices: serde_json::Map<String, Value> = spec
        .resolution
        .allowed
        .iter()
        .filter_map(|resolution| {
            spec.prices
                .get(resolution)
                .map(|credits| (resolution.clone(), json!(credits)))
        })
        .collect();
    let reference_videos = spec.reference_videos.map_or(
        Value::Null,
        |videos| json!({"max": videos.max, "total_seconds": videos.total_seconds}),
    );
    let reference_audios = spec.reference_audios.map_or(Value::Null, |audios| {
        json!({
            "max": audios.max,
            "total_seconds": audios.total_seconds,
            "in_frame_mode": audios.in_frame_mode,
        })
    });
    let media_forms: Vec<&str> = spec.media_forms.iter().map(|form| form.as_str()).collect();
    json!({
        "model": spec.name,
        "family": spec.family,
        "billing": spec.billing.as_str(),
        "prices": prices,
        "duration": {
            "min": spec.duration.min,
            "max": spec.duration.max,
            "default": spec.duration.default,
        },
        "resolution": {
            "allowed": spec.resolution.allowed,
            "default": spec.resolution.default,
            "fixed": spec.resolution.fixed,
        },
        "ratios": spec.ratios,
        "images": {"max": spec.images.max},
        "frames": spec.frames.as_str(),
        "reference_videos": reference_videos,
        "reference_audios": reference_audios,
        "media_forms": media_forms,
        "prompt_max_chars": spec.prompt_max_chars,
        "audio_output": spec.audio_output,
        "assets_audited": spec.assets_audited,
        "channels": channels,
    })
}
