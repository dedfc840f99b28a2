//! The public API under `/api/open-api/v1` (API.md §2–§4, §6): the Seedance 2.0 task API and
//! reelay's extensions to it. Answers declare their fields in name order (see [`super`]).
//!
//! Reading is tolerant where the Rust client needs it: members added after the first client
//! (a task's `request`, `cost`, the newer `result` members, a model's details) default when a
//! server leaves them out; unknown members are ignored everywhere.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

// ---- requests ----------------------------------------------------------------------------

/// Create (and quote) body (API.md §2). Unknown fields are ignored; every rule per model is
/// in `GET /models`.
// The server does not read this type: it validates the raw JSON object with the catalog's
// validator, whose 40001 messages name the field and what is allowed. This type describes the
// body and is what the Rust client sends, leaving out what it does not set (the model's
// defaults then apply).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct CreateVideoRequest {
    /// Model name (see `GET /models`).
    #[schema(example = "seedance2.0-sp")]
    pub model: String,
    /// What the video shows.
    pub prompt: String,
    /// Seconds; omitted → the model's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<i64>,
    /// `480p`, `720p` or `1080p` (2k/4k models fix their own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    /// `16:9`, `4:3`, `1:1`, `3:4`, `9:16`, `21:9` or `adaptive`; wins over `orientation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio: Option<String>,
    /// `landscape` or `portrait`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orientation: Option<String>,
    /// Reference images: `https://` URLs or `asset://{id}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<String>>,
    /// First frame: an `https://` URL or `asset://{id}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_image: Option<String>,
    /// Last frame (with `first_image`): an `https://` URL or `asset://{id}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_image: Option<String>,
    /// Reference videos: `https://` URLs or `asset://{id}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_videos: Option<Vec<String>>,
    /// Reference audios: `https://` URLs or `asset://{id}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_audios: Option<Vec<String>>,
    /// -1 (random) to 2^32-1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// Generate a soundtrack (models with audio output).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_audio: Option<bool>,
    /// Add a watermark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark: Option<bool>,
    /// Keep the camera still.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera_fixed: Option<bool>,
    /// Also return the last frame as an image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_last_frame: Option<bool>,
    /// https URL that receives the task on each terminal status (API.md §6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
}

/// `image`, `video` or `audio`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MediaType {
    Image,
    Video,
    Audio,
}

/// Upload (or audit) by URL: `{name, type, url}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AssetUploadRequest {
    /// Defaults to the last path segment of `url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What the URL holds.
    #[serde(rename = "type")]
    pub kind: MediaType,
    /// An https:// URL reelay fetches in the background.
    #[schema(pattern = "^https://")]
    pub url: String,
}

/// Upload (or audit) of the bytes themselves, `multipart/form-data`.
// A form, never JSON: this type only describes its parts (no serde).
#[derive(Debug, Clone, ToSchema)]
pub struct AssetUploadForm {
    /// Defaults to the file name of `file`.
    pub name: Option<String>,
    /// What `file` holds.
    #[schema(rename = "type")]
    pub kind: MediaType,
    /// The bytes.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// `{asset_id}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AssetIdRequest {
    /// `asset_…` (or `rp_…` on the real-person routes).
    #[schema(min_length = 1)]
    pub asset_id: String,
}

/// `{asset_ids}`: 1 to 100 ids.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AssetIdsRequest {
    /// The ids, answered in this order.
    #[schema(min_items = 1, max_items = 100)]
    pub asset_ids: Vec<String>,
}

/// A real-person likeness by URL: `{name, url}` (an image).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RealPersonRequest {
    /// Defaults to the last path segment of `url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// An https:// URL of an image.
    #[schema(pattern = "^https://")]
    pub url: String,
    /// Only `image` is accepted.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// A real-person likeness as bytes, `multipart/form-data`.
// A form, never JSON: this type only describes its parts (no serde).
#[derive(Debug, Clone, ToSchema)]
pub struct RealPersonForm {
    /// Defaults to the file name of `file`.
    pub name: Option<String>,
    /// The image's bytes.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// `{name}` of a new key (1–64 characters, no control characters).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KeyCreateRequest {
    /// Shown in the key list; trimmed.
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
}

