//! Validation of the scalar fields: model, prompt, duration, resolution,
//! ratio/orientation and the extension fields, for every family.

mod common;

use common::*;
use reelay_catalog::{ErrorKind, ValidateOptions};
use serde_json::json;

// ---------------------------------------------------------------- model

#[test]
fn model_missing_or_not_a_string_is_invalid_field() {
    for body in [
        json!({"prompt": "x"}),
        json!({"model": null, "prompt": "x"}),
        json!({"model": 5, "prompt": "x"}),
        json!({"model": ["seedance2.0-sp"], "prompt": "x"}),
    ] {
        let error = validate(&body).expect_err("must fail");
        assert_eq!(error.kind, ErrorKind::InvalidField, "{body}");
        assert_eq!(error.param, "model");
        assert!(error.message.starts_with("model:"), "{}", error.message);
        assert!(
            error.message.contains("seedance2.0-sp"),
            "{}",
            error.message
        );
    }
}

#[test]
fn unknown_model_is_40002_listing_valid_models() {
    for name in ["seedance3", "SEEDANCE2.0-SP", "", "sd2_mx_8k"] {
        let error = validate(&json!({"model": name, "prompt": "x"})).expect_err("must fail");
        assert_eq!(error.kind, ErrorKind::UnknownModel);
        assert_eq!(error.kind.code(), 40002);
        assert_eq!(error.param, "model");
        for valid in all_models() {
            assert!(error.message.contains(valid), "{}", error.message);
        }
    }
}

#[test]
fn every_model_accepts_its_minimal_body_with_defaults() {
    let catalog = catalog();
    for model in all_models() {
        let request = accept(minimal(model));
        let spec = catalog.model(model).expect("listed");
        assert_eq!(request.model, model);
        assert_eq!(request.family, spec.family);
        assert_eq!(request.duration, 5, "{model}");
        assert_eq!(request.resolution, spec.resolution.default, "{model}");
        assert_eq!(request.ratio, "16:9", "{model}");
        assert_eq!(request.seed, None);
        assert!(!request.watermark && !request.camera_fixed && !request.return_last_frame);
        assert_eq!(request.generate_audio, spec.audio_output, "{model}");
        assert_eq!(request.callback_url, None);
    }
}

#[test]
fn unknown_fields_are_ignored() {
    let request = accept(with(
        "seedance2.0-sp",
        json!({"n": 3, "aspect_ratio": "whatever", "extra": {"a": 1}}),
    ));
    assert_eq!(request.ratio, "16:9");
}

#[test]
fn a_body_that_is_not_an_object_is_refused() {
    let error = validate(&json!(["model"])).expect_err("must fail");
    assert_eq!(error.kind, ErrorKind::InvalidField);
    assert_eq!(error.param, "body");
}

// ---------------------------------------------------------------- prompt

#[test]
fn prompt_is_required_and_non_empty_after_trim() {
    for model in all_models() {
        reject(with(model, json!({"prompt": null})), "prompt");
        reject(with(model, json!({"prompt": ""})), "prompt");
        reject(with(model, json!({"prompt": "  \n\t "})), "prompt");
        reject(with(model, json!({"prompt": 42})), "prompt");
        reject(with(model, json!({"prompt": ["a"]})), "prompt");
    }
}

#[test]
fn prompt_length_counts_unicode_scalar_values() {
    for model in all_models() {
        accept(with(model, json!({"prompt": "雨".repeat(5000)})));
        accept(with(model, json!({"prompt": "a".repeat(5000)})));
        let error = reject(with(model, json!({"prompt": "雨".repeat(5001)})), "prompt");
        assert!(error.message.contains("5000"), "{}", error.message);
        assert!(error.message.contains("5001"), "{}", error.message);
    }
}

#[test]
fn prompt_is_kept_unchanged() {
    let request = accept(with(
        "seedance2.0-sp",
        json!({"prompt": "  雨夜街头 --rs 1080p "}),
    ));
    assert_eq!(request.prompt, "  雨夜街头 --rs 1080p ");
}

// ---------------------------------------------------------------- duration

/// (models, min, max) straight from MODELS.md.
fn duration_table() -> Vec<(Vec<&'static str>, u32, u32)> {
    let mut four_to_fifteen: Vec<&str> = SELECTABLE.to_vec();
    four_to_fifteen.push(STD);
    let mut one_to_fifteen: Vec<&str> = MD.to_vec();
    one_to_fifteen.push(FAST_I2V);
    let mut full: Vec<&str> = FULL.to_vec();
    full.extend(FULL_VIDEO);
    vec![
        (four_to_fifteen, 4, 15),
        (one_to_fifteen, 1, 15),
        (full, 4, 12),
    ]
}

