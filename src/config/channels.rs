//! `[[channels]]` and `[upstream]` settings (MODELS.md §Routing) and their validation. Errors
//! name the key at fault, like `channels[1].base_url`. `providers` builds its channels from
//! these; `tasks::upstream` reads `[upstream]`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// The providers a channel can use.
pub const PROVIDERS: [&str; 3] = ["local", "ark", "relay"];

/// One configured way to run models.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChannelSettings {
    /// Unique name, shown in `GET /models` and the admin API.
    #[serde(deserialize_with = "crate::config::text::string")]
    pub name: String,
    /// `local`, `ark` or `relay`.
    #[serde(deserialize_with = "crate::config::text::string")]
    pub provider: String,
    /// Ark: `https://ark.cn-beijing.volces.com/api/v3`; relay: the other server's origin.
    #[serde(deserialize_with = "crate::config::text::opt_string")]
    pub base_url: Option<String>,
    /// Name of the environment variable holding the upstream's API key (never the key itself).
    #[serde(deserialize_with = "crate::config::text::opt_string")]
    pub api_key_env: Option<String>,
    /// Catalog model → upstream model. Empty: every catalog model, under its own name (local
    /// and relay only; an Ark channel must list its models).
    pub models: BTreeMap<String, String>,
    /// Tasks in flight on this channel (submitting, queued or running upstream).
    pub max_concurrency: u32,
    /// Create calls per minute, paced evenly (one every `60 s / rpm`, shared by replicas).
    pub rpm: u32,
    /// Higher first.
    pub priority: i64,
    /// Share among channels of equal priority.
    pub weight: u32,
    /// Status calls (list/get) per minute, paced evenly (one every `60 s / poll_rpm`).
    pub poll_rpm: u32,
    /// Status calls in flight at once; unset: `poll_rpm / 300`, at least 4 (see
    /// [`ChannelSettings::poll_concurrency`]).
    pub poll_concurrency: Option<u32>,
    /// Task ids per status call (Ark's list with `filter.task_ids`).
    pub poll_batch: u32,
    /// The shortest time between two looks at a task (and the first look after acceptance);
    /// looks are planned from the run times learned for the task's class (docs/UPSTREAM.md).
    pub poll_min_ms: u64,
    /// The longest a task waits between two looks (when the `poll_rpm` budget allows).
    pub poll_max_ms: u64,
    /// Timeout of one upstream API call.
    pub request_timeout_ms: u64,
    /// After an ambiguous create (timeout), list the upstream's tasks this long after the submit started.
    pub reconcile_after_ms: u64,
    /// A create not found in the upstream's listing this long after it started is treated as never
    /// accepted, and the task is submitted again.
    pub reconcile_grace_ms: u64,
    /// Consecutive transient errors (5xx, connect) that open the breaker.
    pub breaker_threshold: u32,
    /// How long an open breaker stays open before one trial call.
    pub breaker_cooldown_secs: u64,
    /// Ask the upstream to POST status changes to reelay (`callback_url`, re-fetched, never
    /// trusted); unset: on when `server.public_url` is an `https` URL (an upstream can reach
    /// it), off otherwise.
    pub callbacks: Option<bool>,
}

/// The fewest status calls in flight a channel allows by default.
const DEFAULT_POLL_CONCURRENCY: u32 = 4;

impl Default for ChannelSettings {
    fn default() -> Self {
        ChannelSettings {
            name: String::new(),
            provider: String::new(),
            base_url: None,
            api_key_env: None,
            models: BTreeMap::new(),
            max_concurrency: 10,
            rpm: 600,
            priority: 0,
            weight: 1,
            poll_rpm: 600,
            poll_concurrency: None,
            poll_batch: 100,
            poll_min_ms: 2_000,
            poll_max_ms: 30_000,
            request_timeout_ms: 30_000,
            reconcile_after_ms: 10_000,
            reconcile_grace_ms: 120_000,
            breaker_threshold: 5,
            breaker_cooldown_secs: 60,
            callbacks: None,
        }
    }
}

impl ChannelSettings {
    /// Whether creates carry a `callback_url`: as set, or by default when reelay's public origin
    /// is `https` (an upstream cannot be expected to reach a plain-http or loopback origin).
    pub fn sends_callbacks(&self, public_url: &str) -> bool {
        self.callbacks
            .unwrap_or_else(|| public_url.starts_with("https://"))
    }

