//! Object storage for results and assets (`object_store`): a local directory by default, or an
//! S3-compatible bucket (`s3://bucket/prefix`) so several replicas share one store. The key
//! layout, "not found" normalised in one place, and the result URLs: HMAC-signed, expiring
//! `/files/...` URLs that reelay serves itself (with `Range`), or presigned S3 GET URLs.

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use futures::{FutureExt, StreamExt, TryStreamExt};
use hmac::{Hmac, Mac};
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::signer::Signer;
use object_store::{
    ClientConfigKey, GetOptions, GetRange, ObjectStore, PutPayload, WriteMultipart,
};
use secrecy::ExposeSecret;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::config::{S3Settings, ServeMode, Settings, StorageLocation};

/// The longest validity S3 (SigV4) allows for a presigned URL: 7 days.
pub(crate) const PRESIGNED_MAX_SECS: i64 = 7 * 24 * 3600;

/// How long `/readyz` waits for the store before calling it not ready.
const PING_TIMEOUT: Duration = Duration::from_secs(5);

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
    /// The store cannot be set up from the configuration (names the key at fault).
    #[error("object storage configuration: {0}")]
    Config(String),
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

/// The part size of [`Storage::put_file`]: S3's smallest part (all but the last).
pub const PUT_PART_BYTES: usize = 5 * 1024 * 1024;

/// Object store plus the key that signs its URLs.
#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    /// The URL-signing MAC, keyed once at start and cloned per signature.
    signer: Hmac<Sha256>,
    /// Set when results are served by presigned S3 URLs (`storage.serve = "presigned"`).
    presigner: Option<Presigner>,
}

/// Makes presigned GET URLs for keys of one S3 bucket and prefix.
#[derive(Clone)]
struct Presigner {
    s3: Arc<AmazonS3>,
    /// `s3://bucket/<prefix>`, put before every key (as the `PrefixStore` does).
    prefix: ObjectPath,
}

impl Storage {
    /// The store `settings` describe (`storage.url`, `storage.serve`, `storage.s3`).
    pub fn from_settings(
        settings: &Settings,
        signing_key: Vec<u8>,
    ) -> Result<Storage, StorageError> {
        let location = settings
            .storage_location()
            .map_err(|e| StorageError::Config(e.to_string()))?;
        match location {
            StorageLocation::Local(dir) => {
                if settings.storage.serve == ServeMode::Presigned {
                    return Err(StorageError::Config(
                        "storage.serve = \"presigned\" needs an s3:// storage.url".into(),
                    ));
                }
                Storage::local(&dir, signing_key)
            }
            StorageLocation::S3 { bucket, prefix } => Storage::s3(
                &bucket,
                &prefix,
                &settings.storage.s3,
                settings.storage.serve,
                signing_key,
            ),
        }
    }