// ---- tasks -------------------------------------------------------------------------------

/// The price of a request (`POST /seedance/videos/quote`, and `cost` of a create's answer).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct Quote {
    /// Credits the task costs.
    pub credits: i64,
    /// The task's duration in seconds (the multiplier when `unit` is `per_second`).
    pub seconds: i64,
    /// `per_second` or `per_task`.
    pub unit: String,
}

/// Answer to a create.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TaskCreated {
    /// The price charged.
    #[serde(default)]
    #[schema(required = true)]
    pub cost: Quote,
    /// Unix seconds.
    pub created_at: i64,
    /// The catalog model.
    pub model: String,
    /// `queued`.
    pub status: String,
    /// `vid_…`.
    pub task_id: String,
}

/// The task object: `data` of `GET /videos/{task_id}` and of a cancel, an item of `GET /videos`,
/// the `data` of each `task` event, and the body of a webhook.
// reelay writes it with `tasks::view::TaskView`, a borrowed writer (the poll runs on every
// call) whose tests prove it writes the bytes of this type.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Task {
    /// The channel that ran (or runs) the task.
    pub channel: Option<String>,
    /// When the task ended (`null` until it is terminal).
    pub completed_at: Option<i64>,
    /// What the task costs and whether it was refunded.
    #[serde(default)]
    #[schema(required = true)]
    pub cost: TaskCost,
    /// Unix seconds.
    pub created_at: i64,
    /// Why the task failed (`null` unless `failed`).
    pub error: Option<TaskError>,
    /// The message of `error` (the seed's field).
    pub error_message: Option<String>,
    /// The catalog model.
    pub model: String,
    /// 0 queued, 1–99 processing, 100 completed.
    pub progress: i64,
    /// The effective request, every default applied.
    #[serde(default)]
    pub request: Option<TaskRequest>,
    /// The video (`null` unless `completed`).
    pub result: Option<TaskResult>,
    /// `queued`, `processing`, `completed` or `failed`.
    pub status: String,
    /// `vid_…`.
    pub task_id: String,
    /// Unix seconds of the last change.
    pub updated_at: i64,
    /// Delivery state of the task's webhook, on `GET /videos/{task_id}` only (absent from list
    /// items, events and webhooks); `null` when none was made.
    #[serde(
        default,
        deserialize_with = "super::present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<WebhookDelivery>)]
    pub webhook: Option<Option<WebhookDelivery>>,
}

impl Task {
    /// True once the task is `completed` or `failed`.
    pub fn is_terminal(&self) -> bool {
        matches!(self.status.as_str(), "completed" | "failed")
    }
}

/// The effective request, every default applied (the price is in the task's `cost`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct TaskRequest {
    /// Where the task is POSTed on each terminal status.
    pub callback_url: Option<String>,
    /// Keep the camera still.
    #[serde(default)]
    #[schema(required = true)]
    pub camera_fixed: bool,
    /// Seconds.
    #[serde(default)]
    #[schema(required = true)]
    pub duration: i64,
    /// Family of the model (e.g. `sp_economy`).
    #[serde(default)]
    #[schema(required = true)]
    pub family: String,
    /// First frame, as given.
    pub first_image: Option<String>,
    /// Generate a soundtrack.
    #[serde(default)]
    #[schema(required = true)]
    pub generate_audio: bool,
    /// Reference images, as given.
    #[serde(default)]
    #[schema(required = true)]
    pub images: Vec<String>,
    /// Last frame, as given.
    pub last_image: Option<String>,
    /// The catalog model.
    #[serde(default)]
    #[schema(required = true)]
    pub model: String,
    /// The prompt, unchanged.
    #[serde(default)]
    #[schema(required = true)]
    pub prompt: String,
    /// The effective ratio (`adaptive` when taken from the image).
    #[serde(default)]
    #[schema(required = true)]
    pub ratio: String,
    /// Reference audios, as given.
    #[serde(default)]
    #[schema(required = true)]
    pub reference_audios: Vec<String>,
    /// Reference videos, as given.
    #[serde(default)]
    #[schema(required = true)]
    pub reference_videos: Vec<String>,
    /// The effective resolution (the model's own one on fixed models).
    #[serde(default)]
    #[schema(required = true)]
    pub resolution: String,
    /// Also return the last frame as an image.
    #[serde(default)]
    #[schema(required = true)]
    pub return_last_frame: bool,
    /// `null` when not given (random).
    pub seed: Option<i64>,
    /// Add a watermark.
    #[serde(default)]
    #[schema(required = true)]
    pub watermark: bool,
}

