//! The `relay` provider: another server speaking reelay's own API (the original vendor, or a
//! second reelay). It forwards the request (`POST /api/open-api/v1/seedance/videos`), polls
//! `GET /videos/{id}`, and the result is copied into this reelay's storage.
//!
//! Exactly-once: each create carries `Idempotency-Key: <marker>`, so repeating a create after an
//! ambiguous failure returns the original task instead of a second one; `find_by_marker`
//! therefore answers "not found" and lets the dispatcher repeat the create with the same key.

use std::time::Duration;

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use reqwest::Response;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use super::{
    CallError, Endpoint, Execution, Provider, SubmitRequest, UpstreamStatus, UpstreamTask,
};
use crate::config::ChannelSettings;

const BASE: &str = "api/open-api/v1";

/// A remote server speaking reelay's API.
pub(crate) struct RelayProvider {
    endpoint: Endpoint,
}

impl RelayProvider {
    pub fn new(settings: &ChannelSettings, key: SecretString) -> Result<RelayProvider, String> {
        Ok(RelayProvider {
            endpoint: Endpoint::new(settings, key)?,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{BASE}{path}", self.endpoint.base)
    }

    async fn submit_inner(&self, request: SubmitRequest<'_>) -> Result<String, CallError> {
        let task = request.request;
        let mut body = json!({
            "model": request.upstream_model,
            "prompt": task.prompt,
            "duration": task.duration,
            "resolution": task.resolution,
            "ratio": task.ratio,
            "generate_audio": task.generate_audio,
            "watermark": task.watermark,
            "camera_fixed": task.camera_fixed,
            "return_last_frame": task.return_last_frame,
        });
        if let Some(seed) = task.seed {
            body["seed"] = json!(seed);
        }
        let missing = |media: String| CallError::Rejected {
            code: "invalid_input".into(),
            message: format!("{media} has no stored copy to send to this channel"),
        };
        if !task.images.is_empty() {
            body["images"] = json!(request.media_urls(&task.images).map_err(missing)?);
        }
        if let Some(first) = &task.first_image {
            body["first_image"] = json!(request
                .media_url(first)
                .ok_or_else(|| missing(first.to_string()))?);
        }
        if let Some(last) = &task.last_image {
            body["last_image"] = json!(request
                .media_url(last)
                .ok_or_else(|| missing(last.to_string()))?);
        }
        if !task.reference_videos.is_empty() {
            body["reference_videos"] = json!(request
                .media_urls(&task.reference_videos)
                .map_err(missing)?);
        }
        if !task.reference_audios.is_empty() {
            body["reference_audios"] = json!(request
                .media_urls(&task.reference_audios)
                .map_err(missing)?);
        }
        let sent = self
            .endpoint
            .client
            .post(self.url("/seedance/videos"))
            .bearer_auth(self.endpoint.key.expose_secret())
            .header("Idempotency-Key", request.marker)
            .json(&body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) if error.is_connect() => {
                return Err(CallError::NotAccepted {
                    reason: format!("no answer: {error}"),
                    retry_after: None,
                })
            }
            Err(error) => {
                return Err(CallError::Ambiguous {
                    reason: format!("no answer after sending: {error}"),
                })
            }
        };
        let status = response.status();
        if !status.is_success() {
            return Err(error_answer(response, true).await);
        }
        let answer: Value = response.json().await.map_err(|e| CallError::Ambiguous {
            reason: format!("create answered {status} with an unreadable body: {e}"),
        })?;
        answer["data"]["task_id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| CallError::Ambiguous {
                reason: format!("create answered without a task id: {answer}"),
            })
    }

