//! reelay's model catalog.
//!
//! The catalog is data: `catalog.toml` (embedded at build time, overridable
//! by the operator's `catalog.path`) lists every model with its family, its
//! rules and its prices. One generic validator reads that data and turns a
//! raw create body into a [`ValidatedRequest`], the only thing billing and
//! dispatch accept; `GET /models` publishes the same data through
//! [`Catalog::models_listing`].
//!
//! Architecture Invariant: no code path names a model or family; adding or
//! changing a model is an edit of `catalog.toml`.
//!
//! Modules: `spec` (data types), `load` (TOML → checked catalog, overrides),
//! `catalog` (the [`Catalog`] API), `validate` + `media_rules` + `json` (the
//! validator), `request` (its inputs and outputs), `media` ([`MediaRef`]),
//! `sizes` (output pixel sizes, ratio snapping), `listing` (`GET /models`).

mod catalog;
mod json;
mod listing;
mod load;
mod media;
mod media_rules;
mod request;
mod sizes;
mod spec;
mod validate;

pub use catalog::{Catalog, EMBEDDED_CATALOG};
pub use load::CatalogError;
pub use media::{MediaItem, MediaKind, MediaRef, MediaRefError, ASSET_PREFIX, HTTPS_PREFIX};
pub use request::{ErrorKind, Price, ValidateOptions, ValidatedRequest, ValidationError};
pub use sizes::{nearest_ratio, output_size, KNOWN_RATIOS, KNOWN_RESOLUTIONS, OUTPUT_FPS};
pub use spec::{
    BillingUnit, DurationSpec, FrameMode, ImageLimits, ImageSpec, MediaForm, MediaLimits,
    ModelSpec, ReferenceAudioSpec, ReferenceVideoSpec, RequestRules, ResolutionSpec,
    TimedMediaLimits,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalog_parses() {
        let catalog = Catalog::from_toml_str(EMBEDDED_CATALOG);
        assert!(catalog.is_ok(), "{:?}", catalog.err());
        assert_eq!(Catalog::embedded().model_names().len(), 22);
    }
}
