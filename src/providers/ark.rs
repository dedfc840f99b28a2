//! The `ark` provider: Volcengine Ark / BytePlus ModelArk video tasks (UPSTREAM-ARK.md).
//!
//! Request mapping: the prompt goes unchanged into a `text` item; every parameter is a body field
//! (never `--flags`); media go into the `content` array with their roles (`first_frame`,
//! `last_frame`, `reference_image`, `reference_video`, `reference_audio`). The model is the
//! channel's mapping of the catalog model.
//!
//! Ark has no idempotency key, so each create carries a per-task marker in `safety_identifier`
//! (which Ark echoes in task objects): after an ambiguous create, `find_by_marker` pages through
//! the task listing to find it. Statuses come from the list endpoint with `filter.task_ids`, many
//! per call.
//!
//! Error classification (what reelay may do next): connect errors, 500/503 and 429 before
//! acceptance → not accepted (retry/failover); timeouts, 502/504, 409 and unreadable 2xx bodies →
//! ambiguous (reconcile); 401, 403, 404 (model not open), `SetLimitExceeded`, closed endpoint →
//! channel down (breaker); other 400s (parameters, moderation) → the task fails with Ark's code.

use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use reelay_catalog::{MediaRef, ValidatedRequest};
use reqwest::{Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use super::{
    CallError, Endpoint, Execution, Provider, SubmitRequest, UpstreamStatus, UpstreamTask,
};
use crate::config::ChannelSettings;

const TASKS: &str = "contents/generations/tasks";
/// Ark's largest page.
const PAGE_SIZE: usize = 500;
/// Pages read when reconciling (500 tasks each).
const RECONCILE_PAGES: u32 = 10;

/// An Ark account behind one channel.
pub(crate) struct ArkProvider {
    endpoint: Endpoint,
}

impl ArkProvider {
    pub fn new(settings: &ChannelSettings, key: SecretString) -> Result<ArkProvider, String> {
        Ok(ArkProvider {
            endpoint: Endpoint::new(settings, key)?,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.endpoint.base)
    }

    async fn submit_inner(&self, request: SubmitRequest<'_>) -> Result<String, CallError> {
        let body = create_body(&request)?;
        let sent = self
            .endpoint
            .client
            .post(self.url(TASKS))
            .bearer_auth(self.endpoint.key.expose_secret())
            .json(&body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) => return Err(send_error(&error, true)),
        };
        let status = response.status();
        if !status.is_success() {
            return Err(error_answer(response, true).await);
        }
        let answer: Value = response.json().await.map_err(|e| CallError::Ambiguous {
            reason: format!("create answered {status} with an unreadable body: {e}"),
        })?;
        answer["id"]
            .as_str()
            .filter(|id| !id.is_empty())
            .map(str::to_string)
            .ok_or_else(|| CallError::Ambiguous {
                reason: format!("create answered {status} without an id: {answer}"),
            })
    }

    async fn list(&self, query: &[(&str, String)]) -> Result<(Vec<Value>, u64), CallError> {
        let sent = self
            .endpoint
            .client
            .get(self.url(TASKS))
            .bearer_auth(self.endpoint.key.expose_secret())
            .query(query)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) => return Err(send_error(&error, false)),
        };
        if !response.status().is_success() {
            return Err(error_answer(response, false).await);
        }
        let answer: Value = response.json().await.map_err(|e| CallError::NotAccepted {
            reason: format!("list answered with an unreadable body: {e}"),
            retry_after: None,
        })?;
        let items = answer["items"].as_array().cloned().unwrap_or_default();
        let total = answer["total"].as_u64().unwrap_or(items.len() as u64);
        Ok((items, total))
    }

    async fn find_inner(&self, marker: &str, since: i64) -> Result<Option<String>, CallError> {
        for page in 1..=RECONCILE_PAGES {
            let (items, total) = self
                .list(&[
                    ("page_num", page.to_string()),
                    ("page_size", PAGE_SIZE.to_string()),
                ])
                .await?;
            if let Some(found) = items
                .iter()
                .find(|item| item["safety_identifier"].as_str() == Some(marker))
            {
                return Ok(found["id"].as_str().map(str::to_string));
            }
            // Listings come newest first; once a page ends before the submit started (with a
            // minute of clock skew), older pages cannot hold it.
            let oldest = items.iter().filter_map(|i| i["created_at"].as_i64()).min();
            let done = items.len() < PAGE_SIZE
                || u64::from(page) * PAGE_SIZE as u64 >= total
                || oldest.is_some_and(|at| at < since - 60);
            if done {
                return Ok(None);
            }
        }
        Ok(None)
    }

    async fn statuses_inner(&self, ids: &[String]) -> Result<Vec<UpstreamTask>, CallError> {
        let mut query = vec![
            ("page_num", "1".to_string()),
            ("page_size", ids.len().clamp(1, PAGE_SIZE).to_string()),
        ];
        query.extend(ids.iter().map(|id| ("filter.task_ids", id.clone())));
        let (items, _) = self.list(&query).await?;
        Ok(items.iter().filter_map(parse_task).collect())
    }

    async fn cancel_inner(&self, id: &str) -> Result<(), CallError> {
        let sent = self
            .endpoint
            .client
            .delete(self.url(&format!("{TASKS}/{id}")))
            .bearer_auth(self.endpoint.key.expose_secret())
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) => return Err(send_error(&error, false)),
        };
        if response.status().is_success() || response.status() == StatusCode::NOT_FOUND {
            return Ok(());
        }
        Err(error_answer(response, false).await)
    }
}

