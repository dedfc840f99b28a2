//! Operator override files (`catalog.path`): merging rules, and errors that
//! name the model (or section) and key that is wrong.

mod common;

use std::path::PathBuf;

use common::all_models;
use reelay_catalog::{BillingUnit, Catalog, CatalogError, ValidateOptions, EMBEDDED_CATALOG};
use serde_json::json;

fn load(text: &str) -> Result<Catalog, CatalogError> {
    Catalog::with_override_str(text, "test.toml")
}

/// Asserts an `Invalid` error at `at` on `key`, and that its text names both.
#[track_caller]
fn assert_invalid(text: &str, expected_at: &str, expected_key: &str) -> String {
    match load(text) {
        Err(error @ CatalogError::Invalid { .. }) => {
            let message = error.to_string();
            let CatalogError::Invalid { at, key, .. } = error else {
                unreachable!()
            };
            assert_eq!(at, expected_at, "{message}");
            assert_eq!(key, expected_key, "{message}");
            assert!(message.contains(expected_at), "{message}");
            assert!(message.contains(expected_key), "{message}");
            message
        }
        Err(other) => panic!("expected an Invalid error, got {other}"),
        Ok(_) => panic!("expected an error for:\n{text}"),
    }
}

#[test]
fn an_empty_override_is_the_built_in_catalog() {
    let catalog = load("").expect("loads");
    assert_eq!(catalog.model_names(), Catalog::embedded().model_names());
    assert_eq!(catalog.models(), Catalog::embedded().models());
}

#[test]
fn a_model_with_a_built_in_name_is_replaced_in_place() {
    let catalog = load(
        r#"
        [[models]]
        name = "seedance2.0-sp"
        family = "sp_economy"
        prices = { "480p" = 1, "720p" = 2, "1080p" = 3 }
        duration = { min = 2, max = 10, default = 6 }
        "#,
    )
    .expect("loads");
    assert_eq!(catalog.model_names(), all_models());
    let spec = catalog.model("seedance2.0-sp").expect("listed");
    assert_eq!(spec.prices.get("720p"), Some(&2));
    assert_eq!((spec.duration.min, spec.duration.max), (2, 10));
    let request = catalog
        .validate(
            &json!({"model": "seedance2.0-sp", "prompt": "x", "duration": 2}),
            &ValidateOptions::default(),
        )
        .expect("valid under the new range");
    assert_eq!(request.price.credits, 4);
    let defaulted = catalog
        .validate(
            &json!({"model": "seedance2.0-sp", "prompt": "x"}),
            &ValidateOptions::default(),
        )
        .expect("valid");
    assert_eq!(defaulted.duration, 6);
    // Other models keep their built-in data.
    assert_eq!(
        catalog.model("seedance2.0-fast-sp"),
        Catalog::embedded().model("seedance2.0-fast-sp")
    );
}

#[test]
fn new_models_are_added_at_the_end_and_may_use_new_families() {
    let catalog = load(
        r#"
        [families.house]
        title = "House model"
        billing = "per_task"
        duration = { min = 2, max = 8, default = 4 }
        resolution = { allowed = ["480p"], default = "480p", fixed = false }
        ratios = ["1:1"]
        images = { max = 1, gif = false, required = false }
        frames = "none"
        reference_videos = false
        reference_audios = false
        media_forms = ["https"]
        assets_audited = false
        prompt_max_chars = 10
        audio_output = false

        [[models]]
        name = "house-1"
        family = "house"
        prices = { "480p" = 123 }

        [[models]]
        name = "sp-cheap"
        family = "sp_economy"
        prices = { "480p" = 10, "720p" = 20, "1080p" = 30 }
        "#,
    )
    .expect("loads");
    let names = catalog.model_names();
    assert_eq!(names.len(), 24);
    assert_eq!(&names[22..], ["house-1", "sp-cheap"]);
    let house = catalog.model("house-1").expect("listed");
    assert_eq!(house.title, "House model");
    assert_eq!(house.billing, BillingUnit::PerTask);
    let options = ValidateOptions::default();
    let request = catalog
        .validate(&json!({"model": "house-1", "prompt": "short"}), &options)
        .expect("valid");
    assert_eq!((request.duration, request.ratio.as_str()), (4, "1:1"));
    assert_eq!(request.price.credits, 123);
    let error = catalog
        .validate(
            &json!({"model": "house-1", "prompt": "much too long"}),
            &options,
        )
        .expect_err("prompt too long");
    assert_eq!(error.param, "prompt");
    let error = catalog
        .validate(
            &json!({"model": "house-1", "prompt": "x", "first_image": "https://e.com/a.png"}),
            &options,
        )
        .expect_err("no frame mode");
    assert_eq!(error.param, "first_image");
    let listing = catalog.models_listing(&|_| Vec::new());
    assert_eq!(listing["items"][22]["frames"], "none");
    assert_eq!(listing["items"][22]["channels"], json!([]));
}

