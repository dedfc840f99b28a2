//! The media part of validation, driven by the model's data: each list and
//! frame is parsed (type, form, duplicates, count), then the combination
//! rules of MODELS.md are applied (reference images vs frames, frame mode,
//! required image, audio never alone, audio in frame mode).

use serde_json::{Map, Value};

use crate::json::{describe, field};
use crate::media::{MediaRef, MediaRefError, HTTPS_PREFIX, HTTP_PREFIX};
use crate::request::{ValidateOptions, ValidationError};
use crate::spec::{FrameMode, MediaForm, ModelSpec};

/// The media of a request after parsing.
pub(crate) struct Media {
    pub images: Vec<MediaRef>,
    pub first_image: Option<MediaRef>,
    pub last_image: Option<MediaRef>,
    pub reference_videos: Vec<MediaRef>,
    pub reference_audios: Vec<MediaRef>,
}

/// Parses and checks every media field of `body` against `spec`.
pub(crate) fn check_media(
    spec: &ModelSpec,
    body: &Map<String, Value>,
    opts: &ValidateOptions,
) -> Result<Media, ValidationError> {
    let images = list(
        spec,
        body,
        opts,
        "images",
        "reference images",
        Some(spec.images.max),
    )?;
    let first_image = single(spec, body, opts, "first_image")?;
    let last_image = single(spec, body, opts, "last_image")?;
    let reference_videos = list(
        spec,
        body,
        opts,
        "reference_videos",
        "reference videos",
        spec.reference_videos.map(|videos| videos.max),
    )?;
    let reference_audios = list(
        spec,
        body,
        opts,
        "reference_audios",
        "reference audios",
        spec.reference_audios.map(|audios| audios.max),
    )?;
    let media = Media {
        images,
        first_image,
        last_image,
        reference_videos,
        reference_audios,
    };
    check_combinations(spec, &media)?;
    Ok(media)
}

fn check_combinations(spec: &ModelSpec, media: &Media) -> Result<(), ValidationError> {
    let model = &spec.name;
    let has_frames = media.first_image.is_some() || media.last_image.is_some();
    if !media.images.is_empty() && has_frames {
        return Err(ValidationError::invalid(
            "images",
            format!(
                "images: cannot be combined with first_image/last_image for model {model} \
                 (use reference images or frames, not both)"
            ),
        ));
    }
    if media.last_image.is_some() && media.first_image.is_none() {
        return Err(ValidationError::invalid(
            "last_image",
            format!(
                "last_image: needs first_image for model {model} (a last frame needs a first frame)"
            ),
        ));
    }
    if media.first_image.is_some() {
        match spec.frames {
            FrameMode::None => {
                return Err(ValidationError::invalid(
                    "first_image",
                    format!("first_image: not allowed for model {model} (it has no frame mode)"),
                ))
            }
            FrameMode::BothRequired if media.last_image.is_none() => {
                return Err(ValidationError::invalid(
                    "last_image",
                    format!(
                        "last_image: required with first_image for model {model} \
                         (frame mode needs both first_image and last_image)"
                    ),
                ))
            }
            _ => {}
        }
    }
    if spec.images.required && media.images.is_empty() && media.first_image.is_none() {
        return Err(ValidationError::invalid(
            "images",
            format!("images: model {model} needs at least one image, in images or first_image"),
        ));
    }
    if !media.reference_audios.is_empty() {
        if media.images.is_empty() && media.reference_videos.is_empty() && !has_frames {
            return Err(ValidationError::invalid(
                "reference_audios",
                format!(
                    "reference_audios: cannot be the only media for model {model}; \
                     add images, reference_videos or first_image"
                ),
            ));
        }
        let in_frame_mode = spec
            .reference_audios
            .is_some_and(|audios| audios.in_frame_mode);
        if has_frames && !in_frame_mode {
            return Err(ValidationError::invalid(
                "reference_audios",
                format!(
                    "reference_audios: not allowed with first_image/last_image for model {model} \
                     (frame mode takes no reference audio)"
                ),
            ));
        }
    }
    Ok(())
}

