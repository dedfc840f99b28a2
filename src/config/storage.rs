//! `[storage]`: where objects live (`storage.url`, parsed into a [`StorageLocation`]), who serves
//! result files, and the S3 connection; their validation. `storage` builds its object store from
//! these.

use std::path::{Path, PathBuf};

use object_store::path::Path as ObjectPath;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::ConfigError;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSettings {
    /// `file:///path` (default `<data_dir>/objects`) or `s3://bucket/prefix` (`storage.s3`).
    #[serde(deserialize_with = "crate::config::text::opt_string")]
    pub url: Option<String>,
    /// Who serves result files: reelay itself (default) or the S3 store through presigned URLs.
    pub serve: ServeMode,
    /// Connection to an S3-compatible store; unset keys come from the usual `AWS_*` variables.
    pub s3: S3Settings,
}

/// How the result URLs in a task (`video_url`, `last_frame_url`) are made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServeMode {
    /// HMAC-signed `/files/...` URLs served by reelay with `Range`; any replica can verify them
    /// because the signing key is in the database.
    #[default]
    Reelay,
    /// Presigned S3 GET URLs (S3 only), valid until the result expires and at most 7 days.
    Presigned,
}

/// `storage.s3.*`: where the `s3://` bucket lives and how to sign in. Every key is optional;
/// `AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` (and the rest
/// of `object_store`'s `AWS_*` variables) fill what is unset.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct S3Settings {
    /// Endpoint of an S3-compatible service (`http://127.0.0.1:8333`); unset: AWS S3.
    #[serde(deserialize_with = "crate::config::text::opt_string")]
    pub endpoint: Option<String>,
    /// Region to sign for (`us-east-1` when unset everywhere; R2 wants `auto`).
    #[serde(deserialize_with = "crate::config::text::opt_string")]
    pub region: Option<String>,
    /// Access key id; needs `secret_access_key` with it.
    #[serde(deserialize_with = "crate::config::text::opt_string")]
    pub access_key_id: Option<String>,
    /// Secret access key. Never serialized or printed.
    #[serde(skip_serializing)]
    pub secret_access_key: Option<SecretString>,
    /// Allow an `http://` endpoint (local MinIO or SeaweedFS). Off: only https.
    pub allow_http: bool,
    /// Address buckets as `https://bucket.endpoint/key` instead of `https://endpoint/bucket/key`
    /// (path style, the default, is what MinIO and SeaweedFS need).
    pub virtual_hosted_style: bool,
}

impl StorageSettings {
    /// Where objects are stored: `url`, or the directory `<data_dir>/objects` when unset.
    pub fn location(&self, data_dir: &Path) -> Result<StorageLocation, ConfigError> {
        match &self.url {
            Some(url) => StorageLocation::parse(url).map_err(|e| ConfigError::Invalid {
                key: "storage.url",
                message: e.to_string(),
            }),
            None => Ok(StorageLocation::Local(data_dir.join("objects"))),
        }
    }

    /// `storage.*`: a supported URL, `serve` and `s3` keys that fit it.
    pub(super) fn validate(&self, data_dir: &Path) -> Result<(), ConfigError> {
        let location = self.location(data_dir)?;
        let s3 = &self.s3;
        let is_s3 = matches!(location, StorageLocation::S3 { .. });
        if !is_s3 {
            if self.serve == ServeMode::Presigned {
                return Err(ConfigError::Invalid {
                    key: "storage.serve",
                    message: "\"presigned\" needs an s3:// storage.url; use \"reelay\" (the default) with file:// storage".into(),
                });
            }
            let s3_keys_set = s3.endpoint.is_some()
                || s3.region.is_some()
                || s3.access_key_id.is_some()
                || s3.secret_access_key.is_some()
                || s3.allow_http
                || s3.virtual_hosted_style;
            if s3_keys_set {
                return Err(ConfigError::Invalid {
                    key: "storage.s3",
                    message: "storage.s3.* is set but storage.url is not an s3:// URL (objects would be stored on local disk)".into(),
                });
            }
            return Ok(());
        }
        if let Some(endpoint) = &s3.endpoint {
            let parsed = url::Url::parse(endpoint).map_err(|e| ConfigError::Invalid {
                key: "storage.s3.endpoint",
                message: format!("is not an absolute URL like https://s3.example.com ({e})"),
            })?;
            if !parsed.username().is_empty() || parsed.password().is_some() {
                return Err(ConfigError::Invalid {
                    key: "storage.s3.endpoint",
                    message: "must not carry credentials; use storage.s3.access_key_id and storage.s3.secret_access_key".into(),
                });
            }
            match parsed.scheme() {
                "https" => {}
                "http" if s3.allow_http => {}
                "http" => {
                    return Err(ConfigError::Invalid {
                        key: "storage.s3.allow_http",
                        message: format!(
                            "the endpoint `{endpoint}` is plain http; set storage.s3.allow_http = true to allow it"
                        ),
                    })
                }
                _ => {
                    return Err(ConfigError::Invalid {
                        key: "storage.s3.endpoint",
                        message: "must start with http:// or https://".into(),
                    })
                }
            }
        }
        match (&s3.access_key_id, &s3.secret_access_key) {
            (Some(_), None) => Err(ConfigError::Invalid {
                key: "storage.s3.secret_access_key",
                message: "is required when storage.s3.access_key_id is set".into(),
            }),
            (None, Some(_)) => Err(ConfigError::Invalid {
                key: "storage.s3.access_key_id",
                message: "is required when storage.s3.secret_access_key is set".into(),
            }),
            _ => Ok(()),
        }
    }
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

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::super::{Overrides, Settings};
    use super::*;

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
        let settings = Settings::load(&Overrides {
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
        let error = Settings::load(&Overrides {
            config_file: Some(file),
            ..Default::default()
        })
        .expect_err("unknown key")
        .to_string();
        assert!(error.contains("endpont"), "{error}");
    }
}
