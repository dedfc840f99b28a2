//! Every answer of the API reads back as its wire type (`reelay::wire`) and writes the same
//! bytes: the wire types declare every member the handlers write, absent and `null` members
//! included, in the order the handlers write them. Two stories drive each route once (the public
//! API; assets, real-person records and the admin API); `helpers::answer` also checks that every
//! answer is written in member-name order, as the `json!` maps the handlers used to build did.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;

use reelay::wire::admin::{
    AdminAccountCreated, AdminAccountDetail, AdminAccountPage, AdminBalance, AdminKey,
    AdminKeyCreated, AdminKeyRevoked, AuditList, ChannelList, ChannelSwitched, ReviewItem,
    ReviewList,
};
use reelay::wire::envelope::{Envelope, ErrorBody, SuccessCode};
use reelay::wire::ops::{Health, Readiness};
use reelay::wire::seed::{
    AccountKey, AccountKeyCreated, AccountKeyList, AccountView, AssetAccepted, AssetDeleted,
    AssetDetail, AssetStatusList, LedgerPage, ModelList, Quote, RealPersonList, RealPersonRecord,
    Task, TaskCreated, TaskPage, WebhookSecret,
};

use crate::helpers::*;

/// `text` (a body as sent) reads as `T`, which writes the same bytes back.
fn reads_back<T: DeserializeOwned + Serialize>(text: &str) -> T {
    let value: T = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(serde_json::to_string(&value).expect("write"), text);
    value
}

/// The `data` of a success answer as its wire type (the whole envelope read back as in
/// [`reads_back`]).
fn data<T: DeserializeOwned + Serialize>(answer: &Answer) -> T {
    assert_eq!(answer.status, 200, "{}", answer.text);
    let envelope: Envelope<T> = reads_back(&answer.text);
    assert_eq!(envelope.code, SuccessCode::Zero);
    envelope.data
}

/// An error answer as the wire's error body.
fn error(answer: &Answer, code: i64) -> ErrorBody {
    let body: ErrorBody = reads_back(&answer.text);
    assert_eq!(body.code, code, "{}", answer.text);
    body
}

async fn raw_get(app: &TestApp, path: &str) -> String {
    app.client
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .expect("send")
        .text()
        .await
        .expect("body")
}

