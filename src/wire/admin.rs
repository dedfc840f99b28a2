//! The operator API under `/admin/v1` (API.md §5): accounts, keys, credits, the audit trail,
//! reviews and channels. Answers declare their fields in name order (see [`super`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

// ---- requests ----------------------------------------------------------------------------

/// `POST /admin/v1/accounts`: `{name, credits?}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AccountCreateRequest {
    /// 1–100 characters.
    pub name: String,
    /// Starting credits (positive; default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 1_000_000_000_000_000_i64)]
    pub credits: Option<i64>,
}

/// `POST /admin/v1/accounts/{id}/keys`: `{name}` (1–100 characters).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AdminKeyCreateRequest {
    /// 1–100 characters.
    pub name: String,
    /// The most credits the key may spend, net of refunds (absent, 0 or `null`: unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<i64>,
}

/// `{credits, note?}`: positive tops up, negative adjusts down (never below zero).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreditsRequest {
    /// A non-zero integer.
    #[schema(minimum = -1_000_000_000_000_000_i64, maximum = 1_000_000_000_000_000_i64)]
    pub credits: i64,
    /// Kept on the ledger entry (first 200 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// `{rpm?, max_in_flight?}`: absent = unchanged, `null` = server default, 1–1,000,000 = own limit.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct KeyLimitsRequest {
    /// Requests per minute: absent = unchanged, `null` = server default.
    #[serde(
        default,
        deserialize_with = "super::present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<i64>)]
    pub rpm: Option<Option<i64>>,
    /// Tasks queued or processing at once: absent = unchanged, `null` = server default.
    #[serde(
        default,
        deserialize_with = "super::present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<i64>)]
    pub max_in_flight: Option<Option<i64>>,
    /// The most credits the key may spend, net of refunds: absent = unchanged, 0 or `null` =
    /// unlimited.
    #[serde(
        default,
        deserialize_with = "super::present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<i64>)]
    pub quota: Option<Option<i64>>,
}

/// `{reason}`: why the item is rejected (the user sees it; at most 1,000 characters).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RejectRequest {
    /// Shown to the user as the item's `reason`.
    pub reason: String,
}

// ---- audit -------------------------------------------------------------------------------

/// One admin action of the audit trail.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    /// What was done, e.g. `account.credits`, `key.revoke`, `asset.approve`.
    pub action: String,
    /// Who did it: `admin`, or `admin:<X-Reelay-Actor>`.
    pub actor: String,
    /// Unix seconds.
    pub at: i64,
    /// Details of the action (e.g. `credits=500`).
    pub detail: Option<String>,
    /// Order of the actions (only grows).
    pub seq: i64,
    /// The id acted on.
    pub target: Option<String>,
}

/// The newest admin actions first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditList {
    /// Newest first, at most `limit`.
    pub items: Vec<AuditEntry>,
    /// Pass as `cursor` for older actions; `null` on the last page.
    pub next_cursor: Option<String>,
}

// ---- accounts and keys -------------------------------------------------------------------

/// An account as operators see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AdminAccount {
    /// `acct_…`.
    pub account_id: String,
    /// Credits available.
    pub balance: i64,
    /// Unix seconds.
    pub created_at: i64,
    /// The account's name.
    pub name: String,
    /// Credits spent, net of refunds.
    pub spent_total: i64,
}

/// A page of accounts.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AdminAccountPage {
    /// The accounts.
    pub items: Vec<AdminAccount>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

/// A key as operators see it; never the secret.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AdminKey {
    /// The key's account.
    pub account_id: String,
    /// Unix seconds.
    pub created_at: i64,
    /// `key_…`.
    pub key_id: String,
    /// The key's own in-flight task limit (`null`: the server default).
    pub max_in_flight: Option<i64>,
    /// The key's name.
    pub name: String,
    /// The public lookup part of the secret.
    pub prefix: String,
    /// The most credits the key may spend, net of refunds (0: unlimited).
    pub quota: i64,
    /// Credits the key's tasks were charged, net of refunds.
    pub quota_used: i64,
    /// When the key was revoked.
    pub revoked_at: Option<i64>,
    /// The key's own requests-per-minute limit (`null`: the server default).
    pub rpm: Option<i64>,
}

/// An account with its keys.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AdminAccountDetail {
    /// `acct_…`.
    pub account_id: String,
    /// Credits available.
    pub balance: i64,
    /// Unix seconds.
    pub created_at: i64,
    /// Every key of the account, revoked ones included.
    pub keys: Vec<AdminKey>,
    /// The account's name.
    pub name: String,
    /// Credits spent, net of refunds.
    pub spent_total: i64,
}

