//! Ark's door beyond what the SDK test covers (`clients.rs`): a `callback_url` receives Ark's
//! task object, `execution_expires_after` ends a task that never started as `expired` (refunded,
//! and found by Ark's status filter), and unknown paths under `/api/v3` and `/v1` answer in
//! their door's error shape.

use serde_json::{json, Value};

use crate::helpers::*;

const TASKS: &str = "/api/v3/contents/generations/tasks";

async fn ark_post(app: &TestApp, body: &Value) -> (u16, Value) {
    let response = app
        .client
        .post(format!("{}{TASKS}", app.base))
        .bearer_auth(&app.key)
        .json(body)
        .send()
        .await
        .expect("send");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn ark_get(app: &TestApp, path: &str) -> (u16, Value) {
    let response = app
        .client
        .get(format!("{}{path}", app.base))
        .bearer_auth(&app.key)
        .send()
        .await
        .expect("send");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_callback_carries_arks_task_object() {
    let app = spawn_app().await;
    let receiver = webhook_receiver(0).await;
    let (status, created) = ark_post(
        &app,
        &json!({
            "model": "dreamina-seedance-2-0-fast-260128",
            "content": [{"type": "text", "text": "a kite over the sea"}],
            "duration": 4, "resolution": "480p", "callback_url": receiver.url,
        }),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let id = created["id"].as_str().expect("id").to_string();
    app.wait_terminal(&id).await;
    receiver.wait_for(1, Some(&app.dispatcher)).await;
    let (_, body) = &receiver.calls()[0];
    let body: Value = serde_json::from_slice(body).expect("json");
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["status"], "succeeded", "{body}");
    assert_eq!(body["model"], "dreamina-seedance-2-0-fast-260128");
    assert!(body["content"]["video_url"].is_string(), "{body}");
    app.finish().await;
}

#[tokio::test]
async fn a_task_not_started_in_time_expires_with_a_refund() {
    // No background loops: the test runs the sweep itself, and the app's own sweeper (every
    // `worker.lease_secs`, 5 s here) could expire the task first and leave it nothing to count.
    let mut options = with_admin(|_| {});
    options.workers = false;
    let app = spawn_app_with(options).await;
    // Paused, the local channel takes nothing: the task stays queued.
    assert_eq!(
        app.admin_post("/channels/local/pause", &json!({}))
            .await
            .status,
        200
    );
    let before = app.balance().await;
    let (status, created) = ark_post(
        &app,
        &json!({
            "model": "seedance2.0-sp",
            "content": [{"type": "text", "text": "never started"}],
            "execution_expires_after": 3600,
        }),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let id = created["id"].as_str().expect("id").to_string();
    assert!(app.balance().await < before, "charged at create");
    // Nothing expires before its time.
    assert_eq!(app.sweeper.sweep_start_deadlines().await.expect("sweep"), 0);
    // An hour later (the deadline moved into the past, as time would).
    sqlx::query("UPDATE tasks SET start_deadline = start_deadline - 7200 WHERE id = $1")
        .bind(&id)
        .execute(&app.db.write)
        .await
        .expect("move the deadline");
    assert_eq!(app.sweeper.sweep_start_deadlines().await.expect("sweep"), 1);
    let (_, task) = ark_get(&app, &format!("{TASKS}/{id}")).await;
    assert_eq!(task["status"], "expired", "{task}");
    assert_eq!(task["error"]["code"], "expired");
    assert_eq!(task["execution_expires_after"], 3600);
    assert_eq!(app.balance().await, before, "refunded");
    let (_, expired) = ark_get(&app, &format!("{TASKS}?filter.status=expired")).await;
    assert_eq!(expired["total"], 1, "{expired}");
    assert_eq!(expired["items"][0]["id"], id.as_str());
    let (_, failed) = ark_get(&app, &format!("{TASKS}?filter.status=failed")).await;
    assert_eq!(
        failed["total"], 0,
        "an expired task is not listed as failed: {failed}"
    );
    let seed = app.task(&id).await;
    assert_eq!(seed.data()["status"], "failed");
    assert_eq!(seed.data()["cost"]["refunded"], true);
    assert_eq!(
        app.admin_post("/channels/local/resume", &json!({}))
            .await
            .status,
        200
    );
    assert_books_balance(&app.db).await;
    app.finish().await;
}

#[tokio::test]
async fn each_door_answers_unknown_paths_and_keys_in_its_own_shape() {
    let app = spawn_app_with(Options {
        workers: false,
        ..Options::default()
    })
    .await;
    let (status, body) = ark_get(&app, "/api/v3/chat/completions").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "ResourceNotFound", "{body}");
    let (status, body) = ark_get(&app, "/v1/images/generations").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["type"], "not_found_error", "{body}");
    let anonymous = app
        .client
        .get(format!("{}{TASKS}", app.base))
        .bearer_auth("sk_nope")
        .send()
        .await
        .expect("send");
    assert_eq!(anonymous.status(), 401);
    let body: Value = anonymous.json().await.expect("json");
    assert_eq!(body["error"]["code"], "AuthenticationError", "{body}");
    let (status, body) = ark_post(
        &app,
        &json!({"model": "no-such-model", "content": [{"type": "text", "text": "x"}]}),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        body["error"]["code"], "InvalidEndpointOrModel.NotFound",
        "{body}"
    );
    assert_eq!(body["error"]["param"], "model");
    let balance = app.balance().await;
    let (status, body) = ark_post(
        &app,
        &json!({"model": "seedance2.0-sp", "content": [{"type": "text", "text": "x"}], "ratio": "5:4"}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["param"], "ratio", "{body}");
    assert_eq!(
        app.balance().await,
        balance,
        "a refused create charges nothing"
    );
    app.finish().await;
}
