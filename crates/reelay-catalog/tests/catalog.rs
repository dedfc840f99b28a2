//! The catalog data itself (it must say what MODELS.md says), pricing, the
//! `GET /models` listing, output sizes and ratio snapping.

mod common;

use common::*;
use reelay_catalog::{
    nearest_ratio, output_size, BillingUnit, FrameMode, MediaForm, Price, KNOWN_RATIOS,
};
use serde_json::json;

// ---------------------------------------------------------------- data matches MODELS.md

#[test]
fn models_are_listed_in_file_order() {
    let names = catalog().model_names();
    assert_eq!(names, all_models());
    assert!(catalog().model("nope").is_none());
}

#[test]
fn family_rules_match_models_md() {
    struct Row {
        models: Vec<&'static str>,
        family: &'static str,
        billing: BillingUnit,
        duration: (u32, u32),
        images_max: u32,
        image_required: bool,
        gif: bool,
        frames: FrameMode,
        adaptive: bool,
        ratio_count: usize,
        videos: Option<u32>,
        audios: Option<(u32, bool)>,
        forms: Vec<MediaForm>,
        audited: bool,
    }
    use BillingUnit::*;
    use MediaForm::*;
    let rows = vec![
        Row {
            models: FULL.to_vec(),
            family: "full",
            billing: PerSecond,
            duration: (4, 12),
            images_max: 9,
            image_required: false,
            gif: true,
            frames: FrameMode::FirstOnlyOrBoth,
            adaptive: true,
            ratio_count: 6,
            videos: None,
            audios: Some((3, true)),
            forms: vec![Asset],
            audited: true,
        },
        Row {
            models: FULL_VIDEO.to_vec(),
            family: "full_video",
            billing: PerSecond,
            duration: (4, 12),
            images_max: 9,
            image_required: false,
            gif: true,
            frames: FrameMode::FirstOnlyOrBoth,
            adaptive: true,
            ratio_count: 6,
            videos: Some(3),
            audios: Some((3, true)),
            forms: vec![Asset],
            audited: true,
        },
        Row {
            models: SELECTABLE[..5].to_vec(),
            family: "",
            billing: PerSecond,
            duration: (4, 15),
            images_max: 9,
            image_required: false,
            gif: true,
            frames: FrameMode::FirstOnlyOrBoth,
            adaptive: true,
            ratio_count: 6,
            videos: Some(3),
            audios: Some((3, true)),
            forms: vec![Https, Asset],
            audited: false,
        },
        Row {
            models: vec!["seedance2.0-mini-sp"],
            family: "mini_sp",
            billing: PerTask,
            duration: (4, 15),
            images_max: 9,
            image_required: false,
            gif: true,
            frames: FrameMode::FirstOnlyOrBoth,
            adaptive: false,
            ratio_count: 6,
            videos: Some(3),
            audios: Some((3, true)),
            forms: vec![Https, Asset],
            audited: false,
        },
        Row {
            models: MD.to_vec(),
            family: "md",
            billing: PerTask,
            duration: (1, 15),
            images_max: 4,
            image_required: false,
            gif: false,
            frames: FrameMode::BothRequired,
            adaptive: false,
            ratio_count: 3,
            videos: Some(3),
            audios: None,
            forms: vec![Https],
            audited: false,
        },
        Row {
            models: vec![FAST_I2V],
            family: "fast_i2v",
            billing: PerTask,
            duration: (1, 15),
            images_max: 9,
            image_required: true,
            gif: true,
            frames: FrameMode::FirstOnlyOrBoth,
            adaptive: false,
            ratio_count: 3,
            videos: None,
            audios: None,
            forms: vec![Https],
            audited: false,
        },
        Row {
            models: vec![STD],
            family: "std",
            billing: PerTask,
            duration: (4, 15),
            images_max: 9,
            image_required: false,
            gif: true,
            frames: FrameMode::FirstOnlyOrBoth,
            adaptive: false,
            ratio_count: 6,
            videos: Some(3),
            audios: Some((3, false)),
            forms: vec![Https],
            audited: false,
        },
    ];
    for row in rows {
        for model in row.models {
            let spec = catalog().model(model).expect("listed");
            if !row.family.is_empty() {
                assert_eq!(spec.family, row.family, "{model}");
            }
            assert_eq!(spec.billing, row.billing, "{model}");
            assert_eq!(
                (spec.duration.min, spec.duration.max),
                row.duration,
                "{model}"
            );
            assert_eq!(spec.duration.default, 5, "{model}");
            assert_eq!(spec.images.max, row.images_max, "{model}");
            assert_eq!(spec.images.required, row.image_required, "{model}");
            assert_eq!(spec.images.gif, row.gif, "{model}");
            assert_eq!(spec.frames, row.frames, "{model}");
            assert_eq!(spec.allows_adaptive(), row.adaptive, "{model}");
            let plain = spec
                .ratios
                .iter()
                .filter(|r| r.as_str() != "adaptive")
                .count();
            assert_eq!(plain, row.ratio_count, "{model}");
            assert_eq!(spec.reference_videos.map(|v| v.max), row.videos, "{model}");
            if let Some(videos) = spec.reference_videos {
                assert_eq!(videos.total_seconds, 15, "{model}");
            }
            assert_eq!(
                spec.reference_audios.map(|a| (a.max, a.in_frame_mode)),
                row.audios,
                "{model}"
            );
            assert_eq!(spec.media_forms, row.forms, "{model}");
            assert_eq!(spec.assets_audited, row.audited, "{model}");
            assert_eq!(spec.prompt_max_chars, 5000, "{model}");
        }
    }
    let md = catalog()
        .model("seedance2.0-md")
        .and_then(|m| m.reference_videos);
    let md = md.expect("md takes videos");
    assert_eq!(md.total_bytes, Some(200 * 1024 * 1024));
    assert_eq!((md.min_side_px, md.max_side_px), (Some(720), Some(2160)));
}