    /// A filesystem store rooted at `dir` (created if missing).
    pub fn local(dir: &std::path::Path, signing_key: Vec<u8>) -> Result<Storage, StorageError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StorageError::Other(format!("{}: {e}", dir.display())))?;
        let store = LocalFileSystem::new_with_prefix(dir)?;
        Ok(Storage {
            store: Arc::new(store),
            signer: url_signer(signing_key)?,
            presigner: None,
        })
    }

    /// An S3-compatible bucket; keys are stored under `prefix` (may be empty). Settings left
    /// unset in `s3` come from the `AWS_*` environment (`AmazonS3Builder::from_env`).
    pub fn s3(
        bucket: &str,
        prefix: &str,
        s3: &S3Settings,
        serve: ServeMode,
        signing_key: Vec<u8>,
    ) -> Result<Storage, StorageError> {
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        if let Some(endpoint) = &s3.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(region) = &s3.region {
            builder = builder.with_region(region);
        }
        if let Some(key_id) = &s3.access_key_id {
            builder = builder.with_access_key_id(key_id);
        }
        if let Some(secret) = &s3.secret_access_key {
            builder = builder.with_secret_access_key(secret.expose_secret());
        }
        if s3.allow_http {
            builder = builder.with_allow_http(true);
        }
        if s3.virtual_hosted_style {
            builder = builder.with_virtual_hosted_style_request(true);
        }
        // `AWS_ENDPOINT_URL` may name an http endpoint that the settings never saw.
        let endpoint = builder.get_config_value(&AmazonS3ConfigKey::Endpoint);
        let allow_http = builder
            .get_config_value(&AmazonS3ConfigKey::Client(ClientConfigKey::AllowHttp))
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if let Some(endpoint) = endpoint.filter(|e| e.starts_with("http://")) {
            if !allow_http {
                return Err(StorageError::Config(format!(
                    "the S3 endpoint {endpoint} is plain http; set storage.s3.allow_http = true to allow it"
                )));
            }
        }
        let amazon = Arc::new(builder.build().map_err(|e| {
            StorageError::Config(format!("storage.url s3://{bucket}/{prefix}: {e}"))
        })?);
        let prefix_path = ObjectPath::from(prefix);
        let bucket_store: Arc<dyn ObjectStore> = amazon.clone();
        let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
            bucket_store
        } else {
            Arc::new(PrefixStore::new(bucket_store, prefix_path.clone()))
        };
        let presigner = (serve == ServeMode::Presigned).then(|| Presigner {
            s3: amazon,
            prefix: prefix_path,
        });
        Ok(Storage {
            store,
            signer: url_signer(signing_key)?,
            presigner,
        })
    }

    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StorageError> {
        self.store
            .put(&ObjectPath::from(key), PutPayload::from(bytes))
            .await?;
        Ok(())
    }

    /// Stores the file at `path` under `key`, read and sent in parts ([`PUT_PART_BYTES`], one
    /// part in flight at a time), so the file is never held in memory whole; a file of at most
    /// one part goes in one PUT.
    pub async fn put_file(&self, key: &str, path: &std::path::Path) -> Result<(), StorageError> {
        use tokio::io::AsyncReadExt;
        let io_error = |e: std::io::Error| StorageError::Other(format!("{}: {e}", path.display()));
        let mut file = tokio::fs::File::open(path).await.map_err(io_error)?;
        let len = file.metadata().await.map_err(io_error)?.len();
        if len <= PUT_PART_BYTES as u64 {
            // One part's worth: a single PUT (one request instead of three on S3).
            let mut bytes = Vec::with_capacity(len as usize);
            file.read_to_end(&mut bytes).await.map_err(io_error)?;
            return self.put(key, bytes).await;
        }
        let upload = self.store.put_multipart(&ObjectPath::from(key)).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PUT_PART_BYTES);
        let mut buffer = vec![0u8; 256 * 1024];
        loop {
            let read = match file.read(&mut buffer).await {
                Ok(0) => break,
                Ok(read) => read,
                Err(error) => {
                    let _ = writer.abort().await;
                    return Err(io_error(error));
                }
            };
            if let Err(error) = writer.wait_for_capacity(1).await {
                let _ = writer.abort().await;
                return Err(error.into());
            }
            writer.write(&buffer[..read]);
        }
        writer.finish().await?;
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

    /// Keys under `prefix` (whole path segments: `results/vid_1` does not match
    /// `results/vid_10/...`; empty: every key), sorted.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        let prefix = ObjectPath::from(prefix);
        let prefix = (!prefix.as_ref().is_empty()).then_some(prefix);
        let mut keys: Vec<String> = self
            .store
            .list(prefix.as_ref())
            .map_ok(|meta| meta.location.to_string())
            .try_collect()
            .await?;
        keys.sort();
        Ok(keys)
    }

    /// Deletes every object of a task's results (`results/<task_id>/…`); returns how many there
    /// were. A task that fails must not leave files behind: a worker may have stored the video
    /// before it died or before the task failed.
    pub(crate) async fn delete_results(&self, task_id: &str) -> Result<usize, StorageError> {
        let keys = self.list(&format!("results/{task_id}")).await?;
        for key in &keys {
            self.delete(key).await?;
        }
        Ok(keys.len())
    }

    /// True when the store answers within a few seconds (used by `/readyz`). Listing a prefix
    /// that holds nothing yet is fine; a wrong endpoint, bucket or credentials is not.
    pub async fn ping(&self) -> bool {
        let probe = async {
            let mut listing = self.store.list(Some(&ObjectPath::from("results")));
            match listing.next().await {
                Some(Err(error)) => {
                    tracing::warn!(%error, "object storage does not answer");
                    false
                }
                _ => true,
            }
        };
        match tokio::time::timeout(PING_TIMEOUT, probe).await {
            Ok(answered) => answered,
            Err(_) => {
                tracing::warn!(
                    timeout_secs = PING_TIMEOUT.as_secs(),
                    "object storage did not answer in time"
                );
                false
            }
        }
    }

    /// The URL a client downloads `key` from, until `expires_at` (None: the result never
    /// expires). With `storage.serve = "presigned"` a presigned S3 GET URL valid until
    /// `expires_at`, at most `PRESIGNED_MAX_SECS`; otherwise (and if the S3 credentials cannot
    /// be had without waiting, see `presign`) reelay's own signed `/files/` URL.
    pub(crate) fn result_url(
        &self,
        public_url: &str,
        key: &str,
        expires_at: Option<i64>,
        now: i64,
    ) -> String {
        if let Some(presigner) = &self.presigner {
            let remaining = expires_at.map_or(PRESIGNED_MAX_SECS, |at| at - now);
            if remaining > 0 {
                if let Some(url) = presigner.presign(key, remaining.min(PRESIGNED_MAX_SECS)) {
                    return url;
                }
            }
        }
        format!(
            "{public_url}{}",
            self.signed_path(key, expires_at.unwrap_or(0))
        )
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

    /// The object key behind `url` when it is one of reelay's own signed `/files/` URLs under
    /// `public_url`, its signature matches and it has not expired; `None` for any other URL.
    /// reelay reads such URLs from storage instead of fetching them over the network.
    pub fn own_key(&self, public_url: &str, url: &str, now: i64) -> Option<String> {
        let rest = url.strip_prefix(public_url)?.strip_prefix("/files/")?;
        let (key, query) = rest.split_once('?')?;
        let (mut exp, mut sig) = (None, None);
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some(("exp", value)) if exp.is_none() => exp = value.parse::<i64>().ok(),
                Some(("sig", value)) if sig.is_none() => sig = Some(value),
                _ => return None,
            }
        }
        let (exp, sig) = (exp?, sig?);
        let plain = !key.is_empty()
            && !key
                .split('/')
                .any(|part| part.is_empty() || part == "." || part == "..")
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b));
        (plain && self.verify(key, exp, sig, now)).then(|| key.to_string())
    }

    /// Checks a signed URL's parts; `now` decides expiry.
    pub fn verify(&self, key: &str, expires: i64, signature: &str, now: i64) -> bool {
        let expected = self.signature(key, expires);
        let matches: bool = expected.as_bytes().ct_eq(signature.as_bytes()).into();
        matches && (expires == 0 || expires > now)
    }
}

