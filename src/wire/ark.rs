//! Ark's task protocol (`/api/v3/contents/generations/tasks`, DIALECTS.md §2): the shapes the
//! Volcengine Ark and BytePlus ModelArk SDKs, LiteLLM and the Vercel AI SDK read and write.
//! Answers are written bare (no envelope); members in name order like every answer.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One item of a create's `content`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ArkContentItem {
    /// `text`, `image_url`, `video_url` or `audio_url`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The prompt (`type: text`); several are joined by a newline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// `first_frame`, `last_frame` or `reference_image` (images; no role = reference image),
    /// `reference_video`, `reference_audio`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// `{url}`: `https://`, `asset://` or a reelay upload URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<ArkUrl>,
    /// `{url}` of a reference video.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_url: Option<ArkUrl>,
    /// `{url}` of a reference audio clip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_url: Option<ArkUrl>,
}

/// `{url}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ArkUrl {
    pub url: String,
}

/// `POST /contents/generations/tasks`. A `null` member is an absent one (the official SDK sends
/// every parameter, unset ones as `null`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ArkCreateRequest {
    /// A catalog model name or one of its aliases (e.g. `doubao-seedance-2-0-260128`).
    pub model: String,
    /// The prompt and the media, by role.
    pub content: Vec<ArkContentItem>,
    /// Seconds; the model's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<i64>,
    /// `480p`, `720p` or `1080p`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    /// `16:9`, `4:3`, `1:1`, `3:4`, `9:16`, `21:9` or `adaptive`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio: Option<String>,
    /// -1 (random) to 2^32-1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera_fixed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_audio: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_last_frame: Option<bool>,
    /// Receives the task (reelay's webhook) on each terminal status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    /// The end user's id (≤ 64 characters); stored and shown back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safety_identifier: Option<String>,
    /// 3600–259200 seconds: a task not started within it ends `expired`, refunded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_expires_after: Option<i64>,
}

/// Answer to a create.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ArkTaskId {
    /// The task's id (the same id in every dialect).
    pub id: String,
}

/// A task's outputs, once `succeeded`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ArkContent {
    /// The last frame (PNG), with `return_last_frame`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_frame_url: Option<String>,
    /// The MP4 (a reelay URL valid for the results retention).
    pub video_url: String,
}

/// Why a task failed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ArkTaskError {
    pub code: String,
    pub message: String,
}

/// Tokens of a generation (`width × height × fps × seconds / 1024`, Ark's rule).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ArkUsage {
    pub completion_tokens: i64,
    pub total_tokens: i64,
}

/// The Ark task object (`GET /{id}`, list items).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ArkTask {
    /// Present once `succeeded`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<ArkContent>,
    /// Unix seconds.
    pub created_at: i64,
    /// Always false (drafts are not offered).
    pub draft: bool,
    /// Seconds.
    pub duration: i64,
    /// `null` unless `failed`, `cancelled` or `expired`.
    pub error: Option<ArkTaskError>,
    /// Seconds a task may wait before it starts (172800 unless the create said otherwise).
    pub execution_expires_after: i64,
    /// Frames per second of the output.
    pub framespersecond: i64,
    pub generate_audio: bool,
    /// The task's id.
    pub id: String,
    /// The model as the create named it.
    pub model: String,
    /// The rendered ratio once succeeded, else the requested one.
    pub ratio: String,
    pub resolution: String,
    /// The create's `safety_identifier`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safety_identifier: Option<String>,
    /// The requested seed (-1: random).
    pub seed: i64,
    /// Always `default`.
    pub service_tier: String,
    /// `queued`, `running`, `succeeded`, `failed`, `cancelled` or `expired`.
    pub status: String,
    /// Unix seconds.
    pub updated_at: i64,
    /// Present once `succeeded`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<ArkUsage>,
}

/// `GET /contents/generations/tasks`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ArkTaskList {
    /// Newest first.
    pub items: Vec<ArkTask>,
    /// Tasks matching the filters, on every page.
    pub total: i64,
}

/// Answer to a DELETE (`{}`: the SDK parses the body as JSON).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ArkDeleted {}

/// Ark's error body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ArkErrorBody {
    pub error: ArkError,
}

/// `{code, message, param, type}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ArkError {
    /// `InvalidParameter`, `AuthenticationError`, `AccountOverdueError`, `ResourceNotFound`,
    /// `InvalidEndpointOrModel.NotFound`, `RateLimitExceeded`, `InternalServiceError`, …
    pub code: String,
    pub message: String,
    /// The Ark field at fault (e.g. `duration`, `content[1].image_url.url`), or empty.
    pub param: String,
    /// `BadRequest`, `Unauthorized`, `Forbidden`, `NotFound`, `TooManyRequests`, …
    #[serde(rename = "type")]
    pub kind: String,
}
