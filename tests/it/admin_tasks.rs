//! The operator's task log: every account's tasks with filters and cursors, any task by id, and
//! fail-and-refund of a stuck one (audited); an ended task cannot be failed again.

use serde_json::json;

use crate::helpers::*;

fn no_workers_admin() -> Options {
    let mut options = with_admin(|_| {});
    options.workers = false;
    options
}

#[tokio::test]
async fn an_operator_lists_every_accounts_tasks_and_fails_a_stuck_one_with_a_refund() {
    let app = spawn_app_with(no_workers_admin()).await;
    let (other_account, other_key) = app.new_account(100_000).await;
    let mine = app.create_task(&text_request("seedance2.0-sp")).await;
    let mine = mine.data()["task_id"].as_str().expect("id").to_string();
    let theirs = app
        .create_task_with_key(&other_key, &text_request("seedance2.0-sp"))
        .await;
    let theirs = theirs.data()["task_id"].as_str().expect("id").to_string();

    // Both accounts' tasks, newest first, one per page with a cursor.
    let first = app.admin_get("/tasks?limit=1").await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(first.data()["items"][0]["task"]["task_id"], json!(theirs));
    assert_eq!(first.data()["items"][0]["account_id"], json!(other_account));
    assert_eq!(first.data()["items"][0]["hidden"], false);
    let cursor = first.data()["next_cursor"]
        .as_str()
        .expect("cursor")
        .to_string();
    let second = app
        .admin_get(&format!("/tasks?limit=1&cursor={cursor}"))
        .await;
    assert_eq!(second.data()["items"][0]["task"]["task_id"], json!(mine));
    let filtered = app
        .admin_get(&format!("/tasks?account_id={other_account}&status=queued"))
        .await;
    let items = filtered.data()["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["task"]["task_id"], json!(theirs));
    let bad = app.admin_get("/tasks?status=stuck").await;
    assert_eq!((bad.status, bad.code()), (400, 40001));
    let one = app.admin_get(&format!("/tasks/{theirs}")).await;
    assert_eq!(one.data()["account_id"], json!(other_account));
    assert_eq!(app.admin_get("/tasks/vid_nosuch").await.status, 404);

    // Fail-and-refund: needs a reason, refunds the owner, is audited, and happens once.
    let before = app.get_as(&other_key, "/account").await.data()["balance"]
        .as_i64()
        .expect("balance");
    let price = one.data()["task"]["cost"]["credits"]
        .as_i64()
        .expect("price");
    let missing = app
        .admin_post(&format!("/tasks/{theirs}/fail"), &json!({}))
        .await;
    assert_eq!((missing.status, missing.code()), (400, 40001));
    let failed = app
        .admin_post(
            &format!("/tasks/{theirs}/fail"),
            &json!({"reason": "stuck upstream"}),
        )
        .await;
    assert_eq!(failed.status, 200, "{:?}", failed.body);
    assert_eq!(failed.data()["task"]["status"], "failed");
    assert_eq!(failed.data()["task"]["error"]["code"], "operator_failed");
    assert_eq!(failed.data()["task"]["cost"]["refunded"], true);
    let after = app.get_as(&other_key, "/account").await.data()["balance"]
        .as_i64()
        .expect("balance");
    assert_eq!(after, before + price, "refunded once");
    let again = app
        .admin_post(
            &format!("/tasks/{theirs}/fail"),
            &json!({"reason": "again"}),
        )
        .await;
    assert_eq!((again.status, again.code()), (409, 40900));
    let audit = app.admin_get("/audit").await;
    assert!(
        audit.text.contains("task.fail") && audit.text.contains(&theirs),
        "{}",
        audit.text
    );
    app.run_queued_tasks().await;
    app.finish().await;
}

#[tokio::test]
async fn an_operator_reads_an_accounts_ledger_and_pages_through_the_audit_trail() {
    let app = spawn_app_with(no_workers_admin()).await;
    let (account, key) = app.new_account(1_000).await;
    for credits in [10, 20, 30] {
        let topped = app
            .admin_post(
                &format!("/accounts/{account}/credits"),
                &json!({"credits": credits, "note": "test"}),
            )
            .await;
        assert_eq!(topped.status, 200, "{:?}", topped.body);
    }
    // The account's ledger, as its owner sees it, newest first and paged.
    let ledger = app
        .admin_get(&format!("/accounts/{account}/ledger?limit=2"))
        .await;
    assert_eq!(ledger.status, 200, "{:?}", ledger.body);
    assert_eq!(ledger.data()["items"][0]["credits"], 30);
    assert_eq!(ledger.data()["items"][1]["credits"], 20);
    let own = app.get_as(&key, "/account/ledger?limit=2").await;
    assert_eq!(ledger.data(), own.data());
    let cursor = ledger.data()["next_cursor"].as_str().expect("cursor");
    let older = app
        .admin_get(&format!(
            "/accounts/{account}/ledger?limit=2&cursor={cursor}"
        ))
        .await;
    assert_eq!(older.data()["items"][0]["credits"], 10);
    assert_eq!(
        app.admin_get("/accounts/acct_nosuch/ledger").await.status,
        404
    );

    // The audit trail, newest first, a page at a time.
    let page1 = app.admin_get("/audit?limit=2").await;
    assert_eq!(page1.status, 200, "{:?}", page1.body);
    let items = page1.data()["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 2);
    assert!(items[0]["seq"].as_i64() > items[1]["seq"].as_i64());
    let cursor = page1.data()["next_cursor"].as_str().expect("cursor");
    let page2 = app
        .admin_get(&format!("/audit?limit=2&cursor={cursor}"))
        .await;
    let next = page2.data()["items"].as_array().expect("items");
    assert!(!next.is_empty());
    assert!(next[0]["seq"].as_i64() < items[1]["seq"].as_i64());
    let bad = app.admin_get("/audit?limit=500").await;
    assert_eq!((bad.status, bad.code()), (400, 40001));
    app.finish().await;
}