/// The result of a completed task.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TaskResult {
    /// The channel that made the video.
    #[serde(default)]
    #[schema(required = true)]
    pub channel: String,
    /// Seconds.
    pub duration: f64,
    /// True once the file was deleted after retention (`video_url` is then `null`).
    #[serde(default)]
    #[schema(required = true)]
    pub expired: bool,
    /// When `video_url` stops working (`null`: kept forever).
    pub expires_at: Option<i64>,
    /// Frames per second.
    pub fps: i64,
    /// Number of frames.
    #[serde(default)]
    #[schema(required = true)]
    pub frames: i64,
    /// True when the video has a soundtrack.
    #[serde(default)]
    #[schema(required = true)]
    pub has_audio: bool,
    /// Pixels.
    pub height: i64,
    /// Signed URL of the last frame (with `return_last_frame`), `null` otherwise.
    pub last_frame_url: Option<String>,
    /// True when made by the built-in local preview renderer.
    #[serde(default)]
    #[schema(required = true)]
    pub preview: bool,
    /// The video's ratio.
    #[serde(default)]
    #[schema(required = true)]
    pub ratio: String,
    /// Bytes of the MP4.
    pub size_bytes: i64,
    /// Signed URL; `null` once the file is deleted after retention.
    pub video_url: Option<String>,
    /// Pixels.
    pub width: i64,
}

/// Why a task failed (`cancelled`, `expired`, or an upstream / input error code).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TaskError {
    /// `cancelled`, `expired`, or an upstream / input error code.
    pub code: String,
    /// What went wrong, for a person.
    pub message: Option<String>,
}

/// What the task costs and whether it was refunded.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct TaskCost {
    /// Credits charged when the task was accepted.
    #[serde(default)]
    #[schema(required = true)]
    pub credits: i64,
    /// True once the credits were given back (a failed task).
    #[serde(default)]
    #[schema(required = true)]
    pub refunded: bool,
    /// The task's duration in seconds.
    #[serde(default)]
    #[schema(required = true)]
    pub seconds: i64,
    /// `per_second` or `per_task`.
    #[serde(default)]
    #[schema(required = true)]
    pub unit: String,
}

/// Delivery state of a task's webhook.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookDelivery {
    /// POSTs made so far.
    pub attempts: i64,
    /// When a POST was answered 2xx.
    pub delivered_at: Option<i64>,
    /// Why the last POST failed.
    pub last_error: Option<String>,
    /// HTTP status of the last answer.
    pub last_status: Option<i64>,
    /// When the next POST is due (`null` once delivered or given up).
    pub next_attempt_at: Option<i64>,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// The task's `callback_url`.
    pub url: String,
    /// The `webhook-id` header, the same on every retry.
    pub webhook_id: String,
}

/// A page of tasks, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TaskPage {
    /// The tasks (without `webhook`).
    pub items: Vec<Task>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

/// One Server-Sent Event of `GET /videos/{task_id}/events`.
// An event-stream frame, not JSON: this type only describes its fields (no serde).
#[derive(Debug, Clone, ToSchema)]
pub struct TaskEvent {
    /// Always `task`.
    pub event: String,
    /// The task's version (only grows); send it back as `Last-Event-ID` to resume.
    pub id: String,
    /// The task object (as `GET /videos/{task_id}` returns in `data`, without `webhook`),
    /// JSON-encoded.
    pub data: String,
}

