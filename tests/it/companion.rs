//! The seed vendor's companion routes (DIALECTS.md §1): `/files/upload` (its URL used as a
//! task's first frame with private networks refused), `/user/balance`, `/key/balance`, per-key
//! quotas (402 naming the quota, refunds give it back, concurrent creates never overshoot, on
//! whichever database the suite runs), and `REELAY_API__SUCCESS_CODE=20000` from the environment.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::*;

async fn upload_file(app: &TestApp, key: &str, file_name: &str, bytes: Vec<u8>) -> Answer {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_string()),
    );
    answer(
        app.client
            .post(app.url("/files/upload"))
            .bearer_auth(key)
            .multipart(form)
            .send()
            .await
            .expect("send"),
    )
    .await
}

#[tokio::test]
async fn an_uploaded_file_is_a_first_frame_with_private_networks_refused() {
    let app = spawn_app_with(Options {
        workers: true,
        tweak: Box::new(|s| s.media.allow_private_networks = false),
    })
    .await;
    let uploaded = upload_file(
        &app,
        &app.key,
        "dir/portrait.bin",
        png(600, 1000, [200, 40, 40]),
    )
    .await;
    assert_eq!(uploaded.status, 200, "{:?}", uploaded.body);
    let data = uploaded.data();
    assert_eq!(data["filename"], "portrait.bin");
    assert_eq!(
        data["mime_type"], "image/png",
        "sniffed, not taken from the name"
    );
    assert!(data["size"].as_i64().unwrap_or(0) > 0);
    let url = data["url"].as_str().expect("url").to_string();
    assert!(url.starts_with(&app.base), "a reelay URL: {url}");
    // The URL serves the bytes.
    let fetched = app.client.get(&url).send().await.expect("get");
    assert_eq!(fetched.status(), 200);

    let body = json!({
        "model": "seedance2.0-sp", "prompt": "she turns around", "duration": 4,
        "resolution": "480p", "first_image": url,
    });
    let created = app.create_task(&body).await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let task = app
        .wait_terminal(created.data()["task_id"].as_str().expect("id"))
        .await;
    assert_eq!(task["status"], "completed", "{task}");
    assert_eq!(
        task["result"]["ratio"], "9:16",
        "the uploaded portrait was the first frame"
    );

    // The same URL works where an asset is uploaded by URL: read from storage, not fetched.
    let asset = app.upload_asset_url(&app.key, "image", &url).await;
    assert_eq!(asset.status, 200, "{:?}", asset.body);
    let asset_id = asset.data()["asset_id"]
        .as_str()
        .expect("asset id")
        .to_string();
    let detail = app.wait_asset(&asset_id).await;
    assert_eq!(detail["status"], "Active", "{detail}");

    // Another loopback URL is still refused, at create: only reelay's own signed URLs are read
    // directly.
    let media = media_server(vec![("a.png", png(600, 1000, [1, 2, 3]))]).await;
    let body = json!({
        "model": "seedance2.0-sp", "prompt": "x", "duration": 4, "resolution": "480p",
        "first_image": format!("{}/a.png", media.base),
    });
    let created = app.create_task(&body).await;
    assert_eq!(
        (created.status, created.code()),
        (400, 40001),
        "{:?}",
        created.body
    );
    assert_eq!(created.data()["param"], "first_image");
    app.finish().await;
}