    async fn status_of(&self, id: &str) -> Result<Option<UpstreamTask>, CallError> {
        let sent = self
            .endpoint
            .client
            .get(self.url(&format!("/videos/{id}")))
            .bearer_auth(self.endpoint.key.expose_secret())
            .send()
            .await
            .map_err(|e| CallError::NotAccepted {
                reason: format!("no answer: {e}"),
                retry_after: None,
            })?;
        if sent.status().as_u16() == 404 {
            return Ok(None);
        }
        if !sent.status().is_success() {
            return Err(error_answer(sent, false).await);
        }
        let answer: Value = sent.json().await.map_err(|e| CallError::NotAccepted {
            reason: format!("unreadable task: {e}"),
            retry_after: None,
        })?;
        Ok(parse_task(&answer["data"]))
    }

    async fn statuses_inner(&self, ids: &[String]) -> Result<Vec<UpstreamTask>, CallError> {
        let calls: Vec<_> = ids.iter().map(|id| self.status_of(id).boxed()).collect();
        let answers: Vec<_> = futures::stream::iter(calls)
            .buffer_unordered(8)
            .collect()
            .await;
        let mut tasks = Vec::new();
        let mut last_error = None;
        for answer in answers {
            match answer {
                Ok(Some(task)) => tasks.push(task),
                Ok(None) => {}
                Err(error) => last_error = Some(error),
            }
        }
        match (tasks.is_empty(), last_error) {
            (true, Some(error)) => Err(error),
            _ => Ok(tasks),
        }
    }

    async fn cancel_inner(&self, id: &str) -> Result<(), CallError> {
        let sent = self
            .endpoint
            .client
            .post(self.url(&format!("/videos/{id}/cancel")))
            .bearer_auth(self.endpoint.key.expose_secret())
            .send()
            .await
            .map_err(|e| CallError::NotAccepted {
                reason: format!("no answer: {e}"),
                retry_after: None,
            })?;
        if sent.status().is_success() {
            return Ok(());
        }
        Err(error_answer(sent, false).await)
    }
}

impl Provider for RelayProvider {
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
        _marker: &'a str,
        _since: i64,
    ) -> BoxFuture<'a, Result<Option<String>, CallError>> {
        // Repeating the create with the same Idempotency-Key is safe; see the module doc.
        async { Ok(None) }.boxed()
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
        self.endpoint.batch.max(1)
    }

    fn idempotent_create(&self) -> bool {
        true
    }
}

/// A task object of reelay's API.
fn parse_task(data: &Value) -> Option<UpstreamTask> {
    let id = data["task_id"].as_str()?.to_string();
    let mut task = UpstreamTask::new(
        id,
        UpstreamStatus::parse(data["status"].as_str().unwrap_or("")),
    );
    task.progress = data["progress"].as_i64();
    let result = &data["result"];
    task.video_url = result["video_url"].as_str().map(str::to_string);
    task.last_frame_url = result["last_frame_url"].as_str().map(str::to_string);
    task.width = result["width"].as_u64().map(|v| v as u32);
    task.height = result["height"].as_u64().map(|v| v as u32);
    task.duration = result["duration"].as_f64();
    task.ratio = result["ratio"].as_str().map(str::to_string);
    task.has_audio = result["has_audio"].as_bool();
    if let Some(code) = data["error"]["code"].as_str() {
        let message = data["error"]["message"].as_str().unwrap_or("");
        task.error = Some((code.to_string(), message.to_string()));
    }
    Some(task)
}

/// Classifies an error answer of reelay's envelope (`{code, msg}`).
async fn error_answer(response: Response, create: bool) -> CallError {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let code = body["code"].as_i64().unwrap_or(0);
    let message = body["msg"].as_str().unwrap_or("no message").to_string();
    let reason = format!("HTTP {status} code {code}: {message}");
    match status {
        401..=403 => CallError::ChannelDown {
            code: format!("relay_{code}"),
            reason,
        },
        429 | 500 | 503 => CallError::NotAccepted {
            reason,
            retry_after,
        },
        400..=499 if create && status != 409 && status != 408 => CallError::Rejected {
            code: format!("relay_{code}"),
            message,
        },
        _ if create => CallError::Ambiguous { reason },
        _ => CallError::NotAccepted {
            reason,
            retry_after,
        },
    }
}
