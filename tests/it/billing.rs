//! Money: price at create, 402 when short, refunds exactly once, idempotency, the ledger.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn charge_on_create_and_402_when_the_balance_is_short() {
    let app = spawn_app_with(Options {
        workers: false,
        ..Options::default()
    })
    .await;
    let (_account, poor) = app.new_account(5000).await;
    let body =
        json!({"model": "seedance2.0-sp", "prompt": "x", "duration": 4, "resolution": "720p"}); // 8000
    let refused = app.create_task_with_key(&poor, &body).await;
    assert_eq!((refused.status, refused.code()), (402, 40200));
    assert!(
        refused.msg().contains("8000") && refused.msg().contains("5000"),
        "{}",
        refused.msg()
    );
    let account = app.get_as(&poor, "/account").await;
    assert_eq!(account.data()["balance"], 5000, "nothing written");
    assert_eq!(
        app.get_as(&poor, "/videos").await.data()["items"],
        json!([])
    );

    let cheap =
        json!({"model": "seedance2.0-sp", "prompt": "x", "duration": 5, "resolution": "480p"}); // 5000
    let accepted = app.create_task_with_key(&poor, &cheap).await;
    assert_eq!(accepted.status, 200, "{:?}", accepted.body);
    let account = app.get_as(&poor, "/account").await;
    assert_eq!(account.data()["balance"], 0);
    assert_eq!(account.data()["spent_total"], 5000);
    let ledger = app.get_as(&poor, "/account/ledger").await;
    let items = ledger.data()["items"].as_array().expect("items");
    assert_eq!(items[0]["kind"], "charge");
    assert_eq!(items[0]["credits"], -5000);
    assert_eq!(items[0]["balance_after"], 0);
    assert_eq!(items[0]["task_id"], accepted.data()["task_id"]);
    assert_eq!(items[1]["kind"], "topup");
    app.worker.poll_once().await.expect("poll");
    app.finish().await;
}

#[tokio::test]
async fn quote_prices_without_charging() {
    let app = spawn_app_with(Options {
        workers: false,
        ..Options::default()
    })
    .await;
    let before = app.balance().await;
    let cases = [
        (
            json!({"model": "seedance2.0-sp", "prompt": "x", "duration": 10, "resolution": "1080p"}),
            50_000,
            "per_second",
        ),
        (
            json!({"model": "seedance2.0-mini-sp", "prompt": "x", "duration": 10}),
            5000,
            "per_task",
        ),
        (
            json!({"model": "sd2_mx_4k", "prompt": "x", "duration": 4}),
            96_000,
            "per_second",
        ),
        (
            json!({"model": "seedance2.0-std", "prompt": "x"}),
            10_000,
            "per_task",
        ),
    ];
    for (body, credits, unit) in cases {
        let quote = app.quote(&body).await;
        assert_eq!(quote.status, 200, "{body}: {:?}", quote.body);
        assert_eq!(quote.data()["credits"], credits, "{body}");
        assert_eq!(quote.data()["unit"], unit, "{body}");
    }
    let bad = app
        .quote(&json!({"model": "seedance2.0-sp", "prompt": "x", "duration": 99}))
        .await;
    assert_eq!((bad.status, bad.code()), (400, 40001));
    assert_eq!(app.balance().await, before);
    app.finish().await;
}

