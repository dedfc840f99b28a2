//! The `reelay` client commands, run as the real binary against a test server: exit codes
//! (0 ok, 1 task failed, 2 usage/API error), `--json`, `--wait --output` writing a playable MP4.

use std::process::Output;
use std::time::Duration;

use serde_json::Value;
use tokio::process::Command;

use crate::helpers::{spawn_app, spawn_app_with, Options, TestApp};

fn reelay(app: &TestApp) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_reelay"));
    command
        .env("REELAY_URL", &app.base)
        .env("REELAY_API_KEY", &app.key)
        .env("RUST_LOG", "warn")
        .kill_on_drop(true);
    command
}

async fn run(command: &mut Command) -> Output {
    tokio::time::timeout(Duration::from_secs(180), command.output())
        .await
        .expect("the command ends within 180 s")
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_string()
}

#[tokio::test]
async fn video_create_wait_output_downloads_a_playable_mp4() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out.mp4");
    let output = run(reelay(&app)
        .args([
            "video",
            "create",
            "--model",
            "seedance2.0-sp",
            "--prompt",
            "a lighthouse at dusk",
        ])
        .args([
            "--duration",
            "4",
            "--resolution",
            "480p",
            "--wait",
            "--output",
        ])
        .arg(&out))
    .await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {}",
        text(&output.stderr)
    );
    assert!(
        text(&output.stdout).contains("completed"),
        "{}",
        text(&output.stdout)
    );
    let bytes = std::fs::read(&out).expect("the MP4 was written");
    let probe = reelay_media::probe(&bytes).expect("a playable MP4");
    assert_eq!(probe.format, reelay_media::MediaFormat::Mp4);
    assert_eq!((probe.width, probe.height), (Some(864), Some(480)));
    app.finish().await;
}

#[tokio::test]
async fn json_output_of_create_get_list_account_and_models_is_the_api_data() {
    let app = spawn_app().await;
    let output = run(reelay(&app)
        .args([
            "video",
            "create",
            "--model",
            "seedance2.0-sp",
            "--prompt",
            "waves",
        ])
        .args(["--duration", "4", "--resolution", "480p", "--json"]))
    .await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {}",
        text(&output.stderr)
    );
    let created: Value = serde_json::from_slice(&output.stdout).expect("json");
    let task_id = created["task_id"].as_str().expect("task_id").to_string();
    assert_eq!(created["status"], "queued");
    app.wait_terminal(&task_id).await;

    let output = run(reelay(&app).args(["video", "get", &task_id, "--json"])).await;
    assert_eq!(output.status.code(), Some(0));
    let task: Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(task["status"], "completed");

    let output = run(reelay(&app).args(["video", "list", "--json"])).await;
    let page: Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(page["items"][0]["task_id"], task_id.as_str());

    let output = run(reelay(&app).args(["account", "--json"])).await;
    let account: Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(account["account_id"], app.account_id.as_str());

    let output = run(reelay(&app).args(["models", "--json"])).await;
    let models: Value = serde_json::from_slice(&output.stdout).expect("json");
    assert!(models
        .as_array()
        .expect("list")
        .iter()
        .any(|m| m["model"] == "seedance2.0-sp"));
    app.finish().await;
}

#[tokio::test]
async fn unknown_model_exits_2_and_lists_the_models() {
    let app = spawn_app().await;
    let output =
        run(reelay(&app).args(["video", "create", "--model", "nope", "--prompt", "x"])).await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("40002"), "{stderr}");
    assert!(
        stderr.contains("available models:") && stderr.contains("seedance2.0-sp"),
        "{stderr}"
    );
    // No key at all is a usage error too.
    let output = run(Command::new(env!("CARGO_BIN_EXE_reelay"))
        .env_remove("REELAY_API_KEY")
        .args(["account", "--url", &app.base]))
    .await;
    assert_eq!(output.status.code(), Some(2));
    app.finish().await;
}

#[tokio::test]
async fn a_task_that_fails_while_waiting_exits_1() {
    let app = spawn_app_with(Options {
        workers: false,
        tweak: Box::new(|_| {}),
    })
    .await;
    let child = reelay(&app)
        .args([
            "video",
            "create",
            "--model",
            "seedance2.0-sp",
            "--prompt",
            "x",
            "--wait",
        ])
        .args(["--duration", "4", "--resolution", "480p"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut task_id = None;
    for _ in 0..300 {
        let page = app.get("/videos").await;
        if let Some(id) = page.data()["items"][0]["task_id"].as_str() {
            task_id = Some(id.to_string());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let task_id = task_id.expect("the CLI created a task");
    assert_eq!(app.cancel(&task_id).await.status, 200);
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the CLI ends")
        .expect("output");
    assert_eq!(
        output.status.code(),
        Some(1),
        "stderr: {}",
        text(&output.stderr)
    );
    assert!(
        text(&output.stderr).contains("cancelled"),
        "{}",
        text(&output.stderr)
    );
    app.finish().await;
}

#[tokio::test]
async fn asset_upload_reports_the_servers_error_and_help_has_examples() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let image = dir.path().join("cat.png");
    std::fs::write(&image, crate::helpers::png(400, 400, [90, 40, 20])).expect("write");
    let output = run(reelay(&app).args(["asset", "upload"]).arg(&image)).await;
    let stderr = text(&output.stderr);
    if output.status.code() == Some(0) {
        // The asset library is present on this build.
        assert!(text(&output.stdout).trim().starts_with("asset_"));
    } else {
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("error:"), "{stderr}");
    }
    for args in [
        vec!["video", "create", "--help"],
        vec!["video", "get", "--help"],
        vec!["video", "list", "--help"],
        vec!["video", "cancel", "--help"],
        vec!["asset", "upload", "--help"],
        vec!["models", "--help"],
        vec!["account", "--help"],
    ] {
        let output = run(Command::new(env!("CARGO_BIN_EXE_reelay")).args(&args)).await;
        assert_eq!(output.status.code(), Some(0), "{args:?}");
        assert!(
            text(&output.stdout).contains("Example:"),
            "{args:?}: {}",
            text(&output.stdout)
        );
    }
    app.finish().await;
}
