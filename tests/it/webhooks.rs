//! Webhooks: signed with the account's secret (checked here with an independent implementation
//! of the Standard Webhooks scheme), retried after 500s with the same `webhook-id`, visible on
//! the task, and enqueued for failed (cancelled) tasks too.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::helpers::{spawn_app_with, text_request, webhook_receiver, Options};

/// The spec, written out: HMAC-SHA256 keyed with base64-decode(secret without `whsec_`) over
/// `{webhook-id}.{webhook-timestamp}.{body}`, sent as `v1,<base64>`.
fn expected_signature(secret: &str, id: &str, timestamp: &str, body: &[u8]) -> String {
    let key = STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .expect("secret is base64 after whsec_");
    let mut signed = Vec::new();
    signed.extend_from_slice(id.as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(timestamp.as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(body);
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("hmac key");
    mac.update(&signed);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("header {name} missing"))
}

fn fast_retries() -> Options {
    Options {
        workers: true,
        tweak: Box::new(|s| {
            s.webhooks.schedule_secs = vec![1];
            s.webhooks.poll_interval_ms = 100;
        }),
    }
}

#[tokio::test]
async fn completed_task_webhook_is_signed_and_retried_with_the_same_id_until_accepted() {
    let app = spawn_app_with(fast_retries()).await;
    assert_eq!(app.account().await["webhook_secret_set"], false);
    let made = app.post_empty("/account/webhook-secret").await;
    assert_eq!(made.status, 200, "{:?}", made.body);
    let secret = made.data()["secret"].as_str().expect("secret").to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(app.account().await["webhook_secret_set"], true);

    let receiver = webhook_receiver(2).await;
    let mut body = text_request("seedance2.0-sp");
    body["callback_url"] = receiver.url.clone().into();
    let created = app.create_task(&body).await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let task_id = created.data()["task_id"].as_str().expect("id").to_string();
    let done = app.wait_terminal(&task_id).await;
    assert_eq!(done["status"], "completed");

    receiver.wait_for(3, None).await;
    let calls = receiver.calls();
    let first_id = header(&calls[0].0, "webhook-id").to_string();
    assert!(first_id.starts_with("msg_"), "{first_id}");
    for (headers, body) in &calls {
        assert_eq!(
            header(headers, "webhook-id"),
            first_id,
            "stable id across retries"
        );
        let timestamp = header(headers, "webhook-timestamp");
        let sent: i64 = timestamp.parse().expect("unix seconds");
        assert!((reelay::store::now() - sent).abs() < 120);
        assert_eq!(
            header(headers, "webhook-signature"),
            expected_signature(&secret, &first_id, timestamp, body)
        );
        assert!(header(headers, "content-type").starts_with("application/json"));
        let task: Value = serde_json::from_slice(body).expect("json body");
        assert_eq!(task["task_id"], task_id.as_str());
        assert_eq!(task["status"], "completed");
        assert!(task["result"]["video_url"].is_string());
    }

    // The delivery is visible on the task once the 2xx is recorded.
    let mut webhook = Value::Null;
    for _ in 0..50 {
        webhook = app.task(&task_id).await.data()["webhook"].clone();
        if webhook["state"] == "delivered" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(webhook["state"], "delivered", "{webhook}");
    assert_eq!(webhook["attempts"], 3);
    assert_eq!(webhook["last_status"], 204);
    assert_eq!(webhook["webhook_id"], first_id.as_str());
    assert!(webhook["next_attempt_at"].is_null());
    app.finish().await;
}

#[tokio::test]
async fn cancelled_task_gets_a_webhook_and_tasks_without_callback_get_none() {
    let app = spawn_app_with(Options {
        workers: false,
        tweak: Box::new(|_| {}),
    })
    .await;
    let receiver = webhook_receiver(0).await;
    let mut body = text_request("seedance2.0-sp");
    body["callback_url"] = receiver.url.clone().into();
    let with_callback = app.create_task(&body).await.data()["task_id"]
        .as_str()
        .expect("id")
        .to_string();
    let without = app
        .create_task(&text_request("seedance2.0-sp"))
        .await
        .data()["task_id"]
        .as_str()
        .expect("id")
        .to_string();
    assert!(app.task(&with_callback).await.data()["webhook"].is_null());
    assert_eq!(app.cancel(&with_callback).await.status, 200);
    assert_eq!(app.cancel(&without).await.status, 200);

    receiver.wait_for(1, Some(&app.dispatcher)).await;
    let calls = receiver.calls();
    assert_eq!(
        calls.len(),
        1,
        "only the task with a callback_url is delivered"
    );
    // No secret set: delivered, but unsigned.
    assert!(calls[0].0.get("webhook-signature").is_none());
    let task: Value = serde_json::from_slice(&calls[0].1).expect("json");
    assert_eq!(task["status"], "failed");
    assert_eq!(task["error"]["code"], "cancelled");
    assert_eq!(
        app.task(&with_callback).await.data()["webhook"]["state"],
        "delivered"
    );
    assert!(app.task(&without).await.data()["webhook"].is_null());
    app.finish().await;
}

#[tokio::test]
async fn rotating_the_secret_signs_later_deliveries_with_the_new_one() {
    let app = spawn_app_with(Options {
        workers: false,
        tweak: Box::new(|_| {}),
    })
    .await;
    let old = app.post_empty("/account/webhook-secret").await.data()["secret"]
        .as_str()
        .expect("secret")
        .to_string();
    let new = app.post_empty("/account/webhook-secret").await.data()["secret"]
        .as_str()
        .expect("secret")
        .to_string();
    assert_ne!(old, new);
    let receiver = webhook_receiver(0).await;
    let mut body = text_request("seedance2.0-sp");
    body["callback_url"] = receiver.url.clone().into();
    let task_id = app.create_task(&body).await.data()["task_id"]
        .as_str()
        .expect("id")
        .to_string();
    app.cancel(&task_id).await;
    receiver.wait_for(1, Some(&app.dispatcher)).await;
    let (headers, body) = &receiver.calls()[0];
    let id = header(headers, "webhook-id");
    let ts = header(headers, "webhook-timestamp");
    assert_eq!(
        header(headers, "webhook-signature"),
        expected_signature(&new, id, ts, body)
    );
    assert_ne!(
        header(headers, "webhook-signature"),
        expected_signature(&old, id, ts, body)
    );
    app.finish().await;
}

#[tokio::test]
async fn a_receiver_that_keeps_failing_is_given_up_after_the_max_age() {
    let app = spawn_app_with(Options {
        workers: false,
        tweak: Box::new(|s| {
            s.webhooks.schedule_secs = vec![1];
            s.webhooks.max_age_secs = 2;
        }),
    })
    .await;
    let receiver = webhook_receiver(usize::MAX).await;
    let mut body = text_request("seedance2.0-sp");
    body["callback_url"] = receiver.url.clone().into();
    let task_id = app.create_task(&body).await.data()["task_id"]
        .as_str()
        .expect("id")
        .to_string();
    app.cancel(&task_id).await;
    let mut webhook = Value::Null;
    for _ in 0..100 {
        app.dispatcher.deliver_due().await.expect("dispatch");
        webhook = app.task(&task_id).await.data()["webhook"].clone();
        if webhook["state"] == "failed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(webhook["state"], "failed", "{webhook}");
    assert_eq!(webhook["last_status"], 500);
    assert!(webhook["attempts"].as_i64().expect("attempts") >= 2);
    assert!(webhook["next_attempt_at"].is_null());
    app.finish().await;
}

#[tokio::test]
async fn with_secrets_key_the_webhook_secret_is_sealed_at_rest_and_still_signs() {
    const KEY: &str = "test-secrets-key-0123456789abcdef-0123";
    let app = spawn_app_with(Options {
        workers: true,
        tweak: Box::new(|s| {
            s.secrets.key = Some(KEY.to_string().into());
            s.webhooks.poll_interval_ms = 100;
        }),
    })
    .await;
    let made = app.post_empty("/account/webhook-secret").await;
    let secret = made.data()["secret"].as_str().expect("secret").to_string();
    let stored: String = sqlx::query_scalar("SELECT webhook_secret FROM accounts WHERE id = $1")
        .bind(&app.account_id)
        .fetch_one(&app.db.read)
        .await
        .expect("stored");
    assert!(stored.starts_with("enc1:"), "{stored}");
    let clear_part = secret.trim_start_matches("whsec_");
    assert!(
        !stored.contains(clear_part),
        "the secret is not in the database in clear"
    );
    let signing: String =
        sqlx::query_scalar("SELECT value FROM meta WHERE name = 'url_signing_key'")
            .fetch_one(&app.db.read)
            .await
            .expect("signing key");
    assert!(signing.starts_with("enc1:"), "{signing}");

    let receiver = webhook_receiver(0).await;
    let mut body = text_request("seedance2.0-sp");
    body["callback_url"] = receiver.url.clone().into();
    let created = app.create_task(&body).await;
    let task_id = created.data()["task_id"].as_str().expect("id").to_string();
    assert_eq!(app.wait_terminal(&task_id).await["status"], "completed");
    receiver.wait_for(1, None).await;
    let calls = receiver.calls();
    let (headers, sent) = &calls[0];
    assert_eq!(
        header(headers, "webhook-signature"),
        expected_signature(
            &secret,
            header(headers, "webhook-id"),
            header(headers, "webhook-timestamp"),
            sent
        ),
        "signed with the secret opened from its sealed form"
    );
    // The result URL in the webhook, signed with the sealed signing key, serves the file.
    let task: serde_json::Value = serde_json::from_slice(sent).expect("json");
    let url = task["result"]["video_url"].as_str().expect("video_url");
    assert_eq!(app.client.get(url).send().await.expect("get").status(), 200);
    app.finish().await;
}
