//! The one generic validator: reads a raw create body and the model's
//! [`ModelSpec`](crate::ModelSpec) and returns a [`ValidatedRequest`] with
//! every default applied and the price attached, or the first
//! [`ValidationError`]. Fields are checked in this order: `model`, `prompt`,
//! `duration`, `resolution`, media, `ratio`/`orientation`, then the
//! extension fields (`seed`, booleans, `callback_url`).
//!
//! Nothing here knows a model or family by name: every rule comes from the
//! catalog data.

use serde_json::{Map, Value};

use crate::catalog::Catalog;
use crate::json::{describe, field, integer, one_of};
use crate::media_rules::{check_media, Media};
use crate::request::{Price, ValidateOptions, ValidatedRequest, ValidationError};
use crate::spec::{BillingUnit, ModelSpec, RequestRules};

/// Smallest and largest `seed` (API.md §2: -1..2^32-1).
const SEED_MIN: i64 = -1;
const SEED_MAX: i64 = 4_294_967_295;
/// Longest accepted `callback_url`, in characters.
const CALLBACK_URL_MAX_CHARS: usize = 2048;
/// The lowercase spelling of the adaptive ratio.
const ADAPTIVE: &str = "adaptive";

pub(crate) fn validate(
    catalog: &Catalog,
    body: &Value,
    opts: &ValidateOptions,
) -> Result<ValidatedRequest, ValidationError> {
    let Some(body) = body.as_object() else {
        return Err(ValidationError::invalid(
            "body",
            format!("body: must be a JSON object (got {})", describe(body)),
        ));
    };
    let spec = model(catalog, body)?;
    let prompt = prompt(spec, body)?;
    let duration = duration(spec, body)?;
    let resolution = resolution(spec, catalog.request_rules(), body)?;
    let media = check_media(spec, body, opts)?;
    let ratio = ratio(spec, catalog.request_rules(), body, &media)?;
    let seed = seed(spec, body)?;
    let generate_audio = generate_audio(spec, body)?;
    let watermark = flag(spec, body, "watermark", false)?;
    let camera_fixed = flag(spec, body, "camera_fixed", false)?;
    let return_last_frame = flag(spec, body, "return_last_frame", false)?;
    let callback_url = callback_url(spec, body, opts)?;
    let price = price(spec, &resolution, duration);
    Ok(ValidatedRequest {
        model: spec.name.clone(),
        family: spec.family.clone(),
        prompt,
        duration,
        resolution,
        ratio,
        images: media.images,
        first_image: media.first_image,
        last_image: media.last_image,
        reference_videos: media.reference_videos,
        reference_audios: media.reference_audios,
        seed,
        generate_audio,
        watermark,
        camera_fixed,
        return_last_frame,
        callback_url,
        price,
    })
}

/// The price of `duration` seconds at `resolution` on `spec`. A resolution
/// without a price (impossible in a checked catalog) costs 0.
pub(crate) fn price(spec: &ModelSpec, resolution: &str, duration: u32) -> Price {
    let unit_price = spec.prices.get(resolution).copied().unwrap_or(0);
    let credits = match spec.billing {
        BillingUnit::PerSecond => unit_price.saturating_mul(i64::from(duration)),
        BillingUnit::PerTask => unit_price,
    };
    Price {
        credits,
        unit: spec.billing,
        seconds: duration,
    }
}

fn model<'a>(
    catalog: &'a Catalog,
    body: &Map<String, Value>,
) -> Result<&'a ModelSpec, ValidationError> {
    let valid = catalog.model_names().join(", ");
    let name = match field(body, "model") {
        Some(Value::String(name)) => name,
        other => {
            let got = other.map_or_else(|| "nothing".to_string(), describe);
            return Err(ValidationError::invalid(
                "model",
                format!("model: required, a string naming one of: {valid} (got {got})"),
            ));
        }
    };
    catalog.resolve(name).ok_or_else(|| {
        ValidationError::unknown_model(format!(
            "model: unknown model {} (valid models: {valid}; see GET /api/open-api/v1/models)",
            describe(&Value::String(name.clone()))
        ))
    })
}

