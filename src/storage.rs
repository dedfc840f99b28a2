//! Object storage for results and assets (`object_store`): a local directory by default, or an
//! S3-compatible bucket (`s3://bucket/prefix`) so several replicas share one store. The key
//! layout, "not found" normalised in one place, and the result URLs: HMAC-signed, expiring
//! `/files/...` URLs that reelay serves itself (with `Range`), or presigned S3 GET URLs.

use std::ops::Range;
use std::path::PathBuf;
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
use object_store::{ClientConfigKey, GetOptions, GetRange, ObjectStore, PutPayload};
use secrecy::ExposeSecret;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::config::{S3Settings, ServeMode, Settings};

/// The longest validity S3 (SigV4) allows for a presigned URL: 7 days.
pub const PRESIGNED_MAX_SECS: i64 = 7 * 24 * 3600;

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

/// Where objects live, parsed from `storage.url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageLocation {
    /// `file:///path` (or the default `<data_dir>/objects`): a directory on this machine.
    Local(PathBuf),
    /// `s3://bucket/prefix`: an S3-compatible bucket; every key is stored under `prefix/`
    /// (empty: at the bucket's root).
    S3 { bucket: String, prefix: String },
}

/// Why a `storage.url` cannot be used. Messages never repeat a URL's credentials.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum StorageUrlError {
    #[error("must be file:///path or s3://bucket/prefix (got {0})")]
    Unsupported(String),
    #[error("`{0}` names no bucket; use s3://bucket or s3://bucket/prefix")]
    MissingBucket(String),
    #[error("must not carry credentials; use storage.s3.access_key_id and storage.s3.secret_access_key (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")]
    Credentials,
    #[error("bucket `{0}` is not a bucket name (3 to 63 characters: lowercase letters, digits, `.`, `-`)")]
    InvalidBucket(String),
    #[error("prefix `{prefix}` is not usable as a key prefix ({reason})")]
    InvalidPrefix { prefix: String, reason: String },
    #[error("`{0}` must not have a query string, fragment or port")]
    Extra(String),
}

