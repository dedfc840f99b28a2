//! Crash recovery with the real binary: SIGKILL mid-render, start again on the same data dir;
//! the task resumes and completes, charged once (or fails with a refund once its claims run out).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};

pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) base: String,
    lines: mpsc::Receiver<String>,
}

pub(crate) fn start(data_dir: &std::path::Path, env: &[(&str, &str)]) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_reelay"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("REELAY_WORKER__LEASE_SECS", "3")
        .env("REELAY_WORKER__POLL_INTERVAL_MS", "100")
        .env("REELAY_SERVER__SHUTDOWN_GRACE_SECS", "1")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    for (k, v) in crate::helpers::backend_env(data_dir) {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut base = None;
    let mut seen = Vec::new();
    while base.is_none() {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("server prints its address");
        if let Some(address) = line.strip_prefix("reelay listening on ") {
            base = Some(address.to_string());
        }
        seen.push(line);
    }
    let (tx2, rx2) = mpsc::channel();
    for line in seen {
        let _ = tx2.send(line);
    }
    std::thread::spawn(move || {
        while let Ok(line) = rx.recv() {
            if tx2.send(line).is_err() {
                break;
            }
        }
    });
    Server {
        child,
        base: base.expect("base"),
        lines: rx2,
    }
}

pub(crate) fn bootstrap_secret(server: &Server) -> String {
    for _ in 0..10 {
        let line = server
            .lines
            .recv_timeout(Duration::from_secs(5))
            .expect("line");
        if line.starts_with("sk_") {
            return line;
        }
    }
    panic!("no secret printed on first start");
}

async fn get_task(client: &reqwest::Client, base: &str, key: &str, id: &str) -> Value {
    let response = client
        .get(format!("{base}/api/open-api/v1/videos/{id}"))
        .bearer_auth(key)
        .send()
        .await
        .expect("query");
    response.json::<Value>().await.expect("json")["data"].clone()
}