fn prompt(spec: &ModelSpec, body: &Map<String, Value>) -> Result<String, ValidationError> {
    let model = &spec.name;
    let max = spec.prompt_max_chars;
    let expected = format!("a non-empty string of at most {max} characters for model {model}");
    let text = match field(body, "prompt") {
        Some(Value::String(text)) => text,
        Some(other) => {
            return Err(ValidationError::invalid(
                "prompt",
                format!("prompt: must be {expected} (got {})", describe(other)),
            ))
        }
        None => {
            return Err(ValidationError::invalid(
                "prompt",
                format!("prompt: required, {expected}"),
            ))
        }
    };
    if text.trim().is_empty() {
        return Err(ValidationError::invalid(
            "prompt",
            format!("prompt: must be {expected} (got an empty prompt)"),
        ));
    }
    let length = text.chars().count();
    if length > max as usize {
        return Err(ValidationError::invalid(
            "prompt",
            format!("prompt: must be {expected} (got {length} characters)"),
        ));
    }
    Ok(text.clone())
}

fn duration(spec: &ModelSpec, body: &Map<String, Value>) -> Result<u32, ValidationError> {
    let range = spec.duration;
    let Some(value) = field(body, "duration") else {
        return Ok(range.default);
    };
    let seconds = integer(value)
        .filter(|seconds| (i64::from(range.min)..=i64::from(range.max)).contains(seconds));
    match seconds.and_then(|seconds| u32::try_from(seconds).ok()) {
        Some(seconds) => Ok(seconds),
        None => Err(ValidationError::invalid(
            "duration",
            format!(
                "duration: must be an integer from {} to {} for model {} (got {})",
                range.min,
                range.max,
                spec.name,
                describe(value)
            ),
        )),
    }
}

fn resolution(
    spec: &ModelSpec,
    rules: &RequestRules,
    body: &Map<String, Value>,
) -> Result<String, ValidationError> {
    let model = &spec.name;
    let allowed = &spec.resolution;
    let Some(value) = field(body, "resolution") else {
        return Ok(allowed.default.clone());
    };
    let requested = value
        .as_str()
        .filter(|text| rules.resolutions.iter().any(|r| r == text));
    let Some(requested) = requested else {
        let choices = if allowed.fixed {
            format!(
                "{} (model {model} always renders {} and ignores a valid value)",
                one_of(&rules.resolutions),
                allowed.default
            )
        } else {
            format!("{} for model {model}", one_of(&allowed.allowed))
        };
        return Err(ValidationError::invalid(
            "resolution",
            format!("resolution: must be {choices} (got {})", describe(value)),
        ));
    };
    if allowed.fixed {
        // Documented vendor behaviour: a valid but different value is ignored.
        return Ok(allowed.default.clone());
    }
    if !allowed.allowed.iter().any(|r| r == requested) {
        return Err(ValidationError::invalid(
            "resolution",
            format!(
                "resolution: must be {} for model {model} (got {})",
                one_of(&allowed.allowed),
                describe(value)
            ),
        ));
    }
    Ok(requested.to_string())
}

/// The ratio used when the request sets none and adaptive does not apply:
/// the catalog's default ratio when the model has it, else the model's
/// first plain ratio.
fn fallback_ratio(spec: &ModelSpec, rules: &RequestRules) -> String {
    if spec.ratios.contains(&rules.default_ratio) {
        return rules.default_ratio.clone();
    }
    spec.ratios
        .iter()
        .find(|ratio| ratio.as_str() != ADAPTIVE)
        .cloned()
        .unwrap_or_else(|| rules.default_ratio.clone())
}

