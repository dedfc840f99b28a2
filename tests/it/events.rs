//! Task events over SSE and the `/content` route: changes arrive in order with growing ids,
//! `Last-Event-ID` resumes, the stream ends after a terminal state, others' tasks are 404.

use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::helpers::{spawn_app_with, text_request, Options, SseEvent};

async fn next(events: &mut UnboundedReceiver<SseEvent>) -> Option<(String, i64, Value)> {
    let event = tokio::time::timeout(Duration::from_secs(60), events.recv())
        .await
        .expect("an event within 60 s")?;
    assert_eq!(event.event, "task");
    let id: i64 = event.id.expect("id").parse().expect("numeric id");
    let task: Value = serde_json::from_str(&event.data).expect("json data");
    Some((task["status"].as_str().unwrap_or("").to_string(), id, task))
}

fn manual() -> Options {
    Options {
        workers: false,
        tweak: Box::new(|_| {}),
    }
}

#[tokio::test]
async fn event_stream_reports_queued_processing_completed_in_order_then_ends() {
    let app = spawn_app_with(manual()).await;
    let task_id = app
        .create_task(&text_request("seedance2.0-sp"))
        .await
        .data()["task_id"]
        .as_str()
        .expect("id")
        .to_string();
    let (status, mut events) = app.open_events(&task_id, None).await;
    assert_eq!(status, 200);
    let (first, first_id, task) = next(&mut events).await.expect("queued event");
    assert_eq!(first, "queued");
    assert_eq!(task["task_id"], task_id.as_str());

    // A "worker" claims it and reports progress; then the real worker takes over and finishes.
    // The dispatcher routes it to the local channel; then a worker may claim it.
    app.worker.route_queued().await.expect("route");
    let claimed = reelay::tasks::state::claim(&app.db, "test-worker", &["local".to_string()], 1, 3)
        .await
        .expect("claim")
        .expect("a task");
    assert_eq!(claimed.id, task_id);
    let (second, second_id, _) = next(&mut events).await.expect("processing event");
    assert_eq!(second, "processing");
    assert!(second_id > first_id);
    assert!(
        reelay::tasks::state::heartbeat(&app.db, &task_id, "test-worker", 40, 0)
            .await
            .expect("heartbeat")
    );
    let (third, third_id, task) = next(&mut events).await.expect("progress event");
    assert_eq!(third, "processing");
    assert_eq!(task["progress"], 40);
    assert!(third_id > second_id);

    // Its lease has run out: the app's worker resumes it and completes it.
    let mut started = false;
    for _ in 0..50 {
        if app.worker.poll_once().await.expect("poll")
            == reelay::tasks::worker::PollOutcome::Started
        {
            started = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(started, "the expired claim was resumed");
    let mut last = (third, third_id);
    while let Some((status, id, task)) = next(&mut events).await {
        assert!(id > last.1, "ids grow: {id} after {}", last.1);
        assert!(status == "processing" || status == "completed", "{status}");
        if status == "completed" {
            assert_eq!(task["progress"], 100);
            assert!(task["result"]["video_url"].is_string());
        }
        last = (status, id);
    }
    assert_eq!(
        last.0, "completed",
        "the stream ends after the terminal event"
    );

    // Resuming from the last id sends nothing and closes; from an older id sends the current state.
    let (_, mut resumed) = app.open_events(&task_id, Some(&last.1.to_string())).await;
    assert!(next(&mut resumed).await.is_none());
    let (_, mut resumed) = app.open_events(&task_id, Some(&first_id.to_string())).await;
    let (status, id, _) = next(&mut resumed).await.expect("current state");
    assert_eq!((status.as_str(), id), ("completed", last.1));
    assert!(next(&mut resumed).await.is_none());
    app.finish().await;
}

#[tokio::test]
async fn event_stream_of_unknown_or_others_tasks_is_404() {
    let app = spawn_app_with(manual()).await;
    let task_id = app
        .create_task(&text_request("seedance2.0-sp"))
        .await
        .data()["task_id"]
        .as_str()
        .expect("id")
        .to_string();
    let (_, other_key) = app.new_account(1_000_000).await;
    let answer = app
        .get_as(&other_key, &format!("/videos/{task_id}/events"))
        .await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.code(), 40400);
    assert_eq!(app.get("/videos/vid_nope/events").await.status, 404);
    let answer = app
        .get_as(&other_key, &format!("/videos/{task_id}/content"))
        .await;
    assert_eq!(answer.status, 404);
    // Not completed yet: 409.
    let answer = app.get(&format!("/videos/{task_id}/content")).await;
    assert_eq!(answer.status, 409, "{:?}", answer.body);
    assert_eq!(answer.code(), 40900);
    app.cancel(&task_id).await;
    app.finish().await;
}

#[tokio::test]
async fn content_redirects_to_the_signed_mp4_with_range_support() {
    let app = spawn_app_with(manual()).await;
    let task_id = app
        .create_task(&text_request("seedance2.0-sp"))
        .await
        .data()["task_id"]
        .as_str()
        .expect("id")
        .to_string();
    app.worker.poll_once().await.expect("poll");
    let task = app.wait_terminal(&task_id).await;
    assert_eq!(task["status"], "completed");

    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let response = no_redirects
        .get(app.url(&format!("/videos/{task_id}/content")))
        .bearer_auth(&app.key)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status().as_u16(), 302);
    let location = response.headers()["location"].to_str().expect("location");
    assert_eq!(location, task["result"]["video_url"].as_str().expect("url"));

    let whole = app
        .client
        .get(app.url(&format!("/videos/{task_id}/content")))
        .bearer_auth(&app.key)
        .send()
        .await
        .expect("send");
    assert_eq!(whole.status().as_u16(), 200);
    let bytes = whole.bytes().await.expect("body");
    let probed = reelay_media::probe(&bytes).expect("a playable MP4");
    assert_eq!(probed.format, reelay_media::MediaFormat::Mp4);
    assert_eq!(
        probed.width.map(u64::from),
        task["result"]["width"].as_u64()
    );

    let part = app
        .client
        .get(app.url(&format!("/videos/{task_id}/content")))
        .bearer_auth(&app.key)
        .header("Range", "bytes=0-99")
        .send()
        .await
        .expect("send");
    assert_eq!(part.status().as_u16(), 206);
    assert_eq!(part.bytes().await.expect("body").len(), 100);
    app.finish().await;
}

