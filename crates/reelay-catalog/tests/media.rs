//! Validation of media fields: forms per model, item syntax, duplicates,
//! counts, the combination rules of MODELS.md, and the media iteration the
//! server uses for asset checks.

mod common;

use common::*;
use reelay_catalog::{MediaKind, MediaRef, MediaRefError, ValidatedRequest};
use serde_json::{json, Value};

const URL: &str = "https://example.com/a.png";
const URL2: &str = "https://example.com/b.png";
const ASSET: &str = "asset://asset_abc";

fn urls(prefix: &str, count: usize) -> Vec<String> {
    (0..count)
        .map(|n| format!("https://example.com/{prefix}{n}.bin"))
        .collect()
}

fn assets(count: usize) -> Vec<String> {
    (0..count).map(|n| format!("asset://asset_{n}")).collect()
}

/// `count` distinct media in a form the model accepts.
fn items(model: &str, count: usize) -> Vec<String> {
    let spec = catalog().model(model).expect("listed");
    if spec.takes_form(reelay_catalog::MediaForm::Https) {
        urls("m", count)
    } else {
        assets(count)
    }
}

/// `with(model, extra)` without the image `minimal` adds for image-required
/// models (for frame-mode bodies).
fn no_images(model: &str, extra: Value) -> Value {
    let mut body = with(model, extra.clone());
    if extra.get("images").is_none() {
        if let Some(object) = body.as_object_mut() {
            object.remove("images");
        }
    }
    body
}

// ---------------------------------------------------------------- forms

#[test]
fn full_route_takes_only_asset_references() {
    let mut models: Vec<&str> = FULL.to_vec();
    models.extend(FULL_VIDEO);
    for model in models {
        accept(with(model, json!({"images": [ASSET]})));
        accept(with(
            model,
            json!({"first_image": ASSET, "last_image": "asset://other"}),
        ));
        let error = reject(with(model, json!({"images": [ASSET, URL]})), "images[1]");
        assert!(error.message.contains("asset://"), "{}", error.message);
        assert!(error.message.contains("audited"), "{}", error.message);
        reject(with(model, json!({"first_image": URL})), "first_image");
        reject(
            with(model, json!({"first_image": ASSET, "last_image": URL})),
            "last_image",
        );
        reject(
            with(model, json!({"images": [ASSET], "reference_audios": [URL]})),
            "reference_audios[0]",
        );
    }
}

#[test]
fn https_only_models_refuse_asset_references() {
    for model in MD.iter().copied().chain([FAST_I2V, STD]) {
        accept(no_images(model, json!({"images": [URL]})));
        let error = reject(with(model, json!({"images": [ASSET]})), "images[0]");
        assert!(error.message.contains("https://"), "{}", error.message);
        assert!(
            error.message.contains("not an asset://"),
            "{}",
            error.message
        );
    }
    reject(
        with("seedance2.0-md", json!({"reference_videos": [ASSET]})),
        "reference_videos[0]",
    );
    reject(
        with(STD, json!({"images": [URL], "reference_audios": [ASSET]})),
        "reference_audios[0]",
    );
}

#[test]
fn selectable_models_take_both_forms() {
    for model in SELECTABLE {
        let request = accept(with(
            model,
            json!({"images": [URL, ASSET], "reference_videos": [URL2, "asset://v1"],
                   "reference_audios": ["https://example.com/a.mp3", "asset://a1"]}),
        ));
        assert_eq!(
            request.images,
            vec![
                MediaRef::Https(URL.to_string()),
                MediaRef::Asset("asset_abc".to_string())
            ]
        );
    }
}

#[test]
fn malformed_items_name_the_item() {
    let bad_items = [
        json!("http://example.com/a.png"),
        json!("ftp://example.com/a.png"),
        json!("example.com/a.png"),
        json!("https://"),
        json!("https:///a.png"),
        json!("https://exa mple.com/a.png"),
        json!("HTTPS://example.com/a.png"),
        json!("asset://"),
        json!("asset://a b"),
        json!("asset://a/b"),
        json!(""),
        json!("   "),
        json!(5),
        json!(null),
        json!({"url": URL}),
        json!([URL]),
    ];
    for model in ["seedance2.0-sp", "sd2_mx_720p", "seedance2.0-md"] {
        for bad in &bad_items {
            reject(
                with(model, json!({"images": [items(model, 1)[0], bad]})),
                "images[1]",
            );
            if !bad.is_null() {
                reject(no_images(model, json!({"first_image": bad})), "first_image");
            }
        }
    }
}