impl Provider for ArkProvider {
    fn execution(&self) -> Execution {
        Execution::Remote
    }

    fn submit<'a>(
        &'a self,
        request: SubmitRequest<'a>,
    ) -> BoxFuture<'a, Result<String, CallError>> {
        self.submit_inner(request).boxed()
    }

    fn find_by_marker<'a>(
        &'a self,
        _upstream_model: &'a str,
        marker: &'a str,
        since: i64,
    ) -> BoxFuture<'a, Result<Option<String>, CallError>> {
        self.find_inner(marker, since).boxed()
    }

    fn statuses<'a>(
        &'a self,
        ids: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<UpstreamTask>, CallError>> {
        self.statuses_inner(ids).boxed()
    }

    fn cancel<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), CallError>> {
        self.cancel_inner(id).boxed()
    }

    fn max_batch(&self) -> usize {
        self.endpoint.batch.clamp(1, PAGE_SIZE)
    }
}

/// The create body for a task (UPSTREAM-ARK.md §1.3–1.4).
pub(crate) fn create_body(request: &SubmitRequest<'_>) -> Result<Value, CallError> {
    let task: &ValidatedRequest = request.request;
    let mut content = vec![json!({ "type": "text", "text": task.prompt })];
    let mut push = |kind: &str, role: &str, media: &MediaRef, field: &str| {
        let Some(url) = request.media_url(media) else {
            return Err(CallError::Rejected {
                code: "invalid_input".into(),
                message: format!("{field}: {media} has no stored copy to send to this channel"),
            });
        };
        content.push(json!({ "type": kind, kind: { "url": url }, "role": role }));
        Ok(())
    };
    if let Some(first) = &task.first_image {
        push("image_url", "first_frame", first, "first_image")?;
    }
    if let Some(last) = &task.last_image {
        push("image_url", "last_frame", last, "last_image")?;
    }
    for (i, image) in task.images.iter().enumerate() {
        push(
            "image_url",
            "reference_image",
            image,
            &format!("images[{i}]"),
        )?;
    }
    for (i, video) in task.reference_videos.iter().enumerate() {
        push(
            "video_url",
            "reference_video",
            video,
            &format!("reference_videos[{i}]"),
        )?;
    }
    for (i, audio) in task.reference_audios.iter().enumerate() {
        push(
            "audio_url",
            "reference_audio",
            audio,
            &format!("reference_audios[{i}]"),
        )?;
    }
    let mut body = json!({
        "model": request.upstream_model,
        "content": content,
        "resolution": task.resolution,
        "ratio": task.ratio,
        "duration": task.duration,
        "generate_audio": task.generate_audio,
        "watermark": task.watermark,
        "return_last_frame": task.return_last_frame,
        "safety_identifier": request.marker,
    });
    if let Some(seed) = task.seed {
        body["seed"] = json!(seed);
    }
    // Reportedly unsupported by 2.0: only sent when asked for.
    if task.camera_fixed {
        body["camera_fixed"] = json!(true);
    }
    if let Some(callback) = &request.callback_url {
        body["callback_url"] = json!(callback);
    }
    Ok(body)
}

