//! Issue 5, "Performance": many Ark tasks in flight on one channel, measured end to end.
//!
//! A bench-specific fake Ark (below; the test fake in `tests/it/fake_ark.rs` keeps every request
//! body and rescans all tasks per create, which is fine for tests and quadratic here) answers
//! every call after `BENCH_LATENCY_MS` (50 ms) and finishes each task after a random
//! `BENCH_MIN_S`–`BENCH_MAX_S` seconds; it records the moment each task became `succeeded`.
//! reelay runs in-process on its own tokio runtime; the fake, the task creator and the progress
//! printer run on a separate "harness" runtime so their CPU time can be told apart.
//!
//! Tasks are created through reelay's HTTP API (64 requests in flight). The delay of a task is
//! `upstream_tasks.updated_ms` of its finished submission (written, in ms, in the same transaction
//! that sets the task `completed`) minus the fake's `succeeded` moment. Nothing is asserted: the
//! bench prints a table.
//!
//! Every poll setting defaults to the product's own channel defaults (`ChannelSettings::default()`:
//! `poll_min_ms` 2000, `poll_max_ms` 30000, `poll_rpm` 600, `poll_batch` 100, `poll_concurrency`
//! unset: `poll_rpm / 300`, at least 4); only the create `rpm` is raised (60,000) so that all tasks
//! are in flight at once. The bench
//! prints the bound the poll budget allows, `in flight ÷ (poll_rpm / 60 × poll_batch)` seconds,
//! beside the measured delays, and how evenly the list calls were spread.
//!
//! It also prints the rate at which creates reached the fake and the peak in flight upstream
//! (the bound assumes every task in flight at once), the delays of the tasks that succeeded
//! after the last create (no API creates competing for the database), calls per task, reelay's
//! CPU apart from the harness's, and the peak RSS; a progress line every 5 s.
//!
//! `BENCH_CALLBACKS=1`: the channel sends `callback_url` (`callbacks = true`: the bench's origin
//! is plain http) and the fake POSTs the task object to it when the task succeeds, as Ark does;
//! reelay re-fetches the status before acting.
//!
//! Run: `cargo bench --bench upstream_poll` (release), `cargo bench --profile dev --bench
//! upstream_poll` (reuses a debug build); env knobs: see `Knobs::from_env`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rand::Rng;
use reelay::app::{Application, Role};
use reelay::config::{ChannelSettings, Settings};
use serde_json::{json, Value};

const KEY_ENV: &str = "BENCH_ARK_API_KEY";
const KEY: &str = "bench-ark-key";
const MODEL: &str = "seedance2.0-sp";
const ARK_MODEL: &str = "doubao-seedance-2-0-260128";
const CHANNEL: &str = "ark-bench";

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Everything a run can be told through the environment.
#[derive(Debug, Clone)]
struct Knobs {
    tasks: u64,
    min_s: u64,
    max_s: u64,
    latency_ms: u64,
    rpm: u32,
    poll_min_ms: u64,
    poll_max_ms: u64,
    poll_rpm: u32,
    poll_batch: u32,
    /// Unset: the product's default for the run's `poll_rpm`.
    poll_concurrency: Option<u32>,
    create_concurrency: usize,
    /// The fake POSTs each task's `callback_url` when it succeeds (reelay re-fetches it).
    callbacks: bool,
}