impl StorageLocation {
    /// Parses `file:///path` (kept as today: everything after `file://` is the directory) or
    /// `s3://bucket[/prefix]`.
    pub fn parse(url: &str) -> Result<StorageLocation, StorageUrlError> {
        if let Some(path) = url.strip_prefix("file://") {
            return Ok(StorageLocation::Local(PathBuf::from(path)));
        }
        let Some(rest) = url.strip_prefix("s3://") else {
            let shown = match url.split_once("://") {
                Some((scheme, _)) => format!("a {scheme}:// URL"),
                None => "no URL scheme".to_string(),
            };
            return Err(StorageUrlError::Unsupported(shown));
        };
        if rest.contains(['?', '#']) {
            return Err(StorageUrlError::Extra(format!(
                "s3://{}",
                rest.split(['?', '#']).next().unwrap_or_default()
            )));
        }
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.contains('@') {
            return Err(StorageUrlError::Credentials);
        }
        if bucket.is_empty() {
            return Err(StorageUrlError::MissingBucket(url.to_string()));
        }
        if bucket.contains(':') {
            return Err(StorageUrlError::Extra(format!("s3://{bucket}")));
        }
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
            && bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
            && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
        if !valid_bucket {
            return Err(StorageUrlError::InvalidBucket(bucket.to_string()));
        }
        let prefix = prefix.trim_matches('/');
        if !prefix.is_empty() {
            ObjectPath::parse(prefix).map_err(|e| StorageUrlError::InvalidPrefix {
                prefix: prefix.to_string(),
                reason: e.to_string(),
            })?;
        }
        Ok(StorageLocation::S3 {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }
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
    pub async fn delete_results(&self, task_id: &str) -> Result<usize, StorageError> {
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
    pub fn result_url(
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

    #[test]
    fn file_urls_keep_their_meaning() {
        assert_eq!(
            StorageLocation::parse("file:///var/lib/reelay/objects"),
            Ok(StorageLocation::Local("/var/lib/reelay/objects".into()))
        );
        assert_eq!(
            StorageLocation::parse("file://relative/objects"),
            Ok(StorageLocation::Local("relative/objects".into()))
        );
    }

    #[test]
    fn s3_urls_name_a_bucket_and_an_optional_prefix() {
        let s3 = |bucket: &str, prefix: &str| StorageLocation::S3 {
            bucket: bucket.into(),
            prefix: prefix.into(),
        };
        assert_eq!(StorageLocation::parse("s3://media"), Ok(s3("media", "")));
        assert_eq!(StorageLocation::parse("s3://media/"), Ok(s3("media", "")));
        assert_eq!(
            StorageLocation::parse("s3://my-bucket.eu/reelay/prod/"),
            Ok(s3("my-bucket.eu", "reelay/prod"))
        );
    }

    #[test]
    fn unsupported_storage_urls_are_refused_without_repeating_them() {
        let error = StorageLocation::parse("postgres://user:hunter2@db/reelay").expect_err("no");
        assert_eq!(
            error,
            StorageUrlError::Unsupported("a postgres:// URL".into())
        );
        let message = error.to_string();
        assert!(
            message.contains("file:///path or s3://bucket/prefix"),
            "{message}"
        );
        assert!(!message.contains("hunter2"), "{message}");
        assert!(matches!(
            StorageLocation::parse("/var/lib/reelay"),
            Err(StorageUrlError::Unsupported(_))
        ));
        assert!(matches!(
            StorageLocation::parse("gs://bucket/prefix"),
            Err(StorageUrlError::Unsupported(_))
        ));
    }

    #[test]
    fn malformed_s3_urls_say_what_is_wrong() {
        assert!(matches!(
            StorageLocation::parse("s3://"),
            Err(StorageUrlError::MissingBucket(_))
        ));
        assert!(matches!(
            StorageLocation::parse("s3:///prefix"),
            Err(StorageUrlError::MissingBucket(_))
        ));
        let credentials = StorageLocation::parse("s3://AKID:hunter2@bucket/p").expect_err("no");
        assert_eq!(credentials, StorageUrlError::Credentials);
        assert!(!credentials.to_string().contains("hunter2"));
        for bad in ["s3://Bucket", "s3://b", "s3://under_score", "s3://-dash"] {
            assert!(
                matches!(
                    StorageLocation::parse(bad),
                    Err(StorageUrlError::InvalidBucket(_))
                ),
                "{bad}"
            );
        }
        for bad in ["s3://bucket/a//b", "s3://bucket/a/../b"] {
            assert!(
                matches!(
                    StorageLocation::parse(bad),
                    Err(StorageUrlError::InvalidPrefix { .. })
                ),
                "{bad}"
            );
        }
        for bad in [
            "s3://bucket?region=x",
            "s3://bucket/p#f",
            "s3://bucket:9000/p",
        ] {
            assert!(
                matches!(StorageLocation::parse(bad), Err(StorageUrlError::Extra(_))),
                "{bad}"
            );
        }
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

    fn config_error(settings: &Settings) -> String {
        settings.validate().expect_err("must fail").to_string()
    }

    #[test]
    fn storage_config_errors_name_the_key() {
        let mut settings = Settings::default();
        settings.storage.url = Some("ftp://files.example.com/x".into());
        let error = config_error(&settings);
        assert!(error.contains("`storage.url`"), "{error}");
        assert!(
            error.contains("file:///path or s3://bucket/prefix"),
            "{error}"
        );

        let mut settings = Settings::default();
        settings.storage.serve = ServeMode::Presigned;
        assert!(config_error(&settings).contains("`storage.serve`"));

        let mut settings = Settings::default();
        settings.storage.s3.endpoint = Some("http://127.0.0.1:8333".into());
        let error = config_error(&settings);
        assert!(
            error.contains("`storage.s3`"),
            "set without an s3:// url: {error}"
        );

        let mut settings = s3_settings();
        settings.storage.s3.allow_http = false;
        assert!(config_error(&settings).contains("`storage.s3.allow_http`"));

        let mut settings = s3_settings();
        settings.storage.s3.endpoint = Some("s3.example.com".into());
        assert!(config_error(&settings).contains("`storage.s3.endpoint`"));

        let mut settings = s3_settings();
        settings.storage.s3.secret_access_key = None;
        assert!(config_error(&settings).contains("`storage.s3.secret_access_key`"));

        let mut settings = s3_settings();
        settings.storage.s3.access_key_id = None;
        assert!(config_error(&settings).contains("`storage.s3.access_key_id`"));

        s3_settings()
            .validate()
            .expect("a full S3 configuration validates");
    }

    #[test]
    fn the_s3_secret_is_never_printed_or_serialized() {
        let settings = s3_settings();
        let debug = format!("{settings:?}");
        assert!(!debug.contains("wJalrXUtnFEMIEXAMPLEKEY"), "{debug}");
        assert!(debug.contains("AKIDEXAMPLE"), "the key id is not secret");
        let json = serde_json::to_string(&settings).expect("serialize");
        assert!(!json.contains("wJalrXUtnFEMIEXAMPLEKEY"), "{json}");
    }

    #[test]
    fn storage_settings_load_from_a_config_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("reelay.toml");
        std::fs::write(
            &file,
            r#"
[storage]
url = "s3://media/reelay"
serve = "presigned"
[storage.s3]
endpoint = "http://127.0.0.1:9000"
region = "auto"
access_key_id = "AKIDEXAMPLE"
secret_access_key = "wJalrXUtnFEMIEXAMPLEKEY"
allow_http = true
"#,
        )
        .expect("write");
        let settings = Settings::load(&crate::config::Overrides {
            config_file: Some(file.clone()),
            ..Default::default()
        })
        .expect("loads");
        assert_eq!(settings.storage.serve, ServeMode::Presigned);
        assert_eq!(
            settings.storage_location().expect("location"),
            StorageLocation::S3 {
                bucket: "media".into(),
                prefix: "reelay".into()
            }
        );
        assert_eq!(settings.storage.s3.region.as_deref(), Some("auto"));
        assert!(settings.storage.s3.allow_http);
        assert!(
            !settings.storage.s3.virtual_hosted_style,
            "path style by default"
        );
        let secret = settings
            .storage
            .s3
            .secret_access_key
            .as_ref()
            .expect("secret");
        assert_eq!(secret.expose_secret(), "wJalrXUtnFEMIEXAMPLEKEY");

        std::fs::write(&file, "[storage.s3]\nendpont = \"http://x\"\n").expect("write");
        let error = Settings::load(&crate::config::Overrides {
            config_file: Some(file),
            ..Default::default()
        })
        .expect_err("unknown key")
        .to_string();
        assert!(error.contains("endpont"), "{error}");
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
