//! Per-key limits (issue #9): requests per minute from `limits.default_rpm` or the key's own
//! `rpm`, tasks in flight from `limits.default_max_in_flight` or the key's own `max_in_flight`,
//! both answered 429 / 42900 with `Retry-After`; the admin route that sets a key's limits.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::*;

/// The RPM window is a fixed calendar minute: start a sequence early in one, so that the
/// sequence cannot straddle two windows (which would reset the count halfway).
async fn fresh_window() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let into = now % 60;
    if into >= 45 {
        tokio::time::sleep(Duration::from_secs(61 - into)).await;
    }
}

fn retry_after(answer: &Answer) -> u64 {
    answer
        .headers
        .get("retry-after")
        .unwrap_or_else(|| panic!("429 without Retry-After: {:?}", answer.headers))
        .to_str()
        .expect("text")
        .parse()
        .expect("Retry-After is whole seconds")
}

fn assert_rate_limited(answer: &Answer, limit_words: &str) {
    assert_eq!(
        (answer.status, answer.code()),
        (429, 42900),
        "{:?}",
        answer.body
    );
    let after = retry_after(answer);
    assert!((1..=60).contains(&after), "Retry-After {after}");
    assert!(
        answer.msg().contains(limit_words),
        "message {:?} should name the limit ({limit_words})",
        answer.msg()
    );
}

