//! Intake: from a URL or uploaded bytes to a stored, probed asset.
//!
//! A URL is fetched in the background with the safe fetcher (API.md §7): the caller gets the id
//! at once with `Processing` and polls. Uploaded bytes are probed before the answer, so a
//! multipart upload answers with its final status (`Active`, `Failed`, or `Processing` while a
//! review is pending). Quotas are checked up front (count, bytes already held) and again once the
//! size is known.

use bytes::Bytes;
use reelay_media::{probe_and_check, MediaKind};

use super::{object_key, Assets, Purpose, ACTIVE, PROCESSING};
use crate::config::ReviewPolicy;
use crate::store::assets::{self as rows, AssetRow, NewAsset, Probed};

/// Where an asset's bytes come from.
pub enum Source {
    /// A user's URL, fetched in the background.
    Url(String),
    /// Bytes uploaded with the request (multipart).
    Bytes(Bytes),
}

/// One upload request, already parsed.
pub struct Upload {
    pub purpose: Purpose,
    pub kind: MediaKind,
    pub name: String,
    pub source: Source,
}

/// Why an upload is refused before an asset exists.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The URL cannot be fetched as written (scheme, host, userinfo).
    #[error("url: {0}")]
    BadUrl(String),
    /// The account's asset count or byte quota is used up.
    #[error("{0}")]
    Quota(String),
    /// The uploaded file is larger than `assets.max_upload_bytes`.
    #[error("the file is {size} bytes; uploads are limited to {limit} bytes")]
    TooLarge { size: u64, limit: u64 },
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

impl Assets {
    /// Registers an upload and starts (URL) or finishes (bytes) its intake.
    pub async fn submit(&self, account_id: &str, upload: Upload) -> Result<AssetRow, IntakeError> {
        let limit = self.settings.max_upload_bytes;
        let source_url = match &upload.source {
            Source::Url(url) => {
                self.fetcher
                    .check_url_shape(url)
                    .map_err(|e| IntakeError::BadUrl(e.to_string()))?;
                Some(url.trim().to_string())
            }
            Source::Bytes(bytes) => {
                if bytes.len() as u64 > limit {
                    return Err(IntakeError::TooLarge {
                        size: bytes.len() as u64,
                        limit,
                    });
                }
                None
            }
        };
        let incoming = match &upload.source {
            Source::Bytes(bytes) => bytes.len() as i64,
            Source::Url(_) => 0,
        };
        self.check_quota(account_id, incoming).await?;
        let id = crate::ids::new_id(upload.purpose.id_prefix());
        let row = rows::insert(
            &self.db,
            &NewAsset {
                id: &id,
                account_id,
                purpose: upload.purpose.as_str(),
                kind: upload.kind.as_str(),
                name: &upload.name,
                source_url: source_url.as_deref(),
            },
        )
        .await?;
        tracing::info!(asset_id = %id, purpose = upload.purpose.as_str(), kind = upload.kind.as_str(), "asset accepted");
        match upload.source {
            Source::Bytes(bytes) => {
                self.finish(&row, upload.purpose, upload.kind, bytes).await;
                Ok(rows::get(&self.db, &id).await?.unwrap_or(row))
            }
            Source::Url(url) => {
                let this = self.clone();
                let background = row.clone();
                tokio::spawn(async move {
                    this.fetch_and_finish(&background, upload.purpose, upload.kind, &url)
                        .await;
                });
                Ok(row)
            }
        }
    }

    /// Refuses a new upload when the account holds too many assets or bytes.
    async fn check_quota(&self, account_id: &str, incoming: i64) -> Result<(), IntakeError> {
        let (count, bytes) = rows::usage(&self.db, account_id).await?;
        let max_count = self.settings.max_per_account;
        let max_bytes = self.settings.max_bytes_per_account;
        if count as u64 >= max_count {
            return Err(IntakeError::Quota(format!(
                "asset quota reached: this account holds {count} assets and the limit is {max_count}; delete some with POST /seedance/sp/assets/delete"
            )));
        }
        if (bytes + incoming) as u64 > max_bytes {
            return Err(IntakeError::Quota(format!(
                "asset storage quota reached: this account's assets take {bytes} bytes and the limit is {max_bytes} bytes; delete some with POST /seedance/sp/assets/delete"
            )));
        }
        Ok(())
    }

