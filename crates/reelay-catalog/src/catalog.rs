//! [`Catalog`]: the checked model catalog, loaded from the embedded
//! `catalog.toml` and optionally an operator's override file, with the
//! validator, pricing and listing entry points.

use std::path::Path;

use serde_json::{json, Value};

use crate::listing::model_item;
use crate::load::{build, merge_override, parse_raw, CatalogError};
use crate::request::{Price, ValidateOptions, ValidatedRequest, ValidationError};
use crate::spec::{MediaLimits, ModelSpec, RequestRules};

/// The built-in catalog file, compiled into the binary.
pub const EMBEDDED_CATALOG: &str = include_str!("../catalog.toml");

/// Every model reelay knows, with its rules and prices.
#[derive(Clone, Debug)]
pub struct Catalog {
    models: Vec<ModelSpec>,
    request: RequestRules,
    media_limits: MediaLimits,
}

impl Catalog {
    /// The built-in catalog. A unit test proves the embedded file loads, so
    /// this never panics in a released build.
    pub fn embedded() -> Catalog {
        match Catalog::from_toml_str(EMBEDDED_CATALOG) {
            Ok(catalog) => catalog,
            Err(error) => panic!("the embedded catalog.toml is invalid: {error}"),
        }
    }

    /// A catalog from one complete TOML document (same format as `catalog.toml`).
    pub fn from_toml_str(text: &str) -> Result<Catalog, CatalogError> {
        let raw = parse_raw(text, "text")?;
        Catalog::from_raw(&raw)
    }

    /// The built-in catalog with an operator file applied: models with the same
    /// name are replaced, new ones added at the end; families with the same key
    /// are replaced; `[request]` keys and `[media_limits]` kinds replace the
    /// built-in ones; a top-level `replace = true` drops the built-in models
    /// (their families stay available to reference).
    pub fn with_override_file(path: &Path) -> Result<Catalog, CatalogError> {
        let text = std::fs::read_to_string(path).map_err(|source| CatalogError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Catalog::with_override_str(&text, &path.display().to_string())
    }

    /// Like [`Catalog::with_override_file`] with the file's text; `origin`
    /// names it in syntax errors.
    pub fn with_override_str(text: &str, origin: &str) -> Result<Catalog, CatalogError> {
        let base = parse_raw(EMBEDDED_CATALOG, "built-in catalog")?;
        let overlay = parse_raw(text, origin)?;
        let merged = merge_override(base, overlay)?;
        Catalog::from_raw(&merged)
    }

    fn from_raw(raw: &toml::Table) -> Result<Catalog, CatalogError> {
        let loaded = build(raw)?;
        Ok(Catalog {
            models: loaded.models,
            request: loaded.request,
            media_limits: loaded.media_limits,
        })
    }

    /// The model called `name` (exact, case-sensitive).
    pub fn model(&self, name: &str) -> Option<&ModelSpec> {
        self.models.iter().find(|model| model.name == name)
    }

    /// The model a client means by `name`: its name or one of its aliases.
    pub fn resolve(&self, name: &str) -> Option<&ModelSpec> {
        self.model(name).or_else(|| {
            self.models
                .iter()
                .find(|model| model.aliases.iter().any(|alias| alias == name))
        })
    }

    /// Every model name, in file order.
    pub fn model_names(&self) -> Vec<&str> {
        self.models
            .iter()
            .map(|model| model.name.as_str())
            .collect()
    }

    /// Every model, in file order.
    pub fn models(&self) -> &[ModelSpec] {
        &self.models
    }

    /// The request vocabulary shared by every model.
    pub fn request_rules(&self) -> &RequestRules {
        &self.request
    }

    /// Byte, pixel and duration limits of media, checked once the bytes are known.
    pub fn media_limits(&self) -> &MediaLimits {
        &self.media_limits
    }

    /// Validates a create (or quote) body and prices it.
    pub fn validate(
        &self,
        body: &Value,
        opts: &ValidateOptions,
    ) -> Result<ValidatedRequest, ValidationError> {
        crate::validate::validate(self, body, opts)
    }

    /// The price of a validated request under this catalog (the same as
    /// `req.price` when the catalog has not changed; `req.price` when the
    /// model is no longer listed).
    pub fn quote(&self, req: &ValidatedRequest) -> Price {
        match self.model(&req.model) {
            Some(spec) => crate::validate::price(spec, &req.resolution, req.duration),
            None => req.price.clone(),
        }
    }

    /// The `data` of `GET /models` (API.md §4): `{"items": [...]}`, one item
    /// per model in file order; `channels_for(model)` gives its channels.
    pub fn models_listing(&self, channels_for: &dyn Fn(&str) -> Vec<String>) -> Value {
        let items: Vec<Value> = self
            .models
            .iter()
            .map(|spec| model_item(spec, channels_for(&spec.name)))
            .collect();
        json!({ "items": items })
    }
}
