//! The test harness: `spawn_app()` starts reelay on a random port with a fresh SQLite file and
//! object store, and `TestApp` has one method per endpoint. At the end of a test,
//! `finish()` fails the test if a task is left non-terminal or the books don't balance.

use std::net::SocketAddr;
use std::time::Duration;

use reelay::app::{Application, Role};
use reelay::config::Settings;
use serde_json::{json, Value};
use tokio::sync::oneshot;

/// A running reelay for one test.
pub struct TestApp {
    pub base: String,
    pub key: String,
    pub account_id: String,
    pub client: reqwest::Client,
    /// Holds the data directory (and so the SQLite file and objects) for the app's lifetime.
    #[allow(dead_code)]
    pub data_dir: tempfile::TempDir,
    pub app_handle: Option<tokio::task::JoinHandle<()>>,
    stop: Option<oneshot::Sender<()>>,
    pub worker: reelay::tasks::worker::Worker,
    pub sweeper: reelay::tasks::sweep::Sweeper,
    pub db: reelay::store::Db,
    pub dispatcher: reelay::webhooks::Dispatcher,
    pub storage: reelay::storage::Storage,
}

/// How a test wants its app.
pub struct Options {
    /// Run background workers (false: the test drives `poll_once`).
    pub workers: bool,
    pub tweak: Box<dyn FnOnce(&mut Settings)>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            workers: true,
            tweak: Box::new(|_| {}),
        }
    }
}

pub fn test_settings(dir: &std::path::Path) -> Settings {
    let mut settings = Settings {
        data_dir: dir.to_path_buf(),
        ..Settings::default()
    };
    settings.server.listen = "127.0.0.1:0".into();
    settings.worker.poll_interval_ms = 50;
    settings.worker.lease_secs = 5;
    settings.server.shutdown_grace_secs = 5;
    // The tests serve media from their own loopback server.
    settings.media.allow_http = true;
    settings.media.allow_private_networks = true;
    settings
}

/// [`test_settings`] on the suite's backend (SQLite in `dir`, or the suite's PostgreSQL and S3):
/// the same database and storage for every call with the same `dir`.
pub fn backend_settings(dir: &std::path::Path) -> Settings {
    let mut settings = test_settings(dir);
    for (key, value) in backend_env(dir) {
        match key.as_str() {
            "REELAY_DATABASE__URL" => settings.database.url = Some(value),
            "REELAY_STORAGE__URL" => settings.storage.url = Some(value),
            "REELAY_STORAGE__S3__ENDPOINT" => settings.storage.s3.endpoint = Some(value),
            "REELAY_STORAGE__S3__ALLOW_HTTP" => settings.storage.s3.allow_http = value == "true",
            _ => {}
        }
    }
    settings
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

pub async fn spawn_app_with(options: Options) -> TestApp {
    init_logs();
    let data_dir = tempfile::tempdir().expect("tempdir");
    let mut settings = backend_settings(data_dir.path());
    (options.tweak)(&mut settings);
    let application = Application::build(settings, Role::All)
        .await
        .expect("app builds");
    let bootstrap = application
        .bootstrap
        .clone()
        .expect("fresh database bootstraps");
    let address: SocketAddr = application.address();
    let worker = application.worker();
    let sweeper = application.sweeper();
    let dispatcher = application.dispatcher();
    let db = application.db();
    let storage = application.state().storage.clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let shutdown = async move {
        let _ = stopped.await;
    };
    let handle = if options.workers {
        tokio::spawn(async move {
            application.run_until_stopped(shutdown).await.expect("runs");
        })
    } else {
        tokio::spawn(async move {
            application.run_api_only(shutdown).await.expect("runs");
        })
    };
    TestApp {
        base: format!("http://{address}"),
        key: bootstrap.secret,
        account_id: bootstrap.account_id,
        client: reqwest::Client::new(),
        data_dir,
        app_handle: Some(handle),
        stop: Some(stop),
        worker,
        sweeper,
        db,
        dispatcher,
        storage,
    }
}

fn init_logs() {
    if std::env::var("TEST_LOG").is_ok() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("info,sqlx=warn")
            .with_test_writer()
            .try_init();
    }
}