#[tokio::test]
async fn an_open_stream_ends_when_its_key_is_revoked() {
    let app = spawn_app_with(manual()).await;
    let task_id = app
        .create_task(&text_request("seedance2.0-sp"))
        .await
        .data()["task_id"]
        .as_str()
        .expect("id")
        .to_string();
    let (status, mut events) = app.open_events(&task_id, None).await;
    assert_eq!(status, 200);
    let (first, _, _) = next(&mut events).await.expect("queued event");
    assert_eq!(first, "queued");
    // The task stays queued (no workers): only the revocation can end this stream.
    let keys = app.account_keys(&app.key).await;
    let key_id = keys[0]["key_id"].as_str().expect("key id").to_string();
    let revoked = app
        .post_empty(&format!("/account/keys/{key_id}/revoke"))
        .await;
    assert_eq!(revoked.status, 200, "{:?}", revoked.body);
    // Bounded so that a stream that never ends fails the test instead of hanging it.
    let after = tokio::time::timeout(Duration::from_secs(30), events.recv())
        .await
        .expect("the stream ends after its key is revoked");
    assert!(after.is_none(), "no event after the revocation: {after:?}");
    // The task is still there, queued, for the next worker (a revoked key cancels nothing).
    let row = sqlx::query_scalar::<_, String>("SELECT status FROM tasks WHERE id = $1")
        .bind(&task_id)
        .fetch_one(&app.db.read)
        .await
        .expect("task");
    assert_eq!(row, "queued");
    app.run_queued_tasks().await;
    app.finish().await;
}

#[tokio::test]
async fn a_key_may_hold_only_limits_streams_per_key_streams_at_once() {
    let app = spawn_app_with(Options {
        workers: false,
        tweak: Box::new(|settings| settings.limits.streams_per_key = 2),
    })
    .await;
    let task_id = app
        .create_task(&text_request("seedance2.0-sp"))
        .await
        .data()["task_id"]
        .as_str()
        .expect("id")
        .to_string();
    let url = app.url(&format!("/videos/{task_id}/events"));
    let open = |key: String| {
        let request = app.client.get(&url).bearer_auth(key);
        async move { request.send().await.expect("send") }
    };
    let first = open(app.key.clone()).await;
    let second = open(app.key.clone()).await;
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    let third = open(app.key.clone()).await;
    assert_eq!(third.status(), 429);
    assert_eq!(third.headers()["retry-after"], "1");
    let answer = crate::helpers::answer(third).await;
    assert_eq!(answer.code(), 42900);
    assert!(
        answer.msg().contains("limits.streams_per_key"),
        "{}",
        answer.msg()
    );
    // The cap is the key's: an account's other key has its own.
    let made = app
        .post_json_as(
            &app.key,
            "/account/keys",
            &serde_json::json!({"name": "second"}),
        )
        .await;
    let other_key = made.data()["secret"].as_str().expect("secret").to_string();
    assert_eq!(open(other_key).await.status(), 200);
    drop((first, second));
    app.run_queued_tasks().await;
    app.finish().await;
}
