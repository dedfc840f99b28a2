//! Schemas of the JSON that handlers build with `json!`, and of the envelope and errors.
//!
//! These types are never constructed: each mirrors one `json!` of a handler (named on the type)
//! and must change with it. Optional-but-always-present fields are `Option` (nullable).
#![allow(dead_code)]

use std::collections::BTreeMap;

use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// The success envelope: `{"code": 0, "msg": "ok", "data": …}`.
#[derive(ToSchema)]
pub struct Envelope<T> {
    pub code: SuccessCode,
    /// Always `ok` on success.
    #[schema(example = "ok")]
    pub msg: String,
    pub data: T,
}

/// `0`, or the string `"20000"` when the server runs with `api.success_code = "20000"`.
pub struct SuccessCode;

impl PartialSchema for SuccessCode {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(SchemaType::new(Type::Integer))
                    .enum_values(Some([0])),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(SchemaType::new(Type::String))
                    .enum_values(Some(["20000"])),
            )
            .description(Some(
                "0 (default), or \"20000\" with `api.success_code = \"20000\"`",
            ))
            .into()
    }
}

impl ToSchema for SuccessCode {}

/// `data` of an error: `null`, or the field (or header) at fault.
#[derive(ToSchema)]
pub struct ErrorParam {
    /// The field or header at fault, e.g. `duration` or `Idempotency-Key`.
    pub param: String,
}

/// An error envelope whose `code` is one of `codes`.
fn error_schema(codes: &[i64], description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .description(Some(description))
        .property(
            "code",
            ObjectBuilder::new()
                .schema_type(SchemaType::new(Type::Integer))
                .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                    utoipa::openapi::KnownFormat::Int64,
                )))
                .enum_values(Some(codes.iter().copied())),
        )
        .required("code")
        .property(
            "msg",
            ObjectBuilder::new()
                .schema_type(SchemaType::new(Type::String))
                .description(Some("One sentence a person can act on.")),
        )
        .required("msg")
        .property(
            "data",
            OneOfBuilder::new()
                .item(ObjectBuilder::new().schema_type(SchemaType::new(Type::Null)))
                .item(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    "ErrorParam",
                ))),
        )
        .required("data")
        .into()
}

macro_rules! error_body {
    ($name:ident, [$($code:literal),+], $description:literal) => {
        #[doc = $description]
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                error_schema(&[$($code),+], $description)
            }
        }

        impl ToSchema for $name {
            fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
                schemas.push(("ErrorParam".to_string(), ErrorParam::schema()));
            }
        }
    };
}

error_body!(
    Error400,
    [40000, 40001, 40002, 40003],
    "400: 40000 bad JSON body, 40001 invalid field (data.param), 40002 unknown model, 40003 unusable asset:// reference"
);
error_body!(
    Error401,
    [40100],
    "401: 40100 missing or invalid credentials"
);
error_body!(
    Error402,
    [40200],
    "402: 40200 balance too low for this task"
);
error_body!(
    Error403,
    [40300],
    "403: 40300 not allowed (an API key on an admin route)"
);
error_body!(
    Error404,
    [40400],
    "404: 40400 no such resource for this caller"
);
error_body!(
    Error409,
    [40900],
    "409: 40900 conflict with the resource's state"
);
error_body!(Error413, [41300], "413: 41300 body or upload too large");
error_body!(
    Error429,
    [42900],
    "429: 42900 rate or in-flight limit of this key (Retry-After set)"
);
error_body!(
    Error500,
    [50000],
    "500: 50000 internal error (details in the server log under X-Request-Id)"
);
error_body!(
    Error503,
    [50300],
    "503: 50300 no channel can take this model now"
);

/// `image`, `video` or `audio`.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum MediaType {
    Image,
    Video,
    Audio,
}

// ---- requests -------------------------------------------------------------------------