#[test]
fn lists_given_as_non_arrays_are_invalid() {
    for field in ["images", "reference_videos", "reference_audios"] {
        for bad in [json!(URL), json!({"0": URL}), json!(3), json!(true)] {
            reject(with("seedance2.0-sp", json!({field: bad})), field);
        }
    }
}

#[test]
fn empty_lists_and_nulls_mean_absent() {
    let request = accept(with(
        "seedance2.0-sp",
        json!({"images": [], "reference_videos": null, "reference_audios": [], "first_image": URL}),
    ));
    assert!(request.images.is_empty());
    assert_eq!(request.first_image, Some(MediaRef::Https(URL.to_string())));
    // An empty list is fine even where the model refuses the field.
    accept(with("seedance2.0-md", json!({"reference_audios": []})));
    accept(with("sd2_mx_720p", json!({"reference_videos": []})));
}

// ---------------------------------------------------------------- duplicates and counts

#[test]
fn duplicates_inside_one_list_are_invalid() {
    for model in ["seedance2.0-sp", "sd2_mx_video_720p", STD] {
        let item = items(model, 1)[0].clone();
        let error = reject(
            with(
                model,
                json!({"images": [item.clone(), items(model, 2)[1], item.clone()]}),
            ),
            "images[2]",
        );
        assert!(error.message.contains("images[0]"), "{}", error.message);
        reject(
            with(
                model,
                json!({"reference_videos": [item.clone(), item.clone()]}),
            ),
            "reference_videos[1]",
        );
    }
    // The same file in two different lists is allowed.
    accept(with(
        "seedance2.0-sp",
        json!({"images": [URL], "reference_videos": [URL]}),
    ));
}

#[test]
fn image_counts_per_family() {
    for model in all_models() {
        let max = if MD.contains(&model) { 4 } else { 9 };
        accept(with(model, json!({"images": items(model, max)})));
        let error = reject(
            with(model, json!({"images": items(model, max + 1)})),
            "images",
        );
        assert!(
            error.message.contains(&format!("at most {max}")),
            "{}",
            error.message
        );
    }
}

#[test]
fn reference_video_counts_and_availability() {
    let mut allowed: Vec<&str> = FULL_VIDEO.to_vec();
    allowed.extend(SELECTABLE);
    allowed.extend(MD);
    allowed.push(STD);
    for model in allowed {
        accept(with(model, json!({"reference_videos": items(model, 3)})));
        let error = reject(
            with(model, json!({"reference_videos": items(model, 4)})),
            "reference_videos",
        );
        assert!(error.message.contains("at most 3"), "{}", error.message);
    }
    for model in FULL.iter().copied().chain([FAST_I2V]) {
        let error = reject(
            with(model, json!({"reference_videos": items(model, 1)})),
            "reference_videos",
        );
        assert!(error.message.contains("not allowed"), "{}", error.message);
    }
}

#[test]
fn reference_audio_counts_and_availability() {
    let mut allowed: Vec<&str> = FULL.to_vec();
    allowed.extend(FULL_VIDEO);
    allowed.extend(SELECTABLE);
    allowed.push(STD);
    for model in allowed {
        let image = items(model, 1);
        let audios = |n: usize| -> Vec<String> {
            items(model, n + 1)[1..]
                .iter()
                .map(|item| item.replace(".bin", ".mp3"))
                .collect()
        };
        accept(with(
            model,
            json!({"images": image, "reference_audios": audios(3)}),
        ));
        reject(
            with(
                model,
                json!({"images": image, "reference_audios": audios(4)}),
            ),
            "reference_audios",
        );
    }
    for model in MD.iter().copied().chain([FAST_I2V]) {
        reject(
            with(model, json!({"images": [URL], "reference_audios": [URL2]})),
            "reference_audios",
        );
    }
}

