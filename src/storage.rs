//! Object storage for results (`object_store`: the local filesystem by default), the key layout,
//! and HMAC-signed, expiring URLs that reelay serves itself (with `Range`).

use std::ops::Range;
use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectStore, PutPayload};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Key of a task's video.
pub fn video_key(task_id: &str) -> String {
    format!("results/{task_id}/video.mp4")
}

/// Key of a task's last frame.
pub fn last_frame_key(task_id: &str) -> String {
    format!("results/{task_id}/last_frame.png")
}

/// Storage failures, with "not found" kept apart.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("object not found")]
    NotFound,
    #[error("object storage: {0}")]
    Other(String),
}

impl From<object_store::Error> for StorageError {
    fn from(error: object_store::Error) -> StorageError {
        match error {
            object_store::Error::NotFound { .. } => StorageError::NotFound,
            other => StorageError::Other(other.to_string()),
        }
    }
}

/// A byte range read from storage, with the object's total size.
pub struct RangeRead {
    pub bytes: Bytes,
    pub range: Range<u64>,
    pub total: u64,
}

/// A byte range of an object as a stream (for serving files without buffering them).
pub struct RangeStream {
    pub stream: futures::stream::BoxStream<'static, Result<Bytes, object_store::Error>>,
    pub range: Range<u64>,
    pub total: u64,
}

/// Object store plus the key that signs its URLs.
#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    /// The URL-signing MAC, keyed once at start and cloned per signature.
    signer: Hmac<Sha256>,
}

impl Storage {
    /// A filesystem store rooted at `dir` (created if missing).
    pub fn local(dir: &std::path::Path, signing_key: Vec<u8>) -> Result<Storage, StorageError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StorageError::Other(format!("{}: {e}", dir.display())))?;
        let store = LocalFileSystem::new_with_prefix(dir)?;
        Ok(Storage {
            store: Arc::new(store),
            signer: Hmac::<Sha256>::new_from_slice(&signing_key)
                .map_err(|e| StorageError::Other(format!("URL signing key: {e}")))?,
        })
    }

    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StorageError> {
        self.store
            .put(&ObjectPath::from(key), PutPayload::from(bytes))
            .await?;
        Ok(())
    }

    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match self.store.delete(&ObjectPath::from(key)).await {
            Ok(()) => Ok(()),
            Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(other) => Err(other.into()),
        }
    }

    pub async fn size(&self, key: &str) -> Result<u64, StorageError> {
        Ok(self.store.head(&ObjectPath::from(key)).await?.size)
    }

    /// Reads `range` of an object (the whole object when `None`).
    pub async fn read(
        &self,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<RangeRead, StorageError> {
        let path = ObjectPath::from(key);
        let options = GetOptions {
            range: range.clone().map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let result = self.store.get_opts(&path, options).await?;
        let total = result.meta.size;
        let range = result.range.clone();
        let bytes = result.bytes().await?;
        Ok(RangeRead {
            bytes,
            range,
            total,
        })
    }

    /// Opens `range` of an object (the whole object when `None`) as a stream.
    pub async fn open(
        &self,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<RangeStream, StorageError> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let result = self.store.get_opts(&ObjectPath::from(key), options).await?;
        Ok(RangeStream {
            total: result.meta.size,
            range: result.range.clone(),
            stream: result.into_stream(),
        })
    }

    /// True when the store answers (used by `/readyz`).
    pub async fn ping(&self) -> bool {
        use futures::StreamExt;
        let mut listing = self.store.list(Some(&ObjectPath::from("results")));
        !matches!(listing.next().await, Some(Err(_)))
    }

    /// Signature over a key and its expiry (0 = never expires).
    fn signature(&self, key: &str, expires: i64) -> String {
        let mut mac = self.signer.clone();
        mac.update(key.as_bytes());
        mac.update(b"\n");
        mac.update(expires.to_string().as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// The path and query of a signed URL for `key`, e.g. `/files/results/vid_x/video.mp4?exp=…&sig=…`.
    pub fn signed_path(&self, key: &str, expires: i64) -> String {
        format!(
            "/files/{key}?exp={expires}&sig={}",
            self.signature(key, expires)
        )
    }

    /// Checks a signed URL's parts; `now` decides expiry.
    pub fn verify(&self, key: &str, expires: i64, signature: &str, now: i64) -> bool {
        let expected = self.signature(key, expires);
        let matches: bool = expected.as_bytes().ct_eq(signature.as_bytes()).into();
        matches && (expires == 0 || expires > now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_bind_key_and_expiry() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = Storage::local(dir.path(), b"k".to_vec()).expect("store");
        let sig = storage.signature("results/a/video.mp4", 100);
        assert!(storage.verify("results/a/video.mp4", 100, &sig, 50));
        assert!(
            !storage.verify("results/a/video.mp4", 100, &sig, 100),
            "expired"
        );
        assert!(
            !storage.verify("results/b/video.mp4", 100, &sig, 50),
            "other key"
        );
        assert!(
            !storage.verify("results/a/video.mp4", 101, &sig, 50),
            "other expiry"
        );
    }
}
