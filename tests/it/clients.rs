//! The real client libraries, unmodified and pinned (`tests/clients/requirements.txt`, installed
//! by `scripts/test` into `target/pyclients`), against a running reelay: each script under
//! `tests/clients/` drives one client through its door (create with media of every role, poll,
//! download and measure the MP4, list, delete, errors in the client's own terms, a wrong key)
//! and prints what it made; this side then reads those tasks through the other doors and checks
//! the money.
//!
//! Without the virtual environment (a plain `cargo test` on a machine where `scripts/test` has
//! not run) each test says so and passes; `scripts/test` always installs it, and sets
//! `REELAY_TEST_REQUIRE_CLIENTS=1` so that a missing environment fails instead.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::helpers::*;

/// The virtual environment's Python, or why there is none.
fn python() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let venv = std::env::var_os("REELAY_TEST_PYCLIENTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/pyclients"));
    let python = venv.join("bin/python");
    if python.exists() {
        return Some(python);
    }
    assert!(
        std::env::var("REELAY_TEST_REQUIRE_CLIENTS").as_deref() != Ok("1"),
        "REELAY_TEST_REQUIRE_CLIENTS=1 but {} does not exist",
        python.display()
    );
    eprintln!(
        "skipped: no client environment at {} (scripts/test makes it: python3 -m venv + pip install -r tests/clients/requirements.txt)",
        venv.display()
    );
    None
}

/// The Node.js packages (`tests/clients/package.json`, installed by `scripts/test` into
/// `target/nodeclients`), or why there are none.
fn node_clients() -> Option<PathBuf> {
    let dir = std::env::var_os("REELAY_TEST_NODECLIENTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/nodeclients"));
    if dir.join("node_modules/@ai-sdk/bytedance").exists() {
        return Some(dir);
    }
    assert!(
        std::env::var("REELAY_TEST_REQUIRE_NODE_CLIENTS").as_deref() != Ok("1"),
        "REELAY_TEST_REQUIRE_NODE_CLIENTS=1 but {} has no node_modules",
        dir.display()
    );
    eprintln!(
        "skipped: no Node.js client packages at {} (scripts/test installs them: npm ci in tests/clients)",
        dir.display()
    );
    None
}

/// Runs `tests/clients/{script}` with `env`; its last stdout line, parsed.
async fn run_client(python: &PathBuf, script: &str, env: &[(&str, String)]) -> Value {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients");
    run_script(python, &dir.join(script), &dir, env).await
}

/// Runs `program script` in `dir` with `env`; its last stdout line, parsed.
async fn run_script(
    program: &PathBuf,
    script: &PathBuf,
    dir: &PathBuf,
    env: &[(&str, String)],
) -> Value {
    let script_name = script.display().to_string();
    let mut command = Command::new(program);
    command.arg(script).current_dir(dir);
    for (key, value) in env {
        command.env(key, value);
    }
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("joins")
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{script_name} failed:\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    let last = stdout.lines().last().unwrap_or("");
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{script_name} printed {last:?}: {e}"))
}

/// What every client script gets: the server, a key, the admin token and media to point at.
async fn client_env(app: &TestApp, media: &MediaServer) -> Vec<(&'static str, String)> {
    vec![
        ("REELAY_BASE", app.base.clone()),
        ("REELAY_KEY", app.key.clone()),
        ("ADMIN_TOKEN", ADMIN_TOKEN.to_string()),
        ("IMAGE_A", format!("{}/a.png", media.base)),
        ("IMAGE_B", format!("{}/b.png", media.base)),
        ("VIDEO_URL", format!("{}/v.mp4", media.base)),
        ("AUDIO_URL", format!("{}/a.wav", media.base)),
    ]
}

async fn client_media() -> MediaServer {
    media_server(vec![
        ("a.png", png(600, 1000, [200, 40, 40])),
        ("b.png", png(600, 1000, [20, 40, 200])),
        ("v.mp4", mp4(3)),
        ("a.wav", wav(3)),
    ])
    .await
}

/// Charges and refunds of one task in the ledger: (charges, refunds).
async fn postings(app: &TestApp, task_id: &str) -> (i64, i64) {
    let ledger = app.get("/account/ledger?limit=100").await;
    let items = ledger.data()["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let count = |kind: &str| {
        items
            .iter()
            .filter(|e| e["task_id"] == task_id && e["kind"] == kind)
            .count() as i64
    };
    (count("charge"), count("refund"))
}

