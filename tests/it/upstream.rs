//! Upstream channels against the fake Ark (`fake_ark.rs`) and a second in-process reelay (relay):
//! re-hosted results, exactly-once submission under timeouts, status mapping with refunds,
//! failover, rate and concurrency limits, the breaker, pause and queue timeout.

use std::time::Duration;

use reelay::config::ChannelSettings;
use serde_json::{json, Value};

use crate::fake_ark::{self, FakeArk, Fault};
use crate::helpers::*;

const ADMIN: &str = "admin-test-token";
const MODEL: &str = "seedance2.0-sp";
const ARK_MODEL: &str = "doubao-seedance-2-0-260128";

fn ark_channel(fake: &FakeArk, name: &str) -> ChannelSettings {
    ChannelSettings {
        name: name.into(),
        provider: "ark".into(),
        base_url: Some(fake.api_base()),
        api_key_env: Some(fake_ark::KEY_ENV.into()),
        models: [(MODEL.to_string(), ARK_MODEL.to_string())].into(),
        poll_min_ms: 50,
        poll_max_ms: 200,
        request_timeout_ms: 1_000,
        reconcile_after_ms: 200,
        reconcile_grace_ms: 3_000,
        ..ChannelSettings::default()
    }
}

async fn spawn_with(channels: Vec<ChannelSettings>, queue_timeout_secs: u64) -> TestApp {
    spawn_app_with(Options {
        workers: true,
        tweak: Box::new(move |settings| {
            settings.channels = channels;
            settings.upstream.dispatch_interval_ms = 50;
            settings.upstream.queue_timeout_secs = queue_timeout_secs;
            settings.admin.token = Some(ADMIN.to_string().into());
        }),
    })
    .await
}

fn request(prompt: &str) -> Value {
    json!({ "model": MODEL, "prompt": prompt, "duration": 4, "resolution": "480p" })
}

async fn create(app: &TestApp, body: &Value) -> String {
    let created = app.create_task(body).await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    created.data()["task_id"]
        .as_str()
        .expect("task id")
        .to_string()
}

async fn admin_get(app: &TestApp, path: &str) -> Answer {
    answer(
        app.client
            .get(format!("{}/admin/v1{path}", app.base))
            .bearer_auth(ADMIN)
            .send()
            .await
            .expect("send"),
    )
    .await
}

async fn admin_post(app: &TestApp, path: &str) -> Answer {
    answer(
        app.client
            .post(format!("{}/admin/v1{path}", app.base))
            .bearer_auth(ADMIN)
            .send()
            .await
            .expect("send"),
    )
    .await
}