fn ratio(
    spec: &ModelSpec,
    rules: &RequestRules,
    body: &Map<String, Value>,
    media: &Media,
) -> Result<String, ValidationError> {
    let model = &spec.name;
    // `orientation` is checked even when `ratio` wins, so a typo never passes silently.
    let from_orientation = match field(body, "orientation") {
        None => None,
        Some(value) => {
            let mapped = value.as_str().and_then(|text| {
                rules
                    .orientations
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(text))
                    .map(|(_, ratio)| ratio.clone())
            });
            let names: Vec<String> = rules.orientations.keys().cloned().collect();
            match mapped {
                Some(ratio) => Some((ratio, value)),
                None => {
                    return Err(ValidationError::invalid(
                        "orientation",
                        format!(
                            "orientation: must be {} for model {model} (got {})",
                            one_of(&names),
                            describe(value)
                        ),
                    ))
                }
            }
        }
    };
    let ratio = if let Some(value) = field(body, "ratio") {
        let requested = value.as_str().map(|text| {
            if text.eq_ignore_ascii_case(ADAPTIVE) {
                ADAPTIVE.to_string()
            } else {
                text.to_string()
            }
        });
        match requested {
            Some(ratio) if spec.ratios.contains(&ratio) => ratio,
            _ => {
                return Err(ValidationError::invalid(
                    "ratio",
                    format!(
                        "ratio: must be {} for model {model} (got {})",
                        one_of(&spec.ratios),
                        describe(value)
                    ),
                ))
            }
        }
    } else if let Some((ratio, value)) = from_orientation {
        if !spec.ratios.contains(&ratio) {
            return Err(ValidationError::invalid(
                "orientation",
                format!(
                    "orientation: {} means ratio {ratio}, which model {model} does not take \
                     (ratios: {})",
                    describe(value),
                    one_of(&spec.ratios)
                ),
            ));
        }
        ratio
    } else if media.first_image.is_some() && spec.allows_adaptive() {
        ADAPTIVE.to_string()
    } else {
        fallback_ratio(spec, rules)
    };
    if ratio == ADAPTIVE && media.images.is_empty() && media.first_image.is_none() {
        // Adaptive takes the shape of an image; with none it means the default.
        return Ok(fallback_ratio(spec, rules));
    }
    Ok(ratio)
}

fn seed(spec: &ModelSpec, body: &Map<String, Value>) -> Result<Option<i64>, ValidationError> {
    let Some(value) = field(body, "seed") else {
        return Ok(None);
    };
    match integer(value).filter(|seed| (SEED_MIN..=SEED_MAX).contains(seed)) {
        Some(seed) => Ok(Some(seed)),
        None => Err(ValidationError::invalid(
            "seed",
            format!(
                "seed: must be an integer from {SEED_MIN} to {SEED_MAX} for model {} (got {})",
                spec.name,
                describe(value)
            ),
        )),
    }
}

fn flag(
    spec: &ModelSpec,
    body: &Map<String, Value>,
    name: &str,
    default: bool,
) -> Result<bool, ValidationError> {
    match field(body, name) {
        None => Ok(default),
        Some(Value::Bool(flag)) => Ok(*flag),
        Some(other) => Err(ValidationError::invalid(
            name,
            format!(
                "{name}: must be true or false for model {} (got {})",
                spec.name,
                describe(other)
            ),
        )),
    }
}

/// `generate_audio` defaults to on for models that can make a soundtrack
/// (what Seedance 2.0 does) and to off for those that cannot; asking for
/// audio on a model without audio output is refused.
fn generate_audio(spec: &ModelSpec, body: &Map<String, Value>) -> Result<bool, ValidationError> {
    let wanted = flag(spec, body, "generate_audio", spec.audio_output)?;
    if wanted && !spec.audio_output {
        return Err(ValidationError::invalid(
            "generate_audio",
            format!(
                "generate_audio: model {} generates no audio; omit it or send false",
                spec.name
            ),
        ));
    }
    Ok(wanted)
}

fn callback_url(
    spec: &ModelSpec,
    body: &Map<String, Value>,
    opts: &ValidateOptions,
) -> Result<Option<String>, ValidationError> {
    let Some(value) = field(body, "callback_url") else {
        return Ok(None);
    };
    let schemes: &[&str] = if opts.allow_http_callback {
        &["https://", "http://"]
    } else {
        &["https://"]
    };
    let valid = value.as_str().filter(|url| {
        let host = schemes
            .iter()
            .find_map(|scheme| url.strip_prefix(scheme))
            .map(|rest| &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())]);
        let clean = !url.chars().any(|c| c.is_whitespace() || c.is_control());
        host.is_some_and(|host| !host.is_empty())
            && clean
            && url.chars().count() <= CALLBACK_URL_MAX_CHARS
    });
    match valid {
        Some(url) => Ok(Some(url.to_string())),
        None => {
            let kind = if opts.allow_http_callback {
                "an absolute https:// (or http://) URL"
            } else {
                "an absolute https:// URL"
            };
            Err(ValidationError::invalid(
                "callback_url",
                format!(
                    "callback_url: must be {kind} of at most {CALLBACK_URL_MAX_CHARS} characters \
                     for model {} (got {})",
                    spec.name,
                    describe(value)
                ),
            ))
        }
    }
}
