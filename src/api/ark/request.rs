//! An Ark create body translated into the seed route's create body (DIALECTS.md §2): `content`
//! items by role into `prompt`, `first_image`, `last_image`, `images`, `reference_videos` and
//! `reference_audios`; the top-level fields copied; `null` read as absent; what reelay cannot
//! honour refused by its Ark name. The catalog's validator then decides everything else, as on
//! the seed route, and its errors are renamed back to the Ark field ([`Translated::ark_param`]).

use serde_json::{Map, Value};

use crate::api::error::ApiError;
use crate::tasks::ClientMeta;

/// Ark's bounds on `execution_expires_after`, in seconds.
const EXPIRES_AFTER: std::ops::RangeInclusive<i64> = 3_600..=259_200;
/// Longest `safety_identifier`.
const SAFETY_IDENTIFIER_MAX: usize = 64;

/// Top-level fields copied as they are (their seed names are Ark's).
const COPIED: [&str; 8] = [
    "duration",
    "resolution",
    "ratio",
    "seed",
    "camera_fixed",
    "watermark",
    "generate_audio",
    "return_last_frame",
];

/// A translated create.
#[derive(Debug)]
pub struct Translated {
    /// The seed route's create body.
    pub body: Value,
    /// Seed field → the Ark field it came from (`first_image` → `content[1].image_url.url`).
    renames: Vec<(String, String)>,
    /// The model as the client sent it.
    pub model: String,
    pub safety_identifier: Option<String>,
    pub execution_expires_after: Option<i64>,
}

impl Translated {
    /// The Ark name of a seed field the validator named.
    pub fn ark_param(&self, seed_param: &str) -> String {
        self.renames
            .iter()
            .find(|(seed, _)| seed == seed_param)
            .map(|(_, ark)| ark.clone())
            .unwrap_or_else(|| seed_param.to_string())
    }

    /// The media given as `data:` URLs: (seed field, index in a list field, the URL).
    pub fn inline_media(&self) -> Vec<(&'static str, Option<usize>, String)> {
        let mut found = Vec::new();
        for field in ["first_image", "last_image"] {
            if let Some(Value::String(url)) = self.body.get(field) {
                if url.starts_with("data:") {
                    found.push((field, None, url.clone()));
                }
            }
        }
        for field in ["images", "reference_videos", "reference_audios"] {
            if let Some(Value::Array(items)) = self.body.get(field) {
                for (index, item) in items.iter().enumerate() {
                    if let Some(url) = item.as_str().filter(|u| u.starts_with("data:")) {
                        found.push((field, Some(index), url.to_string()));
                    }
                }
            }
        }
        found
    }

    /// Puts `url` where [`Translated::inline_media`] found a `data:` URL.
    pub fn replace_media(&mut self, field: &str, index: Option<usize>, url: String) {
        let slot = match index {
            None => self.body.get_mut(field),
            Some(i) => self.body.get_mut(field).and_then(|list| list.get_mut(i)),
        };
        if let Some(slot) = slot {
            *slot = Value::String(url);
        }
    }

    /// A validator's error renamed to the Ark field (its message begins with the field's name).
    pub fn ark_error(&self, mut error: ApiError) -> ApiError {
        if let Some(param) = error.param.take() {
            let ark = self.ark_param(&param);
            if let Some(rest) = error.message.strip_prefix(&param) {
                error.message = format!("{ark}{rest}");
            }
            error.param = Some(ark);
        }
        error
    }

    /// What the door keeps for its view, given the catalog's name of the model.
    pub fn client_meta(&self, catalog_model: &str) -> ClientMeta {
        ClientMeta {
            door: Some("ark".into()),
            model: (self.model != catalog_model).then(|| self.model.clone()),
            safety_identifier: self.safety_identifier.clone(),
            execution_expires_after: self.execution_expires_after,
            remixed_from: None,
        }
    }
}

/// The bytes of a `data:<type>;base64,<data>` URL.
pub fn decode_data_url(url: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let (head, data) = url.strip_prefix("data:")?.split_once(',')?;
    if !head.ends_with(";base64") {
        return None;
    }
    base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .ok()
}

/// A member of `object`, `null` read as absent.
fn member<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name).filter(|value| !value.is_null())
}

