//! A fake Volcengine Ark video-task API (UPSTREAM-ARK.md §1.17) on 127.0.0.1:0.
//!
//! Strict about the documented request shape: unknown or missing body fields, bad content items,
//! `--flags` in the prompt, unknown query parameters and a wrong bearer key are refused with
//! Ark-style errors. Tasks live in memory and walk `queued → running → succeeded` on a clock;
//! prompts containing `#moderated`, `#expired`, `#cancelled`, `#weird` (an unknown status first)
//! or `#flaky` (the video URL 404s once) choose other endings. Faults for the next create calls
//! are queued with `push_fault`. Counters record every call.

// Validation helpers return the Ark error response itself; its size does not matter in a test fake.
#![allow(clippy::result_large_err)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

pub const KEY: &str = "ark-test-key";
/// The environment variable the test channels read the key from.
pub const KEY_ENV: &str = "FAKE_ARK_API_KEY";

/// Body fields the SDK sends (UPSTREAM-ARK.md §1.3).
const FIELDS: [&str; 18] = [
    "model",
    "content",
    "safety_identifier",
    "callback_url",
    "return_last_frame",
    "service_tier",
    "execution_expires_after",
    "priority",
    "generate_audio",
    "draft",
    "camera_fixed",
    "watermark",
    "seed",
    "resolution",
    "ratio",
    "duration",
    "frames",
    "tools",
];
const QUERY: [&str; 6] = [
    "page_num",
    "page_size",
    "filter.status",
    "filter.task_ids",
    "filter.model",
    "filter.service_tier",
];

/// What the next create call does.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer this status with an Ark error code, creating nothing.
    Error(u16, &'static str),
    /// 429 `RateLimitExceeded.EndpointRPMExceeded` with `Retry-After`.
    RateLimited(u64),
    /// Accept the task, then stall the answer this long (past the client's timeout).
    AcceptThenStall(Duration),
    /// Answer normally after this delay.
    Slow(Duration),
}

#[derive(Debug, Clone)]
struct FakeTask {
    id: String,
    model: String,
    prompt: String,
    marker: Option<String>,
    created: Instant,
    created_at: i64,
    return_last_frame: bool,
    cancelled: bool,
    body: Value,
}

