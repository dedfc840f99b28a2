//! The public JSON of a task (API.md §2 "query"), built from its row.

use serde_json::{json, Value};

use super::StoredResult;
use crate::storage::Storage;
use crate::store::tasks::TaskRow;

/// What the view needs besides the row.
pub struct ViewContext<'a> {
    pub storage: &'a Storage,
    /// `server.public_url`, without a trailing slash.
    pub public_url: &'a str,
    /// 0 = results kept forever.
    pub retention_secs: i64,
}

/// Result URLs stop working at this time (None: never).
pub fn result_expires_at(completed_at: i64, retention_secs: i64) -> Option<i64> {
    (retention_secs > 0).then_some(completed_at + retention_secs)
}

/// The task object returned by `GET /videos/{id}`, the list and (later) webhooks and events.
pub fn task_json(row: &TaskRow, ctx: &ViewContext<'_>) -> Value {
    let mut request: Value = serde_json::from_str(&row.request).unwrap_or(Value::Null);
    let price = request.as_object_mut().and_then(|o| o.remove("price"));
    let unit = price
        .as_ref()
        .and_then(|p| p.get("unit").cloned())
        .unwrap_or_else(|| json!(row.cost_unit));
    let result = row
        .result
        .as_deref()
        .and_then(|r| serde_json::from_str::<StoredResult>(r).ok())
        .map(|stored| result_json(row, &stored, ctx));
    let error = match (&row.error_code, &row.error_message) {
        (Some(code), message) => json!({ "code": code, "message": message }),
        _ => Value::Null,
    };
    json!({
        "task_id": row.id,
        "model": row.model,
        "status": row.status,
        "progress": row.progress,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "completed_at": row.completed_at,
        "channel": row.channel,
        "request": request,
        "result": result,
        "error_message": row.error_message,
        "error": error,
        "cost": {
            "credits": row.cost_credits,
            "unit": unit,
            "seconds": row.cost_seconds,
            "refunded": row.refunded != 0,
        },
    })
}

fn result_json(row: &TaskRow, stored: &StoredResult, ctx: &ViewContext<'_>) -> Value {
    let completed_at = row.completed_at.unwrap_or(row.updated_at);
    let expires_at = result_expires_at(completed_at, ctx.retention_secs);
    let expired = row.expired != 0;
    let now = crate::store::now();
    let sign = |key: &str| ctx.storage.result_url(ctx.public_url, key, expires_at, now);
    let video_url = (!expired).then(|| sign(&stored.video_key));
    let last_frame_url = if expired {
        None
    } else {
        stored.last_frame_key.as_deref().map(sign)
    };
    json!({
        "video_url": video_url,
        "expires_at": expires_at,
        "expired": expired,
        "last_frame_url": last_frame_url,
        "width": stored.width,
        "height": stored.height,
        "duration": stored.duration,
        "fps": stored.fps,
        "frames": stored.frames,
        "size_bytes": stored.size_bytes,
        "has_audio": stored.has_audio,
        "ratio": stored.ratio,
        "channel": stored.channel,
        "preview": stored.channel == "local",
    })
}