impl Knobs {
    fn from_env() -> Knobs {
        let product = ChannelSettings::default();
        Knobs {
            tasks: env_u64("BENCH_TASKS", 10_000),
            min_s: env_u64("BENCH_MIN_S", 5),
            max_s: env_u64("BENCH_MAX_S", 60),
            latency_ms: env_u64("BENCH_LATENCY_MS", 50),
            rpm: env_u64("BENCH_RPM", 60_000) as u32,
            poll_min_ms: env_u64("BENCH_POLL_MIN_MS", product.poll_min_ms),
            poll_max_ms: env_u64("BENCH_POLL_MAX_MS", product.poll_max_ms),
            poll_rpm: env_u64("BENCH_POLL_RPM", u64::from(product.poll_rpm)) as u32,
            poll_batch: env_u64("BENCH_POLL_BATCH", u64::from(product.poll_batch)) as u32,
            poll_concurrency: std::env::var("BENCH_POLL_CONCURRENCY")
                .ok()
                .and_then(|v| v.parse().ok())
                .or(product.poll_concurrency),
            callbacks: env_u64("BENCH_CALLBACKS", 0) == 1,
            create_concurrency: env_u64("BENCH_CREATE_CONCURRENCY", 64) as usize,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The fake Ark.

struct FakeTask {
    created_s: i64,
    /// Wall-clock ms at which the task turns `running` / `succeeded`.
    running_ms: i64,
    succeeded_ms: i64,
    /// Where the delay went: reelay's answer to the callback, the first list answer that showed
    /// the task `succeeded`, the download of its video (ms since the epoch).
    callback_ms: Option<i64>,
    seen_ms: Option<i64>,
    downloaded_ms: Option<i64>,
}

#[derive(Default)]
struct Counters {
    create: AtomicU64,
    /// The first and the last create call (ms since the epoch).
    first_create_ms: AtomicU64,
    last_create_ms: AtomicU64,
    list: AtomicU64,
    listed_ids: AtomicU64,
    /// When each list call came (ms since the epoch).
    list_at: Mutex<Vec<i64>>,
    callbacks: AtomicU64,
    /// Callbacks reelay did not answer 200.
    callbacks_failed: AtomicU64,
    get: AtomicU64,
    delete: AtomicU64,
    files: AtomicU64,
}

struct Fake {
    base: String,
    latency: Duration,
    min_ms: i64,
    max_ms: i64,
    tasks: Mutex<HashMap<String, FakeTask>>,
    next: AtomicU64,
    calls: Counters,
    mp4: bytes::Bytes,
    /// Sends callbacks.
    client: reqwest::Client,
}

fn now_ms() -> i64 {
    reelay::store::upstream::now_ms()
}

impl Fake {
    fn task_json(&self, id: &str, task: &FakeTask, now: i64) -> Value {
        let status = if now >= task.succeeded_ms {
            "succeeded"
        } else if now >= task.running_ms {
            "running"
        } else {
            "queued"
        };
        let mut object = json!({
            "id": id,
            "model": ARK_MODEL,
            "status": status,
            "error": null,
            "created_at": task.created_s,
            "updated_at": task.created_s,
            "resolution": "480p",
            "ratio": "16:9",
            "duration": 4,
            "framespersecond": 24,
            "service_tier": "default",
            "execution_expires_after": 172800,
        });
        if status == "succeeded" {
            object["content"] = json!({ "video_url": format!("{}/files/{id}.mp4", self.base) });
        }
        object
    }
}

fn authorized(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {KEY}"))
}

async fn create(State(fake): State<Arc<Fake>>, headers: HeaderMap, body: bytes::Bytes) -> Response {
    fake.calls.create.fetch_add(1, Ordering::Relaxed);
    let at = now_ms() as u64;
    let _ =
        fake.calls
            .first_create_ms
            .compare_exchange(0, at, Ordering::Relaxed, Ordering::Relaxed);
    fake.calls.last_create_ms.fetch_max(at, Ordering::Relaxed);
    tokio::time::sleep(fake.latency).await;
    if !authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    if body["model"] != ARK_MODEL {
        return StatusCode::NOT_FOUND.into_response();
    }
    let n = fake.next.fetch_add(1, Ordering::Relaxed);
    let id = format!("cgt-bench-{n:06}");
    let now = now_ms();
    let after = rand::thread_rng().gen_range(fake.min_ms..=fake.max_ms);
    let task = FakeTask {
        created_s: now / 1000,
        running_ms: now + (after / 10).min(1_000),
        succeeded_ms: now + after,
        callback_ms: None,
        seen_ms: None,
        downloaded_ms: None,
    };
    let succeeded_ms = task.succeeded_ms;
    let callback_url = body["callback_url"].as_str().map(str::to_string);
    fake.tasks.lock().expect("fake").insert(id.clone(), task);
    if let Some(url) = callback_url {
        // Ark POSTs the task object when it changes; this fake only when it succeeds.
        let fake = fake.clone();
        let id = id.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(
                (succeeded_ms - now_ms()).max(0) as u64
            ))
            .await;
            let object = {
                let tasks = fake.tasks.lock().expect("fake");
                tasks.get(&id).map(|t| fake.task_json(&id, t, now_ms()))
            };
            if let Some(object) = object {
                fake.calls.callbacks.fetch_add(1, Ordering::Relaxed);
                let answer = fake.client.post(&url).json(&object).send().await;
                if !answer.is_ok_and(|r| r.status().is_success()) {
                    fake.calls.callbacks_failed.fetch_add(1, Ordering::Relaxed);
                }
                if let Some(task) = fake.tasks.lock().expect("fake").get_mut(&id) {
                    task.callback_ms = Some(now_ms());
                }
            }
        });
    }
    Json(json!({ "id": id })).into_response()
}