fn url_signer(signing_key: Vec<u8>) -> Result<Hmac<Sha256>, StorageError> {
    Hmac::<Sha256>::new_from_slice(&signing_key)
        .map_err(|e| StorageError::Other(format!("URL signing key: {e}")))
}

impl Presigner {
    /// A presigned GET URL for `key`, valid `secs` seconds.
    ///
    /// Signing is local computation, but `object_store` reaches the credentials through an async
    /// provider. Static credentials (settings or `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`) are
    /// always ready, so the future completes on its first poll; a provider that would have to
    /// fetch (instance metadata, web identity) and has nothing cached yields `None`, and the
    /// caller hands out reelay's own signed URL instead, which serves the same bytes.
    fn presign(&self, key: &str, secs: i64) -> Option<String> {
        let path: ObjectPath = self
            .prefix
            .parts()
            .chain(ObjectPath::from(key).parts())
            .collect();
        let expires_in = Duration::from_secs(u64::try_from(secs).ok()?);
        match self
            .s3
            .signed_url(reqwest::Method::GET, &path, expires_in)
            .now_or_never()
        {
            Some(Ok(url)) => Some(url.to_string()),
            Some(Err(error)) => {
                tracing::warn!(%error, key, "presigning failed; handing out a reelay file URL");
                None
            }
            None => {
                tracing::debug!(
                    key,
                    "S3 credentials not ready; handing out a reelay file URL"
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    #[test]
    fn own_urls_are_recognised_only_when_signed_and_live() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::local(dir.path(), b"k".repeat(32)).unwrap();
        let origin = "https://reelay.example";
        let url = format!(
            "{origin}{}",
            storage.signed_path("uploads/acc_1/upl_2.png", 100)
        );
        assert_eq!(
            storage.own_key(origin, &url, 50).as_deref(),
            Some("uploads/acc_1/upl_2.png")
        );
        assert_eq!(storage.own_key(origin, &url, 150), None, "expired");
        assert_eq!(storage.own_key("https://other.example", &url, 50), None);
        let tampered = url.replace("upl_2", "upl_3");
        assert_eq!(storage.own_key(origin, &tampered, 50), None);
        assert_eq!(storage.own_key(origin, &format!("{url}&exp=1"), 50), None);
    }

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

    fn s3_settings() -> Settings {
        let mut settings = Settings::default();
        settings.storage.url = Some("s3://reelay-test/pre/fix".into());
        settings.storage.s3 = S3Settings {
            endpoint: Some("http://127.0.0.1:9".into()),
            region: Some("us-east-1".into()),
            access_key_id: Some("AKIDEXAMPLE".into()),
            secret_access_key: Some(SecretString::from("wJalrXUtnFEMIEXAMPLEKEY")),
            allow_http: true,
            virtual_hosted_style: false,
        };
        settings
    }

    #[test]
    fn presigned_result_urls_are_signed_locally_and_capped_at_seven_days() {
        let mut settings = s3_settings();
        settings.storage.serve = ServeMode::Presigned;
        let storage = Storage::from_settings(&settings, b"k".to_vec()).expect("store");
        let key = "results/vid_a/video.mp4";
        let now = 1_700_000_000;

        let url = storage.result_url("https://reelay.example", key, Some(now + 100), now);
        assert!(
            url.starts_with("http://127.0.0.1:9/reelay-test/pre/fix/results/vid_a/video.mp4?"),
            "{url}"
        );
        assert!(url.contains("X-Amz-Expires=100&"), "{url}");
        assert!(url.contains("X-Amz-Signature="), "{url}");
        assert!(url.contains("AKIDEXAMPLE"), "{url}");
        assert!(!url.contains("wJalrXUtnFEMIEXAMPLEKEY"), "{url}");

        let far = storage.result_url("https://reelay.example", key, Some(now + 30 * 86400), now);
        assert!(far.contains("X-Amz-Expires=604800&"), "{far}");
        let forever = storage.result_url("https://reelay.example", key, None, now);
        assert!(forever.contains("X-Amz-Expires=604800&"), "{forever}");

        let expired = storage.result_url("https://reelay.example", key, Some(now - 1), now);
        assert!(
            expired.starts_with("https://reelay.example/files/results/vid_a/video.mp4?exp="),
            "an expired result keeps reelay's URL, which answers 403: {expired}"
        );
    }

    #[test]
    fn s3_results_are_served_by_reelay_unless_presigned_is_chosen() {
        let storage = Storage::from_settings(&s3_settings(), b"k".to_vec()).expect("store");
        let url = storage.result_url(
            "https://reelay.example",
            "results/v/video.mp4",
            Some(200),
            100,
        );
        assert_eq!(
            url,
            format!(
                "https://reelay.example{}",
                storage.signed_path("results/v/video.mp4", 200)
            )
        );
    }

    #[test]
    fn a_plain_http_endpoint_needs_allow_http() {
        let mut s3 = s3_settings().storage.s3;
        s3.allow_http = false;
        let error = Storage::s3("reelay-test", "", &s3, ServeMode::Reelay, b"k".to_vec())
            .err()
            .expect("refused");
        assert!(
            error.to_string().contains("storage.s3.allow_http"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn local_store_lists_keys_by_prefix_and_answers_ping() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = Storage::local(dir.path(), b"k".to_vec()).expect("store");
        assert!(storage.ping().await, "an empty store answers");
        assert_eq!(
            storage.list("results").await.expect("list"),
            Vec::<String>::new()
        );
        storage
            .put("results/vid_10/video.mp4", b"b".to_vec())
            .await
            .expect("put");
        storage
            .put("results/vid_1/video.mp4", b"a".to_vec())
            .await
            .expect("put");
        storage
            .put("assets/as_1", b"c".to_vec())
            .await
            .expect("put");
        assert_eq!(
            storage.list("results").await.expect("list"),
            vec!["results/vid_1/video.mp4", "results/vid_10/video.mp4"]
        );
        assert_eq!(
            storage.list("results/vid_1").await.expect("list"),
            vec!["results/vid_1/video.mp4"],
            "whole segments only"
        );
        assert_eq!(storage.list("").await.expect("list").len(), 3);
        storage
            .delete("results/vid_1/video.mp4")
            .await
            .expect("delete");
        storage
            .delete("results/vid_1/video.mp4")
            .await
            .expect("deleting twice is fine");
        assert!(storage
            .list("results/vid_1")
            .await
            .expect("list")
            .is_empty());
    }

    #[tokio::test]
    async fn deleting_a_tasks_results_leaves_other_tasks_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = Storage::local(dir.path(), b"k".to_vec()).expect("store");
        for key in [
            video_key("vid_1"),
            last_frame_key("vid_1"),
            video_key("vid_10"),
        ] {
            storage.put(&key, b"x".to_vec()).await.expect("put");
        }
        assert_eq!(storage.delete_results("vid_1").await.expect("delete"), 2);
        assert_eq!(
            storage.list("results").await.expect("list"),
            vec![video_key("vid_10")]
        );
        assert_eq!(
            storage.delete_results("vid_1").await.expect("again"),
            0,
            "nothing left to delete"
        );
    }
}
