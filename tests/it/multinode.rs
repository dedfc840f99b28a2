//! The multi-replica evidence run (#6): two `reelay serve` and one `reelay worker`, real binaries
//! on one PostgreSQL (and one S3 server when the suite has one), 1,000 tasks created across both
//! APIs, routed to the local renderer and a fake Ark; one API process is SIGKILLed mid-run and
//! restarted. Afterwards every task is terminal, each Ark submission happened once, the books
//! balance to the expected total and no result object is orphaned or missing.
//!
//! Needs `REELAY_TEST_PG_URL` (scripts/test starts PostgreSQL and runs it); the size can be
//! lowered with `REELAY_TEST_MULTINODE_TASKS`.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{json, Value};

use crate::fake_ark;
use crate::helpers::{fresh_pg_database, pg_admin_url, s3_test_storage};

const MODEL: &str = "seedance2.0-sp";
const ARK_MODEL: &str = "doubao-seedance-2-0-260128";
const ADMIN: &str = "multinode-admin-token";

struct Proc {
    child: Child,
    base: Option<String>,
    /// Lines printed before the listening line.
    early: Vec<String>,
    lines: mpsc::Receiver<String>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `reelay <role> --config <config>`; waits for the listening line when serving.
fn spawn(role: &str, config: &std::path::Path, data_dir: &std::path::Path) -> Proc {
    spawn_on(role, config, data_dir, "127.0.0.1:0")
}

/// Like `spawn`, serving on `listen` (a fixed port survives restarts).
fn spawn_on(
    role: &str,
    config: &std::path::Path,
    data_dir: &std::path::Path,
    listen: &str,
) -> Proc {
    let mut command = Command::new(env!("CARGO_BIN_EXE_reelay"));
    command.arg(role);
    if role == "serve" {
        command.args(["--listen", listen]);
    }
    command
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(data_dir)
        .env("RUST_LOG", "warn")
        .env(fake_ark::KEY_ENV, fake_ark::KEY)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
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
    let mut proc = Proc {
        child,
        base: None,
        early: Vec::new(),
        lines: rx,
    };
    if role == "serve" {
        let deadline = Instant::now() + Duration::from_secs(120);
        while proc.base.is_none() {
            let line = proc
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("server prints its address");
            if let Some(address) = line.strip_prefix("reelay listening on ") {
                proc.base = Some(address.to_string());
            }
            proc.early.push(line);
        }
    }
    proc
}

fn config_toml(db_url: &str, storage: &StorageConfig, ark_base: &str) -> String {
    format!(
        r#"
[database]
url = "{db_url}"
max_connections = 12

{storage_section}

[admin]
token = "{ADMIN}"

[worker]
lease_secs = 3
poll_interval_ms = 200
local_concurrency = 2

[upstream]
dispatch_interval_ms = 100
queue_timeout_secs = 1800

[server]
shutdown_grace_secs = 1

[media]
allow_http = true
allow_private_networks = true

[bootstrap]
initial_credits = 100000000

[[channels]]
name = "local"
provider = "local"
weight = 1

[[channels]]
name = "ark"
provider = "ark"
base_url = "{ark_base}"
api_key_env = "{key_env}"
weight = 4
max_concurrency = 2000
rpm = 6000
poll_rpm = 6000
poll_min_ms = 200
poll_max_ms = 1000
# Production-like proportions (defaults: 30 s / 10 s / 120 s), shortened: the grace must exceed
# the longest time the upstream may take to accept a create, or a late acceptance is submitted
# again. On a loaded 2-core machine the fake can take seconds to answer.
request_timeout_ms = 10000
reconcile_after_ms = 2000
reconcile_grace_ms = 60000
models = {{ "{MODEL}" = "{ARK_MODEL}" }}
"#,
        storage_section = storage.toml,
        key_env = fake_ark::KEY_ENV,
    )
}

/// The storage section of the config, and how the test lists what was stored.
pub struct StorageConfig {
    pub toml: String,
    pub storage: reelay::storage::Storage,
    pub label: String,
}

async fn create_all(
    client: &reqwest::Client,
    bases: &[String],
    secret: &str,
    range: std::ops::Range<usize>,
    run: &str,
) -> Vec<String> {
    let results: Vec<String> = futures::stream::iter(range)
        .map(|i| {
            let client = client.clone();
            let bases = bases.to_vec();
            let secret = secret.to_string();
            let idem = format!("{run}-{i}");
            async move {
                let body = json!({
                    "model": MODEL,
                    "prompt": format!("multinode task {i}, a lighthouse"),
                    "duration": 4,
                    "resolution": "480p",
                });
                // Alternate APIs; a refused connection (the killed replica) goes to the other one
                // with the same Idempotency-Key, so a create that did land is not made twice.
                for attempt in 0..120 {
                    let base = &bases[(i + attempt) % bases.len()];
                    let sent = client
                        .post(format!("{base}/api/open-api/v1/seedance/videos"))
                        .bearer_auth(&secret)
                        .header("Idempotency-Key", &idem)
                        .json(&body)
                        .timeout(Duration::from_secs(30))
                        .send()
                        .await;
                    if let Ok(response) = sent {
                        if let Ok(value) = response.json::<Value>().await {
                            if let Some(id) = value["data"]["task_id"].as_str() {
                                return id.to_string();
                            }
                            panic!("create refused: {value}");
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                panic!("task {i} could not be created on any replica");
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "multi-replica run on PostgreSQL (+S3): scripts/test runs it when it started PostgreSQL; or set REELAY_TEST_PG_URL and pass --ignored"]
async fn many_replicas_share_one_database_through_a_sigkill() {
    let Some(admin) = pg_admin_url() else {
        eprintln!("skipped: REELAY_TEST_PG_URL is not set (scripts/test starts PostgreSQL)");
        return;
    };
    let total: usize = std::env::var("REELAY_TEST_MULTINODE_TASKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let started = Instant::now();
    let db_url = fresh_pg_database(&admin);
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = match s3_test_storage().await {
        Some(storage) => storage,
        None => {
            let objects = dir.path().join("shared-objects");
            StorageConfig {
                toml: format!("[storage]\nurl = \"file://{}\"\n", objects.display()),
                storage: reelay::storage::Storage::local(&objects, b"unused".to_vec())
                    .expect("store"),
                label: "shared local directory".into(),
            }
        }
    };
    let fake = fake_ark::start(Duration::from_millis(300), Duration::from_millis(1500)).await;
    let config = dir.path().join("reelay.toml");
    std::fs::write(&config, config_toml(&db_url, &storage, &fake.api_base())).expect("config");
    let data = |name: &str| {
        let path = dir.path().join(name);
        std::fs::create_dir_all(&path).expect("data dir");
        path
    };

    // The first API bootstraps the account; the others find it.
    let mut a = spawn("serve", &config, &data("a"));
    let secret = a
        .early
        .iter()
        .find(|line| line.starts_with("sk_"))
        .cloned()
        .expect("the first replica prints the bootstrap key");
    let b = spawn("serve", &config, &data("b"));
    let _w = spawn("worker", &config, &data("w"));
    let bases = vec![a.base.clone().expect("a"), b.base.clone().expect("b")];
    let client = reqwest::Client::new();
    let run = format!("run{}", std::process::id());

    // First 40% on both APIs, then SIGKILL replica A (mid-render, mid-submission), go on through
    // B alone while A is down, then restart A and create the rest across both.
    let first = total * 2 / 5;
    let second = total * 7 / 10;
    let mut ids = create_all(&client, &bases, &secret, 0..first, &run).await;
    a.child.kill().expect("SIGKILL replica A");
    let _ = a.child.wait();
    let killed_at = started.elapsed();
    ids.extend(create_all(&client, &bases[1..], &secret, first..second, &run).await);
    let a2 = spawn("serve", &config, &data("a"));
    let bases = vec![a2.base.clone().expect("a2"), bases[1].clone()];
    ids.extend(create_all(&client, &bases, &secret, second..total, &run).await);
    let created_in = started.elapsed();
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), total, "every create made exactly one task");
    let story = format!(
        "multinode: {total} tasks on PostgreSQL + {}; 2 serve + 1 worker, replica A SIGKILLed at {killed_at:.1?} and restarted",
        storage.label
    );
    let report = verify(Run {
        db_url: &db_url,
        total,
        fake: &fake,
        storage: &storage,
        started,
        created_in,
        story,
    })
    .await;
    if let Ok(path) = std::env::var("REELAY_TEST_MULTINODE_REPORT") {
        let _ = std::fs::write(path, &report);
    }
    drop(b);
    drop(a2);
}

/// id, status, channel, cost, result of one task.
type TaskFacts = (String, String, Option<String>, i64, Option<String>);

/// What a run is checked for afterwards; returns the report lines.
struct Run<'a> {
    db_url: &'a str,
    total: usize,
    fake: &'a fake_ark::FakeArk,
    storage: &'a StorageConfig,
    started: Instant,
    created_in: Duration,
    story: String,
}

/// Waits until every task is terminal, then checks the invariants and reports the numbers.
async fn verify(run: Run<'_>) -> String {
    let Run {
        db_url,
        total,
        fake,
        storage,
        started,
        created_in,
        story,
    } = run;
    // Wait until every task is terminal (read through the database).
    let db = reelay::store::Db::connect(db_url).await.expect("db");
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        let live: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM tasks WHERE status IN ('queued', 'processing')",
        )
        .fetch_one(&db.read)
        .await
        .expect("count");
        if live == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{live} tasks still live after 15 minutes"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let wall = started.elapsed();

    let rows: Vec<TaskFacts> =
        sqlx::query_as("SELECT id, status, channel, cost_credits, result FROM tasks")
            .fetch_all(&db.read)
            .await
            .expect("tasks");
    assert_eq!(rows.len(), total, "no task beyond the ones created");
    let mut by_status: HashMap<String, usize> = HashMap::new();
    let mut by_channel: HashMap<String, usize> = HashMap::new();
    for (_, status, channel, _, _) in &rows {
        *by_status.entry(status.clone()).or_default() += 1;
        *by_channel
            .entry(channel.clone().unwrap_or_else(|| "-".into()))
            .or_default() += 1;
    }

    // Upstream submissions: one accepted Ark task per task routed there, never two.
    let per_marker = fake.accepted_per_marker();
    let duplicates: Vec<_> = per_marker.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        duplicates.is_empty(),
        "duplicate Ark submissions: {duplicates:?}"
    );
    let ark_tasks = by_channel.get("ark").copied().unwrap_or(0);
    assert_eq!(
        fake.accepted(),
        ark_tasks,
        "Ark accepted one task per task routed to it"
    );

    // Money: every task charged once, failed ones refunded once, balance = ledger.
    crate::helpers::assert_books_balance(&db).await;
    let spent: i64 = rows
        .iter()
        .filter(|(_, status, ..)| status == "completed")
        .map(|(_, _, _, cost, _)| cost)
        .sum();
    let balance: i64 = sqlx::query_scalar("SELECT balance FROM accounts")
        .fetch_one(&db.read)
        .await
        .expect("balance");
    assert_eq!(
        balance,
        100_000_000 - spent,
        "balance = initial − completed tasks' prices"
    );

    // Objects: every completed task's video is stored; nothing else is under results/.
    let stored: HashSet<String> = storage
        .storage
        .list("results")
        .await
        .expect("list objects")
        .into_iter()
        .collect();
    let mut expected = HashSet::new();
    for (id, status, _, _, result) in &rows {
        if status != "completed" {
            continue;
        }
        let result: Value =
            serde_json::from_str(result.as_deref().unwrap_or("{}")).expect("result");
        let key = result["video_key"].as_str().expect("video_key").to_string();
        expected.insert(key);
        if let Some(frame) = result["last_frame_key"].as_str() {
            expected.insert(frame.to_string());
        }
        let _ = id;
    }
    let missing: Vec<_> = expected.difference(&stored).collect();
    let orphaned: Vec<_> = stored.difference(&expected).collect();
    assert!(
        missing.is_empty(),
        "results missing from storage: {missing:?}"
    );
    assert!(orphaned.is_empty(), "orphaned objects: {orphaned:?}");

    let report = format!(
        "{story}\n\
         created in {created:.1?}, all terminal after {wall:.1?}; status {by_status:?}; channel {by_channel:?}\n\
         Ark create calls {calls}, accepted {accepted} (max per task 1); ledger balanced, balance {balance}; {objects} objects, 0 missing, 0 orphaned",
        created = created_in,
        calls = fake.create_calls(),
        accepted = fake.accepted(),
        objects = stored.len(),
    );
    println!("{report}");
    report
}

/// Says which backend suite this run is (written past the test harness's output capture, so a
/// plain `cargo test` shows that the PostgreSQL + S3 suite was skipped and how to run it).
#[test]
fn backend_suite_status() {
    use std::io::Write;
    let message = match (pg_admin_url(), crate::helpers::s3_suite()) {
        (None, _) => {
            "note: the PostgreSQL + S3 backend suite was SKIPPED (REELAY_TEST_PG_URL unset). \
             scripts/test runs it: it starts PostgreSQL and SeaweedFS on loopback \
             (scripts/postgres, scripts/seaweedfs) and runs `cargo test -p reelay --test it` again on them"
        }
        (Some(_), None) => {
            "note: backend suite on PostgreSQL with local files (REELAY_TEST_S3_ENDPOINT unset: S3 SKIPPED)"
        }
        (Some(_), Some(_)) => "note: backend suite on PostgreSQL + S3",
    };
    let _ = writeln!(std::io::stderr(), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "chaos run (1,000 tasks, 5 random SIGKILLs of the server, SQLite): scripts/test runs it; or pass --ignored"]
async fn chaos_five_random_sigkills_lose_and_double_nothing() {
    use rand::Rng;
    let total: usize = std::env::var("REELAY_TEST_CHAOS_TASKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    const KILLS: usize = 5;
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let db_url = format!("sqlite://{}", dir.path().join("reelay.db").display());
    let objects = dir.path().join("objects");
    let storage = StorageConfig {
        toml: format!("[storage]\nurl = \"file://{}\"\n", objects.display()),
        storage: reelay::storage::Storage::local(&objects, b"unused".to_vec()).expect("store"),
        label: "local files".into(),
    };
    let fake = fake_ark::start(Duration::from_millis(300), Duration::from_millis(1500)).await;
    let config = dir.path().join("reelay.toml");
    std::fs::write(&config, config_toml(&db_url, &storage, &fake.api_base())).expect("config");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    // A fixed port, so clients retry the same address while the server is down.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let listen = format!("127.0.0.1:{port}");
    let server = spawn_on("serve", &config, &data, &listen);
    let secret = server
        .early
        .iter()
        .find(|line| line.starts_with("sk_"))
        .cloned()
        .expect("the server prints the bootstrap key");
    let base = server.base.clone().expect("base");

    // The killer: five SIGKILLs at random moments (while creating and while processing), each
    // followed by a restart on the same data.
    let killer = {
        let config = config.clone();
        let data = data.clone();
        let listen = listen.clone();
        tokio::task::spawn_blocking(move || {
            let mut server = server;
            let mut kill_times = Vec::new();
            for kill in 0..KILLS {
                // The first lands while tasks are still being created.
                let range = if kill == 0 { 300..1500 } else { 1500..6000 };
                let wait = rand::thread_rng().gen_range(range);
                std::thread::sleep(Duration::from_millis(wait));
                let _ = server.child.kill();
                let _ = server.child.wait();
                kill_times.push(started.elapsed());
                std::thread::sleep(Duration::from_millis(300));
                server = spawn_on("serve", &config, &data, &listen);
            }
            (server, kill_times)
        })
    };
    let client = reqwest::Client::new();
    let run = format!("chaos{}", std::process::id());
    let ids = create_all(&client, &[base], &secret, 0..total, &run).await;
    let created_in = started.elapsed();
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), total, "every create made exactly one task");
    let (server, kill_times) = killer.await.expect("killer");
    let story = format!(
        "chaos: {total} tasks on SQLite + local files, one server SIGKILLed {KILLS} times at {kill_times:.1?} and restarted each time"
    );
    let report = verify(Run {
        db_url: &db_url,
        total,
        fake: &fake,
        storage: &storage,
        started,
        created_in,
        story,
    })
    .await;
    if let Ok(path) = std::env::var("REELAY_TEST_CHAOS_REPORT") {
        let _ = std::fs::write(path, &report);
    }
    drop(server);
}
