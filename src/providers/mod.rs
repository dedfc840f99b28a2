//! Providers run tasks: one contract, [`Provider`], that every channel implements — `local`
//! (the built-in preview renderer, run in this process), `ark` and `relay` (remote APIs). The
//! dispatcher routes each task to a channel whatever its provider (`tasks::dispatch`); an
//! in-process provider then runs it to the end on the local worker's claim ([`Provider::run`]),
//! a remote one accepts it ([`Provider::submit`]) and is asked for its status in batches. Both
//! end in one [`Outcome`], which `tasks::state::finish` turns into the task's final state.
//! `channels` holds each configured channel's runtime state (pause, circuit breaker, rate
//! windows), `routing` picks one for a task, `counted` counts every call of every provider.
//!
//! Architecture Invariant: handlers never call a provider; they enqueue. Providers never write a
//! task's status, nor store its files; they return an [`Outcome`] (or a [`CallError`]), and the
//! tasks layer stores the outputs and moves the task.

pub mod ark;
pub mod channels;
pub mod counted;
pub mod local;
pub mod relay;
pub mod routing;

use std::time::Duration;

use futures::future::BoxFuture;
use reelay_catalog::ValidatedRequest;
use tokio::sync::watch;

/// Name of the built-in channel.
pub(crate) const LOCAL_CHANNEL: &str = "local";

/// What a remote provider needs to submit one task.
pub struct SubmitRequest<'a> {
    /// reelay's task id.
    pub task_id: &'a str,
    /// A per-task marker the provider stores upstream so that an ambiguous submit can be found
    /// again by listing (Ark: `safety_identifier`; relay: `Idempotency-Key`).
    pub marker: &'a str,
    /// The channel's name for the model.
    pub upstream_model: &'a str,
    pub request: &'a ValidatedRequest,
    /// Where the upstream should POST status changes (when the channel enables callbacks).
    pub callback_url: Option<String>,
    /// Short-lived signed URLs of reelay's stored copies of the request's `asset://` ids,
    /// by asset id, so that the upstream can fetch them.
    pub asset_urls: std::collections::HashMap<String, String>,
}

impl SubmitRequest<'_> {
    /// The URL the upstream should fetch for one media reference: the user's URL, or the signed
    /// URL of reelay's copy of an asset.
    pub(crate) fn media_url(&self, media: &reelay_catalog::MediaRef) -> Option<String> {
        match media {
            reelay_catalog::MediaRef::Https(url) => Some(url.clone()),
            reelay_catalog::MediaRef::Asset(id) => self.asset_urls.get(id).cloned(),
        }
    }

    /// `media_url` for a list, or the first asset id that has no URL.
    pub(crate) fn media_urls(
        &self,
        list: &[reelay_catalog::MediaRef],
    ) -> Result<Vec<String>, String> {
        list.iter()
            .map(|media| self.media_url(media).ok_or_else(|| media.to_string()))
            .collect()
    }
}

/// Why an upstream call did not give the answer wanted, classified by what reelay may do next.
#[derive(Debug, Clone)]
pub enum CallError {
    /// The upstream surely did not accept the request (connect error, 5xx or 429 answered
    /// before acceptance): it may be retried, here or on another channel.
    NotAccepted {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// The channel itself cannot work (auth, overdue account, spending cap): open its breaker.
    ChannelDown { code: String, reason: String },
    /// The request was refused for what it asks (parameters, moderation): the task fails with `code`.
    Rejected { code: String, message: String },
    /// It may or may not have reached the upstream (timeout after sending, unreadable 2xx):
    /// reconcile before any retry.
    Ambiguous { reason: String },
}

impl CallError {
    /// The error's kind, as the metrics label it.
    pub fn kind(&self) -> &'static str {
        match self {
            CallError::NotAccepted { .. } => "not_accepted",
            CallError::ChannelDown { .. } => "channel_down",
            CallError::Rejected { .. } => "rejected",
            CallError::Ambiguous { .. } => "ambiguous",
        }
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::NotAccepted { reason, .. } => write!(f, "not accepted: {reason}"),
            CallError::ChannelDown { code, reason } => write!(f, "channel down ({code}): {reason}"),
            CallError::Rejected { code, message } => write!(f, "rejected ({code}): {message}"),
            CallError::Ambiguous { reason } => write!(f, "ambiguous: {reason}"),
        }
    }
}

/// An upstream task's status, mapped defensively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Expired,
    Cancelled,
    /// A status reelay does not know; it keeps polling.
    Unknown(String),
}

impl UpstreamStatus {
    /// Ark's status words (and reelay's own, for relays).
    pub fn parse(status: &str) -> UpstreamStatus {
        match status {
            "queued" => UpstreamStatus::Queued,
            "running" | "processing" => UpstreamStatus::Running,
            "succeeded" | "completed" => UpstreamStatus::Succeeded,
            "failed" => UpstreamStatus::Failed,
            "expired" => UpstreamStatus::Expired,
            "cancelled" => UpstreamStatus::Cancelled,
            other => UpstreamStatus::Unknown(other.to_string()),
        }
    }
}

/// What a status call reports about one upstream task.
#[derive(Debug, Clone)]
pub struct UpstreamTask {
    pub id: String,
    pub status: UpstreamStatus,
    /// 1–99 while running, when the upstream gives one.
    pub progress: Option<i64>,
    pub video_url: Option<String>,
    pub last_frame_url: Option<String>,
    /// `{code, message}` of a failed task.
    pub error: Option<(String, String)>,
    /// Output facts the upstream reports (used when the file cannot be probed).
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration: Option<f64>,
    pub ratio: Option<String>,
    pub has_audio: Option<bool>,
}