// ---- account -----------------------------------------------------------------------------

/// The caller's account (`GET /account`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AccountView {
    /// `acct_…`.
    pub account_id: String,
    /// Credits available.
    pub balance: i64,
    /// The account's name.
    pub name: String,
    /// Credits spent, net of refunds.
    pub spent_total: i64,
    /// True once `POST /account/webhook-secret` made a secret.
    pub webhook_secret_set: bool,
}

/// One change of the balance.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LedgerEntry {
    /// Unix seconds.
    pub at: i64,
    /// The balance after this entry.
    pub balance_after: i64,
    /// Signed.
    pub credits: i64,
    /// `led_<n>`.
    pub id: String,
    /// `topup`, `charge`, `refund` or `adjust`.
    pub kind: String,
    /// The task charged or refunded.
    pub task_id: Option<String>,
}

/// A page of the ledger, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LedgerPage {
    /// The entries.
    pub items: Vec<LedgerEntry>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

/// One of the account's keys; never the secret.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AccountKey {
    /// Unix seconds.
    pub created_at: i64,
    /// True for the key this request was made with.
    pub current: bool,
    /// `key_…`.
    pub key_id: String,
    /// The key's own in-flight task limit (`null`: the server default).
    pub max_in_flight: Option<i64>,
    /// The key's name.
    pub name: String,
    /// The public lookup part of the secret.
    pub prefix: String,
    /// The most credits the key may spend, net of refunds (0: unlimited; set by an operator).
    pub quota: i64,
    /// Credits the key's tasks were charged, net of refunds.
    pub quota_used: i64,
    /// When the key was revoked.
    pub revoked_at: Option<i64>,
    /// The key's own requests-per-minute limit (`null`: the server default).
    pub rpm: Option<i64>,
}

/// The account's keys, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AccountKeyList {
    /// The keys, revoked ones included.
    pub items: Vec<AccountKey>,
}

/// A key just made: the listing fields plus the secret, shown this once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AccountKeyCreated {
    /// Unix seconds.
    pub created_at: i64,
    /// True for the key this request was made with.
    pub current: bool,
    /// `key_…`.
    pub key_id: String,
    /// The key's own in-flight task limit (`null`: the server default).
    pub max_in_flight: Option<i64>,
    /// The key's name.
    pub name: String,
    /// The public lookup part of the secret.
    pub prefix: String,
    /// The most credits the key may spend, net of refunds (0: unlimited; set by an operator).
    pub quota: i64,
    /// Credits the key's tasks were charged, net of refunds.
    pub quota_used: i64,
    /// When the key was revoked.
    pub revoked_at: Option<i64>,
    /// The key's own requests-per-minute limit (`null`: the server default).
    pub rpm: Option<i64>,
    /// `sk_…`, shown once.
    pub secret: String,
}

/// The account's new webhook secret.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookSecret {
    /// `whsec_<base64>`, shown once.
    pub secret: String,
}

// ---- models ------------------------------------------------------------------------------

/// The catalog (`GET /models`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ModelList {
    /// Every model, in catalog order.
    pub items: Vec<ModelItem>,
}

