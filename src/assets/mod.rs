//! Assets (API.md §3): the SP asset library, Full-route audited assets and the real-person
//! whitelist. All three are rows of one table (`store::assets`) told apart by [`Purpose`]:
//!
//! - [`intake`]: a URL (fetched safely in the background) or uploaded bytes (probed at once) →
//!   sniffed and probed against the media limits → stored under `assets/{account}/{id}` →
//!   `Active`, `Failed` with a reason, or (reviewed purposes, `manual` policy) `Processing` with
//!   review `pending`.
//! - [`review`]: an operator's approve / reject, recorded in the admin audit trail.
//! - [`refs`]: the create-time check of `asset://` references (40003 problems).
//!
//! Architecture Invariant: an asset's bytes are read only from object storage once stored; a
//! task never re-fetches the user's URL. Upstream channels get a short-lived signed URL
//! ([`Assets::signed_url`]).

pub mod intake;
pub mod refs;
pub mod review;
pub mod spool;
pub mod uploads;

use std::sync::Arc;

use bytes::Bytes;
use reelay_media::{Fetcher, MediaKind, MediaLimits};

use crate::config::{AssetSettings, ReviewPolicy};
use crate::storage::{Storage, StorageError};
use crate::store::Db;

pub use crate::store::assets::{AssetFilter, AssetRow};

/// Status of an asset still being fetched, probed or reviewed.
pub(crate) const PROCESSING: &str = "Processing";
/// Status of a usable asset.
pub(crate) const ACTIVE: &str = "Active";

/// Why an asset exists; decides its id prefix and whether it needs a review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `POST /seedance/sp/assets/upload`: usable once probed.
    Library,
    /// `POST /seedance/assets/audit`: probed, then reviewed under `assets.audit_policy`.
    Audit,
    /// `POST /seedance/sp/realperson/submit`: an image probed, then reviewed under
    /// `assets.realperson_policy`.
    RealPerson,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Library => "library",
            Purpose::Audit => "audit",
            Purpose::RealPerson => "realperson",
        }
    }

    pub fn parse(text: &str) -> Option<Purpose> {
        match text {
            "library" => Some(Purpose::Library),
            "audit" => Some(Purpose::Audit),
            "realperson" => Some(Purpose::RealPerson),
            _ => None,
        }
    }

    /// `asset` or `rp`.
    pub(crate) fn id_prefix(self) -> &'static str {
        match self {
            Purpose::RealPerson => "rp",
            _ => "asset",
        }
    }

    /// The review policy, or `None` when the purpose needs no review.
    pub fn policy(self, settings: &AssetSettings) -> Option<ReviewPolicy> {
        match self {
            Purpose::Library => None,
            Purpose::Audit => Some(settings.audit_policy),
            Purpose::RealPerson => Some(settings.realperson_policy),
        }
    }

    /// Whether assets of this purpose count as audited (accepted by `assets_audited` models).
    pub(crate) fn is_audited(self) -> bool {
        !matches!(self, Purpose::Library)
    }
}

/// `image`, `video` or `audio`.
pub(crate) fn parse_kind(text: &str) -> Option<MediaKind> {
    match text {
        "image" => Some(MediaKind::Image),
        "video" => Some(MediaKind::Video),
        "audio" => Some(MediaKind::Audio),
        _ => None,
    }
}

/// Object key of an asset's bytes.
pub(crate) fn object_key(account_id: &str, asset_id: &str) -> String {
    format!("assets/{account_id}/{asset_id}")
}

/// `asset://{id}` of an Active real-person record (its `asset_ref`).
pub fn asset_ref(row: &AssetRow) -> Option<String> {
    (row.status == ACTIVE).then(|| format!("asset://{}", row.id))
}

/// Everything asset handling needs; cheap to clone.
#[derive(Clone)]
pub struct Assets {
    pub db: Db,
    pub storage: Storage,
    pub fetcher: Fetcher,
    pub limits: MediaLimits,
    pub settings: Arc<AssetSettings>,
    /// Origin of reelay's own URLs (`server.public_url`), to recognise them as inputs.
    pub public_url: Arc<str>,
    /// Where uploads and downloads are written while they arrive.
    pub spool: spool::Spool,
}

