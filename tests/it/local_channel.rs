//! The local renderer is a channel like the others (docs/UPSTREAM.md "The local channel is a
//! channel like the others"): the dispatcher routes its tasks, an operator's pause holds them,
//! and its runs are counted in its health and in the metrics.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::*;

async fn local_health(app: &TestApp) -> Value {
    let channels = app.admin_get("/channels").await;
    assert_eq!(channels.status, 200, "{:?}", channels.body);
    channels.data()["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|c| c["name"] == "local")
        .expect("the implicit local channel is listed")
        .clone()
}

#[tokio::test]
async fn pausing_the_local_channel_holds_new_tasks_until_it_is_resumed() {
    let app = spawn_app_with(with_admin(|settings| {
        settings.upstream.dispatch_interval_ms = 50;
    }))
    .await;
    let paused = app.admin_post("/channels/local/pause", &json!({})).await;
    assert_eq!(paused.status, 200, "{:?}", paused.body);
    assert_eq!(paused.data()["paused"], true);
    let before = app.balance().await;

    let created = app.create_task(&text_request("seedance2.0-sp")).await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let task_id = created.data()["task_id"].as_str().expect("id").to_string();
    // Many dispatcher passes (every 50 ms) and worker polls go by: nothing takes the task.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let task = app.task(&task_id).await;
    assert_eq!(task.data()["status"], "queued", "{:?}", task.body);
    assert_eq!(task.data()["channel"], Value::Null, "{:?}", task.body);
    assert_eq!(local_health(&app).await["health"]["paused"], true);

    let resumed = app.admin_post("/channels/local/resume", &json!({})).await;
    assert_eq!(resumed.status, 200, "{:?}", resumed.body);
    let task = app.wait_terminal(&task_id).await;
    assert_eq!(task["status"], "completed", "{task}");
    assert_eq!(task["result"]["channel"], "local");
    let price = task["cost"]["credits"].as_i64().expect("price");
    assert_eq!(app.balance().await, before - price);
    app.finish().await;
}

#[tokio::test]
async fn the_local_channel_counts_its_runs_in_its_health_and_the_metrics() {
    let app = spawn_app_with(with_admin(|_| {})).await;
    let media = media_server(vec![("missing.png", b"not an image".to_vec())]).await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let created = app.create_task(&text_request("seedance2.0-sp")).await;
        assert_eq!(created.status, 200, "{:?}", created.body);
        ids.push(created.data()["task_id"].as_str().expect("id").to_string());
    }
    // A first frame that is not an image: the request's fault, not the channel's.
    let mut bad = text_request("seedance2.0-sp");
    bad["first_image"] = json!(format!("{}/missing.png", media.base));
    let created = app.create_task(&bad).await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let bad_id = created.data()["task_id"].as_str().expect("id").to_string();

    for id in &ids {
        assert_eq!(app.wait_terminal(id).await["status"], "completed");
    }
    let failed = app.wait_terminal(&bad_id).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["error"]["code"], "invalid_input", "{failed}");

    let local = local_health(&app).await;
    assert_eq!(local["health"]["recent_calls"], 3, "{local}");
    assert_eq!(local["health"]["recent_error_rate"], 0.0, "{local}");
    assert_eq!(local["health"]["breaker"], "closed", "{local}");

    let text = scrape_metrics(&app).await;
    for line in [
        r#"reelay_upstream_calls_total{channel="local",call="run"} 3"#,
        r#"reelay_upstream_errors_total{channel="local",call="run",kind="rejected"} 1"#,
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
    }
    app.finish().await;
}

#[tokio::test]
async fn a_configured_local_channel_is_limited_and_runs_under_any_name() {
    // One `[[channels]]` entry: the local renderer named `preview`, at most one task in flight.
    let app = spawn_app_with(Options {
        workers: false,
        tweak: Box::new(|settings| {
            settings.channels = vec![reelay::config::ChannelSettings {
                name: "preview".into(),
                provider: "local".into(),
                max_concurrency: 1,
                ..reelay::config::ChannelSettings::default()
            }];
        }),
    })
    .await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let created = app.create_task(&text_request("seedance2.0-sp")).await;
        assert_eq!(created.status, 200, "{:?}", created.body);
        ids.push(created.data()["task_id"].as_str().expect("id").to_string());
    }
    // A dispatcher pass routes only what the limit admits; the rest wait unrouted.
    assert_eq!(app.worker.route_queued().await.expect("route"), 1);
    assert_eq!(app.worker.route_queued().await.expect("route"), 0);
    let mut routed = 0;
    for id in &ids {
        let task = app.task(id).await;
        assert_eq!(task.data()["status"], "queued", "{:?}", task.body);
        if task.data()["channel"] == "preview" {
            routed += 1;
        } else {
            assert_eq!(task.data()["channel"], Value::Null, "{:?}", task.body);
        }
    }
    assert_eq!(routed, 1);
    // The worker claims tasks routed to `preview` (not only to `local`), one at a time.
    app.run_queued_tasks().await;
    for id in &ids {
        let task = app.task(id).await;
        assert_eq!(task.data()["status"], "completed", "{:?}", task.body);
        assert_eq!(
            task.data()["result"]["channel"],
            "preview",
            "{:?}",
            task.body
        );
    }
    app.finish().await;
}
