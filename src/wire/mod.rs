//! The wire layer: every JSON shape of reelay's HTTP API as a plain type that derives
//! `Serialize`, `Deserialize` and `utoipa::ToSchema`. One declaration per shape: handlers build
//! these types, `/openapi.json` is generated from them, and the Rust client (`crate::client`)
//! reads them.
//!
//! - [`seed`]: the public API under `/api/open-api/v1` (the Seedance 2.0 dialect and reelay's
//!   extensions): create bodies, quotes, tasks, accounts, ledger, keys, models, assets, real-person
//!   records.
//! - [`ark`]: Ark's task protocol under `/api/v3` (DIALECTS.md §2).
//! - [`openai`]: OpenAI's video API under `/v1/videos` (DIALECTS.md §3).
//! - [`admin`]: the operator API under `/admin/v1`.
//! - [`ops`]: `/healthz` and `/readyz`.
//! - [`envelope`]: the success envelope `{code, msg, data}`, its `code`, and the error bodies
//!   that every `#[utoipa::path]` names in its `responses`.
//!
//! Architecture Invariant: the wire layer has no logic and imports nothing of the crate but
//! other `wire` modules (serde, serde_json and utoipa only). Anything may import it: the HTTP
//! edges (`crate::api`), the client, the CLI and tests; it never imports them.
//!
//! Field order: the members of an answer are declared in name order. serde writes a struct's
//! fields in declaration order, and the answers were `json!` maps before they were typed, which
//! write their members sorted by name; keeping that order keeps every answer byte for byte what
//! it was (`tests/it/helpers.rs` checks each answer the integration tests read). The one
//! exception is the success envelope, which reelay has always written `code`, `msg`, `data`.
//! Request bodies are declared in reading order: reelay parses them from a JSON object, so their
//! order is never written.
//!
//! A member that an answer writes as `null` is an `Option` that always serializes; a member that
//! an answer leaves out when it has no value has `skip_serializing_if`. A member that can be both
//! (present as `null`, or absent) is an `Option<Option<_>>` read with [`present`].

pub mod admin;
pub mod ark;
pub mod envelope;
pub mod openai;
pub mod ops;
pub mod seed;

/// Reads a member that is there, `null` or not, as `Some`: with `#[serde(default)]`, an
/// `Option<Option<T>>` then tells an absent member (`None`) from a `null` one (`Some(None)`),
/// and writes each back as it was read (with `skip_serializing_if = "Option::is_none"`).
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}