/// Create (and quote) body (API.md §2). Unknown fields are ignored; every rule per model is
/// in `GET /models`.
#[derive(ToSchema)]
pub struct CreateVideoRequest {
    /// Model name (see `GET /models`).
    #[schema(example = "seedance2.0-sp")]
    pub model: String,
    pub prompt: String,
    /// Seconds; omitted → the model's default.
    pub duration: Option<i64>,
    /// `480p`, `720p` or `1080p` (2k/4k models fix their own).
    pub resolution: Option<String>,
    /// `16:9`, `4:3`, `1:1`, `3:4`, `9:16`, `21:9` or `adaptive`; wins over `orientation`.
    pub ratio: Option<String>,
    /// `landscape` or `portrait`.
    pub orientation: Option<String>,
    /// Reference images: `https://` URLs or `asset://{id}`.
    pub images: Option<Vec<String>>,
    pub first_image: Option<String>,
    pub last_image: Option<String>,
    pub reference_videos: Option<Vec<String>>,
    pub reference_audios: Option<Vec<String>>,
    /// -1 (random) to 2^32-1.
    pub seed: Option<i64>,
    pub generate_audio: Option<bool>,
    pub watermark: Option<bool>,
    pub camera_fixed: Option<bool>,
    pub return_last_frame: Option<bool>,
    /// https URL that receives the task on each terminal status (API.md §6).
    pub callback_url: Option<String>,
}

/// Upload (or audit) by URL: `{name, type, url}`.
#[derive(ToSchema)]
pub struct AssetUploadRequest {
    /// Defaults to the last path segment of `url`.
    pub name: Option<String>,
    #[schema(rename = "type")]
    pub kind: MediaType,
    /// An https:// URL reelay fetches in the background.
    #[schema(pattern = "^https://")]
    pub url: String,
}