/// Waits (bounded) until `check` holds.
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn ark_task_completes_with_the_video_rehosted_by_reelay() {
    let fake = fake_ark::start(Duration::from_millis(150), Duration::from_millis(400)).await;
    let app = spawn_with(vec![ark_channel(&fake, "ark-a")], 1800).await;
    let prompt = "a lighthouse at dusk, waves, 灯塔 -- keep it calm";
    let mut body = request(prompt);
    body["return_last_frame"] = json!(true);
    body["seed"] = json!(7);
    let task_id = create(&app, &body).await;

    let mut seen_processing = false;
    let task = loop {
        let task = app.task(&task_id).await.data().clone();
        seen_processing |= task["status"] == "processing";
        if task["status"] == "completed" || task["status"] == "failed" {
            break task;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(task["status"], "completed", "{task}");
    assert!(
        seen_processing,
        "the task showed processing while Ark ran it"
    );
    let result = &task["result"];
    assert_eq!(result["channel"], "ark-a");
    assert_eq!(result["preview"], false);
    assert_eq!(
        (result["width"].as_u64(), result["height"].as_u64()),
        (Some(864), Some(480))
    );
    let video_url = result["video_url"].as_str().expect("video url");
    assert!(video_url.starts_with(&app.base), "{video_url} is reelay's");
    assert!(
        !task.to_string().contains(&fake.base),
        "the upstream URL never reaches the user"
    );
    let video = app.client.get(video_url).send().await.expect("get");
    assert_eq!(video.status(), 200);
    let bytes = video.bytes().await.expect("bytes");
    assert_eq!(
        bytes.len() as u64,
        result["size_bytes"].as_u64().expect("size")
    );
    reelay_media::probe(&bytes).expect("a real MP4");
    let frame_url = result["last_frame_url"].as_str().expect("last frame");
    assert!(frame_url.starts_with(&app.base));
    assert_eq!(
        app.client
            .get(frame_url)
            .send()
            .await
            .expect("get")
            .status(),
        200
    );

    // The request as Ark received it: model mapped, prompt unchanged, parameters as body fields.
    let bodies = fake.bodies();
    assert_eq!(bodies.len(), 1);
    let sent = &bodies[0];
    assert_eq!(sent["model"], ARK_MODEL);
    assert_eq!(sent["content"], json!([{ "type": "text", "text": prompt }]));
    assert_eq!(sent["duration"], 4);
    assert_eq!(sent["resolution"], "480p");
    assert_eq!(sent["ratio"], "16:9");
    assert_eq!(sent["seed"], 7);
    assert_eq!(sent["return_last_frame"], true);
    assert!(sent["safety_identifier"]
        .as_str()
        .is_some_and(|m| m.len() <= 64));
    assert!(
        fake.list_calls() >= 1,
        "statuses come from the list endpoint"
    );
    app.finish().await;
}

#[tokio::test]
async fn media_roles_map_to_arks_content_array() {
    let fake = fake_ark::start(Duration::from_millis(50), Duration::from_millis(100)).await;
    let app = spawn_with(vec![ark_channel(&fake, "ark-a")], 1800).await;
    let body = json!({
        "model": MODEL, "prompt": "frames", "duration": 4,
        "first_image": "https://example.com/a.png", "last_image": "https://example.com/b.png",
        "reference_audios": ["https://example.com/c.mp3"],
    });
    let first = create(&app, &body).await;
    let body = json!({
        "model": MODEL, "prompt": "refs", "duration": 4,
        "images": ["https://example.com/a.png"], "reference_videos": ["https://example.com/v.mp4"],
    });
    let second = create(&app, &body).await;
    for id in [&first, &second] {
        assert_eq!(app.wait_terminal(id).await["status"], "completed");
    }
    let bodies = fake.bodies();
    let by_text = |text: &str| {
        bodies
            .iter()
            .find(|b| b["content"][0]["text"] == text)
            .expect("sent")["content"]
            .clone()
    };
    assert_eq!(
        by_text("frames"),
        json!([
            {"type": "text", "text": "frames"},
            {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}, "role": "first_frame"},
            {"type": "image_url", "image_url": {"url": "https://example.com/b.png"}, "role": "last_frame"},
            {"type": "audio_url", "audio_url": {"url": "https://example.com/c.mp3"}, "role": "reference_audio"},
        ])
    );
    assert_eq!(
        by_text("refs"),
        json!([
            {"type": "text", "text": "refs"},
            {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}, "role": "reference_image"},
            {"type": "video_url", "video_url": {"url": "https://example.com/v.mp4"}, "role": "reference_video"},
        ])
    );
    app.finish().await;
}

#[tokio::test]
async fn timeouts_after_accepting_never_duplicate_submissions() {
    let fake = fake_ark::start(Duration::from_millis(100), Duration::from_millis(300)).await;
    // The first two creates are accepted but answered after the client's 1 s timeout; one more
    // is merely slow (answered in time).
    fake.push_fault(Fault::AcceptThenStall(Duration::from_secs(3)));
    fake.push_fault(Fault::AcceptThenStall(Duration::from_secs(3)));
    fake.push_fault(Fault::Slow(Duration::from_millis(300)));
    let app = spawn_with(vec![ark_channel(&fake, "ark-a")], 1800).await;
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(create(&app, &request(&format!("task {i}"))).await);
    }
    for id in &ids {
        let task = app.wait_terminal(id).await;
        assert_eq!(task["status"], "completed", "{task}");
    }
    assert_eq!(fake.accepted(), 4, "one upstream task per reelay task");
    assert!(fake.accepted_per_marker().values().all(|n| *n == 1));
    assert_eq!(fake.create_calls(), 4, "no create was repeated");
    app.finish().await;
}