#[test]
fn media_limits_are_data() {
    let limits = catalog().media_limits();
    assert_eq!(limits.image.formats, ["jpeg", "png", "webp", "bmp", "gif"]);
    assert_eq!(
        (limits.image.min_side_px, limits.image.max_side_px),
        (300, 6000)
    );
    assert_eq!(
        (limits.image.min_aspect, limits.image.max_aspect),
        (0.4, 2.5)
    );
    assert_eq!(limits.image.max_bytes, 30 * 1024 * 1024);
    assert_eq!(limits.video.formats, ["mp4", "mov"]);
    assert_eq!(
        (limits.video.min_seconds, limits.video.max_seconds),
        (2, 15)
    );
    assert_eq!(limits.video.max_bytes, 50 * 1024 * 1024);
    assert_eq!(limits.audio.formats, ["mp3", "wav"]);
    assert_eq!(
        (limits.audio.min_seconds, limits.audio.max_seconds),
        (2, 15)
    );
    assert_eq!(limits.audio.max_bytes, 15 * 1024 * 1024);
}

// ---------------------------------------------------------------- prices

fn price_of(model: &str, extra: serde_json::Value) -> Price {
    let request = accept(with(model, extra));
    assert_eq!(catalog().quote(&request), request.price);
    request.price
}

#[test]
fn per_second_prices_multiply_by_duration() {
    let table: &[(&str, &str, i64)] = &[
        ("seedance2.0-sp", "480p", 1000),
        ("seedance2.0-sp", "720p", 2000),
        ("seedance2.0-sp", "1080p", 5000),
        ("seedance2.0-fast-sp", "480p", 800),
        ("seedance2.0-fast-sp", "1080p", 4000),
        ("seedance2.0-of-sp", "720p", 2400),
        ("seedance2.0-of-fast-sp", "1080p", 4800),
        ("seedance2.0-mini", "480p", 400),
        ("seedance2.0-mini", "1080p", 2000),
    ];
    for (model, resolution, per_second) in table {
        for duration in [4_u32, 5, 15] {
            let price = price_of(
                model,
                json!({"resolution": resolution, "duration": duration}),
            );
            assert_eq!(
                price,
                Price {
                    credits: per_second * i64::from(duration),
                    unit: BillingUnit::PerSecond,
                    seconds: duration
                },
                "{model} {resolution} {duration}"
            );
        }
    }
    // Default: 720p × 5 s.
    assert_eq!(price_of("seedance2.0-sp", json!({})).credits, 10_000);
}