impl UpstreamTask {
    pub fn new(id: String, status: UpstreamStatus) -> UpstreamTask {
        UpstreamTask {
            id,
            status,
            progress: None,
            video_url: None,
            last_frame_url: None,
            error: None,
            width: None,
            height: None,
            duration: None,
            ratio: None,
            has_audio: None,
        }
    }
}

/// How a channel runs the tasks routed to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Execution {
    /// In this process, to the end, on a local worker's claim ([`Provider::run`]).
    InProcess,
    /// On another server: [`Provider::submit`], then [`Provider::statuses`] until it ends.
    Remote,
}

/// What an in-process provider needs to run one task.
pub struct Job<'a> {
    /// reelay's task id.
    pub task_id: &'a str,
    pub request: &'a ValidatedRequest,
    /// Receives 0.0–1.0 as the work advances.
    pub progress: watch::Sender<f32>,
}

/// How a task ended on its channel.
#[derive(Debug)]
pub enum Outcome {
    /// The video (and last frame) in hand, not yet stored.
    Completed(Output),
    Failed(TaskFailure),
}

/// A finished task's files and what is known about them.
#[derive(Debug)]
pub struct Output {
    /// The MP4.
    pub video: Vec<u8>,
    /// The last frame (PNG), when the request asked for it.
    pub last_frame: Option<Vec<u8>>,
    pub width: u32,
    pub height: u32,
    pub duration: f64,
    pub fps: u32,
    pub frames: u32,
    pub has_audio: bool,
    /// The ratio actually produced (resolves `adaptive`).
    pub ratio: String,
}

/// Why a task failed, as reported in `error: {code, message}`.
#[derive(Debug, Clone)]
pub struct TaskFailure {
    pub code: String,
    pub message: String,
}

impl TaskFailure {
    pub fn new(code: &str, message: impl Into<String>) -> TaskFailure {
        TaskFailure {
            code: code.to_string(),
            message: message.into(),
        }
    }

    /// True when the request itself is at fault (its inputs), not the channel: such a failure
    /// does not count against the channel's health.
    pub(crate) fn is_request_fault(&self) -> bool {
        self.code == "invalid_input"
    }
}

/// One channel's provider. Every method has a meaning for one [`Execution`] only; the other
/// kind keeps the default, which says so.
pub trait Provider: Send + Sync {
    /// How this provider runs tasks.
    fn execution(&self) -> Execution;

    /// In-process providers: runs the task to the end.
    fn run<'a>(&'a self, job: Job<'a>) -> BoxFuture<'a, Outcome> {
        let _ = job;
        Box::pin(async {
            Outcome::Failed(TaskFailure::new(
                "internal",
                "this channel runs tasks on another server, not in this process",
            ))
        })
    }

    /// Remote providers: creates the task upstream; returns the upstream's id.
    fn submit<'a>(
        &'a self,
        request: SubmitRequest<'a>,
    ) -> BoxFuture<'a, Result<String, CallError>> {
        let _ = request;
        Box::pin(async {
            Err(CallError::Rejected {
                code: "internal".to_string(),
                message: "this channel runs tasks in this process; nothing is submitted"
                    .to_string(),
            })
        })
    }

    /// After an ambiguous submit: the upstream id of the task created with `marker` (for
    /// `upstream_model`, not before `since` Unix seconds), or `None` when the upstream has none.
    fn find_by_marker<'a>(
        &'a self,
        upstream_model: &'a str,
        marker: &'a str,
        since: i64,
    ) -> BoxFuture<'a, Result<Option<String>, CallError>> {
        let _ = (upstream_model, marker, since);
        Box::pin(async { Ok(None) })
    }

    /// Statuses of many tasks (at most `max_batch` ids). Ids the upstream does not know are
    /// simply absent from the answer.
    fn statuses<'a>(
        &'a self,
        ids: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<UpstreamTask>, CallError>> {
        let _ = ids;
        Box::pin(async { Ok(Vec::new()) })
    }

    /// Cancels (or deletes) an upstream task; best effort.
    fn cancel<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), CallError>> {
        let _ = id;
        Box::pin(async { Ok(()) })
    }

    /// Most ids one `statuses` call takes.
    fn max_batch(&self) -> usize {
        1
    }

    /// True when repeating a create with the same marker cannot make a second task (an
    /// idempotency key): an ambiguous submit is then simply repeated on the same channel.
    fn idempotent_create(&self) -> bool {
        false
    }
}

/// What every remote provider holds: an HTTP client with the channel's timeouts, the base URL
/// (no trailing slash), the API key and the status batch size.
pub(crate) struct Endpoint {
    pub client: reqwest::Client,
    pub base: String,
    pub key: secrecy::SecretString,
    pub batch: usize,
}

impl Endpoint {
    pub fn new(
        settings: &crate::config::ChannelSettings,
        key: secrecy::SecretString,
    ) -> Result<Endpoint, String> {
        let timeout = std::time::Duration::from_millis(settings.request_timeout_ms);
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(std::time::Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Endpoint {
            client,
            base: settings
                .base_url
                .clone()
                .unwrap_or_default()
                .trim_end_matches('/')
                .to_string(),
            key,
            batch: settings.poll_batch as usize,
        })
    }
}