    async fn fetch_and_finish(&self, row: &AssetRow, purpose: Purpose, kind: MediaKind, url: &str) {
        let cap = self
            .limits
            .max_bytes(kind)
            .min(self.settings.max_upload_bytes);
        if let Some(read) = self.read_own_url(url).await {
            return match read {
                Ok(bytes) if bytes.len() as u64 <= cap => {
                    self.finish(row, purpose, kind, bytes).await
                }
                Ok(bytes) => {
                    let message =
                        format!("url: {} bytes is more than the {cap} allowed", bytes.len());
                    self.fail(&row.id, &message).await
                }
                Err(error) => self.fail(&row.id, &format!("url: {error}")).await,
            };
        }
        match self.fetcher.get(url, cap).await {
            Ok(fetched) => self.finish(row, purpose, kind, fetched.bytes).await,
            Err(error) => self.fail(&row.id, &format!("url: {error}")).await,
        }
    }

    /// Probes, stores and records the outcome of an asset's bytes.
    async fn finish(&self, row: &AssetRow, purpose: Purpose, kind: MediaKind, bytes: Bytes) {
        let probed = match probe_and_check(kind, &bytes, &self.limits) {
            Ok(probed) => probed,
            Err(reason) => return self.fail(&row.id, &reason).await,
        };
        let size = bytes.len() as i64;
        match rows::usage(&self.db, &row.account_id).await {
            Ok((_, used)) if (used + size) as u64 > self.settings.max_bytes_per_account => {
                let reason = format!(
                    "asset storage quota reached: this account's assets take {used} bytes, this file {size} bytes, and the limit is {} bytes",
                    self.settings.max_bytes_per_account
                );
                return self.fail(&row.id, &reason).await;
            }
            Ok(_) => {}
            Err(error) => {
                tracing::error!(asset_id = %row.id, %error, "reading asset usage failed");
                return self
                    .fail(&row.id, "internal error while storing; upload again")
                    .await;
            }
        }
        let key = object_key(&row.account_id, &row.id);
        if let Err(error) = self.storage.put(&key, bytes.to_vec()).await {
            tracing::error!(asset_id = %row.id, %error, "storing an asset failed");
            return self
                .fail(&row.id, "internal error while storing; upload again")
                .await;
        }
        let (status, review, reviewed_by) = match purpose.policy(&self.settings) {
            None => (ACTIVE, None, None),
            Some(ReviewPolicy::Auto) => (ACTIVE, Some("approved"), Some("auto")),
            Some(ReviewPolicy::Manual) => (PROCESSING, Some("pending"), None),
        };
        let facts = Probed {
            object_key: &key,
            format: probed.format.as_str(),
            width: probed.width.map(i64::from),
            height: probed.height.map(i64::from),
            duration_ms: probed.duration_secs.map(|s| (s * 1000.0).round() as i64),
            size_bytes: size,
        };
        match rows::mark_stored(&self.db, &row.id, &facts, status, review, reviewed_by).await {
            Ok(true) => tracing::info!(asset_id = %row.id, status, review, "asset stored"),
            Ok(false) => {
                // Deleted while it was being processed: drop the bytes again.
                let _ = self.storage.delete(&key).await;
            }
            Err(error) => tracing::error!(asset_id = %row.id, %error, "recording an asset failed"),
        }
    }

    async fn fail(&self, id: &str, reason: &str) {
        tracing::info!(asset_id = %id, reason, "asset refused");
        if let Err(error) = rows::mark_failed(&self.db, id, reason).await {
            tracing::error!(asset_id = %id, %error, "recording an asset failure failed");
        }
    }

    /// Deletes an account's asset and its bytes; false when the account has no such asset.
    /// Tasks already queued with it fail with a refund when they run.
    pub async fn delete(&self, account_id: &str, id: &str) -> Result<bool, sqlx::Error> {
        let Some(row) = rows::get_for_account(&self.db, account_id, id).await? else {
            return Ok(false);
        };
        let deleted = rows::delete(&self.db, account_id, id).await?;
        let key = row.object_key.unwrap_or_else(|| object_key(account_id, id));
        if let Err(error) = self.storage.delete(&key).await {
            tracing::warn!(asset_id = %id, %error, "deleting an asset's bytes failed");
        }
        Ok(deleted)
    }
}
