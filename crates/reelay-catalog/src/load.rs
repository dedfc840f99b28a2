//! Building a [`Catalog`](crate::Catalog) from TOML: parsing, merging an
//! operator's override file into the built-in file, resolving each model
//! against its family, and checking the result so that every mistake is
//! reported with the model (or section) and the key that is wrong.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::de::DeserializeOwned;
use toml::{Table, Value};

use crate::sizes::KNOWN_RATIOS;
use crate::spec::{
    BillingUnit, DurationSpec, FrameMode, ImageSpec, MediaForm, MediaLimits, ModelSpec,
    ReferenceAudioSpec, ReferenceVideoSpec, RequestRules, ResolutionSpec,
};

/// A catalog file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The override file could not be read.
    #[error("cannot read catalog file {}: {source}", path.display())]
    Io {
        /// The file that was asked for.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The text is not TOML.
    #[error("catalog {origin}: not valid TOML: {message}")]
    Syntax {
        /// `built-in catalog` or the override file's path.
        origin: String,
        /// The TOML parser's message (with line and column).
        message: String,
    },
    /// A key is missing, of the wrong type or inconsistent.
    #[error("catalog: {at}: key `{key}`: {message}")]
    Invalid {
        /// Where: ``model `name` ``, ``family `key` ``, `[request]`, `top level`.
        at: String,
        /// The key that is wrong (dotted for nested keys, e.g. `duration.default`).
        key: String,
        /// What is wrong and what is expected.
        message: String,
    },
}

impl CatalogError {
    fn invalid(at: &str, key: &str, message: impl Into<String>) -> CatalogError {
        CatalogError::Invalid {
            at: at.to_string(),
            key: key.to_string(),
            message: message.into(),
        }
    }
}

/// The parts of a checked catalog, handed to `Catalog`.
pub(crate) struct Loaded {
    pub models: Vec<ModelSpec>,
    pub request: RequestRules,
    pub media_limits: MediaLimits,
}

const TOP_LEVEL_KEYS: &[&str] = &["replace", "request", "media_limits", "families", "models"];
const MODEL_KEYS: &[&str] = &[
    "title",
    "billing",
    "prices",
    "duration",
    "resolution",
    "ratios",
    "images",
    "frames",
    "reference_videos",
    "reference_audios",
    "media_forms",
    "assets_audited",
    "prompt_max_chars",
    "audio_output",
    "aliases",
];

/// Parses TOML text into a raw table.
pub(crate) fn parse_raw(text: &str, origin: &str) -> Result<Table, CatalogError> {
    text.parse::<Table>().map_err(|error| CatalogError::Syntax {
        origin: origin.to_string(),
        message: error.to_string(),
    })
}

/// Applies an operator file over the built-in one (see `catalog.toml`'s header).
pub(crate) fn merge_override(mut base: Table, overlay: Table) -> Result<Table, CatalogError> {
    let replace = match overlay.get("replace") {
        None => false,
        Some(Value::Boolean(flag)) => *flag,
        Some(_) => {
            return Err(CatalogError::invalid(
                "top level",
                "replace",
                "must be true or false",
            ))
        }
    };
    if replace {
        base.insert("models".to_string(), Value::Array(Vec::new()));
    }
    for (key, value) in overlay {
        match key.as_str() {
            "replace" => {}
            "models" => {
                let mut models = array_of_tables(base.get("models"), "models")?;
                for (index, model) in array_of_tables(Some(&value), "models")?
                    .into_iter()
                    .enumerate()
                {
                    // Named by its index in the operator's file, not the merged list.
                    let Some(name) = model.get("name").and_then(Value::as_str) else {
                        return Err(CatalogError::invalid(
                            &format!("models[{index}]"),
                            "name",
                            "missing or not a non-empty string",
                        ));
                    };
                    let existing = models
                        .iter()
                        .position(|m| m.get("name").and_then(Value::as_str) == Some(name));
                    match existing {
                        Some(index) => models[index] = model,
                        None => models.push(model),
                    }
                }
                let models = models.into_iter().map(Value::Table).collect();
                base.insert(key, Value::Array(models));
            }
            "families" | "request" | "media_limits" => {
                let Value::Table(overlay_section) = value else {
                    return Err(CatalogError::invalid("top level", &key, "must be a table"));
                };
                let section = base
                    .entry(key.clone())
                    .or_insert_with(|| Value::Table(Table::new()));
                if let Value::Table(section) = section {
                    section.extend(overlay_section);
                }
            }
            _ => {
                // Unknown top-level keys are kept so that `build` reports them.
                base.insert(key, value);
            }
        }
    }
    Ok(base)
}