/// One model as the server enforces it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ModelItem {
    /// `asset://` ids must come from the Full-route audit.
    #[serde(default)]
    #[schema(required = true)]
    pub assets_audited: bool,
    /// `generate_audio` may be true.
    #[serde(default)]
    #[schema(required = true)]
    pub audio_output: bool,
    /// `per_second` or `per_task`.
    #[serde(default)]
    #[schema(required = true)]
    pub billing: String,
    /// Channels that serve the model.
    #[serde(default)]
    #[schema(required = true)]
    pub channels: Vec<String>,
    /// Seconds allowed.
    #[serde(default)]
    #[schema(required = true)]
    pub duration: ModelDuration,
    /// Family key (e.g. `sp_economy`).
    #[serde(default)]
    #[schema(required = true)]
    pub family: String,
    /// `first_only_or_both`, `both_required` or `none` (no frame mode).
    #[serde(default)]
    #[schema(required = true)]
    pub frames: String,
    /// Reference images allowed.
    #[serde(default)]
    #[schema(required = true)]
    pub images: ModelImages,
    /// `https` and/or `asset`.
    #[serde(default)]
    #[schema(required = true)]
    pub media_forms: Vec<String>,
    /// The model's name.
    #[serde(default)]
    #[schema(required = true)]
    pub model: String,
    /// Credits per resolution (per second or per task).
    #[serde(default)]
    #[schema(required = true)]
    pub prices: BTreeMap<String, i64>,
    /// Longest prompt, in characters.
    #[serde(default)]
    #[schema(required = true)]
    pub prompt_max_chars: i64,
    /// Ratios allowed.
    #[serde(default)]
    #[schema(required = true)]
    pub ratios: Vec<String>,
    /// Reference audios allowed (`null`: none).
    pub reference_audios: Option<ModelReferenceAudios>,
    /// Reference videos allowed (`null`: none).
    pub reference_videos: Option<ModelReferenceVideos>,
    /// Resolutions allowed.
    #[serde(default)]
    #[schema(required = true)]
    pub resolution: ModelResolution,
}

/// Seconds a task of the model may last.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ModelDuration {
    /// When the request gives none.
    pub default: i64,
    /// Longest.
    pub max: i64,
    /// Shortest.
    pub min: i64,
}

/// Resolutions of the model.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ModelResolution {
    /// The resolutions a request may ask for.
    pub allowed: Vec<String>,
    /// When the request gives none.
    pub default: String,
    /// True when the model makes one resolution whatever the request says.
    pub fixed: bool,
}

/// Reference images of the model.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ModelImages {
    /// Most images in one request.
    pub max: i64,
}

/// Reference videos of the model.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ModelReferenceVideos {
    /// Most videos in one request.
    pub max: i64,
    /// Their longest total duration, in seconds.
    pub total_seconds: i64,
}

/// Reference audios of the model.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ModelReferenceAudios {
    /// True when audios may go with first/last frames.
    pub in_frame_mode: bool,
    /// Most audios in one request.
    pub max: i64,
    /// Their longest total duration, in seconds.
    pub total_seconds: i64,
}

// ---- assets and real-person records ------------------------------------------------------

/// Answer to an upload or audit.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AssetAccepted {
    /// `asset_…`.
    pub asset_id: String,
    /// Present when `Failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Review state (`pending`, `approved`, `rejected`) for reviewed purposes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<String>,
    /// `Processing`, `Active` or `Failed`.
    pub status: String,
}

/// Full view of an asset.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AssetDetail {
    /// `asset_…`.
    pub asset_id: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Seconds (video and audio; absent until probed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// The probed format (e.g. `png`, `mp4`).
    pub format: Option<String>,
    /// Pixels (images and videos; absent until probed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<i64>,
    /// The asset's name.
    pub name: String,
    /// Why the asset is `Failed`.
    pub reason: Option<String>,
    /// Review state (`pending`, `approved`, `rejected`); absent for unreviewed purposes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<String>,
    /// When the review decision was made (with `review`).
    #[serde(
        default,
        deserialize_with = "super::present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<i64>)]
    pub reviewed_at: Option<Option<i64>>,
    /// Who made the review decision (with `review`).
    #[serde(
        default,
        deserialize_with = "super::present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub reviewed_by: Option<Option<String>>,
    /// Bytes stored.
    pub size_bytes: i64,
    /// `Processing`, `Active` or `Failed`.
    pub status: String,
    /// `image`, `video` or `audio`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Unix seconds of the last change.
    pub updated_at: i64,
    /// The source URL (`null` for uploaded bytes).
    pub url: Option<String>,
    /// Pixels (images and videos; absent until probed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<i64>,
}