#[derive(Default)]
struct Inner {
    tasks: Vec<FakeTask>,
    faults: VecDeque<Fault>,
    create_calls: usize,
    list_calls: usize,
    get_calls: usize,
    delete_calls: usize,
    /// Times of accepted creates.
    accepted_at: Vec<Instant>,
    max_live: usize,
    flaky_served: HashMap<String, bool>,
    weird_served: HashMap<String, bool>,
    bodies: Vec<Value>,
    /// Refuse every create with this error (an account-level problem).
    refusal: Option<(u16, &'static str)>,
}

/// The fake's shared state and clock settings.
#[derive(Clone)]
pub struct FakeArk {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
    /// Time from create to `running`.
    pub run_after: Duration,
    /// Time from create to the final status.
    pub done_after: Duration,
    mp4: Arc<Vec<u8>>,
    png: Arc<Vec<u8>>,
    /// Models this account has opened.
    pub models: Arc<Vec<String>>,
}

impl FakeArk {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("fake lock")
    }
    pub fn push_fault(&self, fault: Fault) {
        self.lock().faults.push_back(fault);
    }
    /// Refuses every create with this status and Ark code until cleared.
    pub fn refuse_all(&self, refusal: Option<(u16, &'static str)>) {
        self.lock().refusal = refusal;
    }
    /// Every create call, answered or not.
    pub fn create_calls(&self) -> usize {
        self.lock().create_calls
    }
    /// Tasks the fake accepted (what the account is billed for).
    pub fn accepted(&self) -> usize {
        self.lock().tasks.len()
    }
    pub fn list_calls(&self) -> usize {
        self.lock().list_calls
    }
    pub fn delete_calls(&self) -> usize {
        self.lock().delete_calls
    }
    /// Most tasks live (queued or running) at the same time.
    pub fn max_live(&self) -> usize {
        self.lock().max_live
    }
    /// Accepted creates within any 60 s window.
    pub fn max_creates_per_minute(&self) -> usize {
        let inner = self.lock();
        let times = &inner.accepted_at;
        (0..times.len())
            .map(|i| {
                times[i..]
                    .iter()
                    .take_while(|t| t.duration_since(times[i]) < Duration::from_secs(60))
                    .count()
            })
            .max()
            .unwrap_or(0)
    }
    /// Accepted tasks per marker (`safety_identifier`).
    pub fn accepted_per_marker(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for task in &self.lock().tasks {
            *counts
                .entry(task.marker.clone().unwrap_or_default())
                .or_insert(0) += 1;
        }
        counts
    }
    /// The create bodies the fake accepted.
    pub fn bodies(&self) -> Vec<Value> {
        self.lock().bodies.clone()
    }

    fn status_of(&self, task: &FakeTask, inner: &mut Inner) -> (String, Value) {
        let age = task.created.elapsed();
        if task.cancelled {
            return ("cancelled".into(), Value::Null);
        }
        if age < self.run_after {
            return ("queued".into(), Value::Null);
        }
        if task.prompt.contains("#weird") && !inner.weird_served.contains_key(&task.id) {
            inner.weird_served.insert(task.id.clone(), true);
            return ("thinking_about_it".into(), Value::Null);
        }
        if age < self.done_after {
            return ("running".into(), Value::Null);
        }
        if task.prompt.contains("#moderated") {
            return (
                "failed".into(),
                json!({"code": "OutputVideoSensitiveContentDetected.PolicyViolation",
                       "message": "The request failed because the output video may be related to copyright restrictions."}),
            );
        }
        if task.prompt.contains("#expired") {
            return ("expired".into(), Value::Null);
        }
        if task.prompt.contains("#cancelled") {
            return ("cancelled".into(), Value::Null);
        }
        ("succeeded".into(), Value::Null)
    }

    fn task_json(&self, task: &FakeTask, inner: &mut Inner) -> Value {
        let (status, error) = self.status_of(task, inner);
        let mut object = json!({
            "id": task.id,
            "model": task.model,
            "status": status,
            "error": error,
            "created_at": task.created_at,
            "updated_at": task.created_at,
            "resolution": task.body["resolution"],
            "ratio": task.body["ratio"],
            "duration": task.body["duration"],
            "framespersecond": 24,
            "service_tier": "default",
            "execution_expires_after": 172800,
        });
        if let Some(marker) = &task.marker {
            object["safety_identifier"] = json!(marker);
        }
        if status == "succeeded" {
            let mut content =
                json!({ "video_url": format!("{}/files/{}.mp4", self.base, task.id) });
            if task.return_last_frame {
                content["last_frame_url"] = json!(format!("{}/files/{}.png", self.base, task.id));
            }
            object["content"] = content;
            object["usage"] = json!({"completion_tokens": 108900, "total_tokens": 108900});
        }
        object
    }

    fn note_live(&self, inner: &mut Inner) {
        let snapshot: Vec<FakeTask> = inner.tasks.clone();
        let live = snapshot
            .iter()
            .filter(|t| {
                let (status, _) = self.status_of(t, &mut Inner::default());
                status == "queued" || status == "running"
            })
            .count();
        inner.max_live = inner.max_live.max(live);
    }
}

fn ark_error(status: u16, code: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let kind = match status.as_u16() {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        429 => "TooManyRequests",
        _ => "InternalServerError",
    };
    (
        status,
        Json(json!({"error": {"code": code, "message": format!("{message} Request ID: fake"), "type": kind}})),
    )
        .into_response()
}

fn authorized(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {KEY}"))
}

/// Checks a create body against the documented shape; `Err` is an Ark error.
fn check_body(body: &Value, models: &[String]) -> Result<(), Response> {
    let Some(object) = body.as_object() else {
        return Err(ark_error(400, "InvalidParameter", "body must be an object"));
    };
    for key in object.keys() {
        if !FIELDS.contains(&key.as_str()) {
            return Err(ark_error(
                400,
                &format!("InvalidParameter.{key}"),
                "unknown parameter",
            ));
        }
    }
    let model = object
        .get("model")
        .and_then(Value::as_str)
        .ok_or_else(|| ark_error(400, "MissingParameter.model", "model is required"))?;
    if !models.iter().any(|m| m == model) {
        return Err(ark_error(
            404,
            "InvalidEndpointOrModel.NotFound",
            "model not found",
        ));
    }
    let content = object
        .get("content")
        .and_then(Value::as_array)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ark_error(400, "MissingParameter.content", "content is required"))?;
    let mut texts = 0;
    for item in content {
        let kind = item["type"].as_str().unwrap_or("");
        let keys: Vec<&str> = item
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let ok = match kind {
            "text" => {
                texts += 1;
                let text = item["text"].as_str().unwrap_or("");
                let flags = [
                    "--rs",
                    "--rt",
                    "--dur",
                    "--resolution",
                    "--ratio",
                    "--duration",
                    "--seed",
                    "--wm",
                    "--cf",
                    "--fps",
                ];
                if flags.iter().any(|f| text.contains(f)) {
                    return Err(ark_error(
                        400,
                        "InvalidParameter.content",
                        "parameters must be body fields in this test",
                    ));
                }
                keys.iter().all(|k| ["type", "text"].contains(k)) && !text.is_empty()
            }
            "image_url" => {
                keys.iter()
                    .all(|k| ["type", "image_url", "role"].contains(k))
                    && item["image_url"]["url"].is_string()
                    && ["first_frame", "last_frame", "reference_image"]
                        .contains(&item["role"].as_str().unwrap_or("first_frame"))
            }
            "video_url" => {
                keys.iter()
                    .all(|k| ["type", "video_url", "role"].contains(k))
                    && item["video_url"]["url"].is_string()
                    && item["role"] == "reference_video"
            }
            "audio_url" => {
                keys.iter()
                    .all(|k| ["type", "audio_url", "role"].contains(k))
                    && item["audio_url"]["url"].is_string()
                    && item["role"] == "reference_audio"
            }
            _ => false,
        };
        if !ok {
            return Err(ark_error(
                400,
                "InvalidParameter.content",
                &format!("bad content item {item}"),
            ));
        }
    }
    if texts != 1 {
        return Err(ark_error(
            400,
            "InvalidParameter.content",
            "exactly one text item expected",
        ));
    }
    for (key, check) in [
        ("duration", Value::is_i64 as fn(&Value) -> bool),
        ("seed", Value::is_i64),
        ("resolution", Value::is_string),
        ("ratio", Value::is_string),
        ("safety_identifier", Value::is_string),
        ("callback_url", Value::is_string),
        ("watermark", Value::is_boolean),
        ("generate_audio", Value::is_boolean),
        ("return_last_frame", Value::is_boolean),
        ("camera_fixed", Value::is_boolean),
    ] {
        if object.get(key).is_some_and(|v| !check(v)) {
            return Err(ark_error(
                400,
                &format!("InvalidParameter.{key}"),
                "wrong type",
            ));
        }
    }
    if object
        .get("safety_identifier")
        .and_then(Value::as_str)
        .is_some_and(|s| s.len() > 64)
    {
        return Err(ark_error(
            400,
            "InvalidParameter.safety_identifier",
            "at most 64 characters",
        ));
    }
    Ok(())
}