fn array_of_tables(value: Option<&Value>, key: &str) -> Result<Vec<Table>, CatalogError> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let Value::Array(items) = value else {
        return Err(CatalogError::invalid(
            "top level",
            key,
            "must be an array of tables ([[models]])",
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| match item {
            Value::Table(table) => Ok(table.clone()),
            _ => Err(CatalogError::invalid(
                "top level",
                &format!("{key}[{index}]"),
                "must be a table",
            )),
        })
        .collect()
}

/// Deserialises `table[key]` into `T`, naming `at` and `key` on failure.
fn take<T: DeserializeOwned>(table: &Table, at: &str, key: &str) -> Result<T, CatalogError> {
    let value = table
        .get(key)
        .ok_or_else(|| CatalogError::invalid(at, key, "missing"))?;
    value
        .clone()
        .try_into::<T>()
        .map_err(|error| CatalogError::invalid(at, key, error.to_string().trim().to_string()))
}

/// Like [`take`] for the `false | { ... }` keys (`reference_videos`, `reference_audios`).
fn take_optional<T: DeserializeOwned>(
    table: &Table,
    at: &str,
    key: &str,
) -> Result<Option<T>, CatalogError> {
    match table.get(key) {
        None | Some(Value::Boolean(false)) => Ok(None),
        Some(Value::Table(_)) => take(table, at, key).map(Some),
        Some(_) => Err(CatalogError::invalid(
            at,
            key,
            "must be false (not allowed) or a table of limits",
        )),
    }
}

/// Builds and checks a catalog from a raw (possibly merged) table.
pub(crate) fn build(raw: &Table) -> Result<Loaded, CatalogError> {
    if let Some(key) = raw
        .keys()
        .find(|key| !TOP_LEVEL_KEYS.contains(&key.as_str()))
    {
        return Err(CatalogError::invalid(
            "top level",
            key,
            format!(
                "unknown key (expected one of: {})",
                TOP_LEVEL_KEYS.join(", ")
            ),
        ));
    }
    let request: RequestRules = take(raw, "top level", "request")?;
    check_request(&request)?;
    let media_limits: MediaLimits = take(raw, "top level", "media_limits")?;
    let families: BTreeMap<String, Table> = match raw.get("families") {
        None => BTreeMap::new(),
        Some(_) => take(raw, "top level", "families")?,
    };
    let mut models: Vec<ModelSpec> = Vec::new();
    for (index, table) in array_of_tables(raw.get("models"), "models")?
        .iter()
        .enumerate()
    {
        let model = build_model(index, table, &families, &request)?;
        if models.iter().any(|m| m.name == model.name) {
            return Err(CatalogError::invalid(
                &format!("model `{}`", model.name),
                "name",
                "listed twice in one file",
            ));
        }
        models.push(model);
    }
    check_aliases(&models)?;
    Ok(Loaded {
        models,
        request,
        media_limits,
    })
}

/// Every name a client may send (model names and aliases) means exactly one model.
fn check_aliases(models: &[ModelSpec]) -> Result<(), CatalogError> {
    let mut owner: BTreeMap<&str, &str> = models
        .iter()
        .map(|m| (m.name.as_str(), m.name.as_str()))
        .collect();
    for model in models {
        let at = format!("model `{}`", model.name);
        for alias in &model.aliases {
            if alias.trim().is_empty() {
                return Err(CatalogError::invalid(
                    &at,
                    "aliases",
                    "an alias must be a non-empty string",
                ));
            }
            if let Some(other) = owner.insert(alias, &model.name) {
                return Err(CatalogError::invalid(
                    &at,
                    "aliases",
                    format!("`{alias}` already names model `{other}`"),
                ));
            }
        }
    }
    Ok(())
}

fn check_request(request: &RequestRules) -> Result<(), CatalogError> {
    let at = "[request]";
    if request.resolutions.is_empty() {
        return Err(CatalogError::invalid(
            at,
            "resolutions",
            "must not be empty",
        ));
    }
    if !is_plain_ratio(&request.default_ratio) {
        return Err(CatalogError::invalid(
            at,
            "default_ratio",
            format!("must be one of {}", KNOWN_RATIOS.join(", ")),
        ));
    }
    for (orientation, ratio) in &request.orientations {
        if !is_plain_ratio(ratio) {
            return Err(CatalogError::invalid(
                at,
                &format!("orientations.{orientation}"),
                format!("must be one of {}", KNOWN_RATIOS.join(", ")),
            ));
        }
    }
    Ok(())
}

fn is_plain_ratio(ratio: &str) -> bool {
    KNOWN_RATIOS.contains(&ratio)
}

fn build_model(
    index: usize,
    table: &Table,
    families: &BTreeMap<String, Table>,
    request: &RequestRules,
) -> Result<ModelSpec, CatalogError> {
    let name = match table.get("name") {
        Some(Value::String(name)) if !name.trim().is_empty() => name.clone(),
        _ => {
            return Err(CatalogError::invalid(
                &format!("models[{index}]"),
                "name",
                "missing or not a non-empty string",
            ))
        }
    };
    let at = format!("model `{name}`");
    let family: String = take(table, &at, "family")?;
    let Some(family_table) = families.get(&family) else {
        let known: Vec<&str> = families.keys().map(String::as_str).collect();
        return Err(CatalogError::invalid(
            &at,
            "family",
            format!("unknown family `{family}` (known: {})", known.join(", ")),
        ));
    };
    if family_table.contains_key("aliases") {
        return Err(CatalogError::invalid(
            &format!("family `{family}`"),
            "aliases",
            "aliases name one model: list them on the model, not its family",
        ));
    }
    let mut merged = family_table.clone();
    for (key, value) in table {
        if key != "name" && key != "family" {
            merged.insert(key.clone(), value.clone());
        }
    }
    if let Some(key) = merged
        .keys()
        .find(|key| !MODEL_KEYS.contains(&key.as_str()))
    {
        return Err(CatalogError::invalid(
            &at,
            key,
            format!("unknown key (expected one of: {})", MODEL_KEYS.join(", ")),
        ));
    }
    let title = match merged.get("title") {
        None => family.clone(),
        Some(_) => take(&merged, &at, "title")?,
    };
    let spec = ModelSpec {
        name,
        family,
        title,
        billing: take::<BillingUnit>(&merged, &at, "billing")?,
        prices: take(&merged, &at, "prices")?,
        duration: take::<DurationSpec>(&merged, &at, "duration")?,
        resolution: take::<ResolutionSpec>(&merged, &at, "resolution")?,
        ratios: take(&merged, &at, "ratios")?,
        images: take::<ImageSpec>(&merged, &at, "images")?,
        frames: take::<FrameMode>(&merged, &at, "frames")?,
        reference_videos: take_optional::<ReferenceVideoSpec>(&merged, &at, "reference_videos")?,
        reference_audios: take_optional::<ReferenceAudioSpec>(&merged, &at, "reference_audios")?,
        media_forms: take::<Vec<MediaForm>>(&merged, &at, "media_forms")?,
        assets_audited: take(&merged, &at, "assets_audited")?,
        prompt_max_chars: take(&merged, &at, "prompt_max_chars")?,
        audio_output: take(&merged, &at, "audio_output")?,
        aliases: match table.get("aliases") {
            None => Vec::new(),
            Some(_) => take(table, &at, "aliases")?,
        },
    };
    check_model(&spec, &at, request)?;
    Ok(spec)
}

fn check_model(spec: &ModelSpec, at: &str, request: &RequestRules) -> Result<(), CatalogError> {
    let duration = spec.duration;
    if duration.min == 0 || duration.min > duration.max {
        return Err(CatalogError::invalid(
            at,
            "duration.min",
            format!(
                "must be at least 1 and at most duration.max ({})",
                duration.max
            ),
        ));
    }
    if duration.default < duration.min || duration.default > duration.max {
        return Err(CatalogError::invalid(
            at,
            "duration.default",
            format!(
                "{} is outside {}..={}",
                duration.default, duration.min, duration.max
            ),
        ));
    }
    check_resolution(&spec.resolution, at, request)?;
    for resolution in &spec.resolution.allowed {
        match spec.prices.get(resolution) {
            None => {
                return Err(CatalogError::invalid(
                    at,
                    &format!("prices.{resolution}"),
                    "missing: every allowed resolution needs a price",
                ))
            }
            Some(credits) if *credits < 0 => {
                return Err(CatalogError::invalid(
                    at,
                    &format!("prices.{resolution}"),
                    "must not be negative",
                ))
            }
            Some(_) => {}
        }
    }
    if let Some(extra) = spec
        .prices
        .keys()
        .find(|key| !spec.resolution.allowed.contains(key))
    {
        return Err(CatalogError::invalid(
            at,
            &format!("prices.{extra}"),
            format!(
                "not an allowed resolution of this model ({})",
                spec.resolution.allowed.join(", ")
            ),
        ));
    }
    check_ratios(&spec.ratios, at)?;
    if spec.media_forms.is_empty() || has_duplicates(&spec.media_forms) {
        return Err(CatalogError::invalid(
            at,
            "media_forms",
            "must list https and/or asset, each once",
        ));
    }
    if spec.prompt_max_chars == 0 {
        return Err(CatalogError::invalid(
            at,
            "prompt_max_chars",
            "must be at least 1",
        ));
    }
    if spec.images.required && spec.images.max == 0 && spec.frames == FrameMode::None {
        return Err(CatalogError::invalid(
            at,
            "images.required",
            "an image is required but the model takes neither images nor frames",
        ));
    }
    if spec.reference_videos.is_some_and(|videos| videos.max == 0) {
        return Err(CatalogError::invalid(
            at,
            "reference_videos.max",
            "must be at least 1 (use reference_videos = false to refuse them)",
        ));
    }
    if spec.reference_audios.is_some_and(|audios| audios.max == 0) {
        return Err(CatalogError::invalid(
            at,
            "reference_audios.max",
            "must be at least 1 (use reference_audios = false to refuse them)",
        ));
    }
    Ok(())
}

fn check_resolution(
    resolution: &ResolutionSpec,
    at: &str,
    request: &RequestRules,
) -> Result<(), CatalogError> {
    if resolution.allowed.is_empty() || has_duplicates(&resolution.allowed) {
        return Err(CatalogError::invalid(
            at,
            "resolution.allowed",
            "must list at least one resolution, each once",
        ));
    }
    if !resolution.allowed.contains(&resolution.default) {
        return Err(CatalogError::invalid(
            at,
            "resolution.default",
            format!(
                "`{}` is not in resolution.allowed ({})",
                resolution.default,
                resolution.allowed.join(", ")
            ),
        ));
    }
    if !resolution.fixed {
        if let Some(unreachable) = resolution
            .allowed
            .iter()
            .find(|value| !request.resolutions.contains(value))
        {
            return Err(CatalogError::invalid(
                at,
                "resolution.allowed",
                format!(
                    "`{unreachable}` cannot be requested (requests may use {}); \
                     use fixed = true for a resolution that comes from the model",
                    request.resolutions.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

fn check_ratios(ratios: &[String], at: &str) -> Result<(), CatalogError> {
    if has_duplicates(ratios) || !ratios.iter().any(|ratio| is_plain_ratio(ratio)) {
        return Err(CatalogError::invalid(
            at,
            "ratios",
            "must list at least one plain ratio, each once",
        ));
    }
    if let Some(unknown) = ratios
        .iter()
        .find(|ratio| !is_plain_ratio(ratio) && ratio.as_str() != "adaptive")
    {
        return Err(CatalogError::invalid(
            at,
            "ratios",
            format!(
                "unknown ratio `{unknown}` (expected {} or adaptive)",
                KNOWN_RATIOS.join(", ")
            ),
        ));
    }
    Ok(())
}

fn has_duplicates<T: PartialEq>(items: &[T]) -> bool {
    items
        .iter()
        .enumerate()
        .any(|(index, item)| items[..index].contains(item))
}