// ---------------------------------------------------------------- combinations

#[test]
fn images_and_frames_are_mutually_exclusive() {
    for model in all_models() {
        let media = items(model, 3);
        for frames in [
            json!({"first_image": media[1]}),
            json!({"last_image": media[1]}),
            json!({"first_image": media[1], "last_image": media[2]}),
        ] {
            let mut extra = frames;
            extra["images"] = json!([media[0]]);
            reject(with(model, extra), "images");
        }
    }
}

#[test]
fn last_image_needs_first_image() {
    for model in all_models() {
        let media = items(model, 1);
        let error = reject(
            no_images(model, json!({"last_image": media[0]})),
            "last_image",
        );
        assert!(error.message.contains("first_image"), "{}", error.message);
    }
}

#[test]
fn md_requires_both_frames() {
    for model in MD {
        let error = reject(with(model, json!({"first_image": URL})), "last_image");
        assert!(error.message.contains("both"), "{}", error.message);
        let request = accept(with(model, json!({"first_image": URL, "last_image": URL2})));
        assert!(request.is_frame_mode());
        // The two frames may be the same picture.
        accept(with(model, json!({"first_image": URL, "last_image": URL})));
    }
}

#[test]
fn first_frame_alone_is_fine_elsewhere() {
    for model in all_models().into_iter().filter(|model| !MD.contains(model)) {
        let media = items(model, 2);
        let request = accept(no_images(model, json!({"first_image": media[0]})));
        assert_eq!(request.last_image, None);
        accept(no_images(
            model,
            json!({"first_image": media[0], "last_image": media[1]}),
        ));
    }
}

#[test]
fn fast_i2v_requires_an_image() {
    let error = reject(with(FAST_I2V, json!({"images": null})), "images");
    assert!(
        error.message.contains("at least one image"),
        "{}",
        error.message
    );
    reject(with(FAST_I2V, json!({"images": []})), "images");
    accept(with(FAST_I2V, json!({"images": [URL]})));
    let request = accept(no_images(FAST_I2V, json!({"first_image": URL})));
    assert!(request.images.is_empty());
    // Other models are fine with text alone.
    for model in all_models().into_iter().filter(|model| *model != FAST_I2V) {
        let request = accept(minimal(model));
        assert!(request.media().is_empty(), "{model}");
    }
}

#[test]
fn reference_audio_is_never_the_only_media() {
    let mut models: Vec<&str> = FULL.to_vec();
    models.extend(FULL_VIDEO);
    models.extend(SELECTABLE);
    models.push(STD);
    for model in models {
        let media = items(model, 3);
        let error = reject(
            with(model, json!({"reference_audios": [media[0]]})),
            "reference_audios",
        );
        assert!(error.message.contains("only media"), "{}", error.message);
        accept(with(
            model,
            json!({"reference_audios": [media[0]], "images": [media[1]]}),
        ));
        if catalog()
            .model(model)
            .expect("listed")
            .reference_videos
            .is_some()
        {
            accept(with(
                model,
                json!({"reference_audios": [media[0]], "reference_videos": [media[1]]}),
            ));
        }
    }
}

#[test]
fn std_forbids_reference_audio_in_frame_mode() {
    let error = reject(
        with(STD, json!({"first_image": URL, "reference_audios": [URL2]})),
        "reference_audios",
    );
    assert!(error.message.contains("frame mode"), "{}", error.message);
    reject(
        with(
            STD,
            json!({"first_image": URL, "last_image": "https://e.com/c.png", "reference_audios": [URL2]}),
        ),
        "reference_audios",
    );
    // Other models with reference audio allow it with frames.
    for model in ["seedance2.0-sp", "seedance2.0-mini-sp", "sd2_mx_720p"] {
        let media = items(model, 2);
        accept(with(
            model,
            json!({"first_image": media[0], "reference_audios": [media[1]]}),
        ));
    }
}

// ---------------------------------------------------------------- results