/// An HTTP answer: status, headers and JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    /// The body as sent.
    pub text: String,
}

impl Answer {
    pub fn code(&self) -> i64 {
        self.body["code"].as_i64().unwrap_or(-1)
    }
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }
    pub fn msg(&self) -> &str {
        self.body["msg"].as_str().unwrap_or("")
    }
}

pub async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    assert_written_in_key_order(&text);
    let body = serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.clone()));
    Answer {
        status,
        headers,
        body,
        text,
    }
}

/// How reelay writes the success envelope, before `data` (`api::envelope::written`).
const SUCCESS_PREFIXES: [&str; 2] = [
    r#"{"code":0,"msg":"ok","data":"#,
    r#"{"code":"20000","msg":"ok","data":"#,
];

/// Every JSON answer reelay writes (the `data` of a success envelope, or a whole error body) is
/// byte for byte what a `serde_json::Value` holding it writes: object members in name order, at
/// every depth. The answers used to be `json!` maps, which write that order; the typed wire
/// structs (`src/wire/`) declare their fields in name order to keep it, and this checks it on
/// every answer the tests read. Bodies that are not JSON are left alone.
pub fn assert_written_in_key_order(text: &str) {
    let rewritten = |json: &str| {
        serde_json::from_str::<Value>(json)
            .ok()
            .map(|v| v.to_string())
    };
    let data = SUCCESS_PREFIXES
        .iter()
        .find_map(|prefix| text.strip_prefix(prefix)?.strip_suffix('}'));
    let part = data.unwrap_or(text);
    if let Some(rewritten) = rewritten(part) {
        assert_eq!(
            rewritten, part,
            "the answer is not written in member-name order (as a JSON map would write it)"
        );
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}/api/open-api/v1{path}", self.base)
    }

    pub async fn create_task_with_key(&self, key: &str, body: &Value) -> Answer {
        answer(
            self.client
                .post(self.url("/seedance/videos"))
                .bearer_auth(key)
                .json(body)
                .send()
                .await
                .expect("send"),
        )
        .await
    }

    /// Sends a create (with an `Idempotency-Key` when given) in a task of its own, so that a
    /// test can have many in flight at once.
    pub fn spawn_create(
        &self,
        body: &Value,
        idempotency_key: Option<&str>,
    ) -> tokio::task::JoinHandle<Answer> {
        let mut request = self
            .client
            .post(self.url("/seedance/videos"))
            .bearer_auth(&self.key)
            .json(body);
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        tokio::spawn(async move { answer(request.send().await.expect("send")).await })
    }

    pub async fn create_task(&self, body: &Value) -> Answer {
        self.create_task_with_key(&self.key, body).await
    }

    pub async fn create_with_idempotency(&self, key: &str, body: &Value) -> Answer {
        answer(
            self.client
                .post(self.url("/seedance/videos"))
                .bearer_auth(&self.key)
                .header("Idempotency-Key", key)
                .json(body)
                .send()
                .await
                .expect("send"),
        )
        .await
    }

    pub async fn quote(&self, body: &Value) -> Answer {
        answer(
            self.client
                .post(self.url("/seedance/videos/quote"))
                .bearer_auth(&self.key)
                .json(body)
                .send()
                .await
                .expect("send"),
        )
        .await
    }

    pub async fn get_as(&self, key: &str, path: &str) -> Answer {
        answer(
            self.client
                .get(self.url(path))
                .bearer_auth(key)
                .send()
                .await
                .expect("send"),
        )
        .await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.get_as(&self.key, path).await
    }

    pub async fn task(&self, task_id: &str) -> Answer {
        self.get(&format!("/videos/{task_id}")).await
    }

    pub async fn cancel(&self, task_id: &str) -> Answer {
        answer(
            self.client
                .post(self.url(&format!("/videos/{task_id}/cancel")))
                .bearer_auth(&self.key)
                .send()
                .await
                .expect("send"),
        )
        .await
    }

    pub async fn account(&self) -> Value {
        self.get("/account").await.data().clone()
    }

    pub async fn balance(&self) -> i64 {
        self.account().await["balance"].as_i64().expect("balance")
    }

    /// Makes a second account with its own key and credits.
    pub async fn new_account(&self, credits: i64) -> (String, String) {
        let (account, _key, secret) =
            reelay::accounts::create_account_with_key(&self.db, "other", "other", credits)
                .await
                .expect("account");
        (account, secret)
    }

    /// Runs every queued task on this app's worker (for apps built with `workers: false`).
    pub async fn run_queued_tasks(&self) {
        while self.worker.poll_once().await.expect("poll")
            == reelay::tasks::worker::PollOutcome::Started
        {}
    }

    /// Polls until the task is terminal (bounded so a hang fails instead of blocking CI).
    pub async fn wait_terminal(&self, task_id: &str) -> Value {
        for _ in 0..1200 {
            let task = self.task(task_id).await;
            let status = task.data()["status"].as_str().unwrap_or("").to_string();
            if status == "completed" || status == "failed" {
                return task.data().clone();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("task {task_id} did not finish");
    }

    /// Stops the app gracefully and checks the invariants every test must leave true.
    pub async fn finish(mut self) {
        let live: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM tasks WHERE status IN ('queued', 'processing')",
        )
        .fetch_one(&self.db.read)
        .await
        .expect("count");
        assert_eq!(live, 0, "a task was left non-terminal");
        assert_books_balance(&self.db).await;
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.app_handle.take() {
            handle.await.expect("app stops cleanly");
        }
        // On the PostgreSQL suite each test has its own database (~8 MB): dropped here so the
        // suite does not fill a small CI disk. A test that fails before `finish` keeps its own.
        self.db.write.close().await;
        self.db.read.close().await;
        drop_pg_database(self.data_dir.path());
    }

    /// True when object storage holds `key` (whichever store the app runs on).
    pub async fn object_exists(&self, key: &str) -> bool {
        match self.storage.size(key).await {
            Ok(_) => true,
            Err(reelay::storage::StorageError::NotFound) => false,
            Err(other) => panic!("object storage: {other}"),
        }
    }
}