/// Why a stored asset's bytes cannot be used by a task.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UseError {
    #[error("asset://{0} no longer exists (it was deleted)")]
    Gone(String),
    #[error("asset://{id} is {status}, not Active")]
    NotActive { id: String, status: String },
    #[error("reading asset://{id} from storage failed: {reason}")]
    Storage { id: String, reason: String },
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

impl Assets {
    /// An asset of this account, of any purpose; others' assets are invisible (`None`).
    pub(crate) async fn get_for_account(
        &self,
        account_id: &str,
        id: &str,
    ) -> Result<Option<AssetRow>, sqlx::Error> {
        crate::store::assets::get_for_account(&self.db, account_id, id).await
    }

    /// A page of an account's assets, newest first.
    pub(crate) async fn page(
        &self,
        filter: &crate::store::assets::AssetFilter<'_>,
    ) -> Result<Vec<AssetRow>, sqlx::Error> {
        crate::store::assets::page(&self.db, filter).await
    }

    /// The bytes of an Active asset, read from object storage (the local renderer's input).
    pub(crate) async fn read_active(&self, id: &str) -> Result<(AssetRow, Bytes), UseError> {
        let row = crate::store::assets::get(&self.db, id)
            .await?
            .ok_or_else(|| UseError::Gone(id.to_string()))?;
        if row.status != ACTIVE {
            return Err(UseError::NotActive {
                id: id.to_string(),
                status: row.status,
            });
        }
        let key = row
            .object_key
            .clone()
            .ok_or_else(|| UseError::Gone(id.to_string()))?;
        match self.storage.read(&key, None).await {
            Ok(read) => Ok((row, read.bytes)),
            Err(StorageError::NotFound) => Err(UseError::Gone(id.to_string())),
            Err(other) => Err(UseError::Storage {
                id: id.to_string(),
                reason: other.to_string(),
            }),
        }
    }
}

/// The local channel reads `asset://` inputs through the library (by the stored bytes, never
/// a re-fetch).
impl crate::providers::local::AssetReader for Assets {
    fn read_active<'a>(
        &'a self,
        id: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<Vec<u8>, crate::providers::local::AssetReadError>>
    {
        use crate::providers::local::AssetReadError;
        Box::pin(async move {
            match Assets::read_active(self, id).await {
                Ok((_row, bytes)) => Ok(bytes.to_vec()),
                Err(UseError::Db(error)) => Err(AssetReadError::Internal(error.to_string())),
                Err(other) => Err(AssetReadError::Unusable(other.to_string())),
            }
        })
    }

    fn read_own_url<'a>(
        &'a self,
        url: &'a str,
    ) -> futures::future::BoxFuture<
        'a,
        Option<Result<Vec<u8>, crate::providers::local::AssetReadError>>,
    > {
        use crate::providers::local::AssetReadError;
        Box::pin(async move {
            match Assets::read_own_url(self, url).await? {
                Ok(bytes) => Some(Ok(bytes.to_vec())),
                Err(StorageError::NotFound) => Some(Err(AssetReadError::Unusable(
                    "this reelay file URL's file was deleted (past its retention)".into(),
                ))),
                Err(error) => Some(Err(AssetReadError::Internal(error.to_string()))),
            }
        })
    }
}

impl Assets {
    /// A URL to the asset's stored bytes that works for `ttl_secs` (for upstream channels and
    /// operators reviewing an asset). `None` until the bytes are stored.
    pub(crate) fn signed_url(
        &self,
        public_url: &str,
        row: &AssetRow,
        ttl_secs: i64,
    ) -> Option<String> {
        let key = row.object_key.as_deref()?;
        let expires = crate::clock::now() + ttl_secs.max(1);
        Some(format!(
            "{public_url}{}",
            self.storage.signed_path(key, expires)
        ))
    }
}