fn invalid(param: &str, message: impl std::fmt::Display) -> ApiError {
    ApiError::field(param, format!("{param}: {message}"))
}

/// Translates an Ark create body.
pub fn translate(body: &Value) -> Result<Translated, ApiError> {
    let Some(object) = body.as_object() else {
        return Err(ApiError::new(
            crate::api::error::ErrorCode::BadJson,
            "body: must be a JSON object",
        ));
    };
    refuse_unsupported(object)?;
    let model = match member(object, "model") {
        Some(Value::String(model)) if !model.trim().is_empty() => model.clone(),
        _ => return Err(invalid("model", "required, a model name or id")),
    };
    let mut seed = Map::new();
    seed.insert("model".into(), Value::String(model.clone()));
    for name in COPIED {
        if let Some(value) = member(object, name) {
            seed.insert(name.into(), value.clone());
        }
    }
    if let Some(value) = member(object, "callback_url") {
        seed.insert("callback_url".into(), value.clone());
    }
    let mut renames = Vec::new();
    content(object, &mut seed, &mut renames)?;
    let safety_identifier = match member(object, "safety_identifier") {
        None => None,
        Some(Value::String(id)) if id.chars().count() <= SAFETY_IDENTIFIER_MAX => Some(id.clone()),
        Some(_) => {
            return Err(invalid(
                "safety_identifier",
                format!("must be a string of at most {SAFETY_IDENTIFIER_MAX} characters"),
            ))
        }
    };
    let execution_expires_after = match member(object, "execution_expires_after") {
        None => None,
        Some(value) => match value.as_i64() {
            Some(secs) if EXPIRES_AFTER.contains(&secs) => Some(secs),
            _ => {
                return Err(invalid(
                    "execution_expires_after",
                    format!(
                        "must be a whole number of seconds from {} to {} (got {value})",
                        EXPIRES_AFTER.start(),
                        EXPIRES_AFTER.end()
                    ),
                ))
            }
        },
    };
    Ok(Translated {
        body: Value::Object(seed),
        renames,
        model,
        safety_identifier,
        execution_expires_after,
    })
}

/// Ark parameters reelay does not offer, refused by name unless absent or at their default.
fn refuse_unsupported(object: &Map<String, Value>) -> Result<(), ApiError> {
    let refuse = |name: &str, why: &str| Err(invalid(name, why));
    if let Some(value) = member(object, "draft") {
        if value != &Value::Bool(false) {
            return refuse(
                "draft",
                "draft mode is not offered by this server (false or absent)",
            );
        }
    }
    if let Some(value) = member(object, "service_tier") {
        if value.as_str() != Some("default") {
            return refuse(
                "service_tier",
                "only \"default\" is offered by this server (flex is not)",
            );
        }
    }
    if member(object, "frames").is_some() {
        return refuse("frames", "not supported; give duration in seconds instead");
    }
    if let Some(value) = member(object, "tools") {
        if value.as_array().is_none_or(|tools| !tools.is_empty()) {
            return refuse("tools", "tools (web search) are not offered by this server");
        }
    }
    if let Some(value) = member(object, "priority") {
        if value.as_i64() != Some(0) {
            return refuse("priority", "only 0 (the default) is offered by this server");
        }
    }
    if let Some(value) = member(object, "output_format") {
        if value.as_str() != Some("mp4") {
            return refuse("output_format", "only \"mp4\" is offered by this server");
        }
    }
    if member(object, "omni_reference_task_type").is_some() {
        return refuse(
            "omni_reference_task_type",
            "not supported; give the references as content items by role",
        );
    }
    Ok(())
}