#[test]
fn duration_bounds_per_family() {
    for (models, min, max) in duration_table() {
        for model in models {
            assert_eq!(accept(with(model, json!({"duration": min}))).duration, min);
            assert_eq!(accept(with(model, json!({"duration": max}))).duration, max);
            let error = reject(with(model, json!({"duration": min - 1})), "duration");
            assert!(
                error
                    .message
                    .contains(&format!("from {min} to {max} for model {model}")),
                "{}",
                error.message
            );
            reject(with(model, json!({"duration": max + 1})), "duration");
        }
    }
}

#[test]
fn duration_message_follows_the_api_example() {
    let error = reject(with("seedance2.0-sp", json!({"duration": 20})), "duration");
    assert_eq!(
        error.message,
        "duration: must be an integer from 4 to 15 for model seedance2.0-sp (got 20)"
    );
}

#[test]
fn duration_types() {
    let model = "seedance2.0-sp";
    // Decision: an integral float is accepted.
    assert_eq!(accept(with(model, json!({"duration": 6.0}))).duration, 6);
    for bad in [
        json!(5.5),
        json!("5"),
        json!(true),
        json!([5]),
        json!({"s": 5}),
        json!(-5),
        json!(u64::MAX),
        json!(1e300),
    ] {
        reject(with(model, json!({"duration": bad})), "duration");
    }
    // null means omitted.
    assert_eq!(accept(with(model, json!({"duration": null}))).duration, 5);
}

// ---------------------------------------------------------------- resolution

#[test]
fn resolution_must_be_a_known_value_on_every_model() {
    for model in all_models() {
        for bad in [
            json!("2k"),
            json!("4k"),
            json!("720P"),
            json!("hd"),
            json!(720),
        ] {
            let error = reject(with(model, json!({"resolution": bad})), "resolution");
            assert!(error.message.contains("720p"), "{}", error.message);
        }
    }
}

#[test]
fn selectable_models_take_their_listed_resolutions() {
    for model in SELECTABLE {
        assert_eq!(accept(minimal(model)).resolution, "720p");
        for resolution in ["480p", "720p"] {
            let request = accept(with(model, json!({"resolution": resolution})));
            assert_eq!(request.resolution, resolution);
        }
    }
    for model in &SELECTABLE[..5] {
        let request = accept(with(model, json!({"resolution": "1080p"})));
        assert_eq!(request.resolution, "1080p");
    }
    let error = reject(
        with("seedance2.0-mini-sp", json!({"resolution": "1080p"})),
        "resolution",
    );
    assert!(error.message.contains("480p or 720p"), "{}", error.message);
}

#[test]
fn fixed_models_ignore_a_valid_different_resolution() {
    let expectations: Vec<(&str, &str)> = vec![
        ("sd2_mx_720p", "720p"),
        ("sd2_mx_1080p", "1080p"),
        ("sd2_mx_2k", "2k"),
        ("sd2_mx_4k", "4k"),
        ("sd2_mx_fast_720p", "720p"),
        ("sd2_mx_fast_1080p", "1080p"),
        ("sd2_mx_video_720p", "720p"),
        ("sd2_mx_video_1080p", "1080p"),
        ("sd2_mx_video_2k", "2k"),
        ("sd2_mx_video_4k", "4k"),
        ("sd2_mx_video_fast_720p", "720p"),
        ("sd2_mx_video_fast_1080p", "1080p"),
        ("seedance2.0-md", "720p"),
        ("seedance2.0-fast-md", "720p"),
        (FAST_I2V, "720p"),
        (STD, "720p"),
    ];
    for (model, effective) in expectations {
        assert_eq!(accept(minimal(model)).resolution, effective, "{model}");
        for requested in ["480p", "720p", "1080p"] {
            let request = accept(with(model, json!({"resolution": requested})));
            assert_eq!(request.resolution, effective, "{model} {requested}");
        }
    }
}

// ---------------------------------------------------------------- ratio

#[test]
fn ratios_per_family() {
    let six = ["16:9", "9:16", "1:1", "4:3", "3:4", "21:9"];
    let mut with_adaptive: Vec<&str> = FULL.to_vec();
    with_adaptive.extend(FULL_VIDEO);
    with_adaptive.extend(&SELECTABLE[..5]);
    for model in with_adaptive
        .iter()
        .copied()
        .chain(["seedance2.0-mini-sp", STD])
    {
        for ratio in six {
            assert_eq!(accept(with(model, json!({"ratio": ratio}))).ratio, ratio);
        }
        reject(with(model, json!({"ratio": "2:1"})), "ratio");
    }
    for model in MD.iter().copied().chain([FAST_I2V]) {
        for ratio in ["16:9", "9:16", "1:1"] {
            assert_eq!(accept(with(model, json!({"ratio": ratio}))).ratio, ratio);
        }
        for ratio in ["4:3", "3:4", "21:9", "adaptive"] {
            let error = reject(with(model, json!({"ratio": ratio})), "ratio");
            assert!(
                error.message.contains("16:9, 9:16 or 1:1"),
                "{}",
                error.message
            );
        }
    }
    for model in ["seedance2.0-mini-sp", STD] {
        reject(with(model, json!({"ratio": "adaptive"})), "ratio");
    }
}

