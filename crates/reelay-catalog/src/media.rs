//! Media references in a request: [`MediaRef`] (an `https://` URL or an
//! `asset://{id}`), its parser, and [`MediaItem`], one media of a validated
//! request with the field it came from, so the server can check asset
//! ownership (40003) after validation.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::spec::MediaForm;

/// Prefix of a URL reference.
pub const HTTPS_PREFIX: &str = "https://";
/// Prefix of a plain-HTTP URL, accepted only with `ValidateOptions::allow_http_media`.
pub const HTTP_PREFIX: &str = "http://";
/// Prefix of an asset reference.
pub const ASSET_PREFIX: &str = "asset://";

/// One media item of a request, as the client wrote it.
///
/// Serialises as the original string (`"https://..."` / `"asset://id"`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MediaRef {
    /// A full `https://` URL (prefix included).
    Https(String),
    /// An asset id, without the `asset://` prefix.
    Asset(String),
}

/// Why a string is not a media reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaRefError {
    /// The string is empty (or only whitespace).
    Empty,
    /// Neither `https://` nor `asset://` (e.g. `http://`, a path, garbage).
    UnknownForm,
    /// `https://` with no host, or with whitespace or control characters.
    BadUrl,
    /// `asset://` with an empty id, or an id with whitespace, control characters or `/`.
    BadAssetId,
}

impl MediaRef {
    /// Parses a media string. Prefixes are case-sensitive (`https://`, `asset://`).
    pub fn parse(text: &str) -> Result<MediaRef, MediaRefError> {
        if text.trim().is_empty() {
            return Err(MediaRefError::Empty);
        }
        if let Some(rest) = text.strip_prefix(HTTPS_PREFIX) {
            let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            let host = &rest[..host_end];
            let clean = !text.chars().any(|c| c.is_whitespace() || c.is_control());
            if host.is_empty() || !clean {
                return Err(MediaRefError::BadUrl);
            }
            return Ok(MediaRef::Https(text.to_string()));
        }
        if let Some(id) = text.strip_prefix(ASSET_PREFIX) {
            let clean = !id
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '/');
            if id.is_empty() || !clean {
                return Err(MediaRefError::BadAssetId);
            }
            return Ok(MediaRef::Asset(id.to_string()));
        }
        Err(MediaRefError::UnknownForm)
    }

    /// The asset id (without `asset://`) when this is an asset reference.
    pub fn as_asset_id(&self) -> Option<&str> {
        match self {
            MediaRef::Asset(id) => Some(id),
            MediaRef::Https(_) => None,
        }
    }

    /// The URL when this is an `https://` reference.
    pub fn as_url(&self) -> Option<&str> {
        match self {
            MediaRef::Https(url) => Some(url),
            MediaRef::Asset(_) => None,
        }
    }

    /// The form of this reference.
    pub fn form(&self) -> MediaForm {
        match self {
            MediaRef::Https(_) => MediaForm::Https,
            MediaRef::Asset(_) => MediaForm::Asset,
        }
    }
}

impl fmt::Display for MediaRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MediaRef::Https(url) => f.write_str(url),
            MediaRef::Asset(id) => write!(f, "{ASSET_PREFIX}{id}"),
        }
    }
}

impl Serialize for MediaRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MediaRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<MediaRef, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text.starts_with(HTTP_PREFIX) {
            // Stored requests were validated when accepted (http:// only in development).
            return Ok(MediaRef::Https(text));
        }
        MediaRef::parse(&text).map_err(|error| {
            serde::de::Error::custom(format!("invalid media reference {text:?}: {error:?}"))
        })
    }
}

/// What a media field holds, so the server can check an asset's type.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    /// `images[i]`, `first_image`, `last_image`.
    Image,
    /// `reference_videos[i]`.
    Video,
    /// `reference_audios[i]`.
    Audio,
}

/// One media of a validated request with the field it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaItem<'a> {
    /// Field name as used in error `param`s: `images[1]`, `first_image`, `reference_videos[0]`.
    pub field: String,
    /// What kind of media the field holds.
    pub kind: MediaKind,
    /// The reference itself.
    pub media: &'a MediaRef,
}
