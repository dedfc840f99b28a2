//! An OpenAI create (multipart/form-data, as the SDK always sends it, or JSON) translated into
//! the seed route's create body (DIALECTS.md §3): `seconds` → `duration`, `size` → the model's
//! nearest `ratio` and the `resolution` tier whose short side is nearest, `input_reference` →
//! `first_image`; any seed-route field, top-level or in `metadata`, wins over that mapping.
//! Form values are text: `"true"`, `"8"` and JSON arrays are read by the seed field's type.

use std::sync::Arc;

use reelay_catalog::{nearest_ratio, output_size, Catalog, KNOWN_RESOLUTIONS};
use serde_json::{Map, Value};

use crate::api::error::{ApiError, ErrorCode};
use crate::assets::spool::Spooled;
use crate::tasks::ClientMeta;

/// One member of the create, as sent.
#[derive(Debug, Clone)]
pub enum Part {
    /// A form field's text.
    Text(String),
    /// A form file part.
    File {
        /// The part's bytes, in the spool.
        file: Arc<Spooled>,
        filename: Option<String>,
    },
    /// A JSON body's member.
    Json(Value),
}

/// Seed-route fields a create may carry besides OpenAI's own, by type.
const BOOLEANS: [&str; 4] = [
    "generate_audio",
    "watermark",
    "camera_fixed",
    "return_last_frame",
];
const INTEGERS: [&str; 2] = ["seed", "duration"];
const LISTS: [&str; 3] = ["images", "reference_videos", "reference_audios"];
const TEXTS: [&str; 5] = [
    "resolution",
    "ratio",
    "first_image",
    "last_image",
    "callback_url",
];

/// A translated create: the seed body, and the first frame still to upload when it came as a
/// file part.
#[derive(Debug)]
pub struct Translated {
    pub body: Map<String, Value>,
    /// `input_reference` sent as a file: stored (as `/files/upload` does), its URL the first frame.
    pub upload: Option<(Arc<Spooled>, Option<String>)>,
    /// The model as the client sent it.
    pub model: String,
    renames: Vec<(&'static str, &'static str)>,
}

impl Translated {
    /// A validator's error renamed to the OpenAI field it came from (`duration` → `seconds`).
    pub fn openai_error(&self, mut error: ApiError) -> ApiError {
        if let Some(param) = error.param.take() {
            let renamed = self
                .renames
                .iter()
                .find(|(seed, _)| *seed == param)
                .map(|(_, openai)| openai.to_string());
            match renamed {
                Some(openai) => {
                    if let Some(rest) = error.message.strip_prefix(&param) {
                        error.message = format!("{openai}{rest}");
                    }
                    error.param = Some(openai);
                }
                None => error.param = Some(param),
            }
        }
        error
    }

    /// What the door keeps for its view.
    pub fn client_meta(&self, catalog_model: &str, remixed_from: Option<String>) -> ClientMeta {
        ClientMeta {
            door: Some("openai".into()),
            model: (self.model != catalog_model).then(|| self.model.clone()),
            safety_identifier: None,
            execution_expires_after: None,
            remixed_from,
        }
    }
}

fn invalid(param: &str, message: impl std::fmt::Display) -> ApiError {
    ApiError::field(param, format!("{param}: {message}"))
}

/// A part as text (form fields), or its JSON value.
fn as_value(part: &Part) -> Option<Value> {
    match part {
        Part::Text(text) => Some(Value::String(text.clone())),
        Part::Json(value) if !value.is_null() => Some(value.clone()),
        _ => None,
    }
}

/// A form value read by the seed field's type (JSON values are kept as sent).
fn typed(field: &str, value: Value) -> Value {
    let Value::String(text) = &value else {
        return value;
    };
    let text = text.trim();
    if BOOLEANS.contains(&field) {
        match text {
            "true" => return Value::Bool(true),
            "false" => return Value::Bool(false),
            _ => {}
        }
    }
    if INTEGERS.contains(&field) {
        if let Ok(n) = text.parse::<i64>() {
            return Value::from(n);
        }
    }
    if LISTS.contains(&field) {
        if text.starts_with('[') {
            if let Ok(list @ Value::Array(_)) = serde_json::from_str::<Value>(text) {
                return list;
            }
        }
        return Value::Array(vec![Value::String(text.to_string())]);
    }
    value
}

/// The seed field a part name sets (`images[]` → `images`, `metadata[seed]` → `seed` from
/// metadata), with whether it came from `metadata`.
fn seed_field(name: &str) -> Option<(&str, bool)> {
    let (name, from_metadata) = match name
        .strip_prefix("metadata[")
        .and_then(|n| n.strip_suffix(']'))
    {
        Some(inner) => (inner, true),
        None => (name, false),
    };
    let name = name.strip_suffix("[]").unwrap_or(name);
    let known = BOOLEANS.contains(&name)
        || INTEGERS.contains(&name)
        || LISTS.contains(&name)
        || TEXTS.contains(&name);
    known.then_some((name, from_metadata))
}

