//! Hostile input (issue #9): another account's ids are 404 on every id-bearing route; users'
//! URLs that point at loopback, private, link-local, metadata or IPv6-local addresses (in any
//! spelling, or through a name) are refused; oversize bodies are 413 and only oversize ones;
//! tampered or expired signed result URLs are refused.
//!
//! Redirects from an allowed URL into a refused address are covered where they are decided, in
//! `reelay-media`'s own tests (`crates/reelay-media/tests/it/fetch.rs`:
//! `redirects_into_refused_addresses_are_refused_before_connecting`, every hop is re-checked
//! before connecting, and `redirects_to_other_schemes_or_with_userinfo_are_refused`): the app
//! has no way to trust one loopback server while refusing the rest, so an allowed first hop
//! cannot be made here.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::*;

fn id(answer: &Answer, field: &str) -> String {
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.data()[field].as_str().expect(field).to_string()
}

fn assert_404(answer: &Answer, route: &str) {
    assert_eq!(
        (answer.status, answer.code()),
        (404, 40400),
        "{route}: {:?}",
        answer.body
    );
}

#[tokio::test]
async fn another_accounts_ids_are_404_on_every_id_bearing_route() {
    let app = spawn_app().await;
    let media = media_server(vec![("face.jpg", jpeg(600, 800))]).await;
    let (_other, other) = app.new_account(10_000_000).await;

    // What the first account owns: a finished task, a library asset, an audited asset, a
    // real-person record and its key.
    let task_id = id(
        &app.create_task(&text_request("seedance2.0-sp")).await,
        "task_id",
    );
    assert_eq!(app.wait_terminal(&task_id).await["status"], "completed");
    let png_part = |name| FilePart {
        name,
        kind: "image",
        file_name: "a.png",
        bytes: png(400, 400, [30, 60, 90]),
    };
    let asset_id = id(&app.upload_asset_file(png_part("mine")).await, "asset_id");
    let audit_id = id(
        &app.upload_multipart(&app.key, "/seedance/assets/audit", png_part("audit"))
            .await,
        "asset_id",
    );
    let person_id = id(
        &app.realperson_submit("me", &format!("{}/face.jpg", media.base))
            .await,
        "asset_id",
    );
    let key_id = app.account_keys(&app.key).await[0]["key_id"]
        .as_str()
        .expect("key_id")
        .to_string();

    // The other account gets 404 for each of them, on every route that takes an id.
    let get = |path: String| {
        let app = &app;
        let other = other.clone();
        async move { app.get_as(&other, &path).await }
    };
    let post = |path: &'static str, body: Value| {
        let app = &app;
        let other = other.clone();
        async move { app.post_json_as(&other, path, &body).await }
    };
    assert_404(&get(format!("/videos/{task_id}")).await, "GET /videos/{id}");
    assert_404(
        &get(format!("/videos/{task_id}/content")).await,
        "GET /videos/{id}/content",
    );
    assert_404(
        &get(format!("/videos/{task_id}/events")).await,
        "GET /videos/{id}/events",
    );
    let cancel = answer(
        app.client
            .post(app.url(&format!("/videos/{task_id}/cancel")))
            .bearer_auth(&other)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_404(&cancel, "POST /videos/{id}/cancel");
    for asset in [&asset_id, &audit_id] {
        assert_404(
            &post("/seedance/sp/assets/detail", json!({ "asset_id": asset })).await,
            "assets/detail",
        );
        assert_404(
            &post(
                "/seedance/sp/assets/status",
                json!({ "asset_ids": [asset] }),
            )
            .await,
            "assets/status",
        );
        assert_404(
            &get(format!("/seedance/assets/status?asset_ids={asset}")).await,
            "GET assets/status",
        );
        assert_404(
            &post("/seedance/sp/assets/delete", json!({ "asset_id": asset })).await,
            "assets/delete",
        );
    }
    assert_404(
        &post(
            "/seedance/sp/realperson/status",
            json!({ "asset_id": person_id }),
        )
        .await,
        "realperson/status",
    );
    assert_404(
        &post(
            "/seedance/sp/realperson/batch-status",
            json!({ "asset_ids": [person_id] }),
        )
        .await,
        "realperson/batch-status",
    );
    let revoke = answer(
        app.client
            .post(app.url(&format!("/account/keys/{key_id}/revoke")))
            .bearer_auth(&other)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_404(&revoke, "POST /account/keys/{id}/revoke");
    // Using the other account's asset in a task is 40003, and lists show nothing of it.
    let borrowed = app
        .create_task_with_key(
            &other,
            &json!({"model": "seedance2.0-sp", "prompt": "x", "duration": 4, "resolution": "480p",
                    "images": [format!("asset://{asset_id}")]}),
        )
        .await;
    assert_eq!(borrowed.code(), 40003, "{:?}", borrowed.body);
    let listed = app.get_as(&other, "/videos").await;
    assert_eq!(listed.data()["items"], json!([]), "{:?}", listed.body);

    // Nothing was touched: the owner still sees each of them, and its key still works.
    assert_eq!(app.task(&task_id).await.data()["status"], "completed");
    assert_eq!(app.asset_detail_as(&app.key, &asset_id).await.status, 200);
    assert_eq!(app.asset_detail_as(&app.key, &audit_id).await.status, 200);
    assert_eq!(
        app.realperson_status_as(&app.key, &person_id).await.status,
        200
    );
    assert_eq!(app.get("/account").await.status, 200);
    app.finish().await;
}

/// A loopback server that counts every connection it answers (a refused URL must not reach it).
async fn canary() -> (u16, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let image = bytes::Bytes::from(png(800, 800, [1, 2, 3]));
    let router = axum::Router::new().fallback(move || {
        let counted = counted.clone();
        let image = image.clone();
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            image
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (port, hits)
}

async fn app_without_private_networks() -> TestApp {
    spawn_app_with(Options {
        workers: true,
        // http stays allowed so that the address rule, not the scheme, is what refuses.
        tweak: Box::new(|s| s.media.allow_private_networks = false),
    })
    .await
}

#[tokio::test]
async fn media_urls_at_non_public_addresses_are_refused_at_create_naming_the_field() {
    let app = app_without_private_networks().await;
    let (port, hits) = canary().await;
    let before = app.balance().await;
    let cases = [
        (format!("http://127.0.0.1:{port}/a.png"), "loopback"),
        (format!("http://localhost:{port}/a.png"), "loopback"),
        (format!("http://2130706433:{port}/a.png"), "loopback"),
        (format!("http://0177.0.0.1:{port}/a.png"), "loopback"),
        (format!("http://0x7f000001:{port}/a.png"), "loopback"),
        (format!("http://[::1]:{port}/a.png"), "loopback"),
        (
            format!("http://[::ffff:127.0.0.1]:{port}/a.png"),
            "loopback",
        ),
        (format!("http://0.0.0.0:{port}/a.png"), "unspecified"),
        ("http://10.0.0.1/a.png".to_string(), "private"),
        ("http://172.16.5.4/a.png".to_string(), "private"),
        ("http://192.168.1.1/a.png".to_string(), "private"),
        (
            "http://169.254.169.254/latest/meta-data/".to_string(),
            "metadata",
        ),
        ("http://[fe80::1]/a.png".to_string(), "link-local"),
        ("http://[fd00::1]/a.png".to_string(), "unique-local"),
    ];
    for (url, word) in &cases {
        let body = json!({
            "model": "seedance2.0-sp", "prompt": "x", "duration": 4, "resolution": "480p",
            "first_image": url,
        });
        let answer = app.create_task(&body).await;
        assert_eq!(
            (answer.status, answer.code()),
            (400, 40001),
            "{url}: {}",
            answer.text
        );
        assert_eq!(answer.data()["param"], "first_image", "{url}");
        assert!(
            answer.msg().contains("first_image") && answer.msg().contains(word),
            "{url}: {:?} should name first_image and say {word}",
            answer.msg()
        );
    }
    // The other media fields and the callback, each named.
    let private = "http://10.0.0.1/a.png";
    for (field, body) in [
        (
            "images[1]",
            json!({"model": "seedance2.0-sp", "prompt": "x", "duration": 4, "resolution": "480p",
                   "images": ["https://8.8.8.8/a.png", private]}),
        ),
        (
            "callback_url",
            json!({"model": "seedance2.0-sp", "prompt": "x", "duration": 4, "resolution": "480p",
                   "callback_url": "http://192.168.1.1/hook"}),
        ),
    ] {
        let answer = app.create_task(&body).await;
        assert_eq!(
            (answer.status, answer.code()),
            (400, 40001),
            "{field}: {}",
            answer.text
        );
        assert_eq!(answer.data()["param"], field, "{}", answer.text);
    }
    // A quote says the same, and charges nothing either.
    let quote = app
        .quote(
            &json!({"model": "seedance2.0-sp", "prompt": "x", "duration": 4,
                       "resolution": "480p", "first_image": private}),
        )
        .await;
    assert_eq!((quote.status, quote.code()), (400, 40001), "{}", quote.text);
    assert_eq!(hits.load(Ordering::SeqCst), 0, "a refused URL connected");
    assert_eq!(app.balance().await, before, "nothing charged");
    app.finish().await;
}

#[tokio::test]
async fn asset_urls_and_callback_urls_at_non_public_addresses_are_refused() {
    let app = app_without_private_networks().await;
    let (port, hits) = canary().await;
    for (url, word) in [
        (format!("http://localhost:{port}/a.png"), "loopback"),
        (format!("http://[::1]:{port}/a.png"), "loopback"),
        (
            "http://169.254.169.254/latest/meta-data/".to_string(),
            "metadata",
        ),
    ] {
        let asset = id(
            &app.upload_asset_url(&app.key, "image", &url).await,
            "asset_id",
        );
        let view = app.wait_asset(&asset).await;
        assert_eq!(view["status"], "Failed", "{url}: {view}");
        let reason = view["reason"].as_str().unwrap_or("");
        assert!(reason.contains(word), "{url}: {reason}");
    }

    // A callback to a loopback receiver is refused at create (nothing charged) and never POSTed;
    // a target that turns private only at delivery: `hardening::a_webhook_target_refused_at_delivery_fails_at_once`.
    let receiver = webhook_receiver(0).await;
    let hook = receiver.url.replace("127.0.0.1", "localhost");
    let before = app.balance().await;
    for callback in [receiver.url.clone(), hook] {
        let mut body = text_request("seedance2.0-sp");
        body["callback_url"] = callback.clone().into();
        let answer = app.create_task(&body).await;
        assert_eq!(
            (answer.status, answer.code()),
            (400, 40001),
            "{callback}: {}",
            answer.text
        );
        assert_eq!(answer.data()["param"], "callback_url");
        assert!(
            answer.msg().contains("loopback"),
            "{callback}: {}",
            answer.msg()
        );
    }
    assert_eq!(app.balance().await, before, "nothing charged");
    assert!(receiver.calls().is_empty(), "a refused webhook was sent");
    assert_eq!(hits.load(Ordering::SeqCst), 0);
    app.finish().await;
}

#[tokio::test]
async fn oversize_bodies_are_413_and_only_oversize_ones() {
    let app = spawn_app_with(Options {
        workers: true,
        tweak: Box::new(|s| s.assets.max_upload_bytes = 64 * 1024),
    })
    .await;
    // JSON bodies: 1 MiB is the limit (API.md §1).
    let mut body = text_request("seedance2.0-sp");
    body["prompt"] = "x".repeat(1024 * 1024 + 1).into();
    let refused = app.create_task(&body).await;
    assert_eq!(
        (refused.status, refused.code()),
        (413, 41300),
        "{:?}",
        refused.body
    );
    let refused = app
        .post_json_as(
            &app.key,
            "/seedance/sp/assets/detail",
            &json!({"asset_id": "x".repeat(2 * 1024 * 1024)}),
        )
        .await;
    assert_eq!((refused.status, refused.code()), (413, 41300));
    // Uploads: over `assets.max_upload_bytes`.
    let upload = app
        .upload_asset_file(FilePart {
            name: "big",
            kind: "image",
            file_name: "big.png",
            bytes: vec![7u8; 200 * 1024],
        })
        .await;
    assert_eq!(
        (upload.status, upload.code()),
        (413, 41300),
        "{:?}",
        upload.body
    );

    // Small but malformed JSON is a 400, not a 413.
    let malformed = answer(
        app.client
            .post(app.url("/seedance/videos"))
            .bearer_auth(&app.key)
            .header("content-type", "application/json")
            .body("{\"model\": ")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!((malformed.status, malformed.code()), (400, 40000));

    // A body whose transfer itself is broken (bad chunk framing) is a 400 too, not a 413.
    let address = app.base.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    let request = format!(
        "POST /api/open-api/v1/seedance/videos HTTP/1.1\r\nHost: {address}\r\n\
         Authorization: Bearer {}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\n{{\"a\":\r\nzz\r\n",
        app.key
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("write request");
    let mut raw = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw)).await;
    assert!(read.is_ok(), "no answer to a broken chunked body");
    let text = String::from_utf8_lossy(&raw);
    let status_line = text.lines().next().unwrap_or("");
    assert!(
        status_line.starts_with("HTTP/1.1 400"),
        "broken chunked body: {text}"
    );
    assert!(
        text.contains("40000") && text.contains("could not be read"),
        "{text}"
    );
    app.finish().await;
}

#[tokio::test]
async fn a_signed_result_url_with_a_changed_path_or_expiry_is_refused() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let task_id = id(
            &app.create_task(&text_request("seedance2.0-sp")).await,
            "task_id",
        );
        assert_eq!(app.wait_terminal(&task_id).await["status"], "completed");
        ids.push(task_id);
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let key = reelay::storage::video_key(&ids[0]);
    let other_key = reelay::storage::video_key(&ids[1]);
    let exp = now + 3600;
    let good = app.storage.signed_path(&key, exp);
    let fetch = |path: String| {
        let client = app.client.clone();
        let url = format!("{}{path}", app.base);
        async move {
            client
                .get(url)
                .send()
                .await
                .expect("send")
                .status()
                .as_u16()
        }
    };
    assert_eq!(fetch(good.clone()).await, 200, "the untampered URL works");

    let query = good.split_once('?').expect("query").1.to_string();
    let sig = query
        .split('&')
        .find_map(|p| p.strip_prefix("sig="))
        .expect("sig")
        .to_string();
    let altered = {
        let first = if sig.starts_with('A') { "B" } else { "A" };
        format!("{first}{}", &sig[1..])
    };
    let last_frame = reelay::storage::last_frame_key(&ids[0]);
    let tampered = [
        // Another task's file, or another file of the task, under this signature.
        format!("/files/{other_key}?{query}"),
        format!("/files/{last_frame}?{query}"),
        format!("/files/{key}x?{query}"),
        // A later expiry (or none) under the same signature.
        format!("/files/{key}?exp={}&sig={sig}", exp + 1),
        format!("/files/{key}?exp=0&sig={sig}"),
        // A signature that is altered, missing, or the URL unsigned.
        format!("/files/{key}?exp={exp}&sig={altered}"),
        format!("/files/{key}?exp={exp}"),
        format!("/files/{key}"),
        // A correctly signed URL whose time is over.
        app.storage.signed_path(&key, now - 1),
    ];
    for path in tampered {
        let status = fetch(path.clone()).await;
        assert!(
            status == 403 || status == 404,
            "{path}: answered {status}, must be refused"
        );
    }
    app.finish().await;
}