/// The content items into the seed body, recording each media field's Ark name.
fn content(
    object: &Map<String, Value>,
    seed: &mut Map<String, Value>,
    renames: &mut Vec<(String, String)>,
) -> Result<(), ApiError> {
    let items = match member(object, "content") {
        Some(Value::Array(items)) => items,
        _ => {
            return Err(invalid(
                "content",
                "required, an array of content items (text, image_url, video_url, audio_url)",
            ))
        }
    };
    let mut prompts: Vec<(usize, &str)> = Vec::new();
    let mut images = Vec::new();
    let mut videos = Vec::new();
    let mut audios = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let at = format!("content[{index}]");
        let Some(item) = item.as_object() else {
            return Err(invalid(&at, "must be an object"));
        };
        let kind = match member(item, "type") {
            Some(Value::String(kind)) => kind.as_str(),
            _ => {
                return Err(invalid(
                    &format!("{at}.type"),
                    "required: text, image_url, video_url or audio_url",
                ))
            }
        };
        let role = match member(item, "role") {
            None => None,
            Some(Value::String(role)) => Some(role.as_str()),
            Some(_) => return Err(invalid(&format!("{at}.role"), "must be a string")),
        };
        match kind {
            "text" => match member(item, "text") {
                Some(Value::String(text)) => prompts.push((index, text)),
                _ => return Err(invalid(&format!("{at}.text"), "required, a string")),
            },
            "image_url" | "video_url" | "audio_url" => {
                let url_param = format!("{at}.{kind}.url");
                let url = match member(item, kind).and_then(Value::as_object) {
                    Some(inner) => match member(inner, "url") {
                        Some(Value::String(url)) => url.clone(),
                        _ => return Err(invalid(&url_param, "required, a string")),
                    },
                    None => {
                        return Err(invalid(
                            &format!("{at}.{kind}"),
                            "required, an object {\"url\": ...}",
                        ))
                    }
                };
                let role_param = format!("{at}.role");
                match (kind, role) {
                    ("image_url", Some("first_frame")) => {
                        put_frame(seed, renames, "first_image", url, &url_param, &role_param)?
                    }
                    ("image_url", Some("last_frame")) => {
                        put_frame(seed, renames, "last_image", url, &url_param, &role_param)?
                    }
                    ("image_url", None | Some("reference_image")) => images.push((url, url_param)),
                    ("video_url", None | Some("reference_video")) => videos.push((url, url_param)),
                    ("audio_url", None | Some("reference_audio")) => audios.push((url, url_param)),
                    (_, other) => {
                        let other = other.unwrap_or_default();
                        let allowed = match kind {
                            "image_url" => "first_frame, last_frame or reference_image",
                            "video_url" => "reference_video",
                            _ => "reference_audio",
                        };
                        return Err(invalid(
                            &role_param,
                            format!("must be {allowed} for {kind} (got {other:?})"),
                        ));
                    }
                }
            }
            "draft_task" => {
                return Err(invalid(
                    &format!("{at}.type"),
                    "draft tasks are not offered by this server",
                ))
            }
            other => {
                return Err(invalid(
                    &format!("{at}.type"),
                    format!("must be text, image_url, video_url or audio_url (got {other:?})"),
                ))
            }
        }
    }
    match prompts.as_slice() {
        [] => renames.push(("prompt".into(), "content".into())),
        [(index, _)] => renames.push(("prompt".into(), format!("content[{index}].text"))),
        _ => renames.push(("prompt".into(), "content".into())),
    }
    if !prompts.is_empty() {
        let joined: Vec<&str> = prompts.iter().map(|(_, text)| *text).collect();
        seed.insert("prompt".into(), Value::String(joined.join("\n")));
    }
    put_list(seed, renames, "images", images);
    put_list(seed, renames, "reference_videos", videos);
    put_list(seed, renames, "reference_audios", audios);
    Ok(())
}

fn put_frame(
    seed: &mut Map<String, Value>,
    renames: &mut Vec<(String, String)>,
    field: &str,
    url: String,
    url_param: &str,
    role_param: &str,
) -> Result<(), ApiError> {
    if seed.contains_key(field) {
        return Err(invalid(
            role_param,
            format!("only one image may have this role ({field})"),
        ));
    }
    seed.insert(field.into(), Value::String(url));
    renames.push((field.into(), url_param.into()));
    Ok(())
}