/// Translates a create's parts.
pub fn translate(parts: &[(String, Part)], catalog: &Catalog) -> Result<Translated, ApiError> {
    let text_of = |name: &str| -> Option<&Part> {
        parts.iter().find(|(n, _)| n == name).map(|(_, part)| part)
    };
    let model = match text_of("model").and_then(as_value) {
        Some(Value::String(model)) if !model.trim().is_empty() => model,
        _ => {
            return Err(invalid(
                "model",
                "required, a model name (see GET /api/open-api/v1/models)",
            ))
        }
    };
    let mut body = Map::new();
    let mut renames = Vec::new();
    body.insert("model".into(), Value::String(model.clone()));
    match text_of("prompt").and_then(as_value) {
        Some(prompt) => {
            body.insert("prompt".into(), prompt);
        }
        None => return Err(invalid("prompt", "required, a string")),
    }
    if let Some(seconds) = text_of("seconds").and_then(as_value) {
        let parsed = match &seconds {
            Value::String(text) => text.trim().parse::<i64>().ok(),
            Value::Number(n) => n.as_i64(),
            _ => None,
        };
        let Some(seconds) = parsed else {
            return Err(invalid(
                "seconds",
                format!(
                    "must be a whole number of seconds, as a string or an integer (got {seconds})"
                ),
            ));
        };
        body.insert("duration".into(), Value::from(seconds));
        renames.push(("duration", "seconds"));
    }
    if let Some(size) = text_of("size").and_then(as_value) {
        let (resolution, ratio) = map_size(&size, &model, catalog)?;
        body.insert("resolution".into(), Value::String(resolution));
        body.insert("ratio".into(), Value::String(ratio));
        renames.push(("resolution", "size"));
        renames.push(("ratio", "size"));
    }
    let mut upload = None;
    for (name, part) in parts {
        let first_image = match (name.as_str(), part) {
            ("input_reference", Part::File { file, filename }) => {
                upload = Some((file.clone(), filename.clone()));
                continue;
            }
            ("input_reference", Part::Text(url)) => Value::String(url.clone()),
            ("input_reference", Part::Json(Value::String(url))) => Value::String(url.clone()),
            ("input_reference", Part::Json(Value::Object(object))) => match object.get("image_url")
            {
                Some(Value::String(url)) => Value::String(url.clone()),
                _ => return Err(invalid(
                    "input_reference",
                    "an object needs image_url (file ids are not offered: send the file or a URL)",
                )),
            },
            ("input_reference", Part::Json(Value::Null)) => continue,
            ("input_reference[image_url]", Part::Text(url)) => Value::String(url.clone()),
            ("input_reference", _) | ("input_reference[image_url]", _) => {
                return Err(invalid(
                    "input_reference",
                    "must be an image file, a URL or {\"image_url\": URL}",
                ))
            }
            ("input_reference[file_id]", _) => {
                return Err(invalid(
                    "input_reference.file_id",
                    "file ids are not offered; send the image as a file part or a URL",
                ))
            }
            _ => continue,
        };
        body.insert("first_image".into(), first_image);
        renames.push(("first_image", "input_reference"));
    }
    apply_seed_fields(parts, &mut body)?;
    Ok(Translated {
        body,
        upload,
        model,
        renames,
    })
}

/// Seed-route fields: those in `metadata` first, then the top-level ones (which win).
fn apply_seed_fields(
    parts: &[(String, Part)],
    body: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    let mut from_metadata: Vec<(String, Value)> = Vec::new();
    let mut top_level: Vec<(String, Value)> = Vec::new();
    for (name, part) in parts {
        if name == "metadata" {
            let object = match part {
                Part::Json(Value::Object(object)) => object.clone(),
                Part::Json(Value::Null) => continue,
                Part::Text(text) => match serde_json::from_str::<Value>(text) {
                    Ok(Value::Object(object)) => object,
                    _ => return Err(invalid("metadata", "must be a JSON object")),
                },
                _ => return Err(invalid("metadata", "must be a JSON object")),
            };
            for (key, value) in object {
                if seed_field(&key).is_some_and(|(_, nested)| !nested) && !value.is_null() {
                    from_metadata.push((key.clone(), typed(&key, value)));
                }
            }
            continue;
        }
        let Some((field, nested)) = seed_field(name) else {
            continue;
        };
        let Some(value) = as_value(part) else {
            continue;
        };
        let target = if nested {
            &mut from_metadata
        } else {
            &mut top_level
        };
        let repeated_list = name.ends_with("[]") && LISTS.contains(&field);
        if repeated_list {
            match target.iter_mut().find(|(f, _)| f == field) {
                Some((_, Value::Array(list))) => list.push(value),
                _ => target.push((field.to_string(), Value::Array(vec![value]))),
            }
        } else {
            target.push((field.to_string(), typed(field, value)));
        }
    }
    for (field, value) in from_metadata.into_iter().chain(top_level) {
        body.insert(field, value);
    }
    Ok(())
}