async fn list(
    State(fake): State<Arc<Fake>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    fake.calls.list.fetch_add(1, Ordering::Relaxed);
    fake.calls.list_at.lock().expect("fake").push(now_ms());
    tokio::time::sleep(fake.latency).await;
    if !authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let ids: Vec<String> = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k == "filter.task_ids")
        .map(|(_, v)| v.into_owned())
        .collect();
    if ids.is_empty() {
        // Only reconciliation lists without ids; nothing here is ambiguous.
        return Json(json!({ "items": [], "total": 0 })).into_response();
    }
    fake.calls
        .listed_ids
        .fetch_add(ids.len() as u64, Ordering::Relaxed);
    let now = now_ms();
    let items: Vec<Value> = {
        let mut tasks = fake.tasks.lock().expect("fake");
        ids.iter()
            .filter_map(|id| {
                tasks.get_mut(id).map(|t| {
                    if now >= t.succeeded_ms && t.seen_ms.is_none() {
                        t.seen_ms = Some(now);
                    }
                    fake.task_json(id, t, now)
                })
            })
            .collect()
    };
    let total = items.len();
    Json(json!({ "items": items, "total": total })).into_response()
}

async fn get_task(
    State(fake): State<Arc<Fake>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    fake.calls.get.fetch_add(1, Ordering::Relaxed);
    tokio::time::sleep(fake.latency).await;
    if !authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let tasks = fake.tasks.lock().expect("fake");
    match tasks.get(&id) {
        Some(task) => Json(fake.task_json(&id, task, now_ms())).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn delete_task(State(fake): State<Arc<Fake>>) -> Response {
    fake.calls.delete.fetch_add(1, Ordering::Relaxed);
    tokio::time::sleep(fake.latency).await;
    StatusCode::OK.into_response()
}

async fn file(State(fake): State<Arc<Fake>>, Path(name): Path<String>) -> Response {
    fake.calls.files.fetch_add(1, Ordering::Relaxed);
    tokio::time::sleep(fake.latency).await;
    let id = name.trim_end_matches(".mp4");
    if let Some(task) = fake.tasks.lock().expect("fake").get_mut(id) {
        task.downloaded_ms.get_or_insert(now_ms());
    }
    ([("content-type", "video/mp4")], fake.mp4.clone()).into_response()
}

/// A tiny real MP4 (1 s, 160×90), so storage does not dominate.
fn tiny_mp4() -> Vec<u8> {
    let request = reelay_render::RenderRequest {
        prompt: "bench".into(),
        duration_secs: 1,
        width: 160,
        height: 90,
        fps: 24,
        seed: 1,
        label: "bench".into(),
        ..Default::default()
    };
    reelay_render::render(&request, &mut |_| true)
        .map(|o| o.mp4)
        .unwrap_or_else(|_| vec![0u8; 4096])
}

async fn start_fake(knobs: &Knobs) -> Arc<Fake> {
    std::env::set_var(KEY_ENV, KEY);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("addr");
    let fake = Arc::new(Fake {
        base: format!("http://{address}"),
        latency: Duration::from_millis(knobs.latency_ms),
        min_ms: (knobs.min_s * 1000) as i64,
        max_ms: (knobs.max_s * 1000).max(knobs.min_s * 1000) as i64,
        tasks: Mutex::new(HashMap::new()),
        next: AtomicU64::new(0),
        calls: Counters::default(),
        mp4: tiny_mp4().into(),
        client: reqwest::Client::new(),
    });
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

// ---------------------------------------------------------------------------------------------
// CPU and memory of this process, per thread.

/// utime + stime (clock ticks) from a `/proc/.../stat` line.
fn ticks(stat: &str) -> u64 {
    // Fields after the `(comm)`: state is field 3; utime and stime are fields 14 and 15.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    field(14).unwrap_or(0) + field(15).unwrap_or(0)
}

/// Seconds of CPU (user + system) used by the whole process.
fn process_cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    ticks(&stat) as f64 / 100.0
}

/// Seconds of CPU used by these threads (still alive).
fn threads_cpu_s(tids: &[String]) -> f64 {
    tids.iter()
        .map(|tid| {
            let stat =
                std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap_or_default();
            ticks(&stat)
        })
        .sum::<u64>() as f64
        / 100.0
}

fn this_tid() -> String {
    std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default()
}

/// `VmHWM` / `VmRSS` in MiB.
fn memory_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

// ---------------------------------------------------------------------------------------------

struct Reelay {
    base: String,
    key: String,
    db: reelay::store::Db,
    stop: tokio::sync::oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

fn reelay_settings(knobs: &Knobs, fake: &Fake, dir: &std::path::Path) -> Settings {
    let mut settings = Settings {
        data_dir: dir.to_path_buf(),
        ..Settings::default()
    };
    settings.server.listen = "127.0.0.1:0".into();
    settings.server.shutdown_grace_secs = 5;
    settings.media.allow_http = true;
    settings.media.allow_private_networks = true;
    settings.bootstrap.initial_credits = 1_000_000_000_000_000;
    settings.upstream.queue_timeout_secs = 3_600;
    settings.channels = vec![ChannelSettings {
        name: CHANNEL.into(),
        provider: "ark".into(),
        base_url: Some(format!("{}/api/v3", fake.base)),
        api_key_env: Some(KEY_ENV.into()),
        models: [(MODEL.to_string(), ARK_MODEL.to_string())].into(),
        max_concurrency: (knobs.tasks as u32).max(10_000),
        rpm: knobs.rpm,
        poll_rpm: knobs.poll_rpm,
        poll_batch: knobs.poll_batch,
        poll_concurrency: knobs.poll_concurrency,
        poll_min_ms: knobs.poll_min_ms,
        poll_max_ms: knobs.poll_max_ms,
        // Off by default for this http loopback origin; BENCH_CALLBACKS=1 turns them on.
        callbacks: knobs.callbacks.then_some(true),
        ..ChannelSettings::default()
    }];
    settings
}

async fn start_reelay(settings: Settings, dir: tempfile::TempDir) -> Reelay {
    let application = Application::build(settings, Role::All)
        .await
        .expect("reelay builds");
    let bootstrap = application.bootstrap.clone().expect("fresh database");
    let base = format!("http://{}", application.address());
    let db = application.db();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.await;
        };
        application
            .run_until_stopped(shutdown)
            .await
            .expect("reelay runs");
    });
    Reelay {
        base,
        key: bootstrap.secret,
        db,
        stop,
        _dir: dir,
    }
}