#[test]
fn replace_true_drops_the_built_in_models() {
    let catalog = load(
        r#"
        replace = true

        [[models]]
        name = "only-one"
        family = "std"
        prices = { "720p" = 1 }
        "#,
    )
    .expect("loads");
    assert_eq!(catalog.model_names(), ["only-one"]);
    let error = catalog
        .validate(
            &json!({"model": "seedance2.0-sp", "prompt": "x"}),
            &ValidateOptions::default(),
        )
        .expect_err("gone");
    assert_eq!(error.kind.code(), 40002);
    assert!(error.message.contains("only-one"), "{}", error.message);
    assert_eq!(
        load("replace = true").expect("loads").model_names().len(),
        0
    );
    assert_eq!(
        load("replace = false").expect("loads").model_names().len(),
        22
    );
}

#[test]
fn request_and_media_limit_sections_can_be_overridden() {
    let catalog = load(
        r#"
        [request]
        default_ratio = "1:1"

        [media_limits.audio]
        formats = ["mp3"]
        min_seconds = 1
        max_seconds = 30
        max_bytes = 1000
        "#,
    )
    .expect("loads");
    assert_eq!(catalog.request_rules().default_ratio, "1:1");
    assert_eq!(
        catalog.request_rules().resolutions,
        ["480p", "720p", "1080p"]
    );
    assert_eq!(catalog.media_limits().audio.max_seconds, 30);
    assert_eq!(catalog.media_limits().video.max_seconds, 15);
    let request = catalog
        .validate(
            &json!({"model": "seedance2.0-sp", "prompt": "x"}),
            &ValidateOptions::default(),
        )
        .expect("valid");
    assert_eq!(request.ratio, "1:1");
}

#[test]
fn bad_overrides_name_the_model_and_key() {
    let model = |body: &str| format!("[[models]]\nname = \"m1\"\nfamily = \"std\"\n{body}\n");
    let at = "model `m1`";
    let message = assert_invalid(
        &model("prices = { \"720p\" = 1 }\nduration = { min = 4, max = 15, default = 20 }"),
        at,
        "duration.default",
    );
    assert!(message.contains("20"), "{message}");
    assert_invalid(
        &model("prices = { \"720p\" = 1 }\ndurations = 5"),
        at,
        "durations",
    );
    assert_invalid(
        &model("prices = { \"720p\" = 1 }\nduration = \"5\""),
        at,
        "duration",
    );
    assert_invalid(
        &model("prices = { \"720p\" = 1 }\nduration = { min = 4, max = 15 }"),
        at,
        "duration",
    );
    assert_invalid(&model(""), at, "prices");
    assert_invalid(&model("prices = { \"1080p\" = 1 }"), at, "prices.720p");
    assert_invalid(
        &model("prices = { \"720p\" = 1, \"1080p\" = 2 }"),
        at,
        "prices.1080p",
    );
    assert_invalid(&model("prices = { \"720p\" = -1 }"), at, "prices.720p");
    assert_invalid(
        &model("prices = { \"720p\" = 1 }\nbilling = \"monthly\""),
        at,
        "billing",
    );
    assert_invalid(
        &model("prices = { \"720p\" = 1 }\nframes = \"last_only\""),
        at,
        "frames",
    );
    assert_invalid(
        &model("prices = { \"720p\" = 1 }\nmedia_forms = [\"ftp\"]"),
        at,
        "media_forms",
    );
    assert_invalid(
        &model("prices = { \"720p\" = 1 }\nmedia_forms = []"),
        at,
        "media_forms",
    );
    assert_invalid(
        &model("prices = { \"720p\" = 1 }\nratios = [\"2:1\"]"),
        at,
        "ratios",
    );
    assert_invalid(
        &model("prices = { \"720p\" = 1 }\nratios = [\"adaptive\"]"),
        at,
        "ratios",
    );
    assert_invalid(
        &model("prices = { \"720p\" = 1 }\nreference_audios = true"),
        at,
        "reference_audios",
    );
    assert_invalid(
        &model("prices = { \"720p\" = 1 }\nreference_videos = { max = 0, total_seconds = 15 }"),
        at,
        "reference_videos.max",
    );
    assert_invalid(
        &model(
            "prices = { \"2k\" = 1 }\nresolution = { allowed = [\"2k\"], default = \"2k\", fixed = false }",
        ),
        at,
        "resolution.allowed",
    );
    assert_invalid(
        &model(
            "prices = { \"720p\" = 1 }\nresolution = { allowed = [\"720p\"], default = \"480p\", fixed = true }",
        ),
        at,
        "resolution.default",
    );
    assert_invalid(
        &model("prices = { \"720p\" = 1 }\nprompt_max_chars = 0"),
        at,
        "prompt_max_chars",
    );
    let message = assert_invalid(
        "[[models]]\nname = \"m1\"\nfamily = \"nope\"\n",
        at,
        "family",
    );
    assert!(message.contains("sp_economy"), "{message}");
    assert_invalid("[[models]]\nfamily = \"std\"\n", "models[0]", "name");
    assert_invalid("replace = \"yes\"", "top level", "replace");
    assert_invalid("colour = 1", "top level", "colour");
    assert_invalid("models = 5", "top level", "models");
}