/// `WxH` → (resolution, ratio) for `model`: the model's nearest plain ratio, and the request
/// vocabulary's tier whose short side is nearest, which the model must offer.
fn map_size(size: &Value, model: &str, catalog: &Catalog) -> Result<(String, String), ApiError> {
    let text = size.as_str().unwrap_or_default();
    let parsed = text
        .split_once(['x', 'X', '*'])
        .and_then(|(w, h)| Some((w.trim().parse::<u32>().ok()?, h.trim().parse::<u32>().ok()?)))
        .filter(|(w, h)| *w > 0 && *h > 0);
    let Some((width, height)) = parsed else {
        return Err(invalid(
            "size",
            format!("must be WIDTHxHEIGHT, e.g. 1280x720 (got {size})"),
        ));
    };
    let Some(spec) = catalog.resolve(model) else {
        // An unknown model: the validator names it.
        return Ok(("720p".into(), nearest_ratio(width, height, &[])));
    };
    let ratios: Vec<&str> = spec.ratios.iter().map(String::as_str).collect();
    let ratio = nearest_ratio(width, height, &ratios);
    let short = width.min(height);
    let tier = KNOWN_RESOLUTIONS
        .iter()
        .filter_map(|tier| {
            let (w, h) = output_size(tier, "16:9")?;
            Some((tier.to_string(), w.min(h).abs_diff(short)))
        })
        .min_by_key(|(_, distance)| *distance)
        .map(|(tier, _)| tier);
    match tier {
        Some(tier) if spec.resolution.allowed.contains(&tier) => Ok((tier, ratio)),
        _ => {
            let offered: Vec<String> = spec
                .resolution
                .allowed
                .iter()
                .filter_map(|tier| output_size(tier, &ratio).map(|(w, h)| format!("{w}x{h}")))
                .collect();
            Err(ApiError::new(
                ErrorCode::InvalidField,
                format!(
                    "size: model {} has no resolution near {text} (sizes at ratio {ratio}: {})",
                    spec.name,
                    offered.join(", ")
                ),
            )
            .with_param("size"))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn text(name: &str, value: &str) -> (String, Part) {
        (name.to_string(), Part::Text(value.to_string()))
    }

    #[test]
    fn form_fields_map_to_the_seed_body_and_seed_fields_win() {
        let catalog = Catalog::embedded();
        let parts = vec![
            text("model", "seedance2.0-sp"),
            text("prompt", "a cat"),
            text("seconds", "8"),
            text("size", "720x1280"),
            text("input_reference", "https://x.test/a.png"),
            text("metadata[generate_audio]", "false"),
            text("images[]", "https://x.test/1.png"),
            text("images[]", "https://x.test/2.png"),
            text("metadata", r#"{"seed": 7, "watermark": true}"#),
            text("ratio", "1:1"),
        ];
        let translated = translate(&parts, &catalog).expect("translates");
        assert_eq!(
            Value::Object(translated.body.clone()),
            json!({
                "model": "seedance2.0-sp", "prompt": "a cat", "duration": 8,
                "resolution": "720p", "ratio": "1:1", "first_image": "https://x.test/a.png",
                "generate_audio": false, "seed": 7, "watermark": true,
                "images": ["https://x.test/1.png", "https://x.test/2.png"],
            })
        );
        let renamed = translated.openai_error(ApiError::field("duration", "duration: too long"));
        assert_eq!(renamed.param.as_deref(), Some("seconds"));
        assert_eq!(renamed.message, "seconds: too long");
    }

    #[test]
    fn sizes_pick_the_nearest_tier_the_model_offers() {
        let catalog = Catalog::embedded();
        let size = |s: &str| map_size(&json!(s), "seedance2.0-sp", &catalog);
        assert_eq!(
            size("1280x720").expect("720p"),
            ("720p".into(), "16:9".into())
        );
        assert_eq!(
            size("480x854").expect("480p"),
            ("480p".into(), "9:16".into())
        );
        assert_eq!(
            size("1024x1792").expect("1080p"),
            ("1080p".into(), "9:16".into())
        );
        let refused = size("3840x2160").expect_err("no 4k");
        assert_eq!(refused.param.as_deref(), Some("size"));
        assert_eq!(
            size("big").expect_err("malformed").param.as_deref(),
            Some("size")
        );
    }
}
