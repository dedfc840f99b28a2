//! Helpers shared by the catalog's integration tests: the embedded catalog,
//! minimal valid bodies per model, and assertions on validation errors.

#![allow(dead_code)]

use reelay_catalog::{
    Catalog, ErrorKind, MediaForm, ValidateOptions, ValidatedRequest, ValidationError,
};
use serde_json::{json, Value};
use std::sync::OnceLock;

/// The embedded catalog, parsed once per test binary.
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(Catalog::embedded)
}

/// A media string the model accepts (https when it can, else an asset).
pub fn media(catalog: &Catalog, model: &str, n: usize) -> String {
    let spec = catalog.model(model).expect("model in catalog");
    if spec.takes_form(MediaForm::Https) {
        format!("https://example.com/media/{n}.png")
    } else {
        format!("asset://asset_{n}")
    }
}

/// The smallest valid body for a model (adds an image where one is required).
pub fn minimal(model: &str) -> Value {
    let catalog = catalog();
    let spec = catalog.model(model).expect("model in catalog");
    let mut body = json!({"model": model, "prompt": "a cat walks on the beach"});
    if spec.images.required {
        body["images"] = json!([media(catalog, model, 0)]);
    }
    body
}

/// `minimal(model)` with the fields of `extra` set (a `null` in `extra` removes the field).
pub fn with(model: &str, extra: Value) -> Value {
    let mut body = minimal(model);
    let (Some(object), Some(extra)) = (body.as_object_mut(), extra.as_object()) else {
        panic!("bodies are objects");
    };
    for (key, value) in extra {
        if value.is_null() {
            object.remove(key);
        } else {
            object.insert(key.clone(), value.clone());
        }
    }
    body
}

pub fn validate(body: &Value) -> Result<ValidatedRequest, ValidationError> {
    catalog().validate(body, &ValidateOptions::default())
}

#[track_caller]
pub fn accept(body: Value) -> ValidatedRequest {
    match validate(&body) {
        Ok(request) => request,
        Err(error) => panic!("expected {body} to pass, got {error:?}"),
    }
}

/// Asserts a 40001 on `param`, with a message naming the field and the model.
#[track_caller]
pub fn reject(body: Value, param: &str) -> ValidationError {
    let model = body["model"].as_str().unwrap_or_default().to_string();
    let error = match validate(&body) {
        Ok(request) => panic!("expected {body} to fail on {param}, got {request:?}"),
        Err(error) => error,
    };
    assert_eq!(error.kind, ErrorKind::InvalidField, "{body}: {error:?}");
    assert_eq!(error.kind.code(), 40001);
    assert_eq!(error.param, param, "{body}: {}", error.message);
    let field = param.split('[').next().unwrap_or(param);
    assert!(
        error.message.contains(field),
        "message should name {field}: {}",
        error.message
    );
    assert!(
        error.message.contains(&model),
        "message should name the model {model}: {}",
        error.message
    );
    assert_eq!(error.to_string(), error.message);
    error
}

/// The built-in models grouped as in MODELS.md.
pub const FULL: &[&str] = &[
    "sd2_mx_720p",
    "sd2_mx_1080p",
    "sd2_mx_2k",
    "sd2_mx_4k",
    "sd2_mx_fast_720p",
    "sd2_mx_fast_1080p",
];
pub const FULL_VIDEO: &[&str] = &[
    "sd2_mx_video_720p",
    "sd2_mx_video_1080p",
    "sd2_mx_video_2k",
    "sd2_mx_video_4k",
    "sd2_mx_video_fast_720p",
    "sd2_mx_video_fast_1080p",
];
pub const SELECTABLE: &[&str] = &[
    "seedance2.0-sp",
    "seedance2.0-fast-sp",
    "seedance2.0-of-sp",
    "seedance2.0-of-fast-sp",
    "seedance2.0-mini",
    "seedance2.0-mini-sp",
];
pub const MD: &[&str] = &["seedance2.0-md", "seedance2.0-fast-md"];
pub const FAST_I2V: &str = "seedance2.0-fast-i2v";
pub const STD: &str = "seedance2.0-std";

pub fn all_models() -> Vec<&'static str> {
    let mut models: Vec<&str> = Vec::new();
    models.extend(FULL);
    models.extend(FULL_VIDEO);
    models.extend(SELECTABLE);
    models.extend(MD);
    models.push(FAST_I2V);
    models.push(STD);
    models
}