#[test]
fn bad_override_of_a_built_in_model_names_it() {
    assert_invalid(
        "[[models]]\nname = \"seedance2.0-md\"\nfamily = \"md\"\nprices = { \"720p\" = \"cheap\" }\n",
        "model `seedance2.0-md`",
        "prices",
    );
}

#[test]
fn a_model_listed_twice_in_one_file_is_refused() {
    let text = format!(
        "{EMBEDDED_CATALOG}\n[[models]]\nname = \"seedance2.0-std\"\nfamily = \"std\"\nprices = {{ \"720p\" = 1 }}\n"
    );
    match Catalog::from_toml_str(&text) {
        Err(CatalogError::Invalid { at, key, .. }) => {
            assert_eq!(at, "model `seedance2.0-std`");
            assert_eq!(key, "name");
        }
        other => panic!("expected a duplicate error, got {other:?}"),
    }
}

#[test]
fn syntax_errors_and_missing_files() {
    match load("[[models]\nname = ") {
        Err(CatalogError::Syntax { origin, .. }) => assert_eq!(origin, "test.toml"),
        other => panic!("expected a syntax error, got {other:?}"),
    }
    let missing = PathBuf::from("/nonexistent/reelay/catalog.toml");
    match Catalog::with_override_file(&missing) {
        Err(error @ CatalogError::Io { .. }) => {
            assert!(error
                .to_string()
                .contains("/nonexistent/reelay/catalog.toml"));
        }
        other => panic!("expected an io error, got {other:?}"),
    }
    match Catalog::from_toml_str("[[models]]\nname = \"x\"\nfamily = \"std\"\n") {
        Err(CatalogError::Invalid { key, .. }) => assert_eq!(key, "request"),
        other => panic!("expected a missing-section error, got {other:?}"),
    }
}

#[test]
fn override_file_on_disk() {
    let path =
        std::env::temp_dir().join(format!("reelay-catalog-test-{}.toml", std::process::id()));
    std::fs::write(
        &path,
        "[[models]]\nname = \"seedance2.0-std\"\nfamily = \"std\"\nprices = { \"720p\" = 777 }\n",
    )
    .expect("temp file written");
    let catalog = Catalog::with_override_file(&path);
    let _ = std::fs::remove_file(&path);
    let catalog = catalog.expect("loads");
    assert_eq!(
        catalog.model("seedance2.0-std").map(|m| m.prices["720p"]),
        Some(777)
    );
}

#[test]
fn an_alias_is_the_model_it_names() {
    let catalog = Catalog::embedded();
    let by_alias = catalog
        .validate(
            &json!({"model": "doubao-seedance-2-0-260128", "prompt": "a cat"}),
            &ValidateOptions::default(),
        )
        .expect("an Ark model id is accepted");
    let by_name = catalog
        .validate(
            &json!({"model": "seedance2.0-of-sp", "prompt": "a cat"}),
            &ValidateOptions::default(),
        )
        .expect("the model's own name");
    assert_eq!(by_alias.model, "seedance2.0-of-sp");
    assert_eq!(by_alias.price, by_name.price);
    assert_eq!(
        catalog
            .resolve("dreamina-seedance-2-0-fast-260128")
            .map(|m| m.name.as_str()),
        Some("seedance2.0-of-fast-sp")
    );
}

#[test]
fn operators_add_aliases_and_each_name_means_one_model() {
    let catalog = load(
        r#"
[[models]]
name = "seedance2.0-mini"
family = "mini"
prices = { "480p" = 400, "720p" = 800, "1080p" = 2000 }
aliases = ["our-cheap-model"]
"#,
    )
    .expect("loads");
    assert_eq!(
        catalog.resolve("our-cheap-model").map(|m| m.name.as_str()),
        Some("seedance2.0-mini")
    );
    let message = assert_invalid(
        r#"
[[models]]
name = "seedance2.0-mini"
family = "mini"
prices = { "480p" = 400, "720p" = 800, "1080p" = 2000 }
aliases = ["doubao-seedance-2-0-260128"]
"#,
        "model `seedance2.0-mini`",
        "aliases",
    );
    assert!(message.contains("seedance2.0-of-sp"), "{message}");
    assert_invalid(
        r#"
[[models]]
name = "seedance2.0-mini"
family = "mini"
prices = { "480p" = 400, "720p" = 800, "1080p" = 2000 }
aliases = ["seedance2.0-md"]
"#,
        "model `seedance2.0-mini`",
        "aliases",
    );
}
