//! S3-compatible object storage against a real server: SeaweedFS started by `scripts/seaweedfs`.
//!
//! Needs `REELAY_TEST_S3_ENDPOINT` (and `REELAY_TEST_S3_BUCKET`, `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`), as printed by `eval "$(scripts/seaweedfs start)"`.
//! Without it every test here says it is skipped and passes. Each test works under its own
//! random prefix of the bucket, so runs never see each other's objects.

use futures::StreamExt;
use reelay::config::{ServeMode, Settings};
use reelay::storage::{Storage, StorageError};
use serde_json::json;

use crate::helpers::*;

const SKIPPED: &str =
    "skipped: S3 suite (run scripts/test, or eval \"$(scripts/seaweedfs start)\")";

/// Where the test S3 server is.
#[derive(Clone)]
struct S3Server {
    endpoint: String,
    bucket: String,
}

/// The test server, or `None` (after saying the suite is skipped) when none is configured.
fn s3_server() -> Option<S3Server> {
    let endpoint = std::env::var("REELAY_TEST_S3_ENDPOINT")
        .ok()
        .filter(|e| !e.is_empty());
    let Some(endpoint) = endpoint else {
        println!("{SKIPPED}");
        return None;
    };
    let bucket = std::env::var("REELAY_TEST_S3_BUCKET").unwrap_or_else(|_| "reelay-test".into());
    Some(S3Server { endpoint, bucket })
}

impl S3Server {
    /// A prefix no other test run uses.
    fn unique_prefix(&self, test: &str) -> String {
        format!("it/{test}-{}", reelay::ids::random_token(10).to_lowercase())
    }

    /// Points `settings` at `s3://bucket/prefix` on this server (credentials from `AWS_*`).
    fn configure(&self, settings: &mut Settings, prefix: &str, serve: ServeMode) {
        settings.storage.url = Some(format!("s3://{}/{prefix}", self.bucket));
        settings.storage.serve = serve;
        settings.storage.s3.endpoint = Some(self.endpoint.clone());
        settings.storage.s3.allow_http = self.endpoint.starts_with("http://");
    }

    /// Deletes what a test left under `prefix`.
    async fn clean(&self, prefix: &str) {
        let storage = self.storage(prefix);
        for key in storage.list("").await.expect("list") {
            storage.delete(&key).await.expect("delete");
        }
    }

    /// A `Storage` on `prefix`, separate from any app's (to look at what an app stored).
    fn storage(&self, prefix: &str) -> Storage {
        let mut settings = Settings::default();
        self.configure(&mut settings, prefix, ServeMode::Reelay);
        settings.validate().expect("valid S3 settings");
        Storage::from_settings(&settings, b"test".to_vec()).expect("S3 storage")
    }
}

/// An app whose object store is `s3://bucket/<prefix>`; background workers off (tests drive them).
async fn spawn_s3_app(server: &S3Server, prefix: &str, serve: ServeMode) -> TestApp {
    let server = server.clone();
    let prefix = prefix.to_string();
    spawn_app_with(Options {
        workers: false,
        tweak: Box::new(move |settings| server.configure(settings, &prefix, serve)),
    })
    .await
}

/// Creates a text task and runs it to completion on this test's worker; returns the task JSON.
async fn completed_task(app: &TestApp) -> serde_json::Value {
    let mut body = text_request("seedance2.0-sp");
    body["return_last_frame"] = json!(true);
    let created = app.create_task(&body).await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let task_id = created.data()["task_id"].as_str().expect("id").to_string();
    app.worker.poll_once().await.expect("poll");
    let task = app.task(&task_id).await.data().clone();
    assert_eq!(task["status"], "completed", "{task}");
    task
}

fn assert_is_mp4(bytes: &[u8]) {
    assert!(
        bytes.len() > 8 && &bytes[4..8] == b"ftyp",
        "not an MP4 (no ftyp box first): {:?}",
        &bytes[..bytes.len().min(16)]
    );
}