/// (ext) One asset in the caller's listing (`GET /assets`): any purpose, with a URL of its bytes.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AssetItem {
    /// `asset_…` or `rp_…`.
    pub asset_id: String,
    /// What a task names the asset by, `asset://{asset_id}`, once it is Active (`null` before).
    pub asset_ref: Option<String>,
    /// A signed, expiring URL of the stored bytes (`null` until they are stored).
    pub content_url: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Seconds (video and audio; absent until probed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// The probed format (e.g. `png`, `mp4`).
    pub format: Option<String>,
    /// Pixels (images and videos; absent until probed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<i64>,
    /// The asset's name.
    pub name: String,
    /// `library` (SP library), `audit` (Full-route audit) or `realperson`.
    pub purpose: String,
    /// Why the asset is `Failed`.
    pub reason: Option<String>,
    /// Review state (`pending`, `approved`, `rejected`); absent for unreviewed purposes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<String>,
    /// Bytes stored.
    pub size_bytes: i64,
    /// `Processing`, `Active` or `Failed`.
    pub status: String,
    /// `image`, `video` or `audio`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Unix seconds of the last change.
    pub updated_at: i64,
    /// The source URL (`null` for uploaded bytes).
    pub url: Option<String>,
    /// Pixels (images and videos; absent until probed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<i64>,
}

/// (ext) A page of the caller's assets, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AssetPage {
    pub items: Vec<AssetItem>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// One item of a status listing.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AssetStatus {
    /// `asset_…`.
    pub asset_id: String,
    /// The asset's name.
    pub name: String,
    /// Why the asset is `Failed`.
    pub reason: Option<String>,
    /// Review state (`pending`, `approved`, `rejected`); absent for unreviewed purposes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<String>,
    /// `Processing`, `Active` or `Failed`.
    pub status: String,
    /// `image`, `video` or `audio`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// Statuses, in request order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AssetStatusList {
    /// One per id asked for.
    pub items: Vec<AssetStatus>,
}

/// Answer to a delete.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AssetDeleted {
    /// The asset deleted.
    pub asset_id: String,
    /// Always true.
    pub deleted: bool,
}

/// A real-person record.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RealPersonRecord {
    /// `rp_…`.
    pub asset_id: String,
    /// `asset://rp_…` once `Active`.
    pub asset_ref: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// The record's name.
    pub name: String,
    /// Why the record is `Failed`.
    pub reason: Option<String>,
    /// When the review decision was made.
    pub reviewed_at: Option<i64>,
    /// Who made the review decision.
    pub reviewed_by: Option<String>,
    /// `Processing`, `Active` or `Failed`.
    pub status: String,
    /// Unix seconds of the last change.
    pub updated_at: i64,
    /// The source URL (`null` for uploaded bytes).
    pub url: Option<String>,
}

/// Real-person records, in request order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RealPersonList {
    /// One per id asked for.
    pub items: Vec<RealPersonRecord>,
}

// ---- the vendor's companion routes (DIALECTS.md §1) ----------------------------------------

/// Answer to `POST /files/upload`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UploadedFile {
    /// The uploaded file's name (without any path).
    pub filename: String,
    /// Sniffed from the bytes, e.g. `image/png`.
    pub mime_type: String,
    /// Bytes.
    pub size: i64,
    /// A reelay URL usable wherever a media URL is, valid for the results retention.
    pub url: String,
}

/// Answer to `GET /user/balance`: the calling key's account.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UserBalance {
    /// Credits spendable now.
    pub available: i64,
    /// `available + used_coin`.
    pub balance: i64,
    /// Credits spent on tasks, net of refunds.
    pub used_coin: i64,
}

/// Answer to `GET /key/balance`: the calling key's spending quota.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KeyBalance {
    /// Credits left under the quota; 0 when unlimited (see `unlimited`).
    pub available_quota: i64,
    /// The key's name.
    pub name: String,
    /// The key's quota in credits; 0 when unlimited.
    pub total_quota: i64,
    /// No quota set: the key spends up to the account's balance.
    pub unlimited: bool,
    /// Credits the key's tasks were charged, net of refunds.
    pub used_quota: i64,
}