async fn create_tasks(reelay: &Reelay, knobs: &Knobs) -> (u64, u64) {
    use futures::StreamExt;
    let client = reqwest::Client::new();
    let url = format!("{}/api/open-api/v1/seedance/videos", reelay.base);
    let results: Vec<bool> = futures::stream::iter(0..knobs.tasks)
        .map(|i| {
            let client = client.clone();
            let url = url.clone();
            let key = reelay.key.clone();
            async move {
                let body = json!({
                    "model": MODEL,
                    "prompt": format!("bench task {i}: a lighthouse at dusk"),
                    "duration": 4,
                    "resolution": "480p",
                });
                match client.post(&url).bearer_auth(&key).json(&body).send().await {
                    Ok(r) if r.status().is_success() => {
                        let v: Value = r.json().await.unwrap_or(Value::Null);
                        v["data"]["task_id"].is_string()
                    }
                    Ok(r) => {
                        eprintln!("create answered {}", r.status());
                        false
                    }
                    Err(e) => {
                        eprintln!("create failed: {e}");
                        false
                    }
                }
            }
        })
        .buffer_unordered(knobs.create_concurrency)
        .collect()
        .await;
    let ok = results.iter().filter(|ok| **ok).count() as u64;
    (ok, knobs.tasks - ok)
}