/// One task object (GET, list item or callback body).
pub(crate) fn parse_task(item: &Value) -> Option<UpstreamTask> {
    let id = item["id"].as_str()?.to_string();
    let status = UpstreamStatus::parse(item["status"].as_str().unwrap_or(""));
    let mut task = UpstreamTask::new(id, status);
    task.video_url = item["content"]["video_url"].as_str().map(str::to_string);
    task.last_frame_url = item["content"]["last_frame_url"]
        .as_str()
        .map(str::to_string);
    if let Some(error) = item["error"].as_object() {
        let code = error
            .get("code")
            .and_then(Value::as_str)
            .unwrap_or("upstream_failed");
        let message = error.get("message").and_then(Value::as_str).unwrap_or("");
        task.error = Some((code.to_string(), message.to_string()));
    }
    task.ratio = item["ratio"].as_str().map(str::to_string);
    if let (Some(resolution), Some(ratio)) = (item["resolution"].as_str(), item["ratio"].as_str()) {
        if let Some((w, h)) = reelay_catalog::output_size(resolution, ratio) {
            task.width = Some(w);
            task.height = Some(h);
        }
    }
    task.duration = item["duration"].as_f64();
    task.has_audio = item["generate_audio"].as_bool();
    Some(task)
}

/// A request that got no HTTP answer. `create` says whether it was a create (where a timeout is
/// ambiguous) or a read (always safe to repeat).
fn send_error(error: &reqwest::Error, create: bool) -> CallError {
    if error.is_connect() || !create {
        return CallError::NotAccepted {
            reason: format!("no answer: {error}"),
            retry_after: None,
        };
    }
    CallError::Ambiguous {
        reason: format!("no answer after sending: {error}"),
    }
}

/// Classifies an HTTP error answer.
async fn error_answer(response: Response, create: bool) -> CallError {
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let code = body["error"]["code"].as_str().unwrap_or("").to_string();
    let message = body["error"]["message"]
        .as_str()
        .unwrap_or("no message")
        .to_string();
    let reason = format!("HTTP {status} {code}: {message}");
    let channel_down = |code: String| CallError::ChannelDown {
        code: if code.is_empty() {
            format!("http_{}", status.as_u16())
        } else {
            code
        },
        reason: reason.clone(),
    };
    match status.as_u16() {
        401 | 403 | 404 => channel_down(code),
        429 if code == "SetLimitExceeded" => channel_down(code),
        429 => CallError::NotAccepted {
            reason,
            retry_after,
        },
        400 if code.starts_with("InvalidEndpoint") => channel_down(code),
        400..=499 if create && status.as_u16() != 408 && status.as_u16() != 409 => {
            CallError::Rejected {
                code: if code.is_empty() {
                    "upstream_rejected".into()
                } else {
                    code
                },
                message,
            }
        }
        502 | 504 | 408 | 409 if create => CallError::Ambiguous { reason },
        _ => CallError::NotAccepted {
            reason,
            retry_after,
        },
    }
}
