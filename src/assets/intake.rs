//! Intake: from a URL or uploaded bytes to a stored, probed asset.
//!
//! A URL is fetched in the background with the safe fetcher (API.md §7): the caller gets the id
//! at once with `Processing` and polls. An uploaded file is probed before the answer, so a
//! multipart upload answers with its final status (`Active`, `Failed`, or `Processing` while a
//! review is pending). Quotas are checked up front (count, bytes already held) and again once the
//! size is known.
//!
//! Both kinds arrive in a temporary file ([`super::spool`]), with the cap checked as the bytes
//! come; the probe reads only the file's headers and storage gets it in parts.

use futures::StreamExt;
use reelay_media::{probe_and_check_reader, MediaKind};

use super::spool::{SpoolError, Spooled};
use super::{object_key, Assets, Purpose, ACTIVE, PROCESSING};
use crate::config::ReviewPolicy;
use crate::store::assets::{self as rows, AssetRow, NewAsset, Probed};

/// Where an asset's bytes come from.
pub enum Source {
    /// A user's URL, fetched in the background.
    Url(String),
    /// A file uploaded with the request (multipart), already in the spool.
    File(Spooled),
}

/// Why reading one of reelay's own URLs into the spool stopped.
enum OwnRead {
    TooLarge,
    Storage(crate::storage::StorageError),
    Spool(SpoolError),
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
            Source::File(file) => {
                if file.len() > limit {
                    return Err(IntakeError::TooLarge {
                        size: file.len(),
                        limit,
                    });
                }
                None
            }
        };
        let incoming = match &upload.source {
            Source::File(file) => file.len() as i64,
            Source::Url(_) => 0,
        };
        self.check_quota(account_id, incoming).await?;
        let id = crate::ids::new_ordered_id(upload.purpose.id_prefix());
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
            Source::File(file) => {
                self.finish(&row, upload.purpose, upload.kind, file).await;
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
        let mut file = match self.spool.create(cap).await {
            Ok(file) => file,
            Err(error) => {
                tracing::error!(asset_id = %row.id, %error, "creating a temporary file failed");
                return self
                    .fail(&row.id, "internal error while storing; upload again")
                    .await;
            }
        };
        if let Some(read) = self.read_own_url_into(url, &mut file).await {
            return match read {
                Ok(()) => self.finish(row, purpose, kind, file).await,
                Err(OwnRead::TooLarge) => {
                    let message = format!("url: more than the {cap} bytes allowed");
                    self.fail(&row.id, &message).await
                }
                Err(OwnRead::Storage(error)) => self.fail(&row.id, &format!("url: {error}")).await,
                Err(OwnRead::Spool(error)) => {
                    tracing::error!(asset_id = %row.id, %error, "writing a temporary file failed");
                    self.fail(&row.id, "internal error while storing; upload again")
                        .await
                }
            };
        }
        match self.fetcher.get_into(url, cap, &mut file).await {
            Ok(_) => self.finish(row, purpose, kind, file).await,
            Err(error) => self.fail(&row.id, &format!("url: {error}")).await,
        }
    }

    /// Copies the object behind `url` into `file` when `url` is one of reelay's own live signed
    /// file URLs (read from storage, never over the network); `None` for any other URL.
    async fn read_own_url_into(
        &self,
        url: &str,
        file: &mut Spooled,
    ) -> Option<Result<(), OwnRead>> {
        let key = self
            .storage
            .own_key(&self.public_url, url, crate::store::now())?;
        let copy = async {
            let mut opened = self
                .storage
                .open(&key, None)
                .await
                .map_err(OwnRead::Storage)?;
            while let Some(chunk) = opened.stream.next().await {
                let chunk = chunk.map_err(|e| OwnRead::Storage(e.into()))?;
                file.write(&chunk).await.map_err(|error| match error {
                    SpoolError::TooLarge { .. } => OwnRead::TooLarge,
                    error => OwnRead::Spool(error),
                })?;
            }
            file.finish().await.map_err(OwnRead::Spool)
        };
        Some(copy.await)
    }

    /// Probes, stores and records the outcome of an asset's file.
    async fn finish(&self, row: &AssetRow, purpose: Purpose, kind: MediaKind, mut file: Spooled) {
        let size = file.len() as i64;
        let probed = match self.probe_file(&mut file, kind).await {
            Ok(probed) => probed,
            Err(reason) => return self.fail(&row.id, &reason).await,
        };
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
        if let Err(error) = self.storage.put_file(&key, file.path()).await {
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

    /// Probes and checks `file` against the media limits, reading only its headers.
    async fn probe_file(
        &self,
        file: &mut Spooled,
        kind: MediaKind,
    ) -> Result<reelay_media::Probe, String> {
        let internal = "internal error while storing; upload again".to_string();
        if let Err(error) = file.finish().await {
            tracing::error!(%error, "flushing a temporary file failed");
            return Err(internal);
        }
        let path = file.path().to_path_buf();
        let len = file.len();
        let limits = self.limits.clone();
        let probed = tokio::task::spawn_blocking(move || {
            let mut reader = std::fs::File::open(path)?;
            Ok::<_, std::io::Error>(probe_and_check_reader(kind, &mut reader, len, &limits))
        })
        .await;
        match probed {
            Ok(Ok(result)) => result,
            Ok(Err(error)) => {
                tracing::error!(%error, "reading a temporary file failed");
                Err(internal)
            }
            Err(error) => {
                tracing::error!(%error, "probing a file panicked");
                Err(internal)
            }
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