#[test]
fn media_iteration_names_every_field() {
    let request = accept(with(
        "seedance2.0-sp",
        json!({"images": [URL, ASSET], "reference_videos": ["asset://v1"],
               "reference_audios": ["https://example.com/a.mp3", "asset://a1"]}),
    ));
    let fields: Vec<(String, MediaKind)> = request
        .media()
        .into_iter()
        .map(|item| (item.field, item.kind))
        .collect();
    assert_eq!(
        fields,
        vec![
            ("images[0]".to_string(), MediaKind::Image),
            ("images[1]".to_string(), MediaKind::Image),
            ("reference_videos[0]".to_string(), MediaKind::Video),
            ("reference_audios[0]".to_string(), MediaKind::Audio),
            ("reference_audios[1]".to_string(), MediaKind::Audio),
        ]
    );
    let assets: Vec<(String, MediaKind, &str)> = request.asset_refs();
    assert_eq!(
        assets,
        vec![
            ("images[1]".to_string(), MediaKind::Image, "asset_abc"),
            ("reference_videos[0]".to_string(), MediaKind::Video, "v1"),
            ("reference_audios[1]".to_string(), MediaKind::Audio, "a1"),
        ]
    );
    let frames = accept(with(
        "sd2_mx_720p",
        json!({"first_image": "asset://f", "last_image": "asset://l"}),
    ));
    let fields: Vec<String> = frames.media().into_iter().map(|item| item.field).collect();
    assert_eq!(fields, vec!["first_image", "last_image"]);
    assert_eq!(
        frames.first_image.as_ref().and_then(MediaRef::as_asset_id),
        Some("f")
    );
}

#[test]
fn media_ref_parses_and_serialises_as_the_original_string() {
    assert_eq!(
        MediaRef::parse("https://example.com/x.png?sig=1#a"),
        Ok(MediaRef::Https(
            "https://example.com/x.png?sig=1#a".to_string()
        ))
    );
    assert_eq!(
        MediaRef::parse("asset://rp_1"),
        Ok(MediaRef::Asset("rp_1".to_string()))
    );
    assert_eq!(MediaRef::parse(""), Err(MediaRefError::Empty));
    assert_eq!(MediaRef::parse("http://x"), Err(MediaRefError::UnknownForm));
    assert_eq!(MediaRef::parse("https://"), Err(MediaRefError::BadUrl));
    assert_eq!(MediaRef::parse("asset://"), Err(MediaRefError::BadAssetId));
    let asset = MediaRef::Asset("asset_1".to_string());
    assert_eq!(asset.as_asset_id(), Some("asset_1"));
    assert_eq!(asset.to_string(), "asset://asset_1");
    assert_eq!(
        serde_json::to_value(&asset).ok(),
        Some(json!("asset://asset_1"))
    );
    let url = MediaRef::Https(URL.to_string());
    assert_eq!(url.as_asset_id(), None);
    assert_eq!(url.as_url(), Some(URL));
    assert_eq!(serde_json::to_value(&url).ok(), Some(json!(URL)));
    let back: Result<MediaRef, _> = serde_json::from_value(json!("asset://asset_1"));
    assert_eq!(back.ok(), Some(asset));
    let bad: Result<MediaRef, _> = serde_json::from_value(json!("ftp://x"));
    assert!(bad.is_err());
    // Stored requests from development mode (`media.allow_http`) must read back.
    let dev: Result<MediaRef, _> = serde_json::from_value(json!("http://x"));
    assert_eq!(dev.ok(), Some(MediaRef::Https("http://x".to_string())));
}

#[test]
fn validated_request_round_trips_through_json() {
    let request = accept(with(
        "seedance2.0-of-sp",
        json!({"images": [URL, ASSET], "seed": 7, "resolution": "1080p", "duration": 6,
               "callback_url": "https://hooks.example.com/x", "watermark": true}),
    ));
    let value = serde_json::to_value(&request).expect("serialises");
    assert_eq!(value["images"], json!([URL, ASSET]));
    assert_eq!(
        value["price"],
        json!({"credits": 36000, "unit": "per_second", "seconds": 6})
    );
    let back: ValidatedRequest = serde_json::from_value(value).expect("deserialises");
    assert_eq!(back, request);
}
