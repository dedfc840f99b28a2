//! Secrets never leave the server (issue #9): the real binary, logging JSON at debug level, is
//! driven through bootstrap, authenticated and refused requests, webhook secret rotation, admin
//! calls and an upstream (fake Ark) task; then its whole stdout and stderr, and the `/metrics`
//! page, are searched for every secret it held. The one allowed appearance is the bootstrap
//! key's documented one-time print on stdout. `Debug` of a `Settings` holding every secret
//! shows none of them either.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::fake_ark;
use crate::helpers::*;

const ADMIN: &str = "adm-secret-7f3a9c-never-logged";

struct Output {
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
}

fn capture_stderr(mut pipe: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = text.clone();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 8192];
        loop {
            match pipe.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => sink
                    .lock()
                    .expect("lock")
                    .push_str(&String::from_utf8_lossy(&buffer[..n])),
            }
        }
    });
    text
}

fn capture_stdout(pipe: impl Read + Send + 'static) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            sink.lock().expect("lock").push(line);
        }
    });
    lines
}

async fn wait_line(output: &Output, what: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if let Some(line) = output.stdout.lock().expect("lock").iter().find(|l| what(l)) {
            return line.clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "line not printed; stdout so far: {:?}",
        output.stdout.lock().expect("lock")
    );
}

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> (u16, String) {
    let mut request = client.request(method, url).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("send");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

#[tokio::test]
async fn no_secret_reaches_the_logs_errors_or_metrics() {
    let ark = fake_ark::start(Duration::from_millis(200), Duration::from_millis(400)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("reelay.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[media]
allow_http = true
allow_private_networks = true

[webhooks]
poll_interval_ms = 100

[upstream]
dispatch_interval_ms = 100

[[channels]]
name = "local"
provider = "local"

[[channels]]
name = "ark"
provider = "ark"
priority = 10
base_url = "{}"
api_key_env = "{}"
poll_min_ms = 100
poll_max_ms = 300
models = {{ "seedance2.0-sp" = "doubao-seedance-2-0-260128" }}
"#,
            ark.api_base(),
            fake_ark::KEY_ENV
        ),
    )
    .expect("config");
    let backend = backend_env(dir.path());
    // On the PostgreSQL suite the database URL carries a password: it is a secret too.
    let db_password = backend
        .iter()
        .find(|(k, _)| k == "REELAY_DATABASE__URL")
        .and_then(|(_, url)| url::Url::parse(url).ok())
        .and_then(|url| url.password().map(str::to_string))
        .filter(|p| p.len() >= 4);

    let mut command = Command::new(env!("CARGO_BIN_EXE_reelay"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path())
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "debug")
        .env("REELAY_ADMIN__TOKEN", ADMIN)
        .env(fake_ark::KEY_ENV, fake_ark::KEY)
        .env("REELAY_SERVER__SHUTDOWN_GRACE_SECS", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in &backend {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("binary starts");
    let output = Output {
        stdout: capture_stdout(child.stdout.take().expect("stdout")),
        stderr: capture_stderr(child.stderr.take().expect("stderr")),
    };
    let listening = wait_line(&output, |l| l.starts_with("reelay listening on ")).await;
    let base = listening
        .trim_start_matches("reelay listening on ")
        .to_string();
    let key = wait_line(&output, |l| l.starts_with("sk_")).await;
    let api = |path: &str| format!("{base}/api/open-api/v1{path}");
    let admin = |path: &str| format!("{base}/admin/v1{path}");
    let client = reqwest::Client::new();
    use reqwest::Method;

    let mut answers = Vec::new();
    let (status, body) = call(&client, Method::GET, api("/account"), &key, None).await;
    assert_eq!(status, 200, "{body}");
    let account_id = serde_json::from_str::<Value>(&body).expect("json")["data"]["account_id"]
        .as_str()
        .expect("account_id")
        .to_string();
    // A wrong key of the right shape (same lookup part, other secret) and a wrong admin token.
    let wrong_key = format!("{}{}", &key[..key.len() - 6], "zzzzzz");
    let (status, body) = call(&client, Method::GET, api("/account"), &wrong_key, None).await;
    assert_eq!(status, 401, "{body}");
    answers.push(body);
    let wrong_admin = format!("{ADMIN}-but-wrong");
    let (status, body) = call(&client, Method::GET, admin("/accounts"), &wrong_admin, None).await;
    assert_eq!(status, 401, "{body}");
    answers.push(body);
    let (status, body) = call(&client, Method::GET, admin("/accounts"), &key, None).await;
    assert_eq!(status, 403, "{body}");
    answers.push(body);

    // Webhook secret: made, then rotated.
    let mut webhook_secrets = Vec::new();
    for _ in 0..2 {
        let (status, body) = call(
            &client,
            Method::POST,
            api("/account/webhook-secret"),
            &key,
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let secret = serde_json::from_str::<Value>(&body).expect("json")["data"]["secret"]
            .as_str()
            .expect("secret")
            .to_string();
        webhook_secrets.push(secret);
    }

    // Admin calls: credits, a new key (used, limited, revoked), the audit trail.
    let (status, body) = call(
        &client,
        Method::POST,
        admin(&format!("/accounts/{account_id}/credits")),
        ADMIN,
        Some(json!({"credits": 1000, "note": "top-up"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(
        &client,
        Method::POST,
        admin(&format!("/accounts/{account_id}/keys")),
        ADMIN,
        Some(json!({"name": "second"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let made: Value = serde_json::from_str(&body).expect("json");
    let second_key = made["data"]["secret"].as_str().expect("secret").to_string();
    let second_id = made["data"]["key_id"].as_str().expect("key_id").to_string();
    let (status, body) = call(
        &client,
        Method::GET,
        api("/account/keys"),
        &second_key,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    answers.push(body);
    let (status, body) = call(
        &client,
        Method::POST,
        admin(&format!("/keys/{second_id}/limits")),
        ADMIN,
        Some(json!({"rpm": 100})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(
        &client,
        Method::POST,
        admin(&format!("/keys/{second_id}/revoke")),
        ADMIN,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(&client, Method::GET, api("/account"), &second_key, None).await;
    assert_eq!(status, 401, "{body}");
    answers.push(body);
    let (status, body) = call(&client, Method::GET, admin("/audit"), ADMIN, None).await;
    assert_eq!(status, 200, "{body}");
    answers.push(body);

    // A task through the Ark channel (its key goes upstream), and one on the local channel
    // (the only one serving seedance2.0-mini here) with a signed webhook.
    let receiver = webhook_receiver(0).await;
    let mut with_hook = text_request("seedance2.0-mini");
    with_hook["callback_url"] = receiver.url.clone().into();
    let mut task_ids = Vec::new();
    for request in [text_request("seedance2.0-sp"), with_hook] {
        let (status, body) = call(
            &client,
            Method::POST,
            api("/seedance/videos"),
            &key,
            Some(request),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        task_ids.push(
            serde_json::from_str::<Value>(&body).expect("json")["data"]["task_id"]
                .as_str()
                .expect("task_id")
                .to_string(),
        );
    }
    for (task_id, channel) in task_ids.iter().zip(["ark", "local"]) {
        let mut task = Value::Null;
        for _ in 0..600 {
            let (_, body) = call(
                &client,
                Method::GET,
                api(&format!("/videos/{task_id}")),
                &key,
                None,
            )
            .await;
            task = serde_json::from_str::<Value>(&body).expect("json")["data"].clone();
            if task["status"] == "completed" || task["status"] == "failed" {
                answers.push(body);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(task["status"], "completed", "{task}");
        assert_eq!(task["channel"], channel, "{task}");
    }
    assert!(ark.create_calls() >= 1);
    let task_id = task_ids[1].clone();
    // The signed webhook went out (the delivery is on the task view).
    let mut delivery = Value::Null;
    for _ in 0..300 {
        let (_, body) = call(
            &client,
            Method::GET,
            api(&format!("/videos/{task_id}")),
            &key,
            None,
        )
        .await;
        delivery = serde_json::from_str::<Value>(&body).expect("json")["data"]["webhook"].clone();
        if delivery["state"] == "delivered" || !receiver.calls().is_empty() {
            answers.push(body);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(receiver.calls().len(), 1, "webhook: {delivery}");
    let (status, metrics) = call(&client, Method::GET, format!("{base}/metrics"), "", None).await;
    assert_eq!(status, 200);
    answers.push(metrics);

    let _ = child.kill();
    let _ = child.wait();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let stdout = output.stdout.lock().expect("lock").clone();
    let stderr = output.stderr.lock().expect("lock").clone();
    // The logs were really on, at debug, in JSON, and saw these requests.
    assert!(
        stderr.lines().filter(|l| l.starts_with('{')).count() > 20,
        "expected JSON logs on stderr: {stderr}"
    );
    assert!(stderr.contains("\"level\":\"DEBUG\""), "debug logs missing");
    assert!(
        stderr.contains("webhook secret rotated"),
        "rotation not logged"
    );
    // And they carry what an operator searches by: a poll's line names its request, account and
    // task; the upstream work's lines name the task and the channel.
    let lines: Vec<Value> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let poll_path = format!("/api/open-api/v1/videos/{}", task_ids[0]);
    let poll = lines
        .iter()
        .find(|l| l["fields"]["message"] == "answered" && l["span"]["path"] == poll_path.as_str())
        .unwrap_or_else(|| panic!("no line of the poll of {poll_path}: {stderr}"));
    assert!(
        poll["span"]["request_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("req_")),
        "{poll}"
    );
    assert_eq!(poll["span"]["account_id"], account_id.as_str(), "{poll}");
    assert_eq!(poll["span"]["task_id"], task_ids[0].as_str(), "{poll}");
    assert!(
        lines
            .iter()
            .any(|l| l["spans"].as_array().is_some_and(|spans| spans
                .iter()
                .any(|s| s["task_id"] == task_ids[0].as_str() && s["channel"] == "ark"))),
        "no line names task {} and channel ark: {stderr}",
        task_ids[0]
    );

    // The bootstrap key: exactly its one documented print on stdout, nowhere else.
    let key_secret_part = &key[key.len() - 16..];
    assert_eq!(
        stdout
            .iter()
            .filter(|l| l.contains(key_secret_part))
            .count(),
        1,
        "the bootstrap key is printed exactly once: {stdout:?}"
    );
    let mut secrets: Vec<(&str, String)> = vec![
        ("the bootstrap API key", key_secret_part.to_string()),
        ("a wrong API key", wrong_key.clone()),
        ("the second API key", second_key.clone()),
        ("the admin token", ADMIN.to_string()),
        ("a wrong admin token", wrong_admin.clone()),
        ("the channel's API key", fake_ark::KEY.to_string()),
    ];
    for secret in &webhook_secrets {
        secrets.push(("a webhook secret", secret.clone()));
    }
    if let Some(password) = db_password {
        secrets.push(("the database password", password));
    }
    // On the S3 suite the child inherits the store's secret key from the environment.
    if let Some(s3_secret) = std::env::var("AWS_SECRET_ACCESS_KEY")
        .ok()
        .filter(|s| s.len() >= 8)
    {
        secrets.push(("the S3 secret access key", s3_secret));
    }
    let stdout_rest: Vec<&String> = stdout.iter().filter(|l| **l != key).collect();
    for (what, secret) in &secrets {
        assert!(
            !stderr.contains(secret.as_str()),
            "{what} appears in the logs: {}",
            stderr
                .lines()
                .filter(|l| l.contains(secret.as_str()))
                .take(3)
                .collect::<Vec<_>>()
                .join("\n")
        );
        assert!(
            !stdout_rest.iter().any(|l| l.contains(secret.as_str())),
            "{what} appears on stdout: {stdout_rest:?}"
        );
        for body in &answers {
            assert!(
                !body.contains(secret.as_str()),
                "{what} appears in a response: {body}"
            );
        }
    }
}

#[test]
fn debug_of_settings_shows_no_secret() {
    let mut settings = reelay::config::Settings::default();
    settings.admin.token = Some("admin-token-s3cr3t".to_string().into());
    settings.database.url = Some("postgres://reelay:db-pass-s3cr3t@db:5432/reelay".into());
    settings.storage.s3.access_key_id = Some("AKIAEXAMPLE".into());
    settings.storage.s3.secret_access_key = Some("s3-secret-key-s3cr3t".to_string().into());
    settings.channels = vec![reelay::config::ChannelSettings {
        name: "ark".into(),
        provider: "ark".into(),
        api_key_env: Some("ARK_API_KEY".into()),
        ..Default::default()
    }];
    let printed = format!("{settings:?}");
    let pretty = format!("{settings:#?}");
    for secret in [
        "admin-token-s3cr3t",
        "db-pass-s3cr3t",
        "s3-secret-key-s3cr3t",
    ] {
        assert!(!printed.contains(secret), "{secret} in {printed}");
        assert!(!pretty.contains(secret), "{secret} in {pretty}");
    }
    // The same URL with its password in the query.
    settings.database.url = Some("postgres://db/reelay?user=reelay&password=db-pass-s3cr3t".into());
    let printed = format!("{settings:?}");
    assert!(!printed.contains("db-pass-s3cr3t"), "{printed}");
    // Serializing (e.g. `config show`) drops them too.
    let serialized = serde_json::to_string(&settings).expect("serializes");
    for secret in ["admin-token-s3cr3t", "s3-secret-key-s3cr3t"] {
        assert!(!serialized.contains(secret), "{secret} in {serialized}");
    }
    // The command-line overrides print the database URL redacted too.
    let overrides = reelay::config::Overrides {
        database_url: Some("postgres://u:db-pass-s3cr3t@db/reelay".into()),
        ..Default::default()
    };
    assert!(!format!("{overrides:?}").contains("db-pass-s3cr3t"));
}
