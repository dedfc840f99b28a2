//! Files uploaded through the vendor's `POST /files/upload` (DIALECTS.md §1): sniffed (never
//! trusted from their name), stored under `uploads/{account}/{id}.{ext}`, owned by the account
//! and answered with a signed reelay URL valid for the results retention. That URL works
//! wherever a media URL does: reelay recognises its own URLs ([`Assets::read_own_url`]) and
//! reads them from storage, so they work with private networks refused.

use bytes::Bytes;
use reelay_media::{sniff, MediaFormat};

use super::spool::{SpoolError, Spooled};
use super::Assets;
use crate::ids;
use crate::storage::StorageError;
use crate::store::uploads::{self, UploadRow};

/// An upload that was stored.
#[derive(Debug, Clone)]
pub(crate) struct Uploaded {
    pub url: String,
    pub filename: String,
    pub size: i64,
    pub mime_type: String,
}

/// Why a file was not stored.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UploadError {
    #[error("the file is empty")]
    Empty,
    #[error("{size} bytes is larger than the limit of {limit} bytes")]
    TooLarge { size: u64, limit: u64 },
    #[error(
        "not a supported media file (images: jpg, jpeg, png, gif, webp, bmp; video: mp4, mov, webm; audio: mp3, wav, m4a, aac, flac, ogg)"
    )]
    Unsupported,
    #[error("storing the file failed: {0}")]
    Storage(#[from] StorageError),
    #[error("{0}")]
    Spool(#[from] SpoolError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// How much of a file's start is read to tell its type.
const SNIFF_BYTES: usize = 64 * 1024;

/// A sniffed upload type: its MIME type and the extension it is stored under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileType {
    pub mime: &'static str,
    pub extension: &'static str,
}

/// What the bytes are, from their first bytes alone.
pub(crate) fn sniff_file(bytes: &[u8]) -> Option<FileType> {
    let known = |mime, extension| Some(FileType { mime, extension });
    if let Some(format) = sniff(bytes) {
        return match format {
            MediaFormat::Jpeg => known("image/jpeg", "jpg"),
            MediaFormat::Png => known("image/png", "png"),
            MediaFormat::Webp => known("image/webp", "webp"),
            MediaFormat::Bmp => known("image/bmp", "bmp"),
            MediaFormat::Gif => known("image/gif", "gif"),
            MediaFormat::Mp4 => known("video/mp4", "mp4"),
            MediaFormat::Mov => known("video/quicktime", "mov"),
            MediaFormat::Mp3 => known("audio/mpeg", "mp3"),
            MediaFormat::Wav => known("audio/wav", "wav"),
        };
    }
    let brand = bytes.get(4..12);
    if brand.is_some_and(|b| b.starts_with(b"ftypM4A ") || b.starts_with(b"ftypM4B ")) {
        return known("audio/mp4", "m4a");
    }
    if bytes.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return known("video/webm", "webm");
    }
    if bytes.starts_with(b"fLaC") {
        return known("audio/flac", "flac");
    }
    if bytes.starts_with(b"OggS") {
        return known("audio/ogg", "ogg");
    }
    // ADTS AAC: a 12-bit sync word and layer 0.
    if bytes.len() >= 2 && bytes[0] == 0xFF && bytes[1] & 0xF6 == 0xF0 {
        return known("audio/aac", "aac");
    }
    None
}

/// The name a file is answered with: the client's, without any path, or `upload.{ext}`.
fn clean_filename(name: Option<&str>, extension: &str) -> String {
    let base = name
        .map(|n| n.rsplit(['/', '\\']).next().unwrap_or(n))
        .map(|n| n.chars().filter(|c| !c.is_control()).collect::<String>())
        .filter(|n| !n.trim().is_empty());
    match base {
        Some(name) => name.chars().take(255).collect(),
        None => format!("upload.{extension}"),
    }
}

