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

    app.run_queued_tasks().await;
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
    let handles: Vec<_> = (0..8)
        .map(|_| app.spawn_create(&body, Some("same")))
        .collect();
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

/// A burst mixing fresh keys, repeats of them (same body: replays; other body: 409) and creates
/// without a key, all at once: one task and one charge per key, as if sent one by one.
#[tokio::test]
async fn a_burst_of_keyed_creates_replays_and_conflicts_as_one_by_one() {
    let app = spawn_app_with(Options {
        workers: false,
        ..Options::default()
    })
    .await;
    let before = app.balance().await;
    let body = text_request("seedance2.0-mini");
    let mut other = body.clone();
    other["duration"] = json!(5);
    let mut handles = Vec::new();
    for round in 0..3 {
        for n in 0..8 {
            // Key k0..k7 three times each; the third send of k0..k3 changes the body.
            let (key, body) = match (round, n) {
                (2, n) if n < 4 => (Some(format!("k{n}")), other.clone()),
                (_, n) => (Some(format!("k{n}")), body.clone()),
            };
            handles.push((key, body));
        }
        handles.push((None, body.clone()));
    }
    let sent: Vec<_> = handles
        .into_iter()
        .map(|(key, body)| {
            let answer = app.spawn_create(&body, key.as_deref());
            (key, answer)
        })
        .collect();
    let mut by_key: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    let mut unkeyed = 0;
    let mut conflicts: std::collections::BTreeMap<String, usize> = Default::default();
    for (key, handle) in sent {
        let answer = handle.await.expect("join");
        match key {
            None => {
                assert_eq!(answer.status, 200, "{:?}", answer.body);
                unkeyed += 1;
            }
            Some(key) if answer.status == 409 => {
                assert_eq!(answer.code(), 40900);
                *conflicts.entry(key).or_default() += 1;
            }
            Some(key) => {
                assert_eq!(answer.status, 200, "{:?}", answer.body);
                let id = answer.data()["task_id"].as_str().expect("id").to_string();
                by_key.entry(key).or_default().insert(id);
            }
        }
    }
    assert_eq!(unkeyed, 3);
    assert_eq!(by_key.len(), 8);
    assert!(
        by_key.values().all(|ids| ids.len() == 1),
        "one task per key: {by_key:?}"
    );
    // k0..k3 got two bodies: the one that came second conflicts (1 conflict when the changed
    // body came last, 2 when it came first and made the task); k4..k7 never conflict.
    for n in 0..8 {
        let count = conflicts.get(&format!("k{n}")).copied().unwrap_or(0);
        if n < 4 {
            assert!(count == 1 || count == 2, "k{n}: {count} conflicts");
        } else {
            assert_eq!(count, 0, "k{n}: one body only");
        }
    }
    let listed = app.get("/videos?page_size=100").await;
    let tasks = listed.data()["items"].as_array().expect("items");
    assert_eq!(tasks.len(), 8 + 3);
    // 1,600 credits for 4 s, 2,000 for the changed body's 5 s when it came first.
    let prices: i64 = tasks
        .iter()
        .map(|t| t["cost"]["credits"].as_i64().expect("credits"))
        .sum();
    assert!(
        (11 * 1600..=11 * 1600 + 4 * 400).contains(&prices),
        "{prices}"
    );
    assert_eq!(
        app.balance().await,
        before - prices,
        "charged once per task"
    );
    app.run_queued_tasks().await;
    app.finish().await;
}