#[tokio::test]
async fn expired_cancelled_and_moderated_tasks_fail_with_that_code_and_are_refunded() {
    let fake = fake_ark::start(Duration::from_millis(50), Duration::from_millis(200)).await;
    let app = spawn_with(vec![ark_channel(&fake, "ark-a")], 1800).await;
    let before = app.balance().await;
    let cases = [
        ("#expired", Some("expired")),
        ("#cancelled", Some("cancelled")),
        (
            "#moderated",
            Some("OutputVideoSensitiveContentDetected.PolicyViolation"),
        ),
        ("#weird status first", None),
        ("#flaky url", None),
    ];
    let mut ids = Vec::new();
    for (prompt, _) in &cases {
        ids.push(create(&app, &request(prompt)).await);
    }
    for (id, (prompt, code)) in ids.iter().zip(cases) {
        let task = app.wait_terminal(id).await;
        match code {
            Some(code) => {
                assert_eq!(task["status"], "failed", "{prompt}: {task}");
                assert_eq!(task["error"]["code"], code, "{prompt}");
                assert!(task["error_message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty()));
                assert_eq!(task["cost"]["refunded"], true, "{prompt}");
            }
            None => assert_eq!(task["status"], "completed", "{prompt}: {task}"),
        }
    }
    let completed_cost = 2 * 4 * 1000;
    assert_eq!(app.balance().await, before - completed_cost);
    app.finish().await;
}

#[tokio::test]
async fn moderation_at_create_fails_the_task_with_the_upstream_code() {
    let fake = fake_ark::start(Duration::from_millis(50), Duration::from_millis(100)).await;
    fake.push_fault(Fault::Error(400, "InputTextSensitiveContentDetected"));
    let app = spawn_with(vec![ark_channel(&fake, "ark-a")], 1800).await;
    let id = create(&app, &request("something the moderation refuses")).await;
    let task = app.wait_terminal(&id).await;
    assert_eq!(task["status"], "failed");
    assert_eq!(task["error"]["code"], "InputTextSensitiveContentDetected");
    assert_eq!(task["cost"]["refunded"], true);
    assert_eq!(fake.create_calls(), 1, "a refused request is not retried");
    app.finish().await;
}

#[tokio::test]
async fn failover_to_the_next_channel_when_the_first_answers_5xx() {
    let first = fake_ark::start(Duration::from_millis(50), Duration::from_millis(100)).await;
    let second = fake_ark::start(Duration::from_millis(50), Duration::from_millis(100)).await;
    first.push_fault(Fault::Error(500, "InternalServiceError"));
    let mut primary = ark_channel(&first, "ark-primary");
    primary.priority = 10;
    let backup = ark_channel(&second, "ark-backup");
    let app = spawn_with(vec![primary, backup], 1800).await;
    let id = create(&app, &request("failover")).await;
    let task = app.wait_terminal(&id).await;
    assert_eq!(task["status"], "completed", "{task}");
    assert_eq!(task["result"]["channel"], "ark-backup");
    assert_eq!((first.create_calls(), first.accepted()), (1, 0));
    assert_eq!(second.accepted(), 1);

    // API.md §8: upstream calls and errors by channel.
    let text = scrape_metrics(&app).await;
    for line in [
        r#"reelay_upstream_calls_total{channel="ark-primary",call="submit"} 1"#,
        r#"reelay_upstream_errors_total{channel="ark-primary",call="submit",kind="not_accepted"} 1"#,
        r#"reelay_upstream_calls_total{channel="ark-backup",call="submit"} 1"#,
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
    }
    assert!(
        text.lines().any(|l| l
            .starts_with(r#"reelay_upstream_calls_total{channel="ark-backup",call="statuses"}"#)),
        "{text}"
    );
    assert!(
        !text.contains(r#"reelay_upstream_errors_total{channel="ark-backup""#),
        "the backup never failed: {text}"
    );
    app.finish().await;
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried_after_the_wait() {
    let fake = fake_ark::start(Duration::from_millis(50), Duration::from_millis(100)).await;
    fake.push_fault(Fault::RateLimited(1));
    let app = spawn_with(vec![ark_channel(&fake, "ark-a")], 1800).await;
    let started = std::time::Instant::now();
    let id = create(&app, &request("rate limited once")).await;
    let task = app.wait_terminal(&id).await;
    assert_eq!(task["status"], "completed", "{task}");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited for Retry-After"
    );
    assert_eq!((fake.create_calls(), fake.accepted()), (2, 1));
    app.finish().await;
}

#[tokio::test]
async fn rpm_and_concurrency_limits_are_respected() {
    let fake = fake_ark::start(Duration::from_millis(100), Duration::from_millis(400)).await;
    let mut channel = ark_channel(&fake, "ark-a");
    // Paced (issue #23): one create every 15 s, no burst of four.
    channel.rpm = 4;
    channel.max_concurrency = 2;
    let app = spawn_with(vec![channel], 1800).await;
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(create(&app, &request(&format!("limited {i}"))).await);
    }
    let probe = fake.clone();
    eventually("the first create", move || probe.accepted() >= 1).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        fake.accepted(),
        1,
        "rpm = 4 lets one create through every 15 s"
    );
    assert!(
        fake.max_live() <= 2,
        "max_concurrency = 2 (saw {})",
        fake.max_live()
    );
    assert!(fake.max_creates_per_minute() <= 4);
    let mut waiting = 0;
    for id in &ids {
        let task = app.task(id).await.data().clone();
        if task["status"] == "queued" {
            assert_eq!(app.cancel(id).await.status, 200);
            waiting += 1;
        }
    }
    assert_eq!(waiting, 5, "the rest wait queued, not failed");
    for id in &ids {
        app.wait_terminal(id).await;
    }
    app.finish().await;
}

#[tokio::test]
async fn an_auth_error_opens_the_breaker_and_tasks_move_to_the_other_channel() {
    let broken = fake_ark::start(Duration::from_millis(50), Duration::from_millis(100)).await;
    let healthy = fake_ark::start(Duration::from_millis(50), Duration::from_millis(100)).await;
    broken.refuse_all(Some((403, "AccountOverdueError")));
    let mut primary = ark_channel(&broken, "ark-overdue");
    primary.priority = 10;
    let app = spawn_with(vec![primary, ark_channel(&healthy, "ark-ok")], 1800).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(create(&app, &request(&format!("auth {i}"))).await);
    }
    for id in &ids {
        let task = app.wait_terminal(id).await;
        assert_eq!(task["status"], "completed", "{task}");
        assert_eq!(task["result"]["channel"], "ark-ok");
    }
    // Tasks dispatched together may each meet the refusal once; after that the breaker is open.
    let refused = broken.create_calls();
    assert!((1..=3).contains(&refused), "{refused} refused creates");
    for i in 3..6 {
        let id = create(&app, &request(&format!("auth {i}"))).await;
        assert_eq!(app.wait_terminal(&id).await["result"]["channel"], "ark-ok");
    }
    assert_eq!(
        broken.create_calls(),
        refused,
        "the open breaker stops further calls"
    );
    assert_eq!(healthy.accepted(), 6);
    assert_eq!(broken.accepted(), 0);
    let channels = admin_get(&app, "/channels").await;
    assert_eq!(channels.status, 200, "{:?}", channels.body);
    let items = channels.data()["items"].as_array().expect("items").clone();
    let overdue = items
        .iter()
        .find(|c| c["name"] == "ark-overdue")
        .expect("listed");
    assert_eq!(overdue["health"]["breaker"], "open");
    assert!(overdue["health"]["breaker_reason"]
        .as_str()
        .is_some_and(|r| r.contains("AccountOverdueError")));
    assert!(overdue["health"]["recent_error_rate"]
        .as_f64()
        .is_some_and(|r| r > 0.0));
    // Its latest errors, newest first, each with its time.
    let errors = overdue["health"]["recent_errors"]
        .as_array()
        .expect("recent_errors")
        .clone();
    assert_eq!(errors.len(), refused, "{errors:?}");
    assert!(errors
        .iter()
        .all(|e| e["at"].as_i64().is_some_and(|at| at > 0)
            && e["message"]
                .as_str()
                .is_some_and(|m| m.contains("AccountOverdueError"))));
    let ok = items
        .iter()
        .find(|c| c["name"] == "ark-ok")
        .expect("listed");
    assert_eq!(ok["health"]["breaker"], "closed");
    assert_eq!(ok["health"]["recent_errors"], json!([]));
    assert_eq!(ok["in_flight"], 0);
    app.finish().await;
}

#[tokio::test]
async fn a_paused_channel_takes_nothing_and_waiting_tasks_time_out_with_a_refund() {
    let fake = fake_ark::start(Duration::from_millis(50), Duration::from_millis(100)).await;
    let app = spawn_with(vec![ark_channel(&fake, "ark-a")], 2).await;
    let paused = admin_post(&app, "/channels/ark-a/pause").await;
    assert_eq!(paused.status, 200, "{:?}", paused.body);
    assert_eq!(paused.data()["paused"], true);
    let id = create(&app, &request("nobody takes me")).await;
    let task = app.wait_terminal(&id).await;
    assert_eq!(task["status"], "failed");
    assert_eq!(task["error"]["code"], "queue_timeout");
    assert_eq!(task["cost"]["refunded"], true);
    assert_eq!(fake.create_calls(), 0);
    let resumed = admin_post(&app, "/channels/ark-a/resume").await;
    assert_eq!(resumed.data()["paused"], false);
    let id = create(&app, &request("after resume")).await;
    assert_eq!(app.wait_terminal(&id).await["status"], "completed");
    let audit = admin_get(&app, "/audit").await;
    let actions: Vec<&str> = audit.data()["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|a| a["action"].as_str())
        .collect();
    assert!(actions.contains(&"channel.pause") && actions.contains(&"channel.resume"));
    app.finish().await;
}

#[tokio::test]
async fn cancelling_a_task_queued_upstream_cancels_it_at_ark() {
    let fake = fake_ark::start(Duration::from_secs(30), Duration::from_secs(60)).await;
    let app = spawn_with(vec![ark_channel(&fake, "ark-a")], 1800).await;
    let id = create(&app, &request("cancel me")).await;
    let probe = fake.clone();
    eventually("the upstream accepted it", move || probe.accepted() == 1).await;
    // Wait until reelay recorded the acceptance, then cancel.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let cancelled = app.cancel(&id).await;
    assert_eq!(cancelled.status, 200, "{:?}", cancelled.body);
    assert_eq!(cancelled.data()["error"]["code"], "cancelled");
    let probe = fake.clone();
    eventually("a DELETE at Ark", move || probe.delete_calls() == 1).await;
    app.finish().await;
}

#[tokio::test]
async fn a_model_no_channel_serves_is_refused_with_50300() {
    let fake = fake_ark::start(Duration::from_millis(50), Duration::from_millis(100)).await;
    let app = spawn_with(vec![ark_channel(&fake, "ark-a")], 1800).await;
    let refused = app
        .create_task(&json!({"model": "seedance2.0-mini", "prompt": "x", "duration": 4}))
        .await;
    assert_eq!(refused.status, 503, "{:?}", refused.body);
    assert_eq!(refused.code(), 50300);
    assert!(refused.msg().contains("seedance2.0-mini"));
    let models = app.get("/models").await;
    let items = models.data()["items"].as_array().expect("items").clone();
    let sp = items.iter().find(|m| m["model"] == MODEL).expect("listed");
    assert_eq!(sp["channels"], json!(["ark-a"]));
    app.finish().await;
}

#[tokio::test]
async fn callbacks_make_reelay_fetch_the_status_at_once() {
    let fake = fake_ark::start(Duration::from_millis(50), Duration::from_millis(100)).await;
    let mut channel = ark_channel(&fake, "ark-a");
    channel.poll_min_ms = 60_000;
    channel.poll_max_ms = 60_000;
    let app = spawn_with(vec![channel], 1800).await;
    let id = create(&app, &request("called back")).await;
    let probe = fake.clone();
    eventually("accepted", move || probe.accepted() == 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        app.task(&id).await.data()["status"],
        "queued",
        "not polled yet"
    );
    // A forged callback body claims success; reelay only acts on what Ark's API says.
    let upstream_id = "cgt-20250331175019-00000";
    let url = format!("{}/upstream/v1/callbacks/ark-a", app.base);
    let posted = app
        .client
        .post(&url)
        .json(&json!({"id": upstream_id, "status": "succeeded", "content": {"video_url": "http://evil.example/x.mp4"}}))
        .send()
        .await
        .expect("send");
    assert_eq!(posted.status(), 200);
    let task = app.wait_terminal(&id).await;
    assert_eq!(task["status"], "completed");
    assert!(!task.to_string().contains("evil.example"));
    app.finish().await;
}

#[tokio::test]
async fn relay_to_a_second_reelay_completes_with_the_result_copied() {
    let remote = spawn_app().await;
    let env = "FAKE_RELAY_KEY_RELAY_TEST";
    std::env::set_var(env, &remote.key);
    let relay = ChannelSettings {
        name: "relay-b".into(),
        provider: "relay".into(),
        base_url: Some(remote.base.clone()),
        api_key_env: Some(env.into()),
        poll_min_ms: 100,
        poll_max_ms: 300,
        request_timeout_ms: 5_000,
        ..ChannelSettings::default()
    };
    let app = spawn_with(vec![relay], 1800).await;
    let id = create(&app, &request("relayed lighthouse")).await;
    let task = app.wait_terminal(&id).await;
    assert_eq!(task["status"], "completed", "{task}");
    assert_eq!(task["result"]["channel"], "relay-b");
    assert_eq!(task["result"]["width"], 864);
    let url = task["result"]["video_url"].as_str().expect("url");
    assert!(url.starts_with(&app.base));
    assert!(!task.to_string().contains(&remote.base));
    let bytes = app
        .client
        .get(url)
        .send()
        .await
        .expect("get")
        .bytes()
        .await
        .expect("bytes");
    reelay_media::probe(&bytes).expect("a real MP4");
    let remote_tasks = remote.get("/videos").await;
    assert_eq!(
        remote_tasks.data()["items"].as_array().map(Vec::len),
        Some(1)
    );
    app.finish().await;
    remote.finish().await;
}

#[tokio::test]
async fn assets_reach_ark_as_short_lived_signed_urls_of_reelays_copy() {
    let fake = fake_ark::start(Duration::from_millis(100), Duration::from_millis(300)).await;
    let app = spawn_with(vec![ark_channel(&fake, "ark-a")], 1800).await;
    let image = png(640, 480, [30, 90, 150]);
    let uploaded = app
        .upload_asset_file(FilePart {
            name: "frame",
            kind: "image",
            file_name: "frame.png",
            bytes: image.clone(),
        })
        .await;
    assert_eq!(uploaded.status, 200, "{:?}", uploaded.body);
    let asset_id = uploaded.data()["asset_id"]
        .as_str()
        .expect("asset id")
        .to_string();
    app.wait_asset(&asset_id).await;
    let mut body = request("from an asset");
    body["first_image"] = json!(format!("asset://{asset_id}"));
    let task_id = create(&app, &body).await;
    let task = app.wait_terminal(&task_id).await;
    assert_eq!(task["status"], "completed", "{task}");

    let sent = fake.bodies();
    let first_frame = sent
        .iter()
        .flat_map(|b| b["content"].as_array().cloned().unwrap_or_default())
        .find(|item| item["role"] == "first_frame")
        .expect("a first_frame item reached Ark");
    let url = first_frame["image_url"]["url"].as_str().expect("url");
    assert!(url.starts_with(&format!("{}/files/", app.base)), "{url}");
    assert!(url.contains("exp=") && url.contains("sig="), "{url}");
    let fetched = app.client.get(url).send().await.expect("fetch");
    assert_eq!(fetched.status(), 200);
    assert_eq!(
        fetched.bytes().await.expect("bytes").to_vec(),
        image,
        "Ark gets the stored bytes"
    );
    app.finish().await;
}

#[tokio::test]
async fn a_crash_while_a_create_is_in_flight_adopts_the_upstream_task_after_restart() {
    use reelay::app::{Application, Role};
    let fake = fake_ark::start(Duration::from_millis(100), Duration::from_millis(300)).await;
    // Ark accepts the task but answers only long after the crash.
    fake.push_fault(Fault::AcceptThenStall(Duration::from_secs(60)));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut settings = test_settings(dir.path());
    settings.channels = vec![ark_channel(&fake, "ark-a")];
    settings.upstream.dispatch_interval_ms = 50;

    let first = Application::build(settings.clone(), Role::All)
        .await
        .expect("first start");
    let key = first.bootstrap.clone().expect("bootstrap").secret;
    let base = format!("http://{}", first.address());
    let running = tokio::spawn(first.run_until_stopped(std::future::pending()));
    let client = reqwest::Client::new();
    let created: Value = client
        .post(format!("{base}/api/open-api/v1/seedance/videos"))
        .bearer_auth(&key)
        .json(&request("in flight at the crash"))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let task_id = created["data"]["task_id"].as_str().expect("id").to_string();
    for _ in 0..200 {
        if fake.create_calls() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(fake.create_calls(), 1, "the create reached Ark");
    // Crash: drop every task of the first process mid-call (nothing runs its shutdown path).
    running.abort();
    let _ = running.await;

    let second = Application::build(settings, Role::All)
        .await
        .expect("second start");
    assert!(second.bootstrap.is_none());
    let base = format!("http://{}", second.address());
    let db = second.db();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(second.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    let mut task = Value::Null;
    for _ in 0..600 {
        task = client
            .get(format!("{base}/api/open-api/v1/videos/{task_id}"))
            .bearer_auth(&key)
            .send()
            .await
            .expect("query")
            .json::<Value>()
            .await
            .expect("json")["data"]
            .clone();
        if task["status"] == "completed" || task["status"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(task["status"], "completed", "{task}");
    assert_eq!(
        fake.accepted(),
        1,
        "the accepted upstream task was adopted, not resubmitted"
    );
    assert_eq!(fake.create_calls(), 1);
    assert_books_balance(&db).await;
    let _ = stop.send(());
    let _ = running.await;
}

#[tokio::test]
async fn a_task_completed_by_ark_sends_its_webhook() {
    let fake = fake_ark::start(Duration::from_millis(100), Duration::from_millis(300)).await;
    let app = spawn_with(vec![ark_channel(&fake, "ark-a")], 1800).await;
    let receiver = crate::helpers::webhook_receiver(0).await;
    let mut body = request("a lighthouse at dusk");
    body["callback_url"] = json!(receiver.url);
    let task_id = create(&app, &body).await;
    let task = app.wait_terminal(&task_id).await;
    assert_eq!(task["status"], "completed", "{task}");
    // The delivery row committed with the completion; the dispatcher sends it.
    receiver.wait_for(1, Some(&app.dispatcher)).await;
    let (_, sent) = receiver.calls().remove(0);
    let sent: Value = serde_json::from_slice(&sent).expect("json");
    assert_eq!(sent["task_id"], task_id.as_str(), "{sent}");
    assert_eq!(sent["status"], "completed", "{sent}");
    app.finish().await;
}

/// Issue #23: a channel with callbacks sends `callback_url`; the upstream's POST (re-fetched,
/// never trusted) makes the poller look at the task in its next slot, so it completes without
/// waiting for its planned look (10 minutes away here).
#[tokio::test]
async fn a_callback_completes_the_task_without_waiting_for_its_next_look() {
    let fake = fake_ark::start(Duration::from_millis(50), Duration::from_millis(200)).await;
    let mut channel = ark_channel(&fake, "ark-a");
    channel.callbacks = Some(true);
    channel.poll_min_ms = 600_000;
    channel.poll_max_ms = 600_000;
    let app = spawn_with(vec![channel], 1800).await;
    let id = create(&app, &request("called back")).await;
    let mut upstream_id = None;
    for _ in 0..200 {
        let row = reelay::store::upstream::get(&app.db, &id)
            .await
            .expect("row");
        upstream_id = row.and_then(|row| row.upstream_id);
        if upstream_id.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let upstream_id = upstream_id.expect("accepted upstream");
    let callback_url = fake
        .bodies()
        .iter()
        .find_map(|body| body["callback_url"].as_str().map(str::to_string))
        .expect("the create carried a callback_url");
    assert_eq!(
        callback_url,
        format!("{}/upstream/v1/callbacks/ark-a", app.base)
    );
    // The fake ends the task 200 ms after its create; then it calls back (the body says
    // nothing reelay trusts but the id).
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(fake.list_calls(), 0, "no look planned before 10 minutes");
    let called = app
        .client
        .post(&callback_url)
        .json(&json!({ "id": upstream_id, "status": "succeeded" }))
        .send()
        .await
        .expect("callback");
    assert_eq!(called.status(), 200);
    let task = app.wait_terminal(&id).await;
    assert_eq!(task["status"], "completed", "{task}");
    assert_eq!(fake.list_calls(), 1, "one re-fetch, after the callback");
    app.finish().await;
}