#[tokio::test]
async fn storage_round_trips_objects_on_s3() {
    let Some(server) = s3_server() else { return };
    let prefix = server.unique_prefix("roundtrip");
    let storage = server.storage(&prefix);
    assert!(storage.ping().await, "an empty prefix answers");
    assert!(storage.list("results").await.expect("list").is_empty());

    let bytes: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    storage
        .put("results/vid_1/video.mp4", bytes.clone())
        .await
        .expect("put");
    storage
        .put("results/vid_10/video.mp4", b"other".to_vec())
        .await
        .expect("put");
    assert_eq!(
        storage.size("results/vid_1/video.mp4").await.expect("size"),
        10_000
    );

    let whole = storage
        .read("results/vid_1/video.mp4", None)
        .await
        .expect("read");
    assert_eq!(whole.bytes.as_ref(), bytes.as_slice());
    assert_eq!((whole.range.clone(), whole.total), (0..10_000, 10_000));

    let part = storage
        .read("results/vid_1/video.mp4", Some(100..200))
        .await
        .expect("range");
    assert_eq!(part.bytes.as_ref(), &bytes[100..200]);
    assert_eq!((part.range.clone(), part.total), (100..200, 10_000));

    let mut opened = storage
        .open("results/vid_1/video.mp4", Some(9_990..10_000))
        .await
        .expect("open");
    let mut streamed = Vec::new();
    while let Some(chunk) = opened.stream.next().await {
        streamed.extend_from_slice(&chunk.expect("chunk"));
    }
    assert_eq!(streamed.as_slice(), &bytes[9_990..]);
    assert_eq!(opened.total, 10_000);

    assert_eq!(
        storage.list("results").await.expect("list"),
        vec!["results/vid_1/video.mp4", "results/vid_10/video.mp4"],
        "keys come back without the prefix"
    );
    assert_eq!(
        storage.list("results/vid_1").await.expect("list"),
        vec!["results/vid_1/video.mp4"]
    );
    let raw = server.storage("").list(&prefix).await.expect("list bucket");
    assert!(
        raw.contains(&format!("{prefix}/results/vid_1/video.mp4")),
        "stored under the prefix: {raw:?}"
    );

    storage
        .delete("results/vid_1/video.mp4")
        .await
        .expect("delete");
    storage
        .delete("results/vid_1/video.mp4")
        .await
        .expect("deleting a missing key is fine");
    assert!(matches!(
        storage.read("results/vid_1/video.mp4", None).await,
        Err(StorageError::NotFound)
    ));
    assert!(matches!(
        storage.size("results/vid_1/video.mp4").await,
        Err(StorageError::NotFound)
    ));
    storage
        .delete("results/vid_10/video.mp4")
        .await
        .expect("delete");
    assert!(storage.list("").await.expect("list").is_empty());
}

#[tokio::test]
async fn ping_is_false_for_wrong_credentials_bucket_or_endpoint() {
    let Some(server) = s3_server() else { return };
    let build = |tweak: &dyn Fn(&mut Settings)| {
        let mut settings = Settings::default();
        server.configure(&mut settings, "it/ping", ServeMode::Reelay);
        tweak(&mut settings);
        settings.validate().expect("valid settings");
        Storage::from_settings(&settings, b"test".to_vec()).expect("storage")
    };
    assert!(build(&|_| {}).ping().await, "the right settings answer");

    let wrong_secret = build(&|s| {
        s.storage.s3.access_key_id = Some("reelay-wrong".into());
        s.storage.s3.secret_access_key = Some("not-the-secret".to_string().into());
    });
    assert!(!wrong_secret.ping().await, "wrong credentials");

    let missing_bucket = build(&|s| {
        s.storage.url = Some("s3://reelay-no-such-bucket/it".into());
    });
    assert!(!missing_bucket.ping().await, "missing bucket");

    let nothing_listens = build(&|s| {
        s.storage.s3.endpoint = Some("http://127.0.0.1:9".into());
        s.storage.s3.allow_http = true;
    });
    let started = std::time::Instant::now();
    assert!(!nothing_listens.ping().await, "wrong endpoint");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "ping gives up within its timeout"
    );
}

#[tokio::test]
async fn results_on_s3_are_served_by_reelay_with_range() {
    let Some(server) = s3_server() else { return };
    let prefix = server.unique_prefix("serve-reelay");
    let app = spawn_s3_app(&server, &prefix, ServeMode::Reelay).await;
    let ready: serde_json::Value = app
        .client
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .expect("readyz")
        .json()
        .await
        .expect("json");
    assert_eq!(ready["storage"], true, "{ready}");

    let task = completed_task(&app).await;
    let task_id = task["task_id"].as_str().expect("id");
    let stored = server.storage(&prefix).list("results").await.expect("list");
    assert_eq!(
        stored,
        vec![
            format!("results/{task_id}/last_frame.png"),
            format!("results/{task_id}/video.mp4")
        ],
        "the result is in the bucket"
    );

    let url = task["result"]["video_url"].as_str().expect("video url");
    assert!(
        url.starts_with(&format!("{}/files/results/{task_id}/", app.base)),
        "{url}"
    );
    let video = app.client.get(url).send().await.expect("get");
    assert_eq!(video.status(), 200);
    assert_eq!(video.headers()["content-type"], "video/mp4");
    let bytes = video.bytes().await.expect("bytes");
    assert_is_mp4(&bytes);
    assert_eq!(
        bytes.len() as u64,
        task["result"]["size_bytes"].as_u64().expect("size")
    );

    let part = app
        .client
        .get(url)
        .header("Range", "bytes=4-7")
        .send()
        .await
        .expect("range");
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 4-7/{}", bytes.len()).as_str()
    );
    assert_eq!(part.bytes().await.expect("bytes").as_ref(), b"ftyp");

    // `/content` redirects to the same kind of URL; reqwest follows it.
    let content = app
        .client
        .get(app.url(&format!("/videos/{task_id}/content")))
        .bearer_auth(&app.key)
        .send()
        .await
        .expect("content");
    assert_eq!(content.status(), 200);
    assert_is_mp4(&content.bytes().await.expect("bytes"));
    app.finish().await;
    server.clean(&prefix).await;
}