async fn wait_for(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    id: &str,
    statuses: &[&str],
) -> Value {
    for _ in 0..1200 {
        let task = get_task(client, base, key, id).await;
        if statuses.iter().any(|s| task["status"] == *s) {
            return task;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("task {id} never reached {statuses:?}");
}

async fn ledger(client: &reqwest::Client, base: &str, key: &str) -> Vec<Value> {
    let response = client
        .get(format!("{base}/api/open-api/v1/account/ledger?limit=100"))
        .bearer_auth(key)
        .send()
        .await
        .expect("ledger");
    response.json::<Value>().await.expect("json")["data"]["items"]
        .as_array()
        .expect("items")
        .clone()
}

/// Creates a long render (so that a kill lands mid-task) and returns its id.
async fn create_long_task(client: &reqwest::Client, base: &str, key: &str) -> String {
    let body = json!({"model": "seedance2.0-sp", "prompt": "a long take across the city", "duration": 15, "resolution": "1080p"});
    let created: Value = client
        .post(format!("{base}/api/open-api/v1/seedance/videos"))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    created["data"]["task_id"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn a_task_interrupted_by_sigkill_resumes_and_completes_after_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let client = reqwest::Client::new();
    let mut first = start(dir.path(), &[]);
    let key = bootstrap_secret(&first);
    let id = create_long_task(&client, &first.base, &key).await;
    let processing = wait_for(
        &client,
        &first.base,
        &key,
        &id,
        &["processing", "completed"],
    )
    .await;
    assert_eq!(
        processing["status"], "processing",
        "the kill must land mid-render"
    );
    first.child.kill().expect("SIGKILL");
    let _ = first.child.wait();

    let mut second = start(dir.path(), &[]);
    let done = wait_for(&client, &second.base, &key, &id, &["completed", "failed"]).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["result"]["duration"].as_f64(), Some(15.0));
    let video = client
        .get(done["result"]["video_url"].as_str().expect("url"))
        .send()
        .await
        .expect("video")
        .bytes()
        .await
        .expect("bytes");
    let probe = reelay_media::probe(&video).expect("mp4");
    assert_eq!((probe.width, probe.height), (Some(1920), Some(1088)));
    let entries = ledger(&client, &second.base, &key).await;
    let charges: Vec<&Value> = entries
        .iter()
        .filter(|e| e["task_id"] == json!(id))
        .collect();
    assert_eq!(
        charges.len(),
        1,
        "charged once, never refunded: {entries:?}"
    );
    assert_eq!(charges[0]["kind"], "charge");
    let _ = second.child.kill();
    let _ = second.child.wait();
}

#[tokio::test]
async fn a_task_whose_worker_keeps_dying_fails_with_one_refund() {
    let dir = tempfile::tempdir().expect("tempdir");
    let client = reqwest::Client::new();
    let env = [("REELAY_WORKER__MAX_ATTEMPTS", "1")];
    let mut first = start(dir.path(), &env);
    let key = bootstrap_secret(&first);
    let id = create_long_task(&client, &first.base, &key).await;
    let processing = wait_for(
        &client,
        &first.base,
        &key,
        &id,
        &["processing", "completed"],
    )
    .await;
    assert_eq!(processing["status"], "processing");
    first.child.kill().expect("SIGKILL");
    let _ = first.child.wait();

    let mut second = start(dir.path(), &env);
    let done = wait_for(&client, &second.base, &key, &id, &["completed", "failed"]).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["error"]["code"], "worker_lost");
    assert_eq!(done["cost"]["refunded"], true);
    let entries = ledger(&client, &second.base, &key).await;
    let kinds: Vec<&str> = entries
        .iter()
        .filter(|e| e["task_id"] == json!(id))
        .map(|e| e["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(kinds, vec!["refund", "charge"]);
    let _ = second.child.kill();
    let _ = second.child.wait();
}

#[tokio::test]
async fn sigterm_lets_the_render_finish_or_requeues_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let client = reqwest::Client::new();
    let mut first = start(dir.path(), &[]);
    let key = bootstrap_secret(&first);
    let id = create_long_task(&client, &first.base, &key).await;
    wait_for(
        &client,
        &first.base,
        &key,
        &id,
        &["processing", "completed"],
    )
    .await;
    let pid = first.child.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = first.child.wait().expect("exits");
    assert!(exit.success(), "graceful exit: {exit:?}");
    let mut second = start(dir.path(), &[]);
    let done = wait_for(&client, &second.base, &key, &id, &["completed", "failed"]).await;
    assert_eq!(done["status"], "completed", "{done}");
    let _ = second.child.kill();
    let _ = second.child.wait();
}

/// Runs `reelay <args> --data-dir <dir>` to completion and returns (exit code, stdout, stderr).
fn operator(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_reelay"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env("RUST_LOG", "warn")
        .envs(crate::helpers::backend_env(dir))
        .output()
        .expect("binary runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn operator_commands_create_list_revoke_keys_and_add_credits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out, err) = operator(
        dir.path(),
        &["keys", "create", "--name", "ci", "--credits", "5000"],
    );
    assert_eq!(code, 0, "{err}");
    let secret = out.lines().last().expect("secret line").to_string();
    assert!(
        secret.starts_with("sk_"),
        "secret alone on the last line: {out}"
    );
    let account = out
        .lines()
        .find_map(|l| l.strip_prefix("account "))
        .and_then(|l| l.split_whitespace().next())
        .expect("account line")
        .to_string();
    let key_id = out
        .lines()
        .find_map(|l| l.strip_prefix("key "))
        .expect("key line")
        .to_string();

    let (code, out, _) = operator(
        dir.path(),
        &["credits", "add", "--account", &account, "2500"],
    );
    assert_eq!(code, 0);
    assert!(out.contains("balance 7500"), "{out}");
    let (code, _, err) = operator(
        dir.path(),
        &["credits", "add", "--account", "acct_nope", "1"],
    );
    assert_eq!(code, 2);
    assert!(err.contains("no account acct_nope"), "{err}");

    let (code, out, _) = operator(
        dir.path(),
        &["keys", "create", "--name", "second", "--account", &account],
    );
    assert_eq!(code, 0);
    let second = out.lines().last().expect("secret").to_string();
    let (code, out, _) = operator(dir.path(), &["keys", "list", "--account", &account]);
    assert_eq!(code, 0);
    assert_eq!(
        out.lines().filter(|l| l.contains("active")).count(),
        2,
        "{out}"
    );
    assert!(
        !out.contains(&secret) && !out.contains(&second),
        "secrets are never listed"
    );

    // The server sees the same database: the key works, the balance is the ledger's.
    let mut server = start(dir.path(), &[]);
    let client = reqwest::Client::new();
    let account_view: Value = client
        .get(format!("{}/api/open-api/v1/account", server.base))
        .bearer_auth(&secret)
        .send()
        .await
        .expect("account")
        .json()
        .await
        .expect("json");
    assert_eq!(account_view["data"]["balance"], 7500);
    let _ = server.child.kill();
    let _ = server.child.wait();

    let (code, out, _) = operator(dir.path(), &["keys", "revoke", &key_id]);
    assert_eq!(code, 0, "{out}");
    let (code, _, err) = operator(dir.path(), &["keys", "revoke", &key_id]);
    assert_eq!(code, 2, "revoking twice is an error: {err}");
    let mut server = start(dir.path(), &[]);
    let refused = client
        .get(format!("{}/api/open-api/v1/account", server.base))
        .bearer_auth(&secret)
        .send()
        .await
        .expect("account");
    assert_eq!(refused.status(), 401);
    let still = client
        .get(format!("{}/api/open-api/v1/account", server.base))
        .bearer_auth(&second)
        .send()
        .await
        .expect("account");
    assert_eq!(still.status(), 200);
    let _ = server.child.kill();
    let _ = server.child.wait();
}
