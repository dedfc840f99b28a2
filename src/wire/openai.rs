//! OpenAI's video API (`/v1/videos`, DIALECTS.md §3): the shapes the OpenAI SDK
//! (`client.videos.*`) and the gateways that speak it read. Answers are written bare; members in
//! name order like every answer.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /v1/videos` (multipart/form-data, as the SDK sends it, or JSON). Any seed-route field
/// (`resolution`, `ratio`, `images`, `first_image`, `last_image`, `reference_videos`,
/// `reference_audios`, `generate_audio`, `seed`, `watermark`, `camera_fixed`,
/// `return_last_frame`, `callback_url`) may be sent too, top-level or in `metadata`, and wins
/// over the mapping.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OpenAiCreateRequest {
    /// A catalog model name or one of its aliases.
    pub model: String,
    pub prompt: String,
    /// Seconds, as a string or an integer; the model's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub seconds: Option<serde_json::Value>,
    /// `WxH`: the model's nearest ratio, and the resolution tier whose short side is nearest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// The first frame: a file part, a URL, or `{image_url}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub input_reference: Option<serde_json::Value>,
    /// Seed-route fields, as JSON or as form values (`"true"`, `"8"`, JSON arrays).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

/// `POST /v1/videos/{id}/remix`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OpenAiRemixRequest {
    /// The new prompt; everything else is the original's.
    pub prompt: String,
}

/// Why a video failed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OpenAiVideoError {
    pub code: String,
    pub message: String,
}

/// The Video object.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OpenAiVideo {
    /// Unix seconds, once ended.
    pub completed_at: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
    pub error: Option<OpenAiVideoError>,
    /// When the downloadable files stop being served (unix seconds).
    pub expires_at: Option<i64>,
    /// The task's id (the same id in every dialect).
    pub id: String,
    /// The model as the create named it.
    pub model: String,
    /// Always `video`.
    pub object: String,
    /// 0–100.
    pub progress: i64,
    pub prompt: String,
    /// The video this one remixes.
    pub remixed_from_video_id: Option<String>,
    /// Seconds, e.g. `"8"`.
    pub seconds: String,
    /// The output's `WxH`.
    pub size: String,
    /// `queued`, `in_progress`, `completed` or `failed`.
    pub status: String,
}

/// `GET /v1/videos`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OpenAiVideoList {
    pub data: Vec<OpenAiVideo>,
    pub first_id: Option<String>,
    /// Pass as `after` for the next page.
    pub has_more: bool,
    pub last_id: Option<String>,
    /// Always `list`.
    pub object: String,
}

/// Answer to a DELETE.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OpenAiVideoDeleted {
    pub deleted: bool,
    pub id: String,
    /// Always `video.deleted`.
    pub object: String,
}

/// OpenAI's error body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OpenAiErrorBody {
    pub error: OpenAiError,
}

/// `{code, message, param, type}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OpenAiError {
    pub code: Option<String>,
    pub message: String,
    pub param: Option<String>,
    /// `invalid_request_error`, `authentication_error`, `insufficient_quota`,
    /// `not_found_error`, `rate_limit_error`, `server_error`.
    #[serde(rename = "type")]
    pub kind: String,
}