async fn count_status(db: &reelay::store::Db) -> HashMap<String, i64> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, COUNT(*) FROM tasks GROUP BY status")
            .fetch_all(&db.read)
            .await
            .unwrap_or_default();
    rows.into_iter().collect()
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is understood.
    let knobs = Knobs::from_env();
    eprintln!("upstream_poll: {knobs:?}");

    let harness_tids = Arc::new(Mutex::new(vec![this_tid()]));
    let recorded = harness_tids.clone();
    let harness = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("bench-harness")
        .on_thread_start(move || recorded.lock().expect("tids").push(this_tid()))
        .enable_all()
        .build()
        .expect("harness runtime");
    let reelay_rt = tokio::runtime::Builder::new_multi_thread()
        .thread_name("reelay")
        .enable_all()
        .build()
        .expect("reelay runtime");

    let fake = harness.block_on(start_fake(&knobs));
    eprintln!("fake Ark at {} (video {} bytes)", fake.base, fake.mp4.len());
    let rss_before_mib = memory_mib("VmRSS:");

    let dir = tempfile::tempdir().expect("tempdir");
    let settings = reelay_settings(&knobs, &fake, dir.path());
    let reelay = reelay_rt.block_on(start_reelay(settings, dir));

    let cpu_start = process_cpu_s();
    let harness_cpu_start = threads_cpu_s(&harness_tids.lock().expect("tids"));
    let started = Instant::now();

    let (created, refused) = harness.block_on(create_tasks(&reelay, &knobs));
    let created_in = started.elapsed();
    eprintln!(
        "created {created} tasks ({refused} refused) in {:.1} s",
        created_in.as_secs_f64()
    );

    // Wait until every task ended, bounded by the completion window plus the create rate.
    let bound = Duration::from_secs(
        knobs.max_s + 120 + (knobs.tasks * 60).div_ceil(u64::from(knobs.rpm.max(1))),
    );
    let db = reelay.db.clone();
    let mut peak_in_flight: i64 = 0;
    let counts = harness.block_on(async {
        loop {
            let counts = count_status(&db).await;
            let in_flight: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM upstream_tasks WHERE submit_state = 'submitted'",
            )
            .fetch_one(&db.read)
            .await
            .unwrap_or(0);
            peak_in_flight = peak_in_flight.max(in_flight);
            let ended = counts.get("completed").copied().unwrap_or(0)
                + counts.get("failed").copied().unwrap_or(0);
            let elapsed = started.elapsed();
            eprintln!(
                "t={:>5.1}s {:?} upstream in flight={in_flight} fake: create={} list={} files={}",
                elapsed.as_secs_f64(),
                counts,
                fake.calls.create.load(Ordering::Relaxed),
                fake.calls.list.load(Ordering::Relaxed),
                fake.calls.files.load(Ordering::Relaxed),
            );
            if ended as u64 >= created || elapsed > bound {
                break counts;
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
    });
    let wall = started.elapsed();
    let cpu_total = process_cpu_s() - cpu_start;
    let harness_cpu = threads_cpu_s(&harness_tids.lock().expect("tids")) - harness_cpu_start;
    let reelay_cpu = cpu_total - harness_cpu;
    let peak_mib = memory_mib("VmHWM:");
    let rss_end_mib = memory_mib("VmRSS:");

    // Delays: reelay's completion (ms, same transaction as `completed`) − the fake's `succeeded`.
    let done: Vec<(String, i64)> = harness.block_on(async {
        sqlx::query_as(
            "SELECT u.upstream_id, u.updated_ms FROM upstream_tasks u JOIN tasks t ON t.id = u.task_id \
             WHERE t.status = 'completed' AND u.upstream_id IS NOT NULL",
        )
        .fetch_all(&db.read)
        .await
        .expect("completions")
    });
    let mut delays: Vec<i64> = {
        let tasks = fake.tasks.lock().expect("fake");
        done.iter()
            .filter_map(|(id, at)| tasks.get(id).map(|t| at - t.succeeded_ms))
            .collect()
    };
    delays.sort_unstable();
    // The same for the tasks that succeeded once every create had reached the fake (no API
    // creates or routing competing for the database any more).
    let mut settled: Vec<i64> = {
        let last_create = fake.calls.last_create_ms.load(Ordering::Relaxed) as i64;
        let tasks = fake.tasks.lock().expect("fake");
        done.iter()
            .filter_map(|(id, at)| tasks.get(id).map(|t| (at - t.succeeded_ms, t.succeeded_ms)))
            .filter(|(_, succeeded)| *succeeded > last_create)
            .map(|(delay, _)| delay)
            .collect()
    };
    settled.sort_unstable();
    // Where the delay went, per stage (ms), over the completed tasks that reached each stage.
    let stages: Vec<(&str, Vec<i64>)> = {
        let tasks = fake.tasks.lock().expect("fake");
        let done: Vec<(&FakeTask, i64)> = done
            .iter()
            .filter_map(|(id, at)| tasks.get(id).map(|t| (t, *at)))
            .collect();
        let stage = |f: &dyn Fn(&FakeTask, i64) -> Option<i64>| {
            let mut v: Vec<i64> = done.iter().filter_map(|(t, at)| f(t, *at)).collect();
            v.sort_unstable();
            v
        };
        vec![
            (
                "succeeded → reelay answered its callback",
                stage(&|t, _| t.callback_ms.map(|c| c - t.succeeded_ms)),
            ),
            (
                "succeeded → first list answer showing it",
                stage(&|t, _| t.seen_ms.map(|s| s - t.succeeded_ms)),
            ),
            (
                "that answer → video downloaded",
                stage(&|t, _| Some(t.downloaded_ms? - t.seen_ms?)),
            ),
            (
                "video downloaded → completed",
                stage(&|t, at| t.downloaded_ms.map(|d| at - d)),
            ),
        ]
    };
    let mean = delays.iter().sum::<i64>() as f64 / delays.len().max(1) as f64;
    let n = created.max(1) as f64;
    let calls = &fake.calls;
    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);

    let bound_s = |in_flight: f64| {
        in_flight / (f64::from(knobs.poll_rpm) / 60.0 * f64::from(knobs.poll_batch))
    };
    let (most_per_second, longest_gap_ms) = {
        let mut at = calls.list_at.lock().expect("fake").clone();
        at.sort_unstable();
        let most = (0..at.len())
            .map(|i| at[i..].iter().take_while(|t| **t < at[i] + 1_000).count())
            .max()
            .unwrap_or(0);
        let gap = at.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
        (most, gap)
    };

    let _ = reelay.stop.send(());
    std::thread::sleep(Duration::from_millis(500));

    println!();
    println!("## upstream_poll results");
    println!();
    println!(
        "tasks {} (created {created}, refused {refused}), completion {}–{} s, fake latency {} ms",
        knobs.tasks, knobs.min_s, knobs.max_s, knobs.latency_ms
    );
    println!(
        "channel: rpm {}, poll_min_ms {}, poll_max_ms {}, poll_rpm {}, poll_batch {}, poll_concurrency {}",
        knobs.rpm,
        knobs.poll_min_ms,
        knobs.poll_max_ms,
        knobs.poll_rpm,
        knobs.poll_batch,
        ChannelSettings {
            poll_rpm: knobs.poll_rpm,
            poll_concurrency: knobs.poll_concurrency,
            ..ChannelSettings::default()
        }
        .poll_concurrency()
    );
    println!("final statuses: {counts:?}");
    println!();
    println!("| metric | value |");
    println!("|---|---|");
    println!("| completed tasks measured | {} |", delays.len());
    for (label, p) in [("p50", 50.0), ("p90", 90.0), ("p99", 99.0)] {
        println!(
            "| delay {label} (upstream succeeded → reelay completed) | {} ms |",
            percentile(&delays, p)
        );
    }
    println!("| delay mean | {mean:.0} ms |");
    println!(
        "| delay p50 / p90 / p99 of the {} tasks that succeeded after the last create | {} / {} / {} ms |",
        settled.len(),
        percentile(&settled, 50.0),
        percentile(&settled, 90.0),
        percentile(&settled, 99.0)
    );
    for (label, values) in &stages {
        if values.is_empty() {
            continue;
        }
        println!(
            "| stage: {label}, p50 / p90 / p99 | {} / {} / {} ms |",
            percentile(values, 50.0),
            percentile(values, 90.0),
            percentile(values, 99.0)
        );
    }
    println!(
        "| bound: in flight ÷ (poll_rpm/60 × poll_batch) | {:.1} s for {} tasks; {:.1} s for the peak {peak_in_flight} seen in flight upstream |",
        bound_s(knobs.tasks as f64),
        knobs.tasks,
        bound_s(peak_in_flight as f64),
    );
    println!(
        "| list calls: most in any 1 s window / longest gap between two | {most_per_second} (⌈poll_rpm/60⌉ = {}) / {longest_gap_ms} ms |",
        u64::from(knobs.poll_rpm).div_ceil(60)
    );
    println!(
        "| callbacks sent by the fake (not answered 200) | {} ({}) |",
        load(&calls.callbacks),
        load(&calls.callbacks_failed)
    );
    println!(
        "| delay min / max | {} / {} ms |",
        delays.first().copied().unwrap_or(0),
        delays.last().copied().unwrap_or(0)
    );
    println!(
        "| create calls | {} ({:.2}/task) |",
        load(&calls.create),
        load(&calls.create) as f64 / n
    );
    let create_span_s =
        load(&calls.last_create_ms).saturating_sub(load(&calls.first_create_ms)) as f64 / 1000.0;
    println!(
        "| creates reaching the fake: rate / span / peak in flight upstream | {:.0}/s / {create_span_s:.1} s / {peak_in_flight} |",
        load(&calls.create) as f64 / create_span_s.max(0.001),
    );
    println!(
        "| list calls (filter.task_ids) | {} ({:.2}/task) |",
        load(&calls.list),
        load(&calls.list) as f64 / n
    );
    println!(
        "| task ids looked up in lists | {} ({:.1}/task, {:.1} ids/call) |",
        load(&calls.listed_ids),
        load(&calls.listed_ids) as f64 / n,
        load(&calls.listed_ids) as f64 / load(&calls.list).max(1) as f64
    );
    println!(
        "| get / delete calls | {} / {} |",
        load(&calls.get),
        load(&calls.delete)
    );
    println!(
        "| video downloads | {} ({:.2}/task, {} bytes each) |",
        load(&calls.files),
        load(&calls.files) as f64 / n,
        fake.mp4.len()
    );
    println!(
        "| total upstream calls per task | {:.2} |",
        (load(&calls.create)
            + load(&calls.list)
            + load(&calls.get)
            + load(&calls.delete)
            + load(&calls.files)) as f64
            / n
    );
    println!(
        "| wall time (create → all ended) | {:.1} s (creates took {:.1} s) |",
        wall.as_secs_f64(),
        created_in.as_secs_f64()
    );
    println!(
        "| reelay CPU (process − harness threads) | {reelay_cpu:.1} s ({:.2} cores avg, {:.2} ms/task) |",
        reelay_cpu / wall.as_secs_f64(),
        reelay_cpu * 1000.0 / n
    );
    println!("| harness CPU (fake Ark + task creator) | {harness_cpu:.1} s |");
    println!(
        "| peak RSS of the process (VmHWM) | {peak_mib:.1} MiB (RSS {rss_before_mib:.1} MiB before reelay started, {rss_end_mib:.1} MiB at the end) |"
    );
}