#[test]
fn full_route_prices_come_from_the_model_name() {
    let table: &[(&str, i64)] = &[
        ("sd2_mx_720p", 2500),
        ("sd2_mx_1080p", 6000),
        ("sd2_mx_2k", 12000),
        ("sd2_mx_4k", 24000),
        ("sd2_mx_fast_720p", 2000),
        ("sd2_mx_fast_1080p", 4800),
        ("sd2_mx_video_720p", 3000),
        ("sd2_mx_video_1080p", 7200),
        ("sd2_mx_video_2k", 14400),
        ("sd2_mx_video_4k", 28800),
        ("sd2_mx_video_fast_720p", 2400),
        ("sd2_mx_video_fast_1080p", 5800),
    ];
    for (model, per_second) in table {
        // The requested resolution is ignored on the Full route.
        let price = price_of(model, json!({"resolution": "480p", "duration": 12}));
        assert_eq!(price.credits, per_second * 12, "{model}");
        assert_eq!(price.unit, BillingUnit::PerSecond);
        assert_eq!(price.seconds, 12);
    }
}

#[test]
fn per_task_prices_ignore_duration() {
    let table: &[(&str, &str, i64)] = &[
        ("seedance2.0-mini-sp", "480p", 3000),
        ("seedance2.0-mini-sp", "720p", 5000),
        ("seedance2.0-md", "720p", 8000),
        ("seedance2.0-fast-md", "1080p", 6000),
        (FAST_I2V, "480p", 5000),
        (STD, "720p", 10000),
    ];
    for (model, resolution, credits) in table {
        for duration in [4_u32, 15] {
            let price = price_of(
                model,
                json!({"resolution": resolution, "duration": duration}),
            );
            assert_eq!(
                price,
                Price {
                    credits: *credits,
                    unit: BillingUnit::PerTask,
                    seconds: duration
                },
                "{model}"
            );
        }
    }
}

#[test]
fn price_serialises_with_snake_case_unit() {
    let price = price_of(STD, json!({}));
    assert_eq!(
        serde_json::to_value(price).ok(),
        Some(json!({"credits": 10000, "unit": "per_task", "seconds": 5}))
    );
}

// ---------------------------------------------------------------- listing

#[test]
fn listing_has_the_api_shape() {
    let listing = catalog().models_listing(&|model| {
        if model.starts_with("sd2_mx") {
            vec!["relay-vendor".to_string()]
        } else {
            vec!["local".to_string(), "ark-cn".to_string()]
        }
    });
    let items = listing["items"].as_array().expect("items");
    assert_eq!(items.len(), 22);
    assert_eq!(
        items[12],
        json!({
            "model": "seedance2.0-sp",
            "family": "sp_economy",
            "billing": "per_second",
            "prices": {"480p": 1000, "720p": 2000, "1080p": 5000},
            "duration": {"min": 4, "max": 15, "default": 5},
            "resolution": {"allowed": ["480p", "720p", "1080p"], "default": "720p", "fixed": false},
            "ratios": ["16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "adaptive"],
            "images": {"max": 9},
            "frames": "first_only_or_both",
            "reference_videos": {"max": 3, "total_seconds": 15},
            "reference_audios": {"max": 3, "total_seconds": 15, "in_frame_mode": true},
            "media_forms": ["https", "asset"],
            "prompt_max_chars": 5000,
            "audio_output": true,
            "assets_audited": false,
            "channels": ["local", "ark-cn"],
        })
    );
    let md = &items[18];
    assert_eq!(md["model"], "seedance2.0-md");
    assert_eq!(md["billing"], "per_task");
    assert_eq!(md["frames"], "both_required");
    assert_eq!(md["reference_audios"], json!(null));
    assert_eq!(md["media_forms"], json!(["https"]));
    assert_eq!(md["audio_output"], false, "MD makes no soundtrack");
    assert_eq!(
        md["resolution"],
        json!({"allowed": ["720p"], "default": "720p", "fixed": true})
    );
    let full_4k = &items[3];
    assert_eq!(full_4k["model"], "sd2_mx_4k");
    assert_eq!(full_4k["prices"], json!({"4k": 24000}));
    assert_eq!(full_4k["reference_videos"], json!(null));
    assert_eq!(full_4k["media_forms"], json!(["asset"]));
    assert_eq!(full_4k["assets_audited"], true);
    assert_eq!(full_4k["channels"], json!(["relay-vendor"]));
    for item in items {
        let keys: Vec<&str> = item
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys.len(), 16, "{keys:?}");
    }
}

