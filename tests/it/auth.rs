//! Authentication, isolation between accounts, and the shape of every error.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn missing_malformed_and_unknown_keys_get_401() {
    let app = spawn_app_with(Options {
        workers: false,
        ..Options::default()
    })
    .await;
    let none = answer(
        app.client
            .get(app.url("/account"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!((none.status, none.code()), (401, 40100));
    assert!(none.msg().contains("Authorization"), "{}", none.msg());
    assert!(none.headers.contains_key("x-request-id"));
    for bad in [
        "sk_nope",
        "sk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "",
    ] {
        let answer = app.get_as(bad, "/account").await;
        assert_eq!((answer.status, answer.code()), (401, 40100), "{bad}");
    }
    let basic = answer(
        app.client
            .get(app.url("/account"))
            .header("Authorization", "Basic abc")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(basic.status, 401);
    app.finish().await;
}

#[tokio::test]
async fn revoked_keys_stop_working() {
    let app = spawn_app_with(Options {
        workers: false,
        ..Options::default()
    })
    .await;
    let keys = reelay::store::keys::list(&app.db, Some(&app.account_id))
        .await
        .expect("keys");
    assert_eq!(app.get("/account").await.status, 200);
    assert!(reelay::store::keys::revoke(&app.db, &keys[0].id)
        .await
        .expect("revoke"));
    assert_eq!(app.get("/account").await.status, 401);
    app.finish().await;
}

#[tokio::test]
async fn other_accounts_tasks_are_404_and_lists_are_separate() {
    let app = spawn_app_with(Options {
        workers: false,
        ..Options::default()
    })
    .await;
    let created = app.create_task(&text_request("seedance2.0-sp")).await;
    let task_id = created.data()["task_id"].as_str().expect("id").to_string();
    let (_other, other_key) = app.new_account(100_000).await;
    let peek = app.get_as(&other_key, &format!("/videos/{task_id}")).await;
    assert_eq!((peek.status, peek.code()), (404, 40400));
    let cancel = answer(
        app.client
            .post(app.url(&format!("/videos/{task_id}/cancel")))
            .bearer_auth(&other_key)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!((cancel.status, cancel.code()), (404, 40400));
    let listed = app.get_as(&other_key, "/videos").await;
    assert_eq!(listed.data()["items"], json!([]));
    let ledger = app.get_as(&other_key, "/account/ledger").await;
    assert!(ledger.data()["items"]
        .as_array()
        .expect("items")
        .iter()
        .all(|e| e["task_id"].is_null()));
    assert_eq!(
        app.task(&task_id).await.status,
        200,
        "the owner still sees it"
    );
    let unknown = app.task("vid_unknown").await;
    assert_eq!((unknown.status, unknown.code()), (404, 40400));
    app.worker.poll_once().await.expect("poll");
    app.finish().await;
}

#[tokio::test]
async fn unknown_routes_answer_in_the_envelope() {
    let app = spawn_app_with(Options {
        workers: false,
        ..Options::default()
    })
    .await;
    let missing = app.get("/nothing-here").await;
    assert_eq!((missing.status, missing.code()), (404, 40400));
    assert_eq!(missing.data(), &json!(null));
    app.finish().await;
}

#[tokio::test]
async fn admin_routes_need_the_admin_token() {
    let off = spawn_app_with(Options {
        workers: false,
        ..Options::default()
    })
    .await;
    let answer_off = answer(
        off.client
            .get(format!("{}/admin/v1/audit", off.base))
            .bearer_auth("whatever")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(
        (answer_off.status, answer_off.code()),
        (404, 40400),
        "admin API off without a token"
    );
    off.finish().await;

    let app = spawn_app_with(Options {
        workers: false,
        tweak: Box::new(|s| s.admin.token = Some("adm-secret-token".to_string().into())),
    })
    .await;
    let get = |token: String| {
        let client = app.client.clone();
        let url = format!("{}/admin/v1/audit", app.base);
        async move {
            answer(
                client
                    .get(url)
                    .bearer_auth(token)
                    .send()
                    .await
                    .expect("send"),
            )
            .await
        }
    };
    let user = get(app.key.clone()).await;
    assert_eq!((user.status, user.code()), (403, 40300));
    let wrong = get("nope".into()).await;
    assert_eq!((wrong.status, wrong.code()), (401, 40100));
    let ok = get("adm-secret-token".into()).await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    assert_eq!(ok.data()["items"], json!([]));
    app.finish().await;
}

#[tokio::test]
async fn admin_manages_accounts_keys_and_credits_through_the_ledger() {
    let app = spawn_app_with(Options {
        workers: false,
        tweak: Box::new(|s| s.admin.token = Some("adm-secret-token".to_string().into())),
    })
    .await;
    let admin = |method: reqwest::Method, path: &str, body: Option<serde_json::Value>| {
        let mut request = app
            .client
            .request(method, format!("{}/admin/v1{path}", app.base))
            .bearer_auth("adm-secret-token")
            .header("X-Reelay-Actor", "ops");
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move { answer(request.send().await.expect("send")).await }
    };
    let created = admin(
        reqwest::Method::POST,
        "/accounts",
        Some(json!({"name": "acme", "credits": 9000})),
    )
    .await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let account = created.data()["account_id"]
        .as_str()
        .expect("account")
        .to_string();
    let secret = created.data()["secret"]
        .as_str()
        .expect("secret")
        .to_string();
    assert_eq!(
        app.get_as(&secret, "/account").await.data()["balance"],
        9000
    );

    let topped = admin(
        reqwest::Method::POST,
        &format!("/accounts/{account}/credits"),
        Some(json!({"credits": 1000, "note": "invoice 7"})),
    )
    .await;
    assert_eq!(topped.data()["balance"], 10000);
    let adjusted = admin(
        reqwest::Method::POST,
        &format!("/accounts/{account}/credits"),
        Some(json!({"credits": -500})),
    )
    .await;
    assert_eq!(adjusted.data()["balance"], 9500);
    let too_much = admin(
        reqwest::Method::POST,
        &format!("/accounts/{account}/credits"),
        Some(json!({"credits": -99999})),
    )
    .await;
    assert_eq!((too_much.status, too_much.code()), (400, 40001));
    let ledger = app.get_as(&secret, "/account/ledger").await;
    let kinds: Vec<&str> = ledger.data()["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(kinds, vec!["adjust", "topup", "topup"]);

    let key = admin(
        reqwest::Method::POST,
        &format!("/accounts/{account}/keys"),
        Some(json!({"name": "second"})),
    )
    .await;
    let second = key.data()["secret"].as_str().expect("secret").to_string();
    let key_id = key.data()["key_id"].as_str().expect("key id").to_string();
    assert_eq!(app.get_as(&second, "/account").await.status, 200);
    let shown = admin(reqwest::Method::GET, &format!("/accounts/{account}"), None).await;
    assert_eq!(shown.data()["keys"].as_array().map(Vec::len), Some(2));
    assert!(
        !shown.body.to_string().contains(&second),
        "secrets are shown once only"
    );
    let revoked = admin(
        reqwest::Method::POST,
        &format!("/keys/{key_id}/revoke"),
        None,
    )
    .await;
    assert_eq!(revoked.status, 200);
    assert_eq!(app.get_as(&second, "/account").await.status, 401);

    let listed = admin(reqwest::Method::GET, "/accounts?limit=1", None).await;
    assert_eq!(listed.data()["items"].as_array().map(Vec::len), Some(1));
    assert!(listed.data()["next_cursor"].is_string());
    let missing = admin(reqwest::Method::GET, "/accounts/acct_nope", None).await;
    assert_eq!((missing.status, missing.code()), (404, 40400));

    let audit = admin(reqwest::Method::GET, "/audit", None).await;
    let actions: Vec<&str> = audit.data()["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|a| a["action"].as_str().expect("action"))
        .collect();
    assert_eq!(
        actions,
        vec![
            "key.revoke",
            "key.create",
            "account.credits",
            "account.credits",
            "account.create"
        ]
    );
    assert!(audit.data()["items"]
        .as_array()
        .expect("items")
        .iter()
        .all(|a| a["actor"] == "admin:ops"));
    app.finish().await;
}