async fn create(
    State(fake): State<FakeArk>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let fault = {
        let mut inner = fake.lock();
        inner.create_calls += 1;
        match inner.refusal {
            Some((status, code)) => Some(Fault::Error(status, code)),
            None => inner.faults.pop_front(),
        }
    };
    if !authorized(&headers) {
        return ark_error(401, "AuthenticationError", "the API key is invalid");
    }
    let stall = match fault {
        Some(Fault::Error(status, code)) => return ark_error(status, code, "injected"),
        Some(Fault::RateLimited(secs)) => {
            let mut response = ark_error(
                429,
                "RateLimitExceeded.EndpointRPMExceeded",
                "too many requests",
            );
            if let Ok(value) = secs.to_string().parse() {
                response.headers_mut().insert("retry-after", value);
            }
            return response;
        }
        Some(Fault::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            None
        }
        Some(Fault::AcceptThenStall(delay)) => Some(delay),
        None => None,
    };
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return ark_error(400, "InvalidParameter", "body is not JSON");
    };
    if let Err(response) = check_body(&body, &fake.models) {
        return response;
    }
    let prompt = body["content"]
        .as_array()
        .and_then(|c| c.iter().find(|i| i["type"] == "text"))
        .and_then(|i| i["text"].as_str())
        .unwrap_or("")
        .to_string();
    let id = {
        let mut inner = fake.lock();
        let id = format!("cgt-20250331175019-{:05}", inner.tasks.len());
        inner.tasks.push(FakeTask {
            id: id.clone(),
            model: body["model"].as_str().unwrap_or("").to_string(),
            prompt,
            marker: body["safety_identifier"].as_str().map(str::to_string),
            created: Instant::now(),
            created_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0),
            return_last_frame: body["return_last_frame"].as_bool().unwrap_or(false),
            cancelled: false,
            body: body.clone(),
        });
        inner.accepted_at.push(Instant::now());
        inner.bodies.push(body);
        fake.note_live(&mut inner);
        id
    };
    if let Some(delay) = stall {
        tokio::time::sleep(delay).await;
    }
    Json(json!({ "id": id })).into_response()
}

