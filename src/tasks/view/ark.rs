//! A task as Ark's task object (DIALECTS.md §2): what `GET /api/v3/contents/generations/tasks/{id}`
//! and the Ark list answer, built from the same row and signed URLs as every other view.

use super::{signed_result, ViewContext};
use crate::store::tasks::{ClientMeta, TaskRow, TaskStatus};
use crate::wire::ark::{ArkContent, ArkTask, ArkTaskError, ArkUsage};

/// Ark's default `execution_expires_after` (48 h).
pub const DEFAULT_EXECUTION_EXPIRES_AFTER: i64 = 172_800;

/// Ark's status of a task: reelay's `failed` is Ark's `cancelled` or `expired` when its error
/// code says so.
pub fn ark_status(row: &TaskRow) -> &'static str {
    match row.status {
        TaskStatus::Queued => "queued",
        TaskStatus::Processing => "running",
        TaskStatus::Completed => "succeeded",
        TaskStatus::Failed => match row.error_code.as_deref() {
            Some("cancelled") => "cancelled",
            Some("expired") => "expired",
            _ => "failed",
        },
    }
}

/// The Ark task object of `row`; `None` when its stored request cannot be read.
pub fn ark_task(row: &TaskRow, ctx: &ViewContext<'_>) -> Option<ArkTask> {
    let request = row.request.decode().ok()?;
    let meta = ClientMeta::decode(row.client.as_deref());
    let status = ark_status(row);
    let signed = signed_result(row, ctx);
    let content = signed.as_ref().and_then(|signed| {
        Some(ArkContent {
            last_frame_url: signed.last_frame_url.clone(),
            video_url: signed.video_url.clone()?,
        })
    });
    let usage = signed.as_ref().map(|signed| {
        let stored = &signed.stored;
        let tokens = (f64::from(stored.width)
            * f64::from(stored.height)
            * f64::from(stored.fps)
            * stored.duration
            / 1024.0)
            .round() as i64;
        ArkUsage {
            completion_tokens: tokens,
            total_tokens: tokens,
        }
    });
    let error = match status {
        "failed" | "expired" => Some(ArkTaskError {
            code: row.error_code.clone().unwrap_or_else(|| "failed".into()),
            message: row.error_message.clone().unwrap_or_default(),
        }),
        _ => None,
    };
    Some(ArkTask {
        content,
        created_at: row.created_at,
        draft: false,
        duration: i64::from(request.duration),
        error,
        execution_expires_after: meta
            .execution_expires_after
            .unwrap_or(DEFAULT_EXECUTION_EXPIRES_AFTER),
        framespersecond: signed.as_ref().map_or(24, |s| i64::from(s.stored.fps)),
        generate_audio: request.generate_audio,
        id: row.id.clone(),
        model: meta.model.unwrap_or_else(|| row.model.clone()),
        ratio: signed
            .as_ref()
            .map_or_else(|| request.ratio.clone(), |s| s.stored.ratio.clone()),
        resolution: request.resolution,
        safety_identifier: meta.safety_identifier,
        seed: request.seed.unwrap_or(-1),
        service_tier: "default".into(),
        status: status.into(),
        updated_at: row.updated_at,
        usage,
    })
}