    /// Status calls in flight at once: as set, or enough for every `poll_rpm` slot while a call
    /// takes up to 200 ms (`poll_rpm / 60 × 0.2 s`), at least 4. With fewer, a call slower than
    /// `poll_concurrency / (poll_rpm / 60)` seconds leaves slots unused (4 calls of 50 ms
    /// allowed ~80 of the 100 a second that 6,000 rpm allows).
    pub fn poll_concurrency(&self) -> u32 {
        self.poll_concurrency
            .unwrap_or_else(|| (self.poll_rpm / 300).max(DEFAULT_POLL_CONCURRENCY))
    }

    /// The upstream model for a catalog model, when this channel serves it.
    pub(crate) fn upstream_model<'a>(&'a self, model: &'a str) -> Option<&'a str> {
        if self.models.is_empty() {
            return Some(model);
        }
        self.models.get(model).map(String::as_str)
    }
}

/// The `[upstream]` section.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamSettings {
    /// A task no channel can take waits `queued` this long, then fails with a refund.
    pub queue_timeout_secs: u64,
    /// How often the dispatcher looks for queued tasks (it is also woken on create).
    pub dispatch_interval_ms: u64,
    /// Timeout of one result download.
    pub download_timeout_secs: u64,
    /// Largest result file accepted.
    pub download_max_bytes: u64,
    /// Download attempts of a result before the task fails with a refund.
    pub download_attempts: u32,
    /// Results copied at once per process (each copy holds its video in memory, at most
    /// `download_max_bytes`): with N tasks in flight finishing over T seconds, copies must keep
    /// up with N / T per second.
    pub rehost_concurrency: u32,
}

impl Default for UpstreamSettings {
    fn default() -> Self {
        UpstreamSettings {
            queue_timeout_secs: 30 * 60,
            dispatch_interval_ms: 1_000,
            download_timeout_secs: 300,
            download_max_bytes: 500 * 1024 * 1024,
            download_attempts: 20,
            rehost_concurrency: 32,
        }
    }
}

fn invalid(index: usize, field: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::InvalidKey {
        key: format!("channels[{index}].{field}"),
        message: message.into(),
    }
}