// ---------------------------------------------------------------- sizes

#[test]
fn output_size_table() {
    let table: &[(&str, [(u32, u32); 6])] = &[
        (
            "480p",
            [
                (864, 480),
                (736, 544),
                (640, 640),
                (544, 736),
                (480, 864),
                (960, 416),
            ],
        ),
        (
            "720p",
            [
                (1248, 704),
                (1120, 832),
                (960, 960),
                (832, 1120),
                (704, 1248),
                (1504, 640),
            ],
        ),
        (
            "1080p",
            [
                (1920, 1088),
                (1664, 1248),
                (1440, 1440),
                (1248, 1664),
                (1088, 1920),
                (2176, 928),
            ],
        ),
        (
            "2k",
            [
                (2560, 1440),
                (2208, 1664),
                (1920, 1920),
                (1664, 2208),
                (1440, 2560),
                (3024, 1296),
            ],
        ),
        (
            "4k",
            [
                (3840, 2160),
                (3328, 2496),
                (2880, 2880),
                (2496, 3328),
                (2160, 3840),
                (4032, 1728),
            ],
        ),
    ];
    for (resolution, sizes) in table {
        for (ratio, size) in KNOWN_RATIOS.iter().zip(sizes) {
            assert_eq!(
                output_size(resolution, ratio),
                Some(*size),
                "{resolution} {ratio}"
            );
            assert_eq!(size.0 % 16, 0, "{resolution} {ratio}");
            assert_eq!(size.1 % 16, 0, "{resolution} {ratio}");
        }
    }
    assert_eq!(output_size("720p", "adaptive"), None);
    assert_eq!(output_size("8k", "16:9"), None);
    assert_eq!(output_size("720p", "2:1"), None);
}

#[test]
fn every_model_resolution_and_ratio_has_a_size() {
    for spec in catalog().models() {
        for resolution in &spec.resolution.allowed {
            for ratio in spec.ratios.iter().filter(|r| r.as_str() != "adaptive") {
                assert!(
                    output_size(resolution, ratio).is_some(),
                    "{} {resolution} {ratio}",
                    spec.name
                );
            }
        }
    }
}

#[test]
fn nearest_ratio_snaps_to_allowed_ratios() {
    let all = ["16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "adaptive"];
    let cases: &[(u32, u32, &str)] = &[
        (1920, 1080, "16:9"),
        (1080, 1920, "9:16"),
        (1000, 1000, "1:1"),
        (1024, 768, "4:3"),
        (768, 1024, "3:4"),
        (2560, 1080, "21:9"),
        (4000, 1000, "21:9"),
        (1000, 4000, "9:16"),
        (1100, 1000, "1:1"),
        (1500, 1000, "4:3"),
        (1700, 1000, "16:9"),
    ];
    for (width, height, expected) in cases {
        assert_eq!(
            nearest_ratio(*width, *height, &all),
            *expected,
            "{width}x{height}"
        );
    }
    let md = ["16:9", "9:16", "1:1"];
    assert_eq!(nearest_ratio(1100, 768, &md), "16:9");
    assert_eq!(nearest_ratio(1000, 768, &md), "1:1");
    assert_eq!(nearest_ratio(1000, 1150, &md), "1:1");
    assert_eq!(nearest_ratio(2560, 1080, &md), "16:9");
    assert_eq!(nearest_ratio(600, 1200, &md), "9:16");
    // Degenerate inputs.
    assert_eq!(nearest_ratio(0, 100, &md), "16:9");
    assert_eq!(nearest_ratio(1000, 1000, &["adaptive"]), "1:1");
    assert_eq!(nearest_ratio(1000, 1000, &[]), "1:1");
}