#[tokio::test]
async fn presigned_result_urls_download_straight_from_the_bucket() {
    let Some(server) = s3_server() else { return };
    let prefix = server.unique_prefix("serve-presigned");
    let app = spawn_s3_app(&server, &prefix, ServeMode::Presigned).await;
    let task = completed_task(&app).await;
    let task_id = task["task_id"].as_str().expect("id");

    let url = task["result"]["video_url"].as_str().expect("video url");
    let object = format!(
        "{}/{}/{prefix}/results/{task_id}/video.mp4?",
        server.endpoint, server.bucket
    );
    assert!(url.starts_with(&object), "{url} should start with {object}");
    let parsed = reqwest::Url::parse(url).expect("url");
    let expires_in: i64 = parsed
        .query_pairs()
        .find(|(k, _)| k == "X-Amz-Expires")
        .map(|(_, v)| v.parse().expect("seconds"))
        .expect("X-Amz-Expires");
    let retention = 72 * 3600;
    assert!(
        (retention - 60..=retention).contains(&expires_in),
        "valid until the result expires (72 h by default), got {expires_in} s"
    );

    let plain = reqwest::Client::new();
    let video = plain.get(url).send().await.expect("get");
    assert_eq!(video.status(), 200, "S3 accepts the presigned URL");
    let bytes = video.bytes().await.expect("bytes");
    assert_is_mp4(&bytes);
    assert_eq!(
        bytes.len() as u64,
        task["result"]["size_bytes"].as_u64().expect("size")
    );
    let part = plain
        .get(url)
        .header("Range", "bytes=4-7")
        .send()
        .await
        .expect("range");
    assert_eq!(part.status(), 206);
    assert_eq!(part.bytes().await.expect("bytes").as_ref(), b"ftyp");

    let tampered = url.replace("video.mp4", "last_frame.png");
    assert_eq!(
        plain.get(&tampered).send().await.expect("get").status(),
        403,
        "the signature is bound to the key"
    );
    let frame_url = task["result"]["last_frame_url"]
        .as_str()
        .expect("last frame url");
    assert!(frame_url.starts_with(&server.endpoint), "{frame_url}");
    let frame = plain.get(frame_url).send().await.expect("frame");
    assert_eq!(frame.status(), 200);
    assert_eq!(
        reelay_media::sniff(&frame.bytes().await.expect("png")),
        Some(reelay_media::MediaFormat::Png)
    );

    // `/content` redirects to a presigned URL too.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let content = no_redirects
        .get(app.url(&format!("/videos/{task_id}/content")))
        .bearer_auth(&app.key)
        .send()
        .await
        .expect("content");
    assert_eq!(content.status(), 302);
    let location = content.headers()["location"].to_str().expect("location");
    assert!(location.starts_with(&object), "{location}");
    let followed = plain.get(location).send().await.expect("get");
    assert_is_mp4(&followed.bytes().await.expect("bytes"));
    app.finish().await;
    server.clean(&prefix).await;
}

#[tokio::test]
async fn retention_sweep_deletes_results_from_the_bucket() {
    let Some(server) = s3_server() else { return };
    let prefix = server.unique_prefix("retention");
    let tweak_server = server.clone();
    let tweak_prefix = prefix.clone();
    let app = spawn_app_with(Options {
        workers: false,
        tweak: Box::new(move |settings| {
            tweak_server.configure(settings, &tweak_prefix, ServeMode::Presigned);
            settings.results.retention_hours = 1;
        }),
    })
    .await;
    let task = completed_task(&app).await;
    let task_id = task["task_id"].as_str().expect("id").to_string();
    let storage = server.storage(&prefix);
    let folder = format!("results/{task_id}");
    assert_eq!(storage.list(&folder).await.expect("list").len(), 2);
    assert_eq!(
        app.sweeper.sweep_retention().await.expect("sweep"),
        0,
        "not yet due"
    );
    // Age the result past retention.
    sqlx::query("UPDATE tasks SET completed_at = completed_at - 7200 WHERE id = $1")
        .bind(&task_id)
        .execute(&app.db.write)
        .await
        .expect("age");
    assert_eq!(app.sweeper.sweep_retention().await.expect("sweep"), 1);
    assert!(
        storage.list(&folder).await.expect("list").is_empty(),
        "the sweep deleted the objects"
    );
    let task = app.task(&task_id).await;
    assert_eq!(task.data()["result"]["expired"], true);
    assert_eq!(task.data()["result"]["video_url"], json!(null));
    app.finish().await;
}