#[tokio::test]
async fn uploads_refuse_what_is_not_media_and_name_the_field() {
    let app = spawn_app_with(Options {
        workers: false,
        ..Options::default()
    })
    .await;
    let text = upload_file(&app, &app.key, "notes.png", b"just some text".to_vec()).await;
    assert_eq!((text.status, text.code()), (400, 40001), "{:?}", text.body);
    assert!(text.msg().contains("file"), "{}", text.msg());
    let empty = upload_file(&app, &app.key, "x.png", Vec::new()).await;
    assert_eq!((empty.status, empty.code()), (400, 40001));
    let no_part = answer(
        app.client
            .post(app.url("/files/upload"))
            .bearer_auth(&app.key)
            .multipart(reqwest::multipart::Form::new().text("name", "x"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!((no_part.status, no_part.code()), (400, 40001));
    let json_body = app
        .post_json_as(&app.key, "/files/upload", &json!({"file": "x"}))
        .await;
    assert_eq!((json_body.status, json_body.code()), (400, 40000));
    let anonymous = answer(
        app.client
            .post(app.url("/files/upload"))
            .multipart(reqwest::multipart::Form::new().text("file", "x"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!((anonymous.status, anonymous.code()), (401, 40100));
    app.finish().await;
}

#[tokio::test]
async fn balances_show_what_the_account_and_the_key_spent() {
    let app = spawn_app_with(with_admin(|_| {})).await;
    let before = app.get("/user/balance").await;
    assert_eq!(before.status, 200, "{:?}", before.body);
    let start = before.data()["available"].as_i64().expect("available");
    assert_eq!(before.data()["used_coin"], 0);
    assert_eq!(before.data()["balance"], start);

    let created = app.create_task(&text_request("seedance2.0-sp")).await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let price = created.data()["cost"]["credits"].as_i64().expect("price");
    let id = created.data()["task_id"].as_str().expect("id").to_string();
    app.wait_terminal(&id).await;
    let after = app.get("/user/balance").await;
    assert_eq!(after.data()["available"], start - price);
    assert_eq!(after.data()["used_coin"], price);
    assert_eq!(after.data()["balance"], start);

    let key = app.get("/key/balance").await;
    assert_eq!(key.status, 200, "{:?}", key.body);
    assert_eq!(key.data()["unlimited"], true);
    assert_eq!(key.data()["total_quota"], 0);
    assert_eq!(key.data()["used_quota"], price);
    assert!(key.data()["name"].is_string());
    app.finish().await;
}

/// The key's id, from the account's key list.
async fn own_key_id(app: &TestApp) -> String {
    let keys = app.account_keys(&app.key).await;
    keys[0]["key_id"].as_str().expect("key id").to_string()
}

#[tokio::test]
async fn a_key_past_its_quota_gets_402_and_a_refund_gives_it_back() {
    let app = spawn_app_with(Options {
        workers: false,
        tweak: Box::new(|s| s.admin.token = Some(ADMIN_TOKEN.to_string().into())),
    })
    .await;
    let key_id = own_key_id(&app).await;
    let body = text_request("seedance2.0-sp");
    let price = app.quote(&body).await.data()["credits"]
        .as_i64()
        .expect("price");
    let set = app
        .admin_post(
            &format!("/keys/{key_id}/limits"),
            &json!({"quota": price * 2}),
        )
        .await;
    assert_eq!(set.status, 200, "{:?}", set.body);
    assert_eq!(set.data()["quota"], price * 2);
    assert_eq!(set.data()["quota_used"], 0);

    let first = app.create_task(&body).await;
    let second = app.create_task(&body).await;
    assert_eq!((first.status, second.status), (200, 200));
    let third = app.create_task(&body).await;
    assert_eq!(
        (third.status, third.code()),
        (402, 40200),
        "{:?}",
        third.body
    );
    assert!(third.msg().contains("quota"), "{}", third.msg());
    let balance_before = app.balance().await;
    let key = app.get("/key/balance").await;
    assert_eq!(key.data()["unlimited"], false);
    assert_eq!(key.data()["total_quota"], price * 2);
    assert_eq!(key.data()["used_quota"], price * 2);
    assert_eq!(key.data()["available_quota"], 0);

    // Cancelling a queued task refunds it, and gives the quota back.
    let cancelled = app
        .cancel(first.data()["task_id"].as_str().expect("id"))
        .await;
    assert_eq!(cancelled.status, 200, "{:?}", cancelled.body);
    assert_eq!(app.balance().await, balance_before + price);
    let key = app.get("/key/balance").await;
    assert_eq!(key.data()["used_quota"], price);
    assert_eq!(key.data()["available_quota"], price);
    let again = app.create_task(&body).await;
    assert_eq!(again.status, 200, "{:?}", again.body);

    // 0 means unlimited.
    let unset = app
        .admin_post(&format!("/keys/{key_id}/limits"), &json!({"quota": 0}))
        .await;
    assert_eq!(unset.data()["quota"], 0);
    assert_eq!(app.create_task(&body).await.status, 200);
    let bad = app
        .admin_post(&format!("/keys/{key_id}/limits"), &json!({"quota": -5}))
        .await;
    assert_eq!((bad.status, bad.code()), (400, 40001));
    assert_eq!(bad.body["data"]["param"], "quota");
    assert_books_balance(&app.db).await;
    app.run_queued_tasks().await;
    app.finish().await;
}

#[tokio::test]
async fn concurrent_creates_never_overshoot_a_quota() {
    let app = spawn_app_with(Options {
        workers: false,
        tweak: Box::new(|s| s.admin.token = Some(ADMIN_TOKEN.to_string().into())),
    })
    .await;
    let key_id = own_key_id(&app).await;
    let body = text_request("seedance2.0-sp");
    let price = app.quote(&body).await.data()["credits"]
        .as_i64()
        .expect("price");
    let set = app
        .admin_post(
            &format!("/keys/{key_id}/limits"),
            &json!({"quota": price * 5}),
        )
        .await;
    assert_eq!(set.status, 200, "{:?}", set.body);
    let creates: Vec<_> = (0..24).map(|_| app.spawn_create(&body, None)).collect();
    let mut statuses = Vec::new();
    for create in creates {
        statuses.push(create.await.expect("create runs").status);
    }
    let accepted = statuses.iter().filter(|s| **s == 200).count();
    let refused = statuses.iter().filter(|s| **s == 402).count();
    assert_eq!((accepted, refused), (5, 19), "{statuses:?}");
    let key = app.get("/key/balance").await;
    assert_eq!(key.data()["used_quota"], price * 5);
    assert_books_balance(&app.db).await;
    app.run_queued_tasks().await;
    app.finish().await;
}

#[tokio::test]
async fn success_code_20000_from_the_environment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = crate::crash::start(dir.path(), &[("REELAY_API__SUCCESS_CODE", "20000")]);
    let key = crate::crash::bootstrap_secret(&server);
    let client = reqwest::Client::new();
    let balance: Value = client
        .get(format!("{}/api/open-api/v1/user/balance", server.base))
        .bearer_auth(&key)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(balance["code"], "20000", "{balance}");
    let error: Value = client
        .get(format!("{}/api/open-api/v1/videos/vid_nope", server.base))
        .bearer_auth(&key)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(
        error["code"], 40400,
        "errors keep their integer codes: {error}"
    );
    let _ = server.child.kill();
    let _ = server.child.wait();
}

#[tokio::test]
async fn the_cli_makes_a_key_with_a_quota_and_lists_its_spending() {
    let app = spawn_app_with(Options {
        workers: false,
        ..Options::default()
    })
    .await;
    let run = |args: &[&str]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_reelay"));
        command
            .args(args)
            .arg("--data-dir")
            .arg(app.data_dir.path())
            .env("RUST_LOG", "warn");
        for (key, value) in backend_env(app.data_dir.path()) {
            command.env(key, value);
        }
        command.output().expect("the binary runs")
    };
    let refused = run(&[
        "keys",
        "create",
        "--name",
        "capped",
        "--account",
        &app.account_id,
        "--quota",
        "-1",
    ]);
    assert!(!refused.status.success(), "a negative quota is refused");
    let made = run(&[
        "keys",
        "create",
        "--name",
        "capped",
        "--account",
        &app.account_id,
        "--quota",
        "12345",
    ]);
    let stdout = String::from_utf8_lossy(&made.stdout).to_string();
    assert!(
        made.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&made.stderr)
    );
    assert!(stdout.contains("quota 12345 credits"), "{stdout}");
    let secret = stdout
        .lines()
        .last()
        .expect("the secret")
        .trim()
        .to_string();
    let key = app.get_as(&secret, "/key/balance").await;
    assert_eq!(key.data()["total_quota"], 12345, "{:?}", key.body);
    assert_eq!(key.data()["name"], "capped");
    let listed = run(&["keys", "list", "--account", &app.account_id]);
    let listed = String::from_utf8_lossy(&listed.stdout).to_string();
    assert!(listed.contains("0 / 12345"), "{listed}");
    assert!(
        listed.contains("/ unlimited"),
        "the first key has no quota: {listed}"
    );
    app.finish().await;
}