async fn list(
    State(fake): State<FakeArk>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if !authorized(&headers) {
        return ark_error(401, "AuthenticationError", "the API key is invalid");
    }
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    for (key, _) in &pairs {
        if !QUERY.contains(&key.as_str()) {
            return ark_error(
                400,
                &format!("InvalidParameter.{key}"),
                "unknown query parameter",
            );
        }
    }
    let number = |name: &str, default: usize| -> Result<usize, Response> {
        match pairs.iter().find(|(k, _)| k == name) {
            None => Ok(default),
            Some((_, v)) => match v.parse::<usize>() {
                Ok(n) if (1..=500).contains(&n) => Ok(n),
                _ => Err(ark_error(
                    400,
                    &format!("InvalidParameter.{name}"),
                    "must be 1-500",
                )),
            },
        }
    };
    let (page_num, page_size) = match (number("page_num", 1), number("page_size", 10)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let ids: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "filter.task_ids")
        .map(|(_, v)| v.as_str())
        .collect();
    let mut inner = fake.lock();
    inner.list_calls += 1;
    let mut chosen: Vec<FakeTask> = inner
        .tasks
        .iter()
        .filter(|t| ids.is_empty() || ids.contains(&t.id.as_str()))
        .cloned()
        .collect();
    chosen.reverse(); // newest first
    let total = chosen.len();
    let items: Vec<Value> = chosen
        .iter()
        .skip((page_num - 1) * page_size)
        .take(page_size)
        .map(|t| fake.task_json(t, &mut inner))
        .collect();
    Json(json!({ "items": items, "total": total })).into_response()
}

async fn get_task(
    State(fake): State<FakeArk>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !authorized(&headers) {
        return ark_error(401, "AuthenticationError", "the API key is invalid");
    }
    let mut inner = fake.lock();
    inner.get_calls += 1;
    let Some(task) = inner.tasks.iter().find(|t| t.id == id).cloned() else {
        return ark_error(404, "ResourceNotFound", "no such task");
    };
    Json(fake.task_json(&task, &mut inner)).into_response()
}

async fn delete_task(
    State(fake): State<FakeArk>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !authorized(&headers) {
        return ark_error(401, "AuthenticationError", "the API key is invalid");
    }
    let mut inner = fake.lock();
    inner.delete_calls += 1;
    let Some(index) = inner.tasks.iter().position(|t| t.id == id) else {
        return ark_error(404, "ResourceNotFound", "no such task");
    };
    let task = inner.tasks[index].clone();
    let (status, _) = fake.status_of(&task, &mut Inner::default());
    match status.as_str() {
        "queued" => {
            inner.tasks[index].cancelled = true;
            StatusCode::OK.into_response()
        }
        "running" | "cancelled" => ark_error(
            409,
            "InvalidParameter.Status",
            "the task cannot be cancelled now",
        ),
        _ => StatusCode::OK.into_response(),
    }
}

async fn file(
    State(fake): State<FakeArk>,
    Path(name): Path<String>,
    Query(_q): Query<HashMap<String, String>>,
) -> Response {
    let Some((id, ext)) = name.rsplit_once('.') else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut inner = fake.lock();
    let Some(task) = inner.tasks.iter().find(|t| t.id == id).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if task.prompt.contains("#flaky") && ext == "mp4" && !inner.flaky_served.contains_key(id) {
        inner.flaky_served.insert(id.to_string(), true);
        return StatusCode::NOT_FOUND.into_response();
    }
    match ext {
        "mp4" => ([("content-type", "video/mp4")], fake.mp4.as_ref().clone()).into_response(),
        "png" => ([("content-type", "image/png")], fake.png.as_ref().clone()).into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A small real MP4 (and PNG last frame) rendered once per test binary.
fn media() -> (Vec<u8>, Vec<u8>) {
    static MEDIA: std::sync::OnceLock<(Vec<u8>, Vec<u8>)> = std::sync::OnceLock::new();
    MEDIA
        .get_or_init(|| {
            let request = reelay_render::RenderRequest {
                prompt: "fake ark result".into(),
                duration_secs: 1,
                width: 864,
                height: 480,
                fps: 24,
                seed: 1,
                return_last_frame: true,
                label: "fake ark".into(),
                ..Default::default()
            };
            let output = reelay_render::render(&request, &mut |_| true).expect("render");
            (output.mp4, output.last_frame_png.expect("last frame"))
        })
        .clone()
}

/// Starts a fake with the given clock.
pub async fn start(run_after: Duration, done_after: Duration) -> FakeArk {
    std::env::set_var(KEY_ENV, KEY);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("addr");
    let (mp4, png) = media();
    let fake = FakeArk {
        base: format!("http://{address}"),
        inner: Arc::new(Mutex::new(Inner::default())),
        run_after,
        done_after,
        mp4: Arc::new(mp4),
        png: Arc::new(png),
        models: Arc::new(vec![
            "doubao-seedance-2-0-260128".into(),
            "doubao-seedance-2-0-fast-260128".into(),
        ]),
    };
    let router = Router::new()
        .route("/api/v3/contents/generations/tasks", post(create).get(list))
        .route(
            "/api/v3/contents/generations/tasks/{id}",
            get(get_task).delete(delete_task),
        )
        .route("/files/{name}", get(file))
        .with_state(fake.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    fake
}

impl FakeArk {
    /// The Ark base URL of this fake.
    pub fn api_base(&self) -> String {
        format!("{}/api/v3", self.base)
    }
}