/// Every account's balance equals the sum of its ledger; every failed task is refunded exactly
/// once and every other task charged exactly once.
pub async fn assert_books_balance(db: &reelay::store::Db) {
    let unbalanced: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM accounts a WHERE a.balance != (SELECT COALESCE(SUM(credits), 0) FROM ledger l WHERE l.account_id = a.id)",
    )
    .fetch_one(&db.read)
    .await
    .expect("query");
    assert_eq!(
        unbalanced, 0,
        "an account's balance differs from its ledger"
    );
    let rows: Vec<(String, String, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT t.id, t.status, t.cost_credits, t.refunded, \
         (SELECT COUNT(*) FROM ledger l WHERE l.task_id = t.id AND l.kind = 'charge'), \
         (SELECT COUNT(*) FROM ledger l WHERE l.task_id = t.id AND l.kind = 'refund') FROM tasks t",
    )
    .fetch_all(&db.read)
    .await
    .expect("query");
    for (id, status, cost, refunded, charges, refunds) in rows {
        if cost > 0 {
            assert_eq!(charges, 1, "task {id} charged {charges} times");
        }
        let expect_refund = status == "failed" && cost > 0;
        assert_eq!(
            refunds,
            i64::from(expect_refund),
            "task {id} ({status}) refunds"
        );
        assert_eq!(refunded != 0, status == "failed", "task {id} refunded flag");
    }
}

/// A minimal valid request for a model.
pub fn text_request(model: &str) -> Value {
    json!({ "model": model, "prompt": "a lighthouse at dusk, waves, 灯塔", "duration": 4, "resolution": "480p" })
}

/// Generates a PNG of the given size filled with a colour gradient.
pub fn png(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([
            rgb[0].saturating_add((x * 40 / width.max(1)) as u8),
            rgb[1].saturating_add((y * 40 / height.max(1)) as u8),
            rgb[2],
        ])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("png encodes");
    out.into_inner()
}

/// A loopback HTTP server serving fixed files at `/name` (the tests' stand-in for users' URLs).
pub struct MediaServer {
    pub base: String,
}