impl Assets {
    /// Stores an uploaded file (in the spool, finished) for `account_id`; its URL works until
    /// `retention_secs` from now (0: for as long as the file is kept).
    pub(crate) async fn upload_file(
        &self,
        account_id: &str,
        filename: Option<&str>,
        file: &Spooled,
        retention_secs: i64,
    ) -> Result<Uploaded, UploadError> {
        if file.is_empty() {
            return Err(UploadError::Empty);
        }
        let limit = self.settings.max_upload_bytes;
        if file.len() > limit {
            return Err(UploadError::TooLarge {
                size: file.len(),
                limit,
            });
        }
        let head = file.head(SNIFF_BYTES).await?;
        let file_type = sniff_file(&head).ok_or(UploadError::Unsupported)?;
        let id = ids::new_id("upl");
        let object_key = format!("uploads/{account_id}/{id}.{}", file_type.extension);
        let size = file.len() as i64;
        self.storage.put_file(&object_key, file.path()).await?;
        let now = crate::store::now();
        let expires_at = (retention_secs > 0).then(|| now + retention_secs);
        let row = UploadRow {
            id,
            account_id: account_id.to_string(),
            object_key,
            filename: clean_filename(filename, file_type.extension),
            size,
            mime_type: file_type.mime.to_string(),
            created_at: now,
            expires_at,
        };
        if let Err(error) = uploads::insert(&self.db, &row).await {
            // Not recorded: nothing would ever delete the object.
            let _ = self.storage.delete(&row.object_key).await;
            return Err(error.into());
        }
        let url = format!(
            "{}{}",
            self.public_url,
            self.storage
                .signed_path(&row.object_key, expires_at.unwrap_or(0))
        );
        Ok(Uploaded {
            url,
            filename: row.filename,
            size,
            mime_type: row.mime_type,
        })
    }

    /// [`Assets::upload_file`] for bytes already in memory (a decoded `data:` URL of a JSON
    /// body): written to the spool, then stored the same way.
    pub(crate) async fn upload_bytes(
        &self,
        account_id: &str,
        filename: Option<&str>,
        bytes: &[u8],
        retention_secs: i64,
    ) -> Result<Uploaded, UploadError> {
        if bytes.is_empty() {
            return Err(UploadError::Empty);
        }
        let limit = self.settings.max_upload_bytes;
        if bytes.len() as u64 > limit {
            return Err(UploadError::TooLarge {
                size: bytes.len() as u64,
                limit,
            });
        }
        let mut file = self.spool.create(limit).await?;
        file.write(bytes).await?;
        file.finish().await?;
        self.upload_file(account_id, filename, &file, retention_secs)
            .await
    }

    /// The bytes behind `url` when it is one of reelay's own live signed file URLs, read from
    /// storage (never over the network); `None` for any other URL.
    pub(crate) async fn read_own_url(&self, url: &str) -> Option<Result<Bytes, StorageError>> {
        let key = self
            .storage
            .own_key(&self.public_url, url, crate::store::now())?;
        Some(self.storage.read(&key, None).await.map(|read| read.bytes))
    }

    /// Deletes uploads past their time (object, then row); how many were deleted.
    pub(crate) async fn sweep_expired_uploads(&self) -> Result<u64, sqlx::Error> {
        let now = crate::store::now();
        let mut deleted = 0;
        for row in uploads::expired(&self.db, now, 500).await? {
            match self.storage.delete(&row.object_key).await {
                Ok(()) | Err(StorageError::NotFound) => {
                    uploads::delete(&self.db, &row.id).await?;
                    deleted += 1;
                }
                Err(error) => {
                    tracing::warn!(%error, key = %row.object_key, "deleting an expired upload failed; retried on the next sweep");
                }
            }
        }
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_known_by_their_bytes() {
        assert_eq!(
            sniff_file(b"\x89PNG\r\n\x1a\n0000").map(|t| t.extension),
            Some("png")
        );
        assert_eq!(
            sniff_file(b"fLaC\0\0\0\x22").map(|t| t.mime),
            Some("audio/flac")
        );
        assert_eq!(sniff_file(b"OggS\0\x02").map(|t| t.extension), Some("ogg"));
        assert_eq!(
            sniff_file(&[0x1A, 0x45, 0xDF, 0xA3, 0x9F]).map(|t| t.extension),
            Some("webm")
        );
        assert_eq!(
            sniff_file(b"\0\0\0\x20ftypM4A \0\0\0\0").map(|t| t.extension),
            Some("m4a")
        );
        assert_eq!(
            sniff_file(&[0xFF, 0xF1, 0x50, 0x80]).map(|t| t.extension),
            Some("aac")
        );
        assert_eq!(sniff_file(b"hello world"), None);
    }

    #[test]
    fn filenames_lose_their_path() {
        assert_eq!(clean_filename(Some("../../etc/cat.png"), "png"), "cat.png");
        assert_eq!(clean_filename(Some("C:\\x\\dog.jpg"), "jpg"), "dog.jpg");
        assert_eq!(clean_filename(Some("  "), "png"), "upload.png");
        assert_eq!(clean_filename(None, "mp4"), "upload.mp4");
    }
}
