//! A task as OpenAI's Video object (DIALECTS.md §3), built from the same row and signed URLs as
//! every other view.

use reelay_catalog::{output_size, ValidatedRequest};

use super::{signed_result, ViewContext};
use crate::store::tasks::{ClientMeta, TaskRow, TaskStatus};
use crate::wire::openai::{OpenAiVideo, OpenAiVideoError};

/// OpenAI's status of a task.
pub fn openai_status(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::Queued => "queued",
        TaskStatus::Processing => "in_progress",
        TaskStatus::Completed => "completed",
        TaskStatus::Failed => "failed",
    }
}

/// The `WxH` a request asks for (an adaptive ratio as 16:9 until the image decides it).
fn requested_size(request: &ValidatedRequest) -> (u32, u32) {
    let ratio = match request.ratio.as_str() {
        "adaptive" => "16:9",
        ratio => ratio,
    };
    output_size(&request.resolution, ratio).unwrap_or((0, 0))
}

/// The Video object of a task just accepted (`queued`), from its request: what a create
/// answers, without reading the row back.
pub fn new_video(
    id: String,
    created_at: i64,
    request: &ValidatedRequest,
    model: String,
    remixed_from: Option<String>,
) -> OpenAiVideo {
    let (width, height) = requested_size(request);
    OpenAiVideo {
        completed_at: None,
        created_at,
        error: None,
        expires_at: None,
        id,
        model,
        object: "video".into(),
        progress: 0,
        prompt: request.prompt.clone(),
        remixed_from_video_id: remixed_from,
        seconds: request.duration.to_string(),
        size: format!("{width}x{height}"),
        status: openai_status(TaskStatus::Queued).into(),
    }
}

/// The Video object of `row`; `None` when its stored request cannot be read.
pub fn openai_video(row: &TaskRow, ctx: &ViewContext<'_>) -> Option<OpenAiVideo> {
    let request = row.request.decode().ok()?;
    let meta = ClientMeta::decode(row.client.as_deref());
    let signed = signed_result(row, ctx);
    let size = match &signed {
        Some(signed) => (signed.stored.width, signed.stored.height),
        // Before it is rendered: the requested size.
        None => requested_size(&request),
    };
    Some(OpenAiVideo {
        completed_at: row.completed_at.filter(|_| row.status.is_terminal()),
        created_at: row.created_at,
        error: row.error_code.as_ref().map(|code| OpenAiVideoError {
            code: code.clone(),
            message: row.error_message.clone().unwrap_or_default(),
        }),
        expires_at: signed.as_ref().and_then(|s| s.expires_at),
        id: row.id.clone(),
        model: meta.model.unwrap_or_else(|| row.model.clone()),
        object: "video".into(),
        progress: if row.status == TaskStatus::Completed {
            100
        } else {
            row.progress.clamp(0, 100)
        },
        prompt: request.prompt,
        remixed_from_video_id: meta.remixed_from,
        seconds: request.duration.to_string(),
        size: format!("{}x{}", size.0, size.1),
        status: openai_status(row.status).into(),
    })
}