pub async fn media_server(files: Vec<(&'static str, Vec<u8>)>) -> MediaServer {
    use axum::routing::get;
    let mut router = axum::Router::new();
    for (name, bytes) in files {
        let bytes = bytes::Bytes::from(bytes);
        router = router.route(
            &format!("/{name}"),
            get(move || async move { bytes.clone() }),
        );
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    MediaServer {
        base: format!("http://{address}"),
    }
}

/// One Server-Sent Event as a test reads it.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub event: String,
    pub id: Option<String>,
    pub data: String,
}

impl TestApp {
    /// POST with no body (e.g. `/account/webhook-secret`).
    pub async fn post_empty(&self, path: &str) -> Answer {
        answer(
            self.client
                .post(self.url(path))
                .bearer_auth(&self.key)
                .send()
                .await
                .expect("send"),
        )
        .await
    }

    /// Opens `GET /videos/{id}/events` and sends each event to the returned channel until the
    /// stream ends; the status of the response comes first.
    pub async fn open_events(
        &self,
        task_id: &str,
        last_event_id: Option<&str>,
    ) -> (u16, tokio::sync::mpsc::UnboundedReceiver<SseEvent>) {
        use futures::StreamExt;
        let mut request = self
            .client
            .get(self.url(&format!("/videos/{task_id}/events")))
            .bearer_auth(&self.key);
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.send().await.expect("send");
        let status = response.status().as_u16();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let mut body = response.bytes_stream();
        tokio::spawn(async move {
            let mut buffer = String::new();
            while let Some(Ok(chunk)) = body.next().await {
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let block: String = buffer.drain(..end + 2).collect();
                    let mut event = SseEvent {
                        event: "message".into(),
                        id: None,
                        data: String::new(),
                    };
                    let mut has_data = false;
                    for line in block.lines() {
                        if let Some(v) = line.strip_prefix("event:") {
                            event.event = v.trim().to_string();
                        } else if let Some(v) = line.strip_prefix("id:") {
                            event.id = Some(v.trim().to_string());
                        } else if let Some(v) = line.strip_prefix("data:") {
                            event.data.push_str(v.strip_prefix(' ').unwrap_or(v));
                            has_data = true;
                        }
                    }
                    if has_data {
                        assert_written_in_key_order(&event.data);
                    }
                    if has_data && tx.send(event).is_err() {
                        return;
                    }
                }
            }
        });
        (status, rx)
    }
}

/// The requests a webhook receiver saw: headers and body of each.
pub type SeenRequests =
    std::sync::Arc<std::sync::Mutex<Vec<(reqwest::header::HeaderMap, Vec<u8>)>>>;

/// A loopback webhook receiver: records every request and answers 500 to the first `failures`.
pub struct Receiver {
    pub url: String,
    pub seen: SeenRequests,
}

impl Receiver {
    pub fn calls(&self) -> Vec<(reqwest::header::HeaderMap, Vec<u8>)> {
        self.seen.lock().expect("lock").clone()
    }

    /// Waits (bounded) until at least `n` requests arrived.
    pub async fn wait_for(&self, n: usize, dispatcher: Option<&reelay::webhooks::Dispatcher>) {
        for _ in 0..400 {
            if let Some(dispatcher) = dispatcher {
                dispatcher.deliver_due().await.expect("dispatch");
            }
            if self.calls().len() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "the receiver saw {} requests, expected {n}",
            self.calls().len()
        );
    }
}

