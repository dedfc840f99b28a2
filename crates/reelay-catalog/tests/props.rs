//! Property tests on the validator's edges: it never panics on any JSON,
//! its errors always name their field, durations are accepted exactly inside
//! the model's range and priced by the data, and ratio snapping always
//! returns an allowed ratio.

mod common;

use common::{catalog, minimal};
use proptest::prelude::*;
use reelay_catalog::{nearest_ratio, BillingUnit, ErrorKind, ValidateOptions};
use serde_json::{json, Value};

const FIELDS: &[&str] = &[
    "model",
    "prompt",
    "duration",
    "resolution",
    "ratio",
    "orientation",
    "images",
    "first_image",
    "last_image",
    "reference_videos",
    "reference_audios",
    "seed",
    "generate_audio",
    "watermark",
    "camera_fixed",
    "return_last_frame",
    "callback_url",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        "[a-z:/0-9._ ]{0,30}".prop_map(Value::from),
        prop::sample::select(vec![
            "https://example.com/a.png",
            "asset://asset_1",
            "adaptive",
            "16:9",
            "720p",
            "portrait",
            "",
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec(("[a-z]{1,4}", inner), 0..3)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

fn model_name() -> impl Strategy<Value = String> {
    let names: Vec<String> = catalog()
        .model_names()
        .into_iter()
        .map(str::to_string)
        .collect();
    prop::sample::select(names)
}

proptest! {
    #[test]
    fn never_panics_and_errors_name_their_field(
        model in model_name(),
        changes in prop::collection::vec((prop::sample::select(FIELDS.to_vec()), json_value()), 0..4),
    ) {
        let mut body = minimal(&model);
        for (field, value) in changes {
            body[field] = value;
        }
        match catalog().validate(&body, &ValidateOptions::default()) {
            Ok(request) => {
                let spec = catalog().model(&request.model).expect("listed");
                prop_assert!(request.duration >= spec.duration.min);
                prop_assert!(request.duration <= spec.duration.max);
                prop_assert!(spec.resolution.allowed.contains(&request.resolution));
                prop_assert!(spec.ratios.contains(&request.ratio));
                prop_assert!(request.price.credits >= 0);
            }
            Err(error) => {
                prop_assert!(!error.param.is_empty());
                let field = error.param.split('[').next().unwrap_or_default();
                prop_assert!(error.message.contains(field), "{}", error.message);
                if error.kind == ErrorKind::UnknownModel {
                    prop_assert_eq!(error.param.as_str(), "model");
                }
            }
        }
    }

    #[test]
    fn duration_is_accepted_exactly_inside_the_range(model in model_name(), duration in -5_i64..25) {
        let spec = catalog().model(&model).expect("listed");
        let mut body = minimal(&model);
        body["duration"] = json!(duration);
        let result = catalog().validate(&body, &ValidateOptions::default());
        let inside = duration >= i64::from(spec.duration.min) && duration <= i64::from(spec.duration.max);
        prop_assert_eq!(result.is_ok(), inside);
        if let Ok(request) = result {
            let unit_price = spec.prices[&request.resolution];
            let expected = match spec.billing {
                BillingUnit::PerSecond => unit_price * duration,
                BillingUnit::PerTask => unit_price,
            };
            prop_assert_eq!(request.price.credits, expected);
            prop_assert_eq!(i64::from(request.price.seconds), duration);
        }
    }

    #[test]
    fn nearest_ratio_is_always_allowed(width in 1_u32..10_000, height in 1_u32..10_000, model in model_name()) {
        let spec = catalog().model(&model).expect("listed");
        let allowed: Vec<&str> = spec.ratios.iter().map(String::as_str).collect();
        let ratio = nearest_ratio(width, height, &allowed);
        prop_assert!(allowed.contains(&ratio.as_str()));
        prop_assert_ne!(ratio.as_str(), "adaptive");
    }
}