#[test]
fn ratio_type_errors() {
    for bad in [
        json!(1.77),
        json!(true),
        json!(["16:9"]),
        json!(""),
        json!("16/9"),
    ] {
        reject(with("seedance2.0-sp", json!({"ratio": bad})), "ratio");
    }
}

#[test]
fn adaptive_any_case_with_an_image_is_normalised() {
    let catalog = catalog();
    for spelling in ["adaptive", "Adaptive", "ADAPTIVE", "aDaPtIvE"] {
        let model = "seedance2.0-sp";
        let image = media(catalog, model, 1);
        let request = accept(with(model, json!({"ratio": spelling, "images": [image]})));
        assert_eq!(request.ratio, "adaptive");
        let request = accept(with(
            model,
            json!({"ratio": spelling, "first_image": image}),
        ));
        assert_eq!(request.ratio, "adaptive");
    }
}

#[test]
fn adaptive_without_any_image_resolves_to_16_9() {
    let catalog = catalog();
    for model in ["seedance2.0-sp", "sd2_mx_video_720p"] {
        assert_eq!(
            accept(with(model, json!({"ratio": "Adaptive"}))).ratio,
            "16:9"
        );
        let video = media(catalog, model, 7).replace(".png", ".mp4");
        let request = accept(with(
            model,
            json!({"ratio": "adaptive", "reference_videos": [video]}),
        ));
        assert_eq!(request.ratio, "16:9");
    }
}

#[test]
fn first_frame_mode_defaults_to_adaptive_when_allowed() {
    let catalog = catalog();
    for model in all_models() {
        let spec = catalog.model(model).expect("listed");
        let mut extra = json!({"first_image": media(catalog, model, 1), "images": null});
        if spec.frames == reelay_catalog::FrameMode::BothRequired {
            extra["last_image"] = json!(media(catalog, model, 2));
        }
        let request = accept(with(model, extra.clone()));
        let expected = if spec.allows_adaptive() {
            "adaptive"
        } else {
            "16:9"
        };
        assert_eq!(request.ratio, expected, "{model}");
        // Reference-image mode keeps the 16:9 default.
        if spec.images.max > 0 {
            let images = json!({"images": [media(catalog, model, 1)]});
            assert_eq!(accept(with(model, images)).ratio, "16:9", "{model}");
            let images = json!({"images": [media(catalog, model, 1)], "ratio": "adaptive"});
            if spec.allows_adaptive() {
                assert_eq!(accept(with(model, images)).ratio, "adaptive", "{model}");
            }
        }
        // An explicit ratio or orientation wins over the frame-mode default.
        extra["orientation"] = json!("portrait");
        assert_eq!(accept(with(model, extra)).ratio, "9:16", "{model}");
    }
}

#[test]
fn orientation_maps_to_a_ratio_and_ratio_wins() {
    for model in all_models() {
        let landscape = accept(with(model, json!({"orientation": "landscape"})));
        assert_eq!(landscape.ratio, "16:9");
        let portrait = accept(with(model, json!({"orientation": "portrait"})));
        assert_eq!(portrait.ratio, "9:16");
        let both = accept(with(
            model,
            json!({"orientation": "landscape", "ratio": "1:1"}),
        ));
        assert_eq!(both.ratio, "1:1");
        let both = accept(with(
            model,
            json!({"orientation": "portrait", "ratio": "16:9"}),
        ));
        assert_eq!(both.ratio, "16:9");
    }
    // Decision: orientation is matched without regard to case.
    let request = accept(with("seedance2.0-sp", json!({"orientation": "Portrait"})));
    assert_eq!(request.ratio, "9:16");
}

#[test]
fn bad_orientation_is_invalid_even_when_ratio_is_set() {
    for bad in [json!("square"), json!(""), json!(1), json!(true)] {
        let error = reject(
            with("seedance2.0-sp", json!({"orientation": bad})),
            "orientation",
        );
        assert!(
            error.message.contains("landscape or portrait"),
            "{}",
            error.message
        );
        reject(
            with(
                "seedance2.0-md",
                json!({"orientation": bad, "ratio": "1:1"}),
            ),
            "orientation",
        );
    }
}