#[tokio::test]
async fn idempotency_key_replays_without_a_second_charge() {
    let app = spawn_app_with(Options {
        workers: false,
        ..Options::default()
    })
    .await;
    let before = app.balance().await;
    let body = text_request("seedance2.0-sp");
    let first = app.create_with_idempotency("order-42", &body).await;
    let second = app.create_with_idempotency("order-42", &body).await;
    assert_eq!(first.status, 200);
    assert_eq!(second.status, 200);
    assert_eq!(first.data()["task_id"], second.data()["task_id"]);
    assert_eq!(first.data()["created_at"], second.data()["created_at"]);
    assert_eq!(app.balance().await, before - 4000, "charged once");

    let mut other = body.clone();
    other["duration"] = json!(5);
    let conflict = app.create_with_idempotency("order-42", &other).await;
    assert_eq!((conflict.status, conflict.code()), (409, 40900));
    assert_eq!(conflict.data()["param"], "Idempotency-Key");

    let (_a, other_key) = app.new_account(100_000).await;
    let separate = answer(
        app.client
            .post(app.url("/seedance/videos"))
            .bearer_auth(&other_key)
            .header("Idempotency-Key", "order-42")
            .json(&body)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(separate.status, 200);
    assert_ne!(
        separate.data()["task_id"],
        first.data()["task_id"],
        "keys are per account"
    );

    let long = "k".repeat(256);
    let bad = app.create_with_idempotency(&long, &body).await;
    assert_eq!((bad.status, bad.code()), (400, 40001));
    assert_eq!(bad.data()["param"], "Idempotency-Key");

    // A failed validation records nothing: the key stays free.
    let invalid = app
        .create_with_idempotency("fresh", &json!({"model": "seedance2.0-sp"}))
        .await;
    assert_eq!(invalid.status, 400);
    let ok = app.create_with_idempotency("fresh", &body).await;
    assert_eq!(ok.status, 200);

    while app.worker.poll_once().await.expect("poll") == reelay::tasks::worker::PollOutcome::Started
    {
    }
    app.finish().await;
}

#[tokio::test]
async fn concurrent_creates_with_one_idempotency_key_make_one_task() {
    let app = spawn_app_with(Options {
        workers: false,
        ..Options::default()
    })
    .await;
    let before = app.balance().await;
    let body = text_request("seedance2.0-mini");
    let mut handles = Vec::new();
    for _ in 0..8 {
        let client = app.client.clone();
        let url = app.url("/seedance/videos");
        let key = app.key.clone();
        let body = body.clone();
        handles.push(tokio::spawn(async move {
            answer(
                client
                    .post(url)
                    .bearer_auth(key)
                    .header("Idempotency-Key", "same")
                    .json(&body)
                    .send()
                    .await
                    .expect("send"),
            )
            .await
        }));
    }
    let mut ids = std::collections::BTreeSet::new();
    for handle in handles {
        let answer = handle.await.expect("join");
        assert_eq!(answer.status, 200);
        ids.insert(answer.data()["task_id"].as_str().expect("id").to_string());
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(app.balance().await, before - 1600);
    app.worker.poll_once().await.expect("poll");
    app.finish().await;
}

#[tokio::test]
async fn a_task_that_fails_is_refunded_once() {
    let app = spawn_app_with(Options {
        workers: false,
        ..Options::default()
    })
    .await;
    let before = app.balance().await;
    // An image URL that answers 404 makes the local channel fail the task before rendering.
    let media = media_server(vec![]).await;
    let body = json!({
        "model": "seedance2.0-sp", "prompt": "x", "duration": 4, "resolution": "480p",
        "first_image": format!("{}/missing.png", media.base),
    });
    let created = app.create_task(&body).await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let task_id = created.data()["task_id"].as_str().expect("id").to_string();
    assert_eq!(app.balance().await, before - 4000);
    app.worker.poll_once().await.expect("poll");
    let task = app.task(&task_id).await;
    assert_eq!(task.data()["status"], "failed");
    assert_eq!(task.data()["cost"]["refunded"], true);
    let message = task.data()["error_message"].as_str().expect("message");
    assert!(message.contains("first_image"), "{message}");
    assert_eq!(app.balance().await, before);
    // The state machine refuses to fail a terminal task again, so no second refund.
    let again = reelay::tasks::state::fail(
        &app.db,
        &task_id,
        reelay::tasks::state::FailGuard::AnyLive,
        "x",
        "y",
    )
    .await
    .expect("fail");
    assert!(!again);
    assert_eq!(app.balance().await, before);
    let ledger = app.get("/account/ledger?limit=1").await;
    assert_eq!(ledger.data()["items"][0]["kind"], "refund");
    assert_eq!(ledger.data()["items"][0]["credits"], 4000);
    app.finish().await;
}