#[tokio::test]
async fn the_public_api_answers_are_its_wire_types_byte_for_byte() {
    let app = spawn_app_with(Options {
        workers: false,
        ..Options::default()
    })
    .await;
    let health: Health = reads_back(&raw_get(&app, "/healthz").await);
    assert_eq!(health.status, "ok");
    let ready: Readiness = reads_back(&raw_get(&app, "/readyz").await);
    assert_eq!(ready.status, "ready");

    let quote: Quote = data(&app.quote(&text_request("seedance2.0-sp")).await);
    assert!(quote.credits > 0);
    let models: ModelList = data(&app.get("/models").await);
    assert!(models.items.iter().any(|m| m.model == "seedance2.0-sp"));
    let secret: WebhookSecret = data(&app.post_empty("/account/webhook-secret").await);
    assert!(secret.secret.starts_with("whsec_"));

    // A task with a callback (completed, its webhook delivered), one without (cancelled while
    // queued), and one left queued.
    let receiver = webhook_receiver(0).await;
    let mut body = text_request("seedance2.0-sp");
    body["callback_url"] = receiver.url.clone().into();
    let hooked: TaskCreated = data(&app.create_task(&body).await);
    assert_eq!(hooked.cost.credits, quote.credits);
    let plain: TaskCreated = data(&app.create_task(&text_request("seedance2.0-sp")).await);
    let cancelled: Task = data(&app.cancel(&plain.task_id).await);
    assert_eq!(cancelled.status, "failed");
    assert!(
        cancelled.webhook.is_none(),
        "a cancel has no webhook member"
    );
    app.worker.poll_once().await.expect("poll");
    let queued: TaskCreated = data(&app.create_task(&text_request("seedance2.0-sp")).await);

    let done: Task = data(&app.task(&hooked.task_id).await);
    assert_eq!(done.status, "completed");
    assert!(done.result.is_some());
    assert!(matches!(done.webhook, Some(Some(_))), "{done:?}");
    receiver.wait_for(1, Some(&app.dispatcher)).await;
    for (_, sent) in receiver.calls() {
        let sent: Task = reads_back(&String::from_utf8_lossy(&sent));
        assert!(
            sent.webhook.is_none(),
            "a webhook body has no webhook member"
        );
    }
    let delivered: Task = data(&app.task(&hooked.task_id).await);
    assert!(matches!(&delivered.webhook, Some(Some(d)) if d.state == "delivered"));
    let failed: Task = data(&app.task(&plain.task_id).await);
    assert_eq!(failed.webhook.map(|w| w.is_none()), Some(true), "null");
    let waiting: Task = data(&app.task(&queued.task_id).await);
    assert_eq!((waiting.status.as_str(), waiting.progress), ("queued", 0));

    let page: TaskPage = data(&app.get("/videos?limit=2").await);
    assert_eq!(page.items.len(), 2);
    assert!(page.next_cursor.is_some());
    assert!(page.items.iter().all(|task| task.webhook.is_none()));
    let rest: TaskPage = data(
        &app.get(&format!(
            "/videos?cursor={}",
            page.next_cursor.as_deref().unwrap_or("")
        ))
        .await,
    );
    assert_eq!(rest.items.len(), 1);
    assert!(rest.next_cursor.is_none());

    for task_id in [&hooked.task_id, &plain.task_id, &queued.task_id] {
        let (status, mut events) = app.open_events(task_id, None).await;
        assert_eq!(status, 200);
        let event = events.recv().await.expect("an event");
        let task: Task = reads_back(&event.data);
        assert_eq!(&task.task_id, task_id);
    }

    let account: AccountView = data(&app.get("/account").await);
    assert!(account.webhook_secret_set);
    let ledger: LedgerPage = data(&app.get("/account/ledger?limit=2").await);
    assert_eq!(ledger.items.len(), 2);
    assert!(ledger.next_cursor.is_some());
    let ledger: LedgerPage = data(&app.get("/account/ledger").await);
    assert!(ledger.next_cursor.is_none());
    assert!(ledger.items.iter().any(|e| e.kind == "refund"));
    let made: AccountKeyCreated = data(
        &app.post_json_as(&app.key, "/account/keys", &json!({"name": "ci"}))
            .await,
    );
    let keys: AccountKeyList = data(&app.get("/account/keys").await);
    assert_eq!(keys.items.len(), 2);
    let revoked: AccountKey = data(
        &app.post_empty(&format!("/account/keys/{}/revoke", made.key_id))
            .await,
    );
    assert!(revoked.revoked_at.is_some());

    let missing = error(&app.task("vid_nope").await, 40400);
    assert!(missing.data.is_none());
    let mut bad = text_request("seedance2.0-sp");
    bad["duration"] = json!(99);
    let refused = error(&app.quote(&bad).await, 40001);
    assert_eq!(refused.data.map(|d| d.param).as_deref(), Some("duration"));

    app.worker.poll_once().await.expect("poll");
    app.finish().await;
}