/// Checks every channel; the first problem found names its key.
pub fn validate(
    channels: &[ChannelSettings],
    upstream: &UpstreamSettings,
) -> Result<(), ConfigError> {
    let mut names = std::collections::HashSet::new();
    for (i, channel) in channels.iter().enumerate() {
        let name = channel.name.trim();
        if name.is_empty()
            || name.len() > 64
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        {
            return Err(invalid(
                i,
                "name",
                format!(
                    "must be 1-64 characters of letters, digits, `-`, `_` or `.` (got {:?})",
                    channel.name
                ),
            ));
        }
        if !names.insert(name.to_string()) {
            return Err(invalid(
                i,
                "name",
                format!("`{name}` is used by two channels"),
            ));
        }
        if !PROVIDERS.contains(&channel.provider.as_str()) {
            return Err(invalid(
                i,
                "provider",
                format!(
                    "must be one of local, ark, relay (got {:?})",
                    channel.provider
                ),
            ));
        }
        for (field, value) in [
            ("max_concurrency", channel.max_concurrency),
            ("rpm", channel.rpm),
            ("weight", channel.weight),
            ("poll_rpm", channel.poll_rpm),
            ("poll_concurrency", channel.poll_concurrency()),
            ("poll_batch", channel.poll_batch),
            ("breaker_threshold", channel.breaker_threshold),
        ] {
            if value == 0 {
                return Err(invalid(i, field, "must be at least 1"));
            }
        }
        if channel.poll_batch > 500 {
            return Err(invalid(
                i,
                "poll_batch",
                "must be at most 500 (Ark's page size)",
            ));
        }
        if channel.poll_min_ms == 0 || channel.poll_max_ms < channel.poll_min_ms {
            return Err(invalid(
                i,
                "poll_max_ms",
                "poll_min_ms must be at least 1 and poll_max_ms at least poll_min_ms",
            ));
        }
        if channel.request_timeout_ms == 0 {
            return Err(invalid(i, "request_timeout_ms", "must be at least 1"));
        }
        for (upstream_model, catalog_model) in channel.models.iter().map(|(k, v)| (v, k)) {
            if upstream_model.trim().is_empty() {
                return Err(invalid(
                    i,
                    "models",
                    format!("model {catalog_model} maps to an empty upstream model"),
                ));
            }
        }
        if channel.provider == "local" {
            continue;
        }
        let base = channel
            .base_url
            .as_deref()
            .ok_or_else(|| invalid(i, "base_url", "is required for this provider"))?;
        match url::Url::parse(base) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {}
            _ => {
                return Err(invalid(
                    i,
                    "base_url",
                    format!("`{base}` is not an absolute http(s) URL"),
                ))
            }
        }
        match channel.api_key_env.as_deref() {
            Some(env) if !env.trim().is_empty() => {}
            _ => {
                return Err(invalid(
                    i,
                    "api_key_env",
                    "is required: the name of the environment variable holding the key",
                ))
            }
        }
        if channel.provider == "ark" && channel.models.is_empty() {
            return Err(invalid(
                i,
                "models",
                "an ark channel must map catalog models to Ark model or endpoint ids",
            ));
        }
    }
    if upstream.dispatch_interval_ms == 0 {
        return Err(ConfigError::InvalidKey {
            key: "upstream.dispatch_interval_ms".into(),
            message: "must be at least 1".into(),
        });
    }
    if upstream.rehost_concurrency == 0 {
        return Err(ConfigError::InvalidKey {
            key: "upstream.rehost_concurrency".into(),
            message: "must be at least 1".into(),
        });
    }
    if upstream.download_attempts == 0 {
        return Err(ConfigError::InvalidKey {
            key: "upstream.download_attempts".into(),
            message: "must be at least 1".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ark() -> ChannelSettings {
        ChannelSettings {
            name: "ark-cn".into(),
            provider: "ark".into(),
            base_url: Some("https://ark.cn-beijing.volces.com/api/v3".into()),
            api_key_env: Some("ARK_API_KEY".into()),
            models: [(
                "seedance2.0-sp".to_string(),
                "doubao-seedance-2-0-260128".to_string(),
            )]
            .into(),
            ..ChannelSettings::default()
        }
    }

    fn error_of(channels: &[ChannelSettings]) -> String {
        validate(channels, &UpstreamSettings::default())
            .expect_err("must fail")
            .to_string()
    }

    #[test]
    fn a_complete_ark_channel_is_valid() {
        validate(&[ark()], &UpstreamSettings::default()).expect("valid");
    }

    #[test]
    fn poll_concurrency_follows_poll_rpm_unless_set() {
        let at = |poll_rpm, set| {
            ChannelSettings {
                poll_rpm,
                poll_concurrency: set,
                ..ark()
            }
            .poll_concurrency()
        };
        // Enough calls in flight for every slot while a call takes up to 200 ms, at least 4.
        assert_eq!(at(600, None), 4);
        assert_eq!(at(6_000, None), 20);
        assert_eq!(at(60_000, None), 200);
        assert_eq!(at(6_000, Some(2)), 2);
        let zero = ChannelSettings {
            poll_concurrency: Some(0),
            ..ark()
        };
        assert!(error_of(&[zero]).contains("poll_concurrency"));
    }

    #[test]
    fn errors_name_the_key() {
        let mut channel = ark();
        channel.base_url = None;
        assert!(error_of(&[channel]).contains("channels[0].base_url"));
        let mut channel = ark();
        channel.models.clear();
        assert!(error_of(&[channel]).contains("channels[0].models"));
        let mut channel = ark();
        channel.provider = "sora".into();
        channel.name = "other".into();
        assert!(error_of(&[ark(), channel]).contains("channels[1].provider"));
        let mut channel = ark();
        channel.rpm = 0;
        assert!(error_of(&[channel]).contains("channels[0].rpm"));
        assert!(error_of(&[ark(), ark()]).contains("channels[1].name"));
    }

    #[test]
    fn callbacks_are_on_by_default_only_for_an_https_origin() {
        let mut channel = ark();
        assert!(channel.sends_callbacks("https://reelay.example.com"));
        assert!(!channel.sends_callbacks("http://127.0.0.1:8080"));
        channel.callbacks = Some(false);
        assert!(!channel.sends_callbacks("https://reelay.example.com"));
        channel.callbacks = Some(true);
        assert!(channel.sends_callbacks("http://10.0.0.5:8080"));
    }

    #[test]
    fn empty_models_serve_every_model_under_its_own_name() {
        let relay = ChannelSettings {
            provider: "relay".into(),
            models: BTreeMap::new(),
            ..ark()
        };
        assert_eq!(
            relay.upstream_model("seedance2.0-sp"),
            Some("seedance2.0-sp")
        );
        assert_eq!(ark().upstream_model("seedance2.0-mini"), None);
    }
}