#[tokio::test]
async fn idempotency_records_are_pruned_after_their_window() {
    let app = spawn_app_with(Options {
        workers: false,
        ..Options::default()
    })
    .await;
    let body = text_request("seedance2.0-mini");
    let old = app.create_with_idempotency("old", &body).await;
    let recent = app.create_with_idempotency("recent", &body).await;
    assert_eq!((old.status, recent.status), (200, 200));
    assert_eq!(app.sweeper.sweep_idempotency().await.expect("sweep"), 0);
    sqlx::query("UPDATE idempotency SET created_at = created_at - 86401 WHERE idem_key = 'old'")
        .execute(&app.db.write)
        .await
        .expect("age");
    assert_eq!(app.sweeper.sweep_idempotency().await.expect("sweep"), 1);
    let keys: Vec<String> = sqlx::query_scalar("SELECT idem_key FROM idempotency")
        .fetch_all(&app.db.read)
        .await
        .expect("keys");
    assert_eq!(keys, vec!["recent".to_string()]);
    // A key past its window makes a new task; one inside it still replays.
    let again = app.create_with_idempotency("old", &body).await;
    assert_eq!(again.status, 200);
    assert_ne!(again.data()["task_id"], old.data()["task_id"]);
    let replay = app.create_with_idempotency("recent", &body).await;
    assert_eq!(replay.data()["task_id"], recent.data()["task_id"]);
    app.run_queued_tasks().await;
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
        reelay::tasks::state::Holder::AnyLive,
        &reelay::providers::TaskFailure::new("x", "y"),
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

/// Creates racing on one account go through the group commit (several per transaction): the
/// balance covers exactly 7 of 20, so exactly 7 are accepted and charged, the other 13 get
/// 40200 with nothing written, and every accepted task has its own charge row.
#[tokio::test]
async fn concurrent_creates_are_charged_exactly_and_refused_exactly_when_short() {
    let app = spawn_app_with(Options {
        workers: false,
        ..Options::default()
    })
    .await;
    let (_account, key) = app.new_account(7 * 5000).await;
    let cheap =
        json!({"model": "seedance2.0-sp", "prompt": "x", "duration": 5, "resolution": "480p"}); // 5000
    let answers =
        futures::future::join_all((0..20).map(|_| app.create_task_with_key(&key, &cheap))).await;
    let accepted: Vec<_> = answers.iter().filter(|a| a.status == 200).collect();
    let refused: Vec<_> = answers
        .iter()
        .filter(|a| (a.status, a.code()) == (402, 40200))
        .collect();
    assert_eq!((accepted.len(), refused.len()), (7, 13), "{answers:?}");
    let account = app.get_as(&key, "/account").await;
    assert_eq!(account.data()["balance"], 0);
    assert_eq!(account.data()["spent_total"], 7 * 5000);
    let ledger = app.get_as(&key, "/account/ledger").await;
    let charges: Vec<_> = ledger.data()["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["kind"] == "charge")
        .collect();
    assert_eq!(charges.len(), 7);
    let mut ids: Vec<_> = accepted
        .iter()
        .map(|a| a.data()["task_id"].as_str().expect("id").to_string())
        .collect();
    let mut charged: Vec<_> = charges
        .iter()
        .map(|e| e["task_id"].as_str().expect("task").to_string())
        .collect();
    ids.sort();
    charged.sort();
    assert_eq!(
        ids, charged,
        "each accepted task has exactly its own charge"
    );
    // Running balances are consistent: newest first, each 5000 above the next.
    for pair in charges.windows(2) {
        assert_eq!(
            pair[1]["balance_after"].as_i64().expect("n")
                - pair[0]["balance_after"].as_i64().expect("n"),
            5000
        );
    }
    for answer in &accepted {
        let id = answer.data()["task_id"].as_str().expect("id");
        assert_eq!(
            app.task(id).await.status,
            404,
            "another account's task is invisible"
        );
        assert_eq!(app.get_as(&key, &format!("/videos/{id}")).await.status, 200);
        let cancelled = app
            .post_json_as(&key, &format!("/videos/{id}/cancel"), &json!({}))
            .await;
        assert_eq!(cancelled.status, 200, "{:?}", cancelled.body);
    }
    app.finish().await;
}

/// The group commit itself: 20 creates queued before its writer runs form one batch. With a
/// balance for all of them, one transaction charges all 20; with a balance for 7, the batch
/// falls back to one create at a time and exactly 7 pass, in queue order.
#[tokio::test]
async fn one_batch_charges_each_create_or_falls_back_when_the_balance_is_short() {
    let app = spawn_app_with(Options {
        workers: false,
        ..Options::default()
    })
    .await;
    let request = five_seconds_at_5000();
    assert_eq!(request.price.credits, 5000);
    let creates = reelay::tasks::accept::Creates::start(app.db.clone());
    for (credits, expect_ok) in [(20 * 5000, 20), (7 * 5000, 7)] {
        let (account, key) = app.new_account(credits).await;
        let key_id = key_id_of(&app, &account).await;
        let creator = reelay::tasks::accept::Creator {
            account_id: &account,
            key_id: &key_id,
            max_in_flight: None,
            client: None,
            start_within: None,
        };
        let results =
            futures::future::join_all((0..20).map(|_| creates.accept(creator, &request, None)))
                .await;
        let ok = results.iter().filter(|r| r.is_ok()).count();
        let short = results
            .iter()
            .filter(|r| {
                matches!(
                    r,
                    Err(reelay::tasks::accept::CreateError::Insufficient { .. })
                )
            })
            .count();
        assert_eq!((ok, short), (expect_ok, 20 - expect_ok), "{results:?}");
        assert!(
            results[..expect_ok].iter().all(|r| r.is_ok()),
            "the first ones in the queue are the ones that pass"
        );
        let balance: i64 = sqlx::query_scalar("SELECT balance FROM accounts WHERE id = $1")
            .bind(&account)
            .fetch_one(&app.db.read)
            .await
            .expect("balance");
        assert_eq!(balance, 0);
        for accepted in results.iter().flatten() {
            let id = &accepted.task_id;
            let cancelled = app
                .post_json_as(&key, &format!("/videos/{id}/cancel"), &json!({}))
                .await;
            assert_eq!(cancelled.status, 200, "{:?}", cancelled.body);
        }
    }
    app.finish().await;
}

/// The group commit itself, with every create queued before the writer runs: repeats of one
/// `Idempotency-Key` replay the first create's task, and a key's in-flight limit admits the
/// first creates in queue order and refuses the rest — the answers of the one-create path.
#[tokio::test]
async fn one_batch_keeps_idempotency_and_in_flight_limits() {
    let app = spawn_app_with(Options {
        workers: false,
        ..Options::default()
    })
    .await;
    let request = five_seconds_at_5000();
    let creates = reelay::tasks::accept::Creates::start(app.db.clone());
    let (account, key) = app.new_account(100 * 5000).await;
    let key_id = key_id_of(&app, &account).await;
    let plain = reelay::tasks::accept::Creator {
        account_id: &account,
        key_id: &key_id,
        max_in_flight: None,
        client: None,
        start_within: None,
    };
    let idem = |n: usize| reelay::tasks::accept::Idempotency {
        key: if n % 2 == 0 { "even" } else { "odd" },
        body_hash: "h",
    };
    let results =
        futures::future::join_all((0..10).map(|n| creates.accept(plain, &request, Some(idem(n)))))
            .await;
    let first: Vec<&reelay::tasks::accept::Accepted> = results
        .iter()
        .map(|r| r.as_ref().expect("accepted"))
        .collect();
    assert!(!first[0].replayed && !first[1].replayed, "{first:?}");
    for (n, accepted) in first.iter().enumerate().skip(2) {
        assert!(accepted.replayed, "{n}: {accepted:?}");
        assert_eq!(accepted.task_id, first[n % 2].task_id);
    }
    let conflict = creates
        .accept(
            plain,
            &request,
            Some(reelay::tasks::accept::Idempotency {
                key: "even",
                body_hash: "other",
            }),
        )
        .await;
    assert!(
        matches!(
            conflict,
            Err(reelay::tasks::accept::CreateError::IdempotencyConflict)
        ),
        "{conflict:?}"
    );

    // Two tasks are in flight (the two keyed ones); a limit of 5 admits 3 more.
    let limited = reelay::tasks::accept::Creator {
        max_in_flight: Some(5),
        ..plain
    };
    let results =
        futures::future::join_all((0..8).map(|_| creates.accept(limited, &request, None))).await;
    assert!(results[..3].iter().all(|r| r.is_ok()), "{results:?}");
    assert!(
        results[3..].iter().all(|r| matches!(
            r,
            Err(reelay::tasks::accept::CreateError::TooManyInFlight { limit: 5 })
        )),
        "{results:?}"
    );
    let balance: i64 = sqlx::query_scalar("SELECT balance FROM accounts WHERE id = $1")
        .bind(&account)
        .fetch_one(&app.db.read)
        .await
        .expect("balance");
    assert_eq!(balance, 95 * 5000, "five tasks charged");
    let live: Vec<String> =
        sqlx::query_scalar("SELECT id FROM tasks WHERE account_id = $1 AND status = 'queued'")
            .bind(&account)
            .fetch_all(&app.db.read)
            .await
            .expect("tasks");
    assert_eq!(live.len(), 5);
    for id in live {
        let cancelled = app
            .post_json_as(&key, &format!("/videos/{id}/cancel"), &json!({}))
            .await;
        assert_eq!(cancelled.status, 200, "{:?}", cancelled.body);
    }
    app.finish().await;
}

/// A validated seedance2.0-sp request of 5 s at 480p: 5,000 credits (for the group-commit tests,
/// which call `Creates` directly).
fn five_seconds_at_5000() -> reelay_catalog::ValidatedRequest {
    let request = reelay_catalog::Catalog::embedded()
        .validate(
            &json!({"model": "seedance2.0-sp", "prompt": "x", "duration": 5, "resolution": "480p"}),
            &reelay_catalog::ValidateOptions::default(),
        )
        .expect("valid");
    assert_eq!(request.price.credits, 5000);
    request
}

/// The id of an account's only key.
async fn key_id_of(app: &TestApp, account_id: &str) -> String {
    sqlx::query_scalar("SELECT id FROM api_keys WHERE account_id = $1")
        .bind(account_id)
        .fetch_one(&app.db.read)
        .await
        .expect("key")
}