#[tokio::test]
async fn the_asset_real_person_and_admin_answers_are_their_wire_types_byte_for_byte() {
    let app = spawn_app_with(with_admin(|_| {})).await;
    let media = media_server(vec![("face.png", png(600, 800, [180, 140, 120]))]).await;
    let url = format!("{}/face.png", media.base);
    let part = |name: &'static str| FilePart {
        name,
        kind: "image",
        file_name: "face.png",
        bytes: png(600, 800, [180, 140, 120]),
    };

    // The library: bytes (final status at once) and a URL (fetched in the background).
    let answer = app.upload_asset_file(part("bytes")).await;
    let stored: AssetAccepted = data(&answer);
    assert_eq!(stored.status, "Active");
    assert!(!answer.text.contains("\"reason\"") && !answer.text.contains("\"review\""));
    let fetched: AssetAccepted = data(&app.upload_asset_url(&app.key, "image", &url).await);
    assert_eq!(fetched.status, "Processing");
    app.wait_asset(&fetched.asset_id).await;
    let answer = app.asset_detail_as(&app.key, &stored.asset_id).await;
    let detail: AssetDetail = data(&answer);
    assert_eq!((detail.width, detail.height), (Some(600), Some(800)));
    assert!(!answer.text.contains("\"review"), "{}", answer.text);
    let sound: AssetAccepted = data(
        &app.upload_asset_file(FilePart {
            name: "sound",
            kind: "audio",
            file_name: "sound.wav",
            bytes: wav(3),
        })
        .await,
    );
    let answer = app.asset_detail_as(&app.key, &sound.asset_id).await;
    let sound: AssetDetail = data(&answer);
    assert_eq!(sound.duration, Some(3.0));
    assert!(!answer.text.contains("\"width\"") && !answer.text.contains("\"height\""));
    let statuses: AssetStatusList = data(
        &app.asset_status_as(&app.key, &[&stored.asset_id, &fetched.asset_id])
            .await,
    );
    assert_eq!(statuses.items.len(), 2);

    // The Full-route audit (auto policy): reviewed members present.
    let audited: AssetAccepted = data(
        &app.upload_multipart(&app.key, "/seedance/assets/audit", part("audited"))
            .await,
    );
    assert!(audited.review.is_some(), "{audited:?}");
    let audited_detail: AssetDetail = data(&app.asset_detail_as(&app.key, &audited.asset_id).await);
    assert!(audited_detail.review.is_some());
    assert!(audited_detail.reviewed_at.is_some() && audited_detail.reviewed_by.is_some());
    let audit_statuses: AssetStatusList = data(&app.audit_status(&[&audited.asset_id]).await);
    assert!(audit_statuses.items[0].review.is_some());
    let deleted: AssetDeleted = data(
        &app.post_json_as(
            &app.key,
            "/seedance/sp/assets/delete",
            &json!({"asset_id": fetched.asset_id}),
        )
        .await,
    );
    assert!(deleted.deleted);

    // Real-person records (manual policy): pending until an operator decides.
    let ada: RealPersonRecord = data(
        &app.upload_multipart(&app.key, "/seedance/sp/realperson/submit", part("Ada"))
            .await,
    );
    let bob: RealPersonRecord = data(&app.realperson_submit("Bob", &url).await);
    assert_eq!(bob.status, "Processing");
    app.wait_asset(&bob.asset_id).await;
    let answer = app.admin_get("/reviews?purpose=realperson").await;
    let pending: ReviewList = data(&answer);
    assert_eq!(pending.items.len(), 2);
    assert_eq!(answer.text.matches("\"reviewed_by\":null").count(), 2);
    assert!(pending
        .items
        .iter()
        .all(|item| item.reviewed_by == Some(None) && item.preview_url.is_some()));
    let approved: ReviewItem = data(
        &app.admin_post(&format!("/reviews/{}/approve", ada.asset_id), &json!({}))
            .await,
    );
    assert_eq!(approved.status, "Active");
    let rejected: ReviewItem = data(
        &app.admin_post(
            &format!("/reviews/{}/reject", bob.asset_id),
            &json!({"reason": "not a person"}),
        )
        .await,
    );
    assert_eq!(rejected.status, "Failed");
    let ada: RealPersonRecord = data(&app.realperson_status_as(&app.key, &ada.asset_id).await);
    assert!(ada.asset_ref.is_some());
    let both: RealPersonList = data(
        &app.realperson_batch_status(&[&ada.asset_id, &bob.asset_id])
            .await,
    );
    assert_eq!(both.items.len(), 2);

    // Accounts, keys and credits.
    let created: AdminAccountCreated = data(
        &app.admin_post("/accounts", &json!({"name": "beta", "credits": 500}))
            .await,
    );
    assert_eq!(created.balance, 500);
    let page: AdminAccountPage = data(&app.admin_get("/accounts?limit=1").await);
    assert!(page.next_cursor.is_some());
    let topped: AdminBalance = data(
        &app.admin_post(
            &format!("/accounts/{}/credits", created.account_id),
            &json!({"credits": 100, "note": "thanks"}),
        )
        .await,
    );
    assert_eq!(topped.balance, 600);
    let key: AdminKeyCreated = data(
        &app.admin_post(
            &format!("/accounts/{}/keys", created.account_id),
            &json!({"name": "second"}),
        )
        .await,
    );
    let limited: AdminKey = data(
        &app.admin_post(
            &format!("/keys/{}/limits", key.key_id),
            &json!({"rpm": 60, "max_in_flight": null}),
        )
        .await,
    );
    assert_eq!((limited.rpm, limited.max_in_flight), (Some(60), None));
    let revoked: AdminKeyRevoked = data(
        &app.admin_post(&format!("/keys/{}/revoke", key.key_id), &json!({}))
            .await,
    );
    assert!(revoked.revoked);
    let account: AdminAccountDetail = data(
        &app.admin_get(&format!("/accounts/{}", created.account_id))
            .await,
    );
    assert_eq!(account.keys.len(), 2);

    // Channels and the audit trail.
    let channels: ChannelList = data(&app.admin_get("/channels").await);
    let name = channels.items[0].name.clone();
    let paused: ChannelSwitched = data(
        &app.admin_post(&format!("/channels/{name}/pause"), &json!({}))
            .await,
    );
    assert!(paused.paused && paused.health.paused);
    let resumed: ChannelSwitched = data(
        &app.admin_post(&format!("/channels/{name}/resume"), &json!({}))
            .await,
    );
    assert!(!resumed.paused);
    let trail: AuditList = data(&app.admin_get("/audit").await);
    assert!(trail.items.iter().any(|a| a.action == "channel.pause"));
    app.finish().await;
}