/// The key ids of an account, through the admin API (which does not count toward any key's RPM).
async fn key_ids(app: &TestApp, account_id: &str) -> Vec<String> {
    let shown = app.admin_get(&format!("/accounts/{account_id}")).await;
    assert_eq!(shown.status, 200, "{:?}", shown.body);
    shown.data()["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["key_id"].as_str().expect("key_id").to_string())
        .collect()
}

#[tokio::test]
async fn the_default_rpm_refuses_the_request_over_it_with_retry_after() {
    let app = spawn_app_with(with_admin(|s| s.limits.default_rpm = Some(5))).await;
    let (_other, other_key) = app.new_account(1_000).await;
    fresh_window().await;
    for n in 1..=5 {
        let ok = app.get("/account").await;
        assert_eq!(ok.status, 200, "request {n}: {:?}", ok.body);
    }
    let refused = app.get("/account").await;
    assert_rate_limited(&refused, "5 requests per minute");
    assert_eq!(refused.body["data"], Value::Null);
    // Every authenticated route counts, not only /account.
    let refused = app.get("/videos").await;
    assert_rate_limited(&refused, "5 requests per minute");
    // Another key has its own window.
    for _ in 0..5 {
        let ok = app.get_as(&other_key, "/account").await;
        assert_eq!(ok.status, 200, "{:?}", ok.body);
    }
    assert_rate_limited(
        &app.get_as(&other_key, "/models").await,
        "5 requests per minute",
    );
    // A wrong key is a 401, never a 429, and it does not use up anyone's budget.
    let wrong = app.get_as("sk_wrong_wrong", "/account").await;
    assert_eq!((wrong.status, wrong.code()), (401, 40100));
    app.finish().await;
}

#[tokio::test]
async fn a_keys_own_rpm_is_set_and_cleared_through_the_admin_api_and_audited() {
    let app = spawn_app_with(with_admin(|s| s.limits.default_rpm = Some(2))).await;
    let keys = key_ids(&app, &app.account_id).await;
    let key_id = keys[0].clone();
    let path = format!("/keys/{key_id}/limits");

    // Validation names the field.
    for (body, param) in [
        (json!({"rpm": "ten"}), "rpm"),
        (json!({"rpm": 0}), "rpm"),
        (json!({"rpm": -3}), "rpm"),
        (json!({"rpm": 2.5}), "rpm"),
        (json!({"max_in_flight": true}), "max_in_flight"),
        (json!({"max_in_flight": 0}), "max_in_flight"),
        (json!({"rpm": 3, "burst": 10}), "burst"),
    ] {
        let refused = app.admin_post(&path, &body).await;
        assert_eq!(
            (refused.status, refused.code()),
            (400, 40001),
            "{body}: {:?}",
            refused.body
        );
        assert_eq!(refused.data()["param"], param, "{body}");
        assert!(refused.msg().contains(param), "{body}: {}", refused.msg());
    }
    let missing = app
        .admin_post("/keys/key_doesnotexist/limits", &json!({"rpm": 3}))
        .await;
    assert_eq!(
        (missing.status, missing.code()),
        (404, 40400),
        "{:?}",
        missing.body
    );

    // The key's own limit overrides the default (2).
    let set = app.admin_post(&path, &json!({"rpm": 4})).await;
    assert_eq!(set.status, 200, "{:?}", set.body);
    assert_eq!(set.data()["rpm"], 4);
    assert_eq!(set.data()["max_in_flight"], Value::Null);
    fresh_window().await;
    for n in 1..=4 {
        let ok = app.get("/account").await;
        assert_eq!(ok.status, 200, "request {n}: {:?}", ok.body);
    }
    assert_rate_limited(&app.get("/account").await, "4 requests per minute");

    // null goes back to the server default, which this window has long used up.
    let cleared = app.admin_post(&path, &json!({"rpm": null})).await;
    assert_eq!(cleared.status, 200, "{:?}", cleared.body);
    assert_eq!(cleared.data()["rpm"], Value::Null);
    assert_rate_limited(&app.get("/account").await, "2 requests per minute");
    // An absent field is unchanged.
    let other_field = app.admin_post(&path, &json!({"max_in_flight": 7})).await;
    assert_eq!(other_field.data()["rpm"], Value::Null);
    assert_eq!(other_field.data()["max_in_flight"], 7);

    // Every change is in the audit trail, with its actor and target.
    let audit = app.admin_get("/audit").await;
    assert_eq!(audit.status, 200, "{:?}", audit.body);
    let limits: Vec<&Value> = audit.data()["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|a| a["action"] == "key.limits")
        .collect();
    assert_eq!(limits.len(), 3, "{:?}", audit.body);
    for action in &limits {
        assert_eq!(action["target"], key_id.as_str());
        assert_eq!(action["actor"], "admin:alice");
    }
    app.finish().await;
}

/// Creates sent at once share the group commit's transactions: the limit still admits exactly
/// as many as it allows, and the rest are refused without a charge.
#[tokio::test]
async fn a_burst_of_creates_gets_exactly_the_in_flight_limit() {
    let app = spawn_app_with(Options {
        workers: false,
        tweak: Box::new(|s| s.limits.default_max_in_flight = Some(5)),
    })
    .await;
    let before = app.balance().await;
    let body = text_request("seedance2.0-sp");
    let handles: Vec<_> = (0..24).map(|_| app.spawn_create(&body, None)).collect();
    let mut accepted = Vec::new();
    let mut refused = 0;
    for handle in handles {
        let answer = handle.await.expect("join");
        if answer.status == 200 {
            accepted.push(answer.data()["task_id"].as_str().expect("id").to_string());
        } else {
            assert_rate_limited(&answer, "5 tasks queued or processing");
            refused += 1;
        }
    }
    assert_eq!((accepted.len(), refused), (5, 19));
    assert_eq!(
        app.balance().await,
        before - 5 * 4000,
        "only the admitted are charged"
    );
    let listed = app.get("/videos").await.data()["items"]
        .as_array()
        .expect("items")
        .len();
    assert_eq!(listed, 5);
    for id in &accepted {
        let cancelled = app.cancel(id).await;
        assert_eq!(cancelled.status, 200, "{:?}", cancelled.body);
    }
    app.finish().await;
}

#[tokio::test]
async fn max_in_flight_refuses_a_create_without_charging_until_a_task_ends() {
    let admin = with_admin(|s| s.limits.default_max_in_flight = Some(2));
    let app = spawn_app_with(Options {
        workers: false,
        tweak: admin.tweak,
    })
    .await;
    let body = text_request("seedance2.0-sp");
    let mut queued = Vec::new();
    for _ in 0..2 {
        let created = app.create_task(&body).await;
        assert_eq!(created.status, 200, "{:?}", created.body);
        queued.push(created.data()["task_id"].as_str().expect("id").to_string());
    }
    let balance = app.balance().await;
    let tasks_before = app.get("/videos").await.data()["items"]
        .as_array()
        .expect("items")
        .len();
    let refused = app.create_task(&body).await;
    assert_rate_limited(&refused, "2 tasks queued or processing");
    // The refused create charged nothing and left no task behind.
    assert_eq!(app.balance().await, balance);
    let tasks_after = app.get("/videos").await.data()["items"]
        .as_array()
        .expect("items")
        .len();
    assert_eq!(tasks_after, tasks_before);

    // Another key of the same account has its own count; its own limit overrides the default.
    let made = app
        .admin_post(
            &format!("/accounts/{}/keys", app.account_id),
            &json!({"name": "second"}),
        )
        .await;
    assert_eq!(made.status, 200, "{:?}", made.body);
    let second_key = made.data()["secret"].as_str().expect("secret").to_string();
    let second_id = made.data()["key_id"].as_str().expect("key_id").to_string();
    let set = app
        .admin_post(
            &format!("/keys/{second_id}/limits"),
            &json!({"max_in_flight": 1}),
        )
        .await;
    assert_eq!(set.status, 200, "{:?}", set.body);
    let created = app.create_task_with_key(&second_key, &body).await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    queued.push(created.data()["task_id"].as_str().expect("id").to_string());
    assert_rate_limited(
        &app.create_task_with_key(&second_key, &body).await,
        "1 tasks queued or processing",
    );

    // Cancelling one of the first key's tasks frees a place.
    let cancelled = app.cancel(&queued.remove(0)).await;
    assert_eq!(cancelled.status, 200, "{:?}", cancelled.body);
    let created = app.create_task(&body).await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    queued.push(created.data()["task_id"].as_str().expect("id").to_string());
    assert_rate_limited(
        &app.create_task(&body).await,
        "2 tasks queued or processing",
    );

    for id in &queued {
        let cancelled = app.cancel(id).await;
        assert_eq!(cancelled.status, 200, "{:?}", cancelled.body);
    }
    app.finish().await;
}