/// Upload (or audit) of the bytes themselves, `multipart/form-data`.
#[derive(ToSchema)]
pub struct AssetUploadForm {
    pub name: Option<String>,
    #[schema(rename = "type")]
    pub kind: MediaType,
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// `{asset_id}`.
#[derive(ToSchema)]
pub struct AssetIdRequest {
    #[schema(min_length = 1)]
    pub asset_id: String,
}

/// `{asset_ids}`: 1 to 100 ids.
#[derive(ToSchema)]
pub struct AssetIdsRequest {
    #[schema(min_items = 1, max_items = 100)]
    pub asset_ids: Vec<String>,
}

/// A real-person likeness by URL: `{name, url}` (an image).
#[derive(ToSchema)]
pub struct RealPersonRequest {
    pub name: Option<String>,
    /// An https:// URL of an image.
    #[schema(pattern = "^https://")]
    pub url: String,
    /// Only `image` is accepted.
    #[schema(rename = "type")]
    pub kind: Option<String>,
}

/// A real-person likeness as bytes, `multipart/form-data`.
#[derive(ToSchema)]
pub struct RealPersonForm {
    pub name: Option<String>,
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// `{name}` of a new key (1–64 characters, no control characters).
#[derive(ToSchema)]
pub struct KeyCreateRequest {
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
}

/// `POST /admin/v1/accounts`: `{name, credits?}`.
#[derive(ToSchema)]
pub struct AccountCreateRequest {
    /// 1–100 characters.
    pub name: String,
    /// Starting credits (positive; default 0).
    #[schema(minimum = 1, maximum = 1_000_000_000_000_000_i64)]
    pub credits: Option<i64>,
}

/// `POST /admin/v1/accounts/{id}/keys`: `{name}` (1–100 characters).
#[derive(ToSchema)]
pub struct AdminKeyCreateRequest {
    pub name: String,
}

/// `{credits, note?}`: positive tops up, negative adjusts down (never below zero).
#[derive(ToSchema)]
pub struct CreditsRequest {
    /// A non-zero integer.
    #[schema(minimum = -1_000_000_000_000_000_i64, maximum = 1_000_000_000_000_000_i64)]
    pub credits: i64,
    /// Kept on the ledger entry (first 200 characters).
    pub note: Option<String>,
}

/// `{rpm?, max_in_flight?}`: absent = unchanged, `null` = server default, 1–1,000,000 = own limit.
#[derive(ToSchema)]
pub struct KeyLimitsRequest {
    pub rpm: Option<i64>,
    pub max_in_flight: Option<i64>,
}

/// `{reason}`: why the item is rejected (the user sees it; at most 1,000 characters).
#[derive(ToSchema)]
pub struct RejectRequest {
    pub reason: String,
}

/// One Server-Sent Event of `GET /videos/{task_id}/events`.
#[derive(ToSchema)]
pub struct TaskEvent {
    /// Always `task`.
    pub event: String,
    /// The task's version (only grows); send it back as `Last-Event-ID` to resume.
    pub id: String,
    /// The task object (as `GET /videos/{task_id}` returns in `data`), JSON-encoded.
    pub data: String,
}

// ---- tasks (src/api/videos.rs, src/tasks/view.rs) ----------------------------------------

/// Price of a request: `cost_json` in `videos.rs`.
#[derive(ToSchema)]
pub struct Quote {
    pub credits: i64,
    /// `per_second` or `per_task`.
    pub unit: String,
    pub seconds: i64,
}

/// Answer to a create.
#[derive(ToSchema)]
pub struct TaskCreated {
    pub task_id: String,
    /// `queued`.
    pub status: String,
    pub model: String,
    pub created_at: i64,
    pub cost: Quote,
}

/// The task object (`task_json` in `tasks/view.rs`); also the webhook payload.
#[derive(ToSchema)]
pub struct Task {
    pub task_id: String,
    pub model: String,
    /// `queued`, `processing`, `completed` or `failed`.
    pub status: String,
    /// 0 queued, 1–99 processing, 100 completed.
    pub progress: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub completed_at: Option<i64>,
    /// The channel that ran (or runs) the task.
    pub channel: Option<String>,
    pub request: Option<TaskRequest>,
    pub result: Option<TaskResult>,
    pub error_message: Option<String>,
    pub error: Option<TaskError>,
    pub cost: TaskCost,
    /// Delivery state of the task's webhook (query only; `null` when none was made).
    pub webhook: Option<WebhookDelivery>,
}

/// The effective request, every default applied.
#[derive(ToSchema)]
pub struct TaskRequest {
    pub model: String,
    pub family: String,
    pub prompt: String,
    pub duration: i64,
    pub resolution: String,
    pub ratio: String,
    pub images: Vec<String>,
    pub first_image: Option<String>,
    pub last_image: Option<String>,
    pub reference_videos: Vec<String>,
    pub reference_audios: Vec<String>,
    pub seed: Option<i64>,
    pub generate_audio: bool,
    pub watermark: bool,
    pub camera_fixed: bool,
    pub return_last_frame: bool,
    pub callback_url: Option<String>,
}

/// The result of a completed task.
#[derive(ToSchema)]
pub struct TaskResult {
    /// Signed URL; `null` once the file is deleted after retention.
    pub video_url: Option<String>,
    /// When `video_url` stops working (`null`: kept forever).
    pub expires_at: Option<i64>,
    pub expired: bool,
    pub last_frame_url: Option<String>,
    pub width: i64,
    pub height: i64,
    pub duration: f64,
    pub fps: i64,
    pub frames: i64,
    pub size_bytes: i64,
    pub has_audio: bool,
    pub ratio: String,
    pub channel: String,
    /// True when made by the built-in local preview renderer.
    pub preview: bool,
}

/// Why a task failed (`cancelled`, `expired`, or an upstream / input error code).
#[derive(ToSchema)]
pub struct TaskError {
    pub code: String,
    pub message: Option<String>,
}

/// What the task costs and whether it was refunded.
#[derive(ToSchema)]
pub struct TaskCost {
    pub credits: i64,
    pub unit: String,
    pub seconds: i64,
    pub refunded: bool,
}

/// `delivery_json` in `webhooks.rs`.
#[derive(ToSchema)]
pub struct WebhookDelivery {
    pub webhook_id: String,
    pub url: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<i64>,
    pub delivered_at: Option<i64>,
}

/// A page of tasks, newest first.
#[derive(ToSchema)]
pub struct TaskPage {
    pub items: Vec<Task>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

// ---- account (src/api/account.rs, src/api/webhooks.rs) -------------------------------------

#[derive(ToSchema)]
pub struct AccountView {
    pub account_id: String,
    pub name: String,
    pub balance: i64,
    pub spent_total: i64,
    pub webhook_secret_set: bool,
}

#[derive(ToSchema)]
pub struct LedgerEntry {
    /// `led_<n>`.
    pub id: String,
    pub at: i64,
    /// `topup`, `charge`, `refund` or `adjust`.
    pub kind: String,
    /// Signed.
    pub credits: i64,
    pub task_id: Option<String>,
    pub balance_after: i64,
}

#[derive(ToSchema)]
pub struct LedgerPage {
    pub items: Vec<LedgerEntry>,
    pub next_cursor: Option<String>,
}

/// One of the account's keys (`key_json` in `account.rs`); never the secret.
#[derive(ToSchema)]
pub struct AccountKey {
    pub key_id: String,
    pub name: String,
    /// The public lookup part of the secret.
    pub prefix: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    pub rpm: Option<i64>,
    pub max_in_flight: Option<i64>,
    /// True for the key this request was made with.
    pub current: bool,
}

#[derive(ToSchema)]
pub struct AccountKeyList {
    pub items: Vec<AccountKey>,
}

/// A key just made: the listing fields plus the secret, shown this once.
#[derive(ToSchema)]
pub struct AccountKeyCreated {
    pub key_id: String,
    pub name: String,
    pub prefix: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    pub rpm: Option<i64>,
    pub max_in_flight: Option<i64>,
    pub current: bool,
    /// `sk_…`, shown once.
    pub secret: String,
}

#[derive(ToSchema)]
pub struct WebhookSecret {
    /// `whsec_<base64>`, shown once.
    pub secret: String,
}

// ---- models (reelay-catalog listing.rs) ------------------------------------------------

#[derive(ToSchema)]
pub struct ModelList {
    pub items: Vec<ModelItem>,
}

/// One model as the server enforces it.
#[derive(ToSchema)]
pub struct ModelItem {
    pub model: String,
    pub family: String,
    /// `per_second` or `per_task`.
    pub billing: String,
    /// Credits per resolution (per second or per task).
    pub prices: BTreeMap<String, i64>,
    pub duration: ModelDuration,
    pub resolution: ModelResolution,
    pub ratios: Vec<String>,
    pub images: ModelImages,
    /// `first_only_or_both` or `both_required`.
    pub frames: String,
    pub reference_videos: Option<ModelReferenceVideos>,
    pub reference_audios: Option<ModelReferenceAudios>,
    /// `https` and/or `asset`.
    pub media_forms: Vec<String>,
    pub prompt_max_chars: i64,
    pub audio_output: bool,
    pub assets_audited: bool,
    /// Channels that serve the model.
    pub channels: Vec<String>,
}

#[derive(ToSchema)]
pub struct ModelDuration {
    pub min: i64,
    pub max: i64,
    pub default: i64,
}

#[derive(ToSchema)]
pub struct ModelResolution {
    pub allowed: Vec<String>,
    pub default: String,
    pub fixed: bool,
}

#[derive(ToSchema)]
pub struct ModelImages {
    pub max: i64,
}

#[derive(ToSchema)]
pub struct ModelReferenceVideos {
    pub max: i64,
    pub total_seconds: i64,
}

#[derive(ToSchema)]
pub struct ModelReferenceAudios {
    pub max: i64,
    pub total_seconds: i64,
    pub in_frame_mode: bool,
}

// ---- assets (src/api/assets.rs, src/api/realperson.rs) -------------------------------------

/// Answer to an upload or audit (`accepted_json`).
#[derive(ToSchema)]
pub struct AssetAccepted {
    pub asset_id: String,
    /// `Processing`, `Active` or `Failed`.
    pub status: String,
    /// Present when `Failed`.
    pub reason: Option<String>,
    /// Review state (`pending`, `approved`, `rejected`) for reviewed purposes.
    pub review: Option<String>,
}

/// Full view of an asset (`asset_json`).
#[derive(ToSchema)]
pub struct AssetDetail {
    pub asset_id: String,
    pub status: String,
    pub name: String,
    /// `image`, `video` or `audio`.
    #[schema(rename = "type")]
    pub kind: String,
    /// The source URL (`null` for uploaded bytes).
    pub url: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub width: Option<i64>,
    pub height: Option<i64>,
    /// Seconds.
    pub duration: Option<f64>,
    pub size_bytes: i64,
    pub format: Option<String>,
    pub reason: Option<String>,
    pub review: Option<String>,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<i64>,
}

/// One item of a status listing (`status_json`).
#[derive(ToSchema)]
pub struct AssetStatus {
    pub asset_id: String,
    pub status: String,
    pub name: String,
    #[schema(rename = "type")]
    pub kind: String,
    pub reason: Option<String>,
    pub review: Option<String>,
}

#[derive(ToSchema)]
pub struct AssetStatusList {
    pub items: Vec<AssetStatus>,
}

#[derive(ToSchema)]
pub struct AssetDeleted {
    pub asset_id: String,
    pub deleted: bool,
}

/// A real-person record (`record_json`).
#[derive(ToSchema)]
pub struct RealPersonRecord {
    /// `rp_…`.
    pub asset_id: String,
    pub status: String,
    /// `asset://rp_…` once `Active`.
    pub asset_ref: Option<String>,
    pub name: String,
    pub url: Option<String>,
    pub reason: Option<String>,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(ToSchema)]
pub struct RealPersonList {
    pub items: Vec<RealPersonRecord>,
}

// ---- admin (src/api/admin/) ------------------------------------------------------------

/// One admin action of the audit trail.
#[derive(ToSchema)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
}

#[derive(ToSchema)]
pub struct AuditList {
    pub items: Vec<AuditEntry>,
}

/// An account as operators see it (`account_json` in `admin/accounts.rs`).
#[derive(ToSchema)]
pub struct AdminAccount {
    pub account_id: String,
    pub name: String,
    pub balance: i64,
    pub spent_total: i64,
    pub created_at: i64,
}

#[derive(ToSchema)]
pub struct AdminAccountPage {
    pub items: Vec<AdminAccount>,
    pub next_cursor: Option<String>,
}

/// A key as operators see it (`key_json` in `admin/accounts.rs`).
#[derive(ToSchema)]
pub struct AdminKey {
    pub key_id: String,
    pub account_id: String,
    pub name: String,
    pub prefix: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    pub rpm: Option<i64>,
    pub max_in_flight: Option<i64>,
}

/// An account with its keys.
#[derive(ToSchema)]
pub struct AdminAccountDetail {
    pub account_id: String,
    pub name: String,
    pub balance: i64,
    pub spent_total: i64,
    pub created_at: i64,
    pub keys: Vec<AdminKey>,
}

/// A new account and its first key (secret shown once).
#[derive(ToSchema)]
pub struct AdminAccountCreated {
    pub account_id: String,
    pub key_id: String,
    pub secret: String,
    pub balance: i64,
}

#[derive(ToSchema)]
pub struct AdminBalance {
    pub account_id: String,
    pub balance: i64,
}

#[derive(ToSchema)]
pub struct AdminKeyCreated {
    pub account_id: String,
    pub key_id: String,
    /// `sk_…`, shown once.
    pub secret: String,
}

#[derive(ToSchema)]
pub struct AdminKeyRevoked {
    pub key_id: String,
    pub revoked: bool,
}

/// An item awaiting (or just given) a review decision (`review_json`).
#[derive(ToSchema)]
pub struct ReviewItem {
    pub asset_id: String,
    pub status: String,
    pub name: String,
    #[schema(rename = "type")]
    pub kind: String,
    pub url: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub duration: Option<f64>,
    pub size_bytes: i64,
    pub format: Option<String>,
    pub reason: Option<String>,
    pub review: Option<String>,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<i64>,
    /// `audit` or `realperson`.
    pub purpose: String,
    pub account_id: String,
    pub asset_ref: Option<String>,
    /// The stored bytes, signed for one hour.
    pub preview_url: Option<String>,
}

#[derive(ToSchema)]
pub struct ReviewList {
    pub items: Vec<ReviewItem>,
}

/// A channel with its health (`admin/channels.rs`).
#[derive(ToSchema)]
pub struct ChannelView {
    pub name: String,
    /// `local`, `ark` or `relay`.
    pub provider: String,
    pub priority: i64,
    pub weight: i64,
    pub max_concurrency: i64,
    pub rpm: i64,
    /// Catalog model → upstream model name.
    pub models: BTreeMap<String, String>,
    pub in_flight: i64,
    pub queued_upstream: i64,
    pub processing: i64,
    pub health: crate::providers::channels::HealthView,
}

#[derive(ToSchema)]
pub struct ChannelList {
    pub items: Vec<ChannelView>,
}

#[derive(ToSchema)]
pub struct ChannelSwitched {
    pub name: String,
    pub paused: bool,
    pub health: crate::providers::channels::HealthView,
}

// ---- ops (src/api/ops.rs) ---------------------------------------------------------------

#[derive(ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
}

#[derive(ToSchema)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    pub status: String,
    pub database: bool,
    pub storage: bool,
}