pub async fn webhook_receiver(failures: usize) -> Receiver {
    use axum::http::{HeaderMap, StatusCode};
    use std::sync::Arc;
    let seen: SeenRequests = Arc::default();
    let recorded = seen.clone();
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: bytes::Bytes| {
            let recorded = recorded.clone();
            async move {
                let mut calls = recorded.lock().expect("lock");
                calls.push((headers, body.to_vec()));
                if calls.len() <= failures {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::NO_CONTENT
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Receiver {
        url: format!("http://{address}/hook"),
        seen,
    }
}

/// The admin token of apps made with `with_admin()`.
pub const ADMIN_TOKEN: &str = "adm-assets-token";

/// Options with the admin API on (token `ADMIN_TOKEN`) and `tweak` applied after.
pub fn with_admin(tweak: impl FnOnce(&mut Settings) + 'static) -> Options {
    Options {
        workers: true,
        tweak: Box::new(move |s| {
            s.admin.token = Some(ADMIN_TOKEN.to_string().into());
            tweak(s);
        }),
    }
}

/// A multipart file part for the asset routes.
pub struct FilePart {
    pub name: &'static str,
    pub kind: &'static str,
    pub file_name: &'static str,
    pub bytes: Vec<u8>,
}

impl TestApp {
    pub async fn post_json_as(&self, key: &str, path: &str, body: &Value) -> Answer {
        answer(
            self.client
                .post(self.url(path))
                .bearer_auth(key)
                .json(body)
                .send()
                .await
                .expect("send"),
        )
        .await
    }

    /// `POST /seedance/sp/assets/upload` with a URL.
    pub async fn upload_asset_url(&self, key: &str, kind: &str, url: &str) -> Answer {
        self.post_json_as(
            key,
            "/seedance/sp/assets/upload",
            &json!({ "name": "by url", "type": kind, "url": url }),
        )
        .await
    }

    /// A multipart upload to `path` (`/seedance/sp/assets/upload`, `/seedance/assets/audit`, …).
    pub async fn upload_multipart(&self, key: &str, path: &str, part: FilePart) -> Answer {
        let form = reqwest::multipart::Form::new()
            .text("name", part.name)
            .text("type", part.kind)
            .part(
                "file",
                reqwest::multipart::Part::bytes(part.bytes).file_name(part.file_name),
            );
        answer(
            self.client
                .post(self.url(path))
                .bearer_auth(key)
                .multipart(form)
                .send()
                .await
                .expect("send"),
        )
        .await
    }

    /// `POST /seedance/sp/assets/upload` with a file, for this app's key.
    pub async fn upload_asset_file(&self, part: FilePart) -> Answer {
        self.upload_multipart(&self.key, "/seedance/sp/assets/upload", part)
            .await
    }

    pub async fn asset_detail_as(&self, key: &str, asset_id: &str) -> Answer {
        self.post_json_as(
            key,
            "/seedance/sp/assets/detail",
            &json!({ "asset_id": asset_id }),
        )
        .await
    }

    pub async fn asset_status_as(&self, key: &str, asset_ids: &[&str]) -> Answer {
        self.post_json_as(
            key,
            "/seedance/sp/assets/status",
            &json!({ "asset_ids": asset_ids }),
        )
        .await
    }

    /// `POST /seedance/assets/audit` with a URL.
    pub async fn audit_asset_url(&self, kind: &str, url: &str) -> Answer {
        self.post_json_as(
            &self.key,
            "/seedance/assets/audit",
            &json!({ "name": "audited", "type": kind, "url": url }),
        )
        .await
    }

    /// `GET /seedance/assets/status?asset_ids=…`.
    pub async fn audit_status(&self, asset_ids: &[&str]) -> Answer {
        self.get(&format!(
            "/seedance/assets/status?asset_ids={}",
            asset_ids.join(",")
        ))
        .await
    }

    pub async fn realperson_submit(&self, name: &str, url: &str) -> Answer {
        self.post_json_as(
            &self.key,
            "/seedance/sp/realperson/submit",
            &json!({ "name": name, "url": url }),
        )
        .await
    }

    pub async fn realperson_status_as(&self, key: &str, asset_id: &str) -> Answer {
        self.post_json_as(
            key,
            "/seedance/sp/realperson/status",
            &json!({ "asset_id": asset_id }),
        )
        .await
    }

    pub async fn realperson_batch_status(&self, asset_ids: &[&str]) -> Answer {
        self.post_json_as(
            &self.key,
            "/seedance/sp/realperson/batch-status",
            &json!({ "asset_ids": asset_ids }),
        )
        .await
    }

    /// Polls an asset (or, with `realperson`, a record) until probing is over: a final status,
    /// or `Processing` with review `pending`. Returns the last view.
    pub async fn wait_asset(&self, asset_id: &str) -> Value {
        for _ in 0..300 {
            // Read the review state first so the view returned is at least as new.
            let pending = self.is_pending_review(asset_id).await;
            let view = if asset_id.starts_with("rp_") {
                self.realperson_status_as(&self.key, asset_id).await
            } else {
                self.asset_detail_as(&self.key, asset_id).await
            };
            assert_eq!(view.status, 200, "{:?}", view.body);
            let data = view.data().clone();
            if data["status"] != "Processing" || pending {
                return data;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("asset {asset_id} stayed Processing");
    }

    async fn is_pending_review(&self, asset_id: &str) -> bool {
        let review: Option<Option<String>> =
            sqlx::query_scalar("SELECT review FROM assets WHERE id = $1")
                .bind(asset_id)
                .fetch_optional(&self.db.read)
                .await
                .expect("query");
        matches!(review, Some(Some(r)) if r == "pending")
    }

    pub async fn admin_get(&self, path: &str) -> Answer {
        answer(
            self.client
                .get(format!("{}/admin/v1{path}", self.base))
                .bearer_auth(ADMIN_TOKEN)
                .header("X-Reelay-Actor", "alice")
                .send()
                .await
                .expect("send"),
        )
        .await
    }

    pub async fn admin_post(&self, path: &str, body: &Value) -> Answer {
        answer(
            self.client
                .post(format!("{}/admin/v1{path}", self.base))
                .bearer_auth(ADMIN_TOKEN)
                .header("X-Reelay-Actor", "alice")
                .json(body)
                .send()
                .await
                .expect("send"),
        )
        .await
    }
}

/// Generates a JPEG of the given size.
pub fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("jpeg encodes");
    out.into_inner()
}

/// A PCM WAV (16-bit mono, 8 kHz) of `seconds` of a tone, header written by hand.
pub fn wav(seconds: u32) -> Vec<u8> {
    let rate: u32 = 8000;
    let samples = rate * seconds;
    let data_len = samples * 2;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for i in 0..samples {
        let phase = (i as f32) * 440.0 * std::f32::consts::TAU / rate as f32;
        let sample = (phase.sin() * 8000.0) as i16;
        out.extend_from_slice(&sample.to_le_bytes());
    }
    out
}

/// A real H.264 MP4 of `seconds` rendered by reelay's own renderer.
pub fn mp4(seconds: u32) -> Vec<u8> {
    let request = reelay_render::RenderRequest {
        prompt: "test clip".into(),
        duration_secs: seconds,
        width: 640,
        height: 360,
        fps: 24,
        label: "test".into(),
        ..Default::default()
    };
    reelay_render::render(&request, &mut |_| true)
        .expect("renders")
        .mp4
}

/// The app's `/metrics` text.
pub async fn scrape_metrics(app: &TestApp) -> String {
    app.client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("text")
}

/// The PostgreSQL server of the backend suite (`REELAY_TEST_PG_URL`, set by `scripts/test`
/// after `scripts/postgres start`); `None` runs the embedded SQLite suite.
pub fn pg_admin_url() -> Option<String> {
    std::env::var("REELAY_TEST_PG_URL")
        .ok()
        .filter(|url| !url.is_empty())
}

/// A fresh, empty PostgreSQL database on the suite's server; its URL.
pub fn fresh_pg_database(admin_url: &str) -> String {
    use rand::Rng;
    let name = format!("reelay_t_{:016x}", rand::thread_rng().gen::<u64>());
    admin_statement(admin_url, format!("CREATE DATABASE {name}"))
        .expect("create a database on REELAY_TEST_PG_URL");
    let mut url = url::Url::parse(admin_url).expect("REELAY_TEST_PG_URL is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// Drops the database that [`backend_env`] made for `data_dir`, if it made one. Best effort: a
/// failure is printed, not raised (the test's own assertions have passed by then).
pub fn drop_pg_database(data_dir: &std::path::Path) {
    let (Some(admin), Ok(url)) = (
        pg_admin_url(),
        std::fs::read_to_string(data_dir.join("test-database-url")),
    ) else {
        return;
    };
    let name = url::Url::parse(&url)
        .ok()
        .map(|url| url.path().trim_start_matches('/').to_string())
        .filter(|name| {
            name.starts_with("reelay_t_")
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
    let Some(name) = name else {
        return;
    };
    // FORCE (PostgreSQL 13+) ends connections a spawned process may have left behind.
    if let Err(error) = admin_statement(
        &admin,
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    ) {
        eprintln!("note: could not drop test database {name}: {error}");
    }
}

/// Runs one statement on the suite's PostgreSQL server (`admin_url`), on its own thread and
/// runtime: callers may be sync code inside an async test.
fn admin_statement(admin_url: &str, sql: String) -> Result<(), sqlx::Error> {
    let admin = admin_url.to_string();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            use sqlx::Connection;
            sqlx::any::install_default_drivers();
            let mut conn = sqlx::AnyConnection::connect(&admin).await?;
            sqlx::query(&sql).execute(&mut conn).await?;
            let _ = conn.close().await;
            Ok(())
        })
    })
    .join()
    .expect("admin statement thread")
}

/// Environment that points a reelay process using `data_dir` at the suite's backends: nothing on
/// the embedded suite; on the PostgreSQL suite, one database per data dir (remembered in the data
/// dir, so a restarted process finds the same database).
pub fn backend_env(data_dir: &std::path::Path) -> Vec<(String, String)> {
    let mut env = Vec::new();
    if let Some(admin) = pg_admin_url() {
        let file = data_dir.join("test-database-url");
        let url = match std::fs::read_to_string(&file) {
            Ok(url) => url,
            Err(_) => {
                let url = fresh_pg_database(&admin);
                std::fs::write(&file, &url).expect("remember the test database");
                url
            }
        };
        env.push(("REELAY_DATABASE__URL".to_string(), url));
        // PostgreSQL + S3: each data dir gets its own prefix in the suite's bucket.
        if let Some((endpoint, bucket)) = s3_suite() {
            let prefix = data_dir
                .file_name()
                .map(|n| n.to_string_lossy().trim_start_matches('.').to_string())
                .unwrap_or_else(|| "t".into());
            env.push((
                "REELAY_STORAGE__URL".to_string(),
                format!("s3://{bucket}/suite-{prefix}"),
            ));
            env.push((
                "REELAY_STORAGE__S3__ALLOW_HTTP".to_string(),
                endpoint.starts_with("http://").to_string(),
            ));
            env.push(("REELAY_STORAGE__S3__ENDPOINT".to_string(), endpoint));
        }
    }
    env
}

/// The S3 server of the backend suite (`REELAY_TEST_S3_ENDPOINT`, bucket), used together with
/// PostgreSQL; credentials come from the usual AWS variables.
pub fn s3_suite() -> Option<(String, String)> {
    let endpoint = std::env::var("REELAY_TEST_S3_ENDPOINT")
        .ok()
        .filter(|e| !e.is_empty())?;
    let bucket = std::env::var("REELAY_TEST_S3_BUCKET").unwrap_or_else(|_| "reelay-test".into());
    Some((endpoint, bucket))
}

/// Storage for the multi-replica run: a fresh prefix on the suite's S3 server, if it has one.
pub async fn s3_test_storage() -> Option<crate::multinode::StorageConfig> {
    use rand::Rng;
    let (endpoint, bucket) = s3_suite()?;
    let prefix = format!("multinode-{:012x}", rand::thread_rng().gen::<u64>() >> 16);
    let url = format!("s3://{bucket}/{prefix}");
    let toml = format!(
        "[storage]\nurl = \"{url}\"\n\n[storage.s3]\nendpoint = \"{endpoint}\"\nallow_http = {}\n",
        endpoint.starts_with("http://")
    );
    let mut settings = Settings::default();
    settings.storage.url = Some(url);
    settings.storage.s3.endpoint = Some(endpoint.clone());
    settings.storage.s3.allow_http = endpoint.starts_with("http://");
    let storage = reelay::storage::Storage::from_settings(&settings, b"unused".to_vec())
        .expect("S3 storage of the suite");
    Some(crate::multinode::StorageConfig {
        toml,
        storage,
        label: format!("S3 ({endpoint}, bucket {bucket})"),
    })
}

impl TestApp {
    /// `GET /account/keys` with `key`: the items, checked to be a 200.
    pub async fn account_keys(&self, key: &str) -> Vec<Value> {
        let listed = self.get_as(key, "/account/keys").await;
        assert_eq!(listed.status, 200, "{:?}", listed.body);
        listed.data()["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}