#[tokio::test]
async fn the_ark_sdk_works_end_to_end() {
    let Some(python) = python() else { return };
    let app = spawn_app_with(with_admin(|_| {})).await;
    let media = client_media().await;
    let made = run_client(&python, "ark_sdk.py", &client_env(&app, &media).await).await;
    let id = |name: &str| made[name].as_str().expect("id").to_string();

    // The same tasks through the seed door: same ids, one charge each, the cancel refunded once.
    let frames = app.task(&id("frames")).await;
    assert_eq!(frames.status, 200, "{:?}", frames.body);
    assert_eq!(frames.data()["status"], "completed");
    assert_eq!(
        frames.data()["model"],
        "seedance2.0-of-sp",
        "the catalog's name"
    );
    assert_eq!(postings(&app, &id("frames")).await, (1, 0));
    let queued = app.task(&id("queued")).await;
    assert_eq!(queued.data()["status"], "failed");
    assert_eq!(queued.data()["error"]["code"], "cancelled");
    assert_eq!(postings(&app, &id("queued")).await, (1, 1));
    // Deleted through Ark: gone from the seed door too, its files deleted, its charge kept.
    let deleted = app.task(&id("refs")).await;
    assert_eq!(deleted.status, 404, "{:?}", deleted.body);
    let listed = app.get("/videos?limit=100").await;
    let ids: Vec<&str> = listed.data()["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|t| t["task_id"].as_str())
        .collect();
    assert!(ids.contains(&id("frames").as_str()) && !ids.contains(&id("refs").as_str()));
    assert!(
        !app.object_exists(&format!("results/{}/video.mp4", id("refs")))
            .await
    );
    assert_eq!(postings(&app, &id("refs")).await, (1, 0));
    assert_books_balance(&app.db).await;
    app.finish().await;
}

#[tokio::test]
async fn the_openai_sdk_works_end_to_end() {
    let Some(python) = python() else { return };
    let app = spawn_app_with(with_admin(|_| {})).await;
    let media = client_media().await;
    let made = run_client(&python, "openai_sdk.py", &client_env(&app, &media).await).await;
    let id = |name: &str| made[name].as_str().expect("id").to_string();

    // Through the seed door: the same tasks, each charged once; the remix is its own task.
    for name in ["video", "remixed"] {
        let task = app.task(&id(name)).await;
        assert_eq!(task.status, 200, "{:?}", task.body);
        assert_eq!(task.data()["status"], "completed");
        assert_eq!(postings(&app, &id(name)).await, (1, 0));
    }
    let video = app.task(&id("video")).await;
    assert_eq!(video.data()["request"]["seed"], 7, "metadata's seed field");
    assert_eq!(video.data()["request"]["watermark"], false);
    assert_eq!(video.data()["request"]["ratio"], "9:16");
    // Deleted through OpenAI: gone from the seed door, charge kept.
    assert_eq!(app.task(&id("refs")).await.status, 404);
    assert_eq!(postings(&app, &id("refs")).await, (1, 0));
    // Cross-door: the OpenAI task read through Ark's door.
    let ark = app
        .client
        .get(format!(
            "{}/api/v3/contents/generations/tasks/{}",
            app.base,
            id("video")
        ))
        .bearer_auth(&app.key)
        .send()
        .await
        .expect("send");
    let ark: Value = ark.json().await.expect("json");
    assert_eq!(ark["status"], "succeeded", "{ark}");
    assert_eq!(ark["duration"], 4);
    assert_books_balance(&app.db).await;
    app.finish().await;
}

#[tokio::test]
async fn the_vercel_ai_sdk_works_end_to_end() {
    let Some(dir) = node_clients() else { return };
    let app = spawn_app_with(with_admin(|_| {})).await;
    let media = client_media().await;
    // The script runs beside the packages, so that Node finds them.
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/ai_sdk.mjs");
    let script = dir.join("ai_sdk.mjs");
    std::fs::copy(&source, &script).expect("copy the script");
    let made = run_script(
        &PathBuf::from("node"),
        &script,
        &dir,
        &client_env(&app, &media).await,
    )
    .await;
    assert!(made["bytes"].as_u64().unwrap_or(0) > 0, "{made}");

    // Through the seed door: one task, the first frame (sent as a data: URL) stored by reelay,
    // the last frame the URL given; charged once.
    let listed = app.get("/videos?limit=10").await;
    let items = listed.data()["items"].as_array().expect("items").clone();
    let done: Vec<&Value> = items
        .iter()
        .filter(|t| t["status"] == "completed")
        .collect();
    assert_eq!(done.len(), 1, "{items:?}");
    let task = done[0];
    assert_eq!(task["model"], "seedance2.0-of-sp");
    let first = task["request"]["first_image"]
        .as_str()
        .expect("first image");
    assert!(
        first.starts_with(&format!("{}/files/uploads/", app.base)),
        "{first}"
    );
    assert_eq!(
        task["request"]["last_image"],
        format!("{}/b.png", media.base)
    );
    let id = task["task_id"].as_str().expect("id").to_string();
    assert_eq!(postings(&app, &id).await, (1, 0));
    assert_books_balance(&app.db).await;
    app.finish().await;
}