/// Parses a list field. `max` is `None` when the model refuses the field.
fn list(
    spec: &ModelSpec,
    body: &Map<String, Value>,
    opts: &ValidateOptions,
    name: &str,
    what: &str,
    max: Option<u32>,
) -> Result<Vec<MediaRef>, ValidationError> {
    let model = &spec.name;
    let Some(value) = field(body, name) else {
        return Ok(Vec::new());
    };
    let Value::Array(items) = value else {
        return Err(ValidationError::invalid(
            name,
            format!(
                "{name}: must be an array of strings ({}) for model {model} (got {})",
                forms_text(spec),
                describe(value)
            ),
        ));
    };
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let Some(max) = max else {
        return Err(ValidationError::invalid(
            name,
            format!("{name}: not allowed for model {model} (it takes no {what})"),
        ));
    };
    if items.len() > max as usize {
        return Err(ValidationError::invalid(
            name,
            format!(
                "{name}: at most {max} items for model {model} (got {})",
                items.len()
            ),
        ));
    }
    let mut parsed: Vec<MediaRef> = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let param = format!("{name}[{index}]");
        let media = parse_item(spec, opts, &param, item)?;
        if let Some(first) = parsed.iter().position(|earlier| *earlier == media) {
            return Err(ValidationError::invalid(
                &param,
                format!(
                    "{param}: duplicate of {name}[{first}] for model {model} \
                     (each item may appear once)"
                ),
            ));
        }
        parsed.push(media);
    }
    Ok(parsed)
}

fn single(
    spec: &ModelSpec,
    body: &Map<String, Value>,
    opts: &ValidateOptions,
    name: &str,
) -> Result<Option<MediaRef>, ValidationError> {
    field(body, name)
        .map(|value| parse_item(spec, opts, name, value))
        .transpose()
}

/// Parses one media string and checks its form against the model.
fn parse_item(
    spec: &ModelSpec,
    opts: &ValidateOptions,
    param: &str,
    value: &Value,
) -> Result<MediaRef, ValidationError> {
    let model = &spec.name;
    let forms = forms_text(spec);
    let Value::String(text) = value else {
        return Err(ValidationError::invalid(
            param,
            format!(
                "{param}: must be a string ({forms}) for model {model} (got {})",
                describe(value)
            ),
        ));
    };
    let parsed = match text.strip_prefix(HTTP_PREFIX) {
        // Development only (`media.allow_http`): an http:// URL is checked as its https:// twin.
        Some(rest) if opts.allow_http_media => MediaRef::parse(&format!("{HTTPS_PREFIX}{rest}"))
            .map(|_| MediaRef::Https(text.clone())),
        _ => MediaRef::parse(text),
    };
    let media = parsed.map_err(|error| {
        let problem = match error {
            MediaRefError::Empty => "must not be empty",
            MediaRefError::UnknownForm => "must be",
            MediaRefError::BadUrl => "is not a valid https:// URL; must be",
            MediaRefError::BadAssetId => "has an empty or invalid asset id; must be",
        };
        let expected = if error == MediaRefError::Empty {
            format!(" ({forms})")
        } else {
            format!(" {forms}")
        };
        ValidationError::invalid(
            param,
            format!(
                "{param}: {problem}{expected} for model {model} (got {})",
                describe(value)
            ),
        )
    })?;
    if !spec.takes_form(media.form()) {
        let given = match media.form() {
            MediaForm::Https => "an https:// URL",
            MediaForm::Asset => "an asset:// reference",
        };
        return Err(ValidationError::invalid(
            param,
            format!("{param}: model {model} takes only {forms}, not {given}"),
        ));
    }
    Ok(media)
}

/// What the model takes, in words: `an https:// URL or asset://{id}`.
pub(crate) fn forms_text(spec: &ModelSpec) -> String {
    let forms: Vec<String> = spec
        .media_forms
        .iter()
        .map(|form| match form {
            MediaForm::Https => "an https:// URL".to_string(),
            MediaForm::Asset if spec.assets_audited => {
                "asset://{id} of an audited asset".to_string()
            }
            MediaForm::Asset => "asset://{id}".to_string(),
        })
        .collect();
    forms.join(" or ")
}