/// A new account and its first key (secret shown once).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AdminAccountCreated {
    /// `acct_…`.
    pub account_id: String,
    /// The starting credits.
    pub balance: i64,
    /// `key_…`.
    pub key_id: String,
    /// `sk_…`, shown once.
    pub secret: String,
}

/// An account's balance after a top-up or adjustment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AdminBalance {
    /// `acct_…`.
    pub account_id: String,
    /// Credits available now.
    pub balance: i64,
}

/// A new key (secret shown once).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AdminKeyCreated {
    /// The key's account.
    pub account_id: String,
    /// `key_…`.
    pub key_id: String,
    /// `sk_…`, shown once.
    pub secret: String,
}

/// A revoked key.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AdminKeyRevoked {
    /// `key_…`.
    pub key_id: String,
    /// Always true.
    pub revoked: bool,
}

// ---- reviews -----------------------------------------------------------------------------

/// An item awaiting (or just given) a review decision: an audited asset or a real-person record.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReviewItem {
    /// The owner.
    pub account_id: String,
    /// `asset_…` or `rp_…`.
    pub asset_id: String,
    /// `asset://…` once `Active`.
    pub asset_ref: Option<String>,
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
    /// The item's name.
    pub name: String,
    /// The stored bytes, signed for one hour.
    pub preview_url: Option<String>,
    /// `audit` or `realperson`.
    pub purpose: String,
    /// Why the item is `Failed`.
    pub reason: Option<String>,
    /// Review state (`pending`, `approved`, `rejected`).
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

/// Items awaiting a review decision, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReviewList {
    /// At most 200.
    pub items: Vec<ReviewItem>,
}

// ---- channels ----------------------------------------------------------------------------

/// A channel with its health.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChannelView {
    /// Pause switch, breaker and recent calls.
    pub health: ChannelHealth,
    /// Tasks in flight on the channel (submitting, or accepted upstream and not done).
    pub in_flight: i64,
    /// Most tasks in flight on the channel at once.
    pub max_concurrency: i64,
    /// Catalog model → upstream model name.
    pub models: BTreeMap<String, String>,
    /// The channel's name.
    pub name: String,
    /// Higher is tried first.
    pub priority: i64,
    /// Tasks routed to the channel that run there (`processing`).
    pub processing: i64,
    /// `local`, `ark` or `relay`.
    pub provider: String,
    /// Tasks routed to the channel that wait there (`queued`).
    pub queued_upstream: i64,
    /// Create calls per minute.
    pub rpm: i64,
    /// Share among channels of equal priority.
    pub weight: i64,
}

/// Every channel.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChannelList {
    /// In configuration order.
    pub items: Vec<ChannelView>,
}

/// A channel just paused or resumed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChannelSwitched {
    /// Pause switch, breaker and recent calls.
    pub health: ChannelHealth,
    /// The channel's name.
    pub name: String,
    /// The switch as it is now.
    pub paused: bool,
}

/// What operators see about a channel's health.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChannelHealth {
    /// `closed`, `open` or `half_open` (cool-down over; the next call is a trial).
    pub breaker: String,
    /// Why the breaker opened.
    pub breaker_reason: Option<String>,
    /// Failed calls in a row.
    pub consecutive_failures: u32,
    /// Creates sent in the last minute.
    pub creates_last_minute: usize,
    /// The last error the channel answered.
    pub last_error: Option<String>,
    /// Paused channels take no new tasks.
    pub paused: bool,
    /// Calls in the last five minutes.
    pub recent_calls: usize,
    /// Share of those calls that failed (0 to 1).
    pub recent_error_rate: f64,
    /// The latest errors this replica saw, newest first (at most 10).
    pub recent_errors: Vec<ChannelError>,
}

/// One error a channel answered.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChannelError {
    /// Unix seconds.
    pub at: i64,
    pub message: String,
}

// ---- tasks -------------------------------------------------------------------------------

/// A task as the operator sees it: whose it is, whether its owner hid it (Ark's and OpenAI's
/// DELETE of an ended task), and the task object.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AdminTask {
    /// The owning account.
    pub account_id: String,
    /// Hidden from its owner by a delete (the operator still sees it and its ledger).
    pub hidden: bool,
    /// The task object, as its owner's `GET /videos/{task_id}` shows it.
    pub task: super::seed::Task,
}

/// `GET /admin/v1/tasks`: every account's tasks, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AdminTaskPage {
    pub items: Vec<AdminTask>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// `POST /admin/v1/tasks/{task_id}/fail`: `{reason}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FailTaskRequest {
    /// Why; it becomes the task's error message (`failed by an operator: …`) and the audit note.
    pub reason: String,
}
