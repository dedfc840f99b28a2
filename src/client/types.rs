//! Typed views of the public API's payloads (API.md §2, §4). Fields the client does not need
//! to branch on stay as `serde_json::Value`, so new server fields never break old clients.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A create request (`POST /seedance/videos`). `None` fields are omitted, so the server's
/// per-model defaults apply.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CreateVideo {
    pub model: String,
    pub prompt: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
}

/// The answer to a create.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Created {
    pub task_id: String,
    pub status: String,
    pub model: String,
    pub created_at: i64,
    #[serde(default)]
    pub cost: Value,
}

/// A task (`GET /videos/{id}`, list items, events, webhooks).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Task {
    pub task_id: String,
    pub model: String,
    /// `queued`, `processing`, `completed` or `failed`.
    pub status: String,
    pub progress: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub completed_at: Option<i64>,
    #[serde(default)]
    pub request: Value,
    pub result: Option<TaskResult>,
    pub error_message: Option<String>,
    pub error: Option<TaskError>,
    #[serde(default)]
    pub cost: Value,
    /// Webhook delivery state (query only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<Value>,
}

impl Task {
    /// True once the task is `completed` or `failed`.
    pub fn is_terminal(&self) -> bool {
        matches!(self.status.as_str(), "completed" | "failed")
    }
}

/// The output of a completed task.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TaskResult {
    pub video_url: Option<String>,
    pub expires_at: Option<i64>,
    #[serde(default)]
    pub expired: bool,
    pub last_frame_url: Option<String>,
    pub width: u32,
    pub height: u32,
    pub duration: f64,
    pub fps: u32,
    pub size_bytes: u64,
    #[serde(default)]
    pub has_audio: bool,
}

/// Why a task failed.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TaskError {
    pub code: String,
    pub message: Option<String>,
}

/// A page of tasks.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TaskPage {
    pub items: Vec<Task>,
    pub next_cursor: Option<String>,
}

/// The caller's account.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Account {
    pub account_id: String,
    pub name: String,
    pub balance: i64,
    pub spent_total: i64,
    pub webhook_secret_set: bool,
}

/// One catalog entry (`GET /models`); the full entry is kept in `details`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Model {
    pub model: String,
    #[serde(flatten)]
    pub details: serde_json::Map<String, Value>,
}