#[test]
fn a_bad_ratio_is_reported_even_with_a_good_orientation() {
    reject(
        with(
            "seedance2.0-md",
            json!({"ratio": "4:3", "orientation": "landscape"}),
        ),
        "ratio",
    );
}

// ---------------------------------------------------------------- extension fields

#[test]
fn seed_bounds_and_types() {
    let model = "seedance2.0-sp";
    for good in [-1_i64, 0, 42, 4_294_967_295] {
        assert_eq!(accept(with(model, json!({"seed": good}))).seed, Some(good));
    }
    assert_eq!(accept(with(model, json!({"seed": 7.0}))).seed, Some(7));
    for bad in [
        json!(-2),
        json!(4_294_967_296_i64),
        json!(1.5),
        json!("7"),
        json!(true),
        json!(u64::MAX),
    ] {
        let error = reject(with(model, json!({"seed": bad})), "seed");
        assert!(error.message.contains("4294967295"), "{}", error.message);
    }
}

#[test]
fn boolean_extension_fields() {
    for name in [
        "generate_audio",
        "watermark",
        "camera_fixed",
        "return_last_frame",
    ] {
        let on = accept(with("seedance2.0-sp", json!({name: true})));
        let off = accept(with("seedance2.0-sp", json!({name: false})));
        let value = |request: &reelay_catalog::ValidatedRequest| match name {
            "generate_audio" => request.generate_audio,
            "watermark" => request.watermark,
            "camera_fixed" => request.camera_fixed,
            _ => request.return_last_frame,
        };
        assert!(value(&on), "{name}");
        assert!(!value(&off), "{name}");
        for bad in [json!("true"), json!(1), json!(0), json!([true])] {
            reject(with("seedance2.0-sp", json!({name: bad})), name);
        }
    }
}

#[test]
fn generate_audio_defaults_to_the_model_and_is_refused_without_audio_output() {
    assert!(accept(minimal("seedance2.0-sp")).generate_audio);
    assert!(accept(minimal(STD)).generate_audio);
    for model in MD {
        assert!(!accept(minimal(model)).generate_audio);
        assert!(!accept(with(model, json!({"generate_audio": false}))).generate_audio);
        reject(
            with(model, json!({"generate_audio": true})),
            "generate_audio",
        );
    }
}

#[test]
fn callback_url_rules() {
    let model = "seedance2.0-sp";
    let url = "https://hooks.example.com/reelay?x=1";
    assert_eq!(
        accept(with(model, json!({"callback_url": url})))
            .callback_url
            .as_deref(),
        Some(url)
    );
    let long_ok = format!("https://h.example.com/{}", "a".repeat(2048 - 22));
    assert_eq!(long_ok.chars().count(), 2048);
    accept(with(model, json!({"callback_url": long_ok})));
    let too_long = format!("{long_ok}a");
    for bad in [
        json!("http://hooks.example.com/x"),
        json!("https://"),
        json!("https:///path"),
        json!("ftp://x"),
        json!("/relative"),
        json!("https://exa mple.com"),
        json!(""),
        json!(5),
        json!(too_long),
    ] {
        reject(with(model, json!({"callback_url": bad})), "callback_url");
    }
}

#[test]
fn http_callback_is_allowed_only_with_the_option() {
    let body = with(
        "seedance2.0-sp",
        json!({"callback_url": "http://127.0.0.1:9000/hook"}),
    );
    let options = ValidateOptions {
        allow_http_callback: true,
        ..ValidateOptions::default()
    };
    let request = catalog().validate(&body, &options).expect("allowed");
    assert_eq!(
        request.callback_url.as_deref(),
        Some("http://127.0.0.1:9000/hook")
    );
    reject(body, "callback_url");
    let bad = with("seedance2.0-sp", json!({"callback_url": "http://"}));
    assert!(catalog().validate(&bad, &options).is_err());
}

#[test]
fn http_media_is_allowed_only_with_the_option() {
    let body = with(
        "seedance2.0-sp",
        json!({"first_image": "http://127.0.0.1:9000/a.png"}),
    );
    reject(body.clone(), "first_image");
    let options = ValidateOptions {
        allow_http_media: true,
        ..ValidateOptions::default()
    };
    let request = catalog().validate(&body, &options).expect("allowed");
    assert_eq!(
        request.first_image.map(|m| m.to_string()).as_deref(),
        Some("http://127.0.0.1:9000/a.png")
    );
    let bad = with("seedance2.0-sp", json!({"first_image": "http://"}));
    assert!(catalog().validate(&bad, &options).is_err());
}