fn put_list(
    seed: &mut Map<String, Value>,
    renames: &mut Vec<(String, String)>,
    field: &str,
    items: Vec<(String, String)>,
) {
    if items.is_empty() {
        return;
    }
    renames.push((field.into(), "content".into()));
    let mut urls = Vec::with_capacity(items.len());
    for (index, (url, param)) in items.into_iter().enumerate() {
        renames.push((format!("{field}[{index}]"), param));
        urls.push(Value::String(url));
    }
    seed.insert(field.into(), Value::Array(urls));
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn content_roles_become_the_seed_fields_and_nulls_are_absent() {
        let body = json!({
            "model": "doubao-seedance-2-0-260128",
            "content": [
                {"type": "text", "text": "a cat"},
                {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}, "role": "first_frame"},
                {"type": "image_url", "image_url": {"url": "https://x.test/b.png"}, "role": "last_frame"},
                {"type": "text", "text": "walks"},
            ],
            "duration": 5, "ratio": null, "seed": null, "draft": null, "service_tier": null,
            "tools": null, "priority": null, "frames": null, "callback_url": null,
            "execution_expires_after": 3600, "safety_identifier": "u-1",
        });
        let translated = translate(&body).expect("translates");
        assert_eq!(
            translated.body,
            json!({
                "model": "doubao-seedance-2-0-260128", "prompt": "a cat\nwalks", "duration": 5,
                "first_image": "https://x.test/a.png", "last_image": "https://x.test/b.png",
            })
        );
        assert_eq!(
            translated.ark_param("first_image"),
            "content[1].image_url.url"
        );
        assert_eq!(translated.ark_param("duration"), "duration");
        assert_eq!(translated.execution_expires_after, Some(3600));
        let meta = translated.client_meta("seedance2.0-of-sp");
        assert_eq!(meta.model.as_deref(), Some("doubao-seedance-2-0-260128"));
        assert_eq!(meta.door.as_deref(), Some("ark"));
    }

    #[test]
    fn references_keep_their_ark_names() {
        let body = json!({
            "model": "m",
            "content": [
                {"type": "text", "text": "x"},
                {"type": "image_url", "image_url": {"url": "asset://a1"}},
                {"type": "image_url", "image_url": {"url": "https://x.test/2.png"}, "role": "reference_image"},
                {"type": "video_url", "video_url": {"url": "https://x.test/v.mp4"}, "role": "reference_video"},
                {"type": "audio_url", "audio_url": {"url": "https://x.test/a.mp3"}, "role": "reference_audio"},
            ],
        });
        let translated = translate(&body).expect("translates");
        assert_eq!(
            translated.body["images"],
            json!(["asset://a1", "https://x.test/2.png"])
        );
        assert_eq!(
            translated.ark_param("images[1]"),
            "content[2].image_url.url"
        );
        assert_eq!(
            translated.ark_param("reference_videos[0]"),
            "content[3].video_url.url"
        );
        assert_eq!(
            translated.ark_param("reference_audios[0]"),
            "content[4].audio_url.url"
        );
        assert_eq!(translated.ark_param("prompt"), "content[0].text");
        let renamed = translated.ark_error(ApiError::field("images[1]", "images[1]: too small"));
        assert_eq!(renamed.param.as_deref(), Some("content[2].image_url.url"));
        assert_eq!(renamed.message, "content[2].image_url.url: too small");
    }

    #[test]
    fn what_cannot_be_honoured_is_refused_by_name() {
        let base = |extra: Value| {
            let mut body = json!({"model": "m", "content": [{"type": "text", "text": "x"}]});
            for (k, v) in extra.as_object().expect("object") {
                body[k] = v.clone();
            }
            translate(&body).err().and_then(|e| e.param)
        };
        assert_eq!(base(json!({"draft": true})).as_deref(), Some("draft"));
        assert_eq!(
            base(json!({"service_tier": "flex"})).as_deref(),
            Some("service_tier")
        );
        assert_eq!(base(json!({"frames": 121})).as_deref(), Some("frames"));
        assert_eq!(
            base(json!({"tools": [{"type": "web_search"}]})).as_deref(),
            Some("tools")
        );
        assert_eq!(
            base(json!({"execution_expires_after": 60})).as_deref(),
            Some("execution_expires_after")
        );
        assert_eq!(
            base(json!({"draft": false, "service_tier": "default", "priority": 0})),
            None
        );
        let draft_item =
            json!({"model": "m", "content": [{"type": "draft_task", "draft_task": {"id": "x"}}]});
        assert_eq!(
            translate(&draft_item)
                .err()
                .and_then(|e| e.param)
                .as_deref(),
            Some("content[0].type")
        );
        let bad_role = json!({"model": "m", "content": [{"type": "video_url", "video_url": {"url": "https://x"}, "role": "first_frame"}]});
        assert_eq!(
            translate(&bad_role).err().and_then(|e| e.param).as_deref(),
            Some("content[0].role")
        );
    }
}
