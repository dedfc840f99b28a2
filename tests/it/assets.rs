//! The SP asset library and Full-route audits over real HTTP: multipart and URL intake, probing
//! (format sniffing, pixel and duration limits), size caps and quotas, ownership (404 / 40003),
//! audited-only models, deletion before a task runs, and admin review.

use serde_json::json;

use crate::helpers::*;

fn id_of(answer: &Answer) -> String {
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.data()["asset_id"]
        .as_str()
        .expect("asset_id")
        .to_string()
}

#[tokio::test]
async fn multipart_uploads_of_real_png_jpeg_mp4_and_wav_become_active_with_probed_facts() {
    let app = spawn_app().await;
    let parts = [
        FilePart {
            name: "logo",
            kind: "image",
            file_name: "logo.png",
            bytes: png(640, 480, [10, 20, 30]),
        },
        FilePart {
            name: "photo",
            kind: "image",
            file_name: "photo.jpg",
            bytes: jpeg(400, 800),
        },
        FilePart {
            name: "clip",
            kind: "video",
            file_name: "clip.mp4",
            bytes: mp4(2),
        },
        FilePart {
            name: "tone",
            kind: "audio",
            file_name: "tone.wav",
            bytes: wav(3),
        },
    ];
    let mut ids = Vec::new();
    for part in parts {
        let uploaded = app.upload_asset_file(part).await;
        let id = id_of(&uploaded);
        assert!(id.starts_with("asset_"), "{id}");
        assert_eq!(uploaded.data()["status"], "Active", "{:?}", uploaded.body);
        ids.push(id);
    }
    let png_view = app.asset_detail_as(&app.key, &ids[0]).await;
    let png_view = png_view.data();
    assert_eq!(png_view["type"], "image");
    assert_eq!(png_view["format"], "png");
    assert_eq!(
        (png_view["width"].as_i64(), png_view["height"].as_i64()),
        (Some(640), Some(480))
    );
    assert_eq!(png_view["name"], "logo");
    assert!(
        png_view["url"].is_null(),
        "multipart uploads have no source url"
    );
    assert!(png_view["size_bytes"].as_i64().unwrap_or(0) > 0);
    assert_eq!(
        app.asset_detail_as(&app.key, &ids[1]).await.data()["format"],
        "jpeg"
    );
    let video = app.asset_detail_as(&app.key, &ids[2]).await;
    assert_eq!(video.data()["format"], "mp4");
    assert_eq!(video.data()["width"], 640);
    assert!(
        (video.data()["duration"].as_f64().unwrap_or(0.0) - 2.0).abs() < 0.1,
        "{:?}",
        video.body
    );
    let audio = app.asset_detail_as(&app.key, &ids[3]).await;
    assert_eq!(audio.data()["format"], "wav");
    assert!((audio.data()["duration"].as_f64().unwrap_or(0.0) - 3.0).abs() < 0.01);

    let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let statuses = app.asset_status_as(&app.key, &id_refs).await;
    assert_eq!(statuses.status, 200, "{:?}", statuses.body);
    let items = statuses.data()["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 4);
    assert!(items.iter().all(|item| item["status"] == "Active"));
    assert_eq!(items[2]["asset_id"], ids[2].as_str());
    // The bytes live in object storage under the owner's account.
    assert!(
        app.object_exists(&format!("assets/{}/{}", app.account_id, ids[0]))
            .await
    );
    app.finish().await;
}

#[tokio::test]
async fn a_url_upload_is_fetched_in_the_background_and_becomes_active() {
    let app = spawn_app().await;
    let media = media_server(vec![("cat.png", png(800, 600, [200, 100, 50]))]).await;
    let url = format!("{}/cat.png", media.base);
    let uploaded = app.upload_asset_url(&app.key, "image", &url).await;
    let id = id_of(&uploaded);
    assert_eq!(uploaded.data()["status"], "Processing");
    let view = app.wait_asset(&id).await;
    assert_eq!(view["status"], "Active", "{view}");
    assert_eq!(view["url"], url.as_str());
    assert_eq!(view["width"], 800);
    app.finish().await;
}

#[tokio::test]
async fn a_too_small_image_fails_with_a_reason() {
    let app = spawn_app().await;
    let media = media_server(vec![("tiny.png", png(200, 150, [0, 0, 0]))]).await;
    let id = id_of(
        &app.upload_asset_url(&app.key, "image", &format!("{}/tiny.png", media.base))
            .await,
    );
    let view = app.wait_asset(&id).await;
    assert_eq!(view["status"], "Failed", "{view}");
    let reason = view["reason"].as_str().unwrap_or("");
    assert!(
        reason.contains("200×150") && reason.contains("300"),
        "{reason}"
    );
    app.finish().await;
}

#[tokio::test]
async fn an_html_page_named_png_is_refused() {
    let app = spawn_app().await;
    let uploaded = app
        .upload_asset_file(FilePart {
            name: "sneaky",
            kind: "image",
            file_name: "page.png",
            bytes: b"<!doctype html><html><body>login</body></html>".to_vec(),
        })
        .await;
    id_of(&uploaded);
    assert_eq!(uploaded.data()["status"], "Failed", "{:?}", uploaded.body);
    let reason = uploaded.data()["reason"].as_str().unwrap_or("");
    assert!(reason.contains("HTML"), "{reason}");
    // A Failed asset cannot be used.
    let id = uploaded.data()["asset_id"].as_str().unwrap_or("");
    let created = app
        .create_task(&json!({"model": "seedance2.0-sp", "prompt": "x", "duration": 4, "resolution": "480p", "images": [format!("asset://{id}")]}))
        .await;
    assert_eq!(created.code(), 40003, "{:?}", created.body);
    assert!(created.msg().contains("Failed"), "{}", created.msg());
    app.finish().await;
}

#[tokio::test]
async fn an_upload_over_the_size_cap_is_413() {
    let app = spawn_app_with(Options {
        workers: true,
        tweak: Box::new(|s| s.assets.max_upload_bytes = 100_000),
    })
    .await;
    let mut big = png(400, 400, [1, 2, 3]);
    big.resize(300_000, 0);
    let uploaded = app
        .upload_asset_file(FilePart {
            name: "big",
            kind: "image",
            file_name: "big.png",
            bytes: big,
        })
        .await;
    assert_eq!(uploaded.status, 413, "{:?}", uploaded.body);
    assert_eq!(uploaded.code(), 41300);
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM assets")
        .fetch_one(&app.db.read)
        .await
        .expect("count");
    assert_eq!(count, 0, "no asset is made for a refused upload");
    app.finish().await;
}

#[tokio::test]
async fn uploads_past_the_account_quota_are_refused_with_40001() {
    let app = spawn_app_with(Options {
        workers: true,
        tweak: Box::new(|s| s.assets.max_per_account = 1),
    })
    .await;
    let part = || FilePart {
        name: "a",
        kind: "image",
        file_name: "a.png",
        bytes: png(400, 400, [9, 9, 9]),
    };
    id_of(&app.upload_asset_file(part()).await);
    let second = app.upload_asset_file(part()).await;
    assert_eq!(second.status, 400, "{:?}", second.body);
    assert_eq!(second.code(), 40001);
    assert!(second.msg().contains("quota"), "{}", second.msg());
    app.finish().await;
}

#[tokio::test]
async fn a_url_upload_to_a_private_address_is_refused_when_private_networks_are_off() {
    let app = spawn_app_with(Options {
        workers: true,
        tweak: Box::new(|s| s.media.allow_private_networks = false),
    })
    .await;
    let media = media_server(vec![("cat.png", png(800, 600, [200, 100, 50]))]).await;
    let id = id_of(
        &app.upload_asset_url(&app.key, "image", &format!("{}/cat.png", media.base))
            .await,
    );
    let view = app.wait_asset(&id).await;
    assert_eq!(view["status"], "Failed", "{view}");
    let reason = view["reason"].as_str().unwrap_or("");
    assert!(reason.contains("127.0.0.1"), "{reason}");
    app.finish().await;
}

#[tokio::test]
async fn another_accounts_asset_is_404_to_read_and_40003_to_use() {
    let app = spawn_app().await;
    let (_other, other_key) = app.new_account(1_000_000).await;
    let id = id_of(
        &app.upload_asset_file(FilePart {
            name: "mine",
            kind: "image",
            file_name: "m.png",
            bytes: png(400, 400, [5, 5, 5]),
        })
        .await,
    );
    let detail = app.asset_detail_as(&other_key, &id).await;
    assert_eq!(
        (detail.status, detail.code()),
        (404, 40400),
        "{:?}",
        detail.body
    );
    let status = app.asset_status_as(&other_key, &[&id]).await;
    assert_eq!(
        (status.status, status.code()),
        (404, 40400),
        "{:?}",
        status.body
    );
    let created = app
        .create_task_with_key(
            &other_key,
            &json!({"model": "seedance2.0-sp", "prompt": "x", "duration": 4, "resolution": "480p", "images": [format!("asset://{id}")]}),
        )
        .await;
    assert_eq!(created.code(), 40003, "{:?}", created.body);
    assert_eq!(created.data()["param"], "images[0]");
    assert!(
        created.msg().contains("images[0]") && created.msg().contains(&id),
        "{}",
        created.msg()
    );
    let deleted = app
        .post_json_as(
            &other_key,
            "/seedance/sp/assets/delete",
            &json!({"asset_id": id}),
        )
        .await;
    assert_eq!(deleted.status, 404, "another account cannot delete it");
    app.finish().await;
}

#[tokio::test]
async fn an_asset_of_the_wrong_kind_for_its_field_is_40003() {
    let app = spawn_app().await;
    let id = id_of(
        &app.upload_asset_file(FilePart {
            name: "tone",
            kind: "audio",
            file_name: "t.wav",
            bytes: wav(3),
        })
        .await,
    );
    let created = app
        .create_task(&json!({"model": "seedance2.0-sp", "prompt": "x", "duration": 4, "resolution": "480p", "images": ["https://example.com/a.png", format!("asset://{id}")]}))
        .await;
    assert_eq!(created.code(), 40003, "{:?}", created.body);
    assert_eq!(created.data()["param"], "images[1]");
    assert!(created.msg().contains("audio"), "{}", created.msg());
    app.finish().await;
}

#[tokio::test]
async fn a_library_asset_renders_from_storage_in_a_task() {
    let app = spawn_app().await;
    let image = id_of(
        &app.upload_asset_file(FilePart {
            name: "p",
            kind: "image",
            file_name: "p.png",
            bytes: png(600, 1000, [200, 40, 40]),
        })
        .await,
    );
    let audio = id_of(
        &app.upload_asset_file(FilePart {
            name: "a",
            kind: "audio",
            file_name: "a.wav",
            bytes: wav(3),
        })
        .await,
    );
    let created = app
        .create_task(&json!({
            "model": "seedance2.0-sp", "prompt": "she turns", "duration": 4, "resolution": "480p",
            "first_image": format!("asset://{image}"), "reference_audios": [format!("asset://{audio}")],
        }))
        .await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let task = app
        .wait_terminal(created.data()["task_id"].as_str().expect("id"))
        .await;
    assert_eq!(task["status"], "completed", "{task}");
    assert_eq!(
        task["result"]["ratio"], "9:16",
        "adaptive ratio read from the stored image"
    );
    assert_eq!(task["result"]["has_audio"], true);
    app.finish().await;
}

#[tokio::test]
async fn a_task_whose_asset_is_deleted_before_it_runs_fails_with_a_refund() {
    let app = spawn_app_with(Options {
        workers: false,
        tweak: Box::new(|_| {}),
    })
    .await;
    let id = id_of(
        &app.upload_asset_file(FilePart {
            name: "p",
            kind: "image",
            file_name: "p.png",
            bytes: png(400, 400, [1, 1, 1]),
        })
        .await,
    );
    let before = app.balance().await;
    let created = app
        .create_task(&json!({"model": "seedance2.0-sp", "prompt": "x", "duration": 4, "resolution": "480p", "images": [format!("asset://{id}")]}))
        .await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let deleted = app
        .post_json_as(
            &app.key,
            "/seedance/sp/assets/delete",
            &json!({"asset_id": id}),
        )
        .await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    assert_eq!(app.asset_detail_as(&app.key, &id).await.status, 404);
    app.worker.poll_once().await.expect("poll");
    let task = app
        .wait_terminal(created.data()["task_id"].as_str().expect("id"))
        .await;
    assert_eq!(task["status"], "failed", "{task}");
    let message = task["error_message"].as_str().unwrap_or("");
    assert!(
        message.contains("images[0]") && message.contains("deleted"),
        "{message}"
    );
    assert_eq!(task["cost"]["refunded"], true);
    assert_eq!(app.balance().await, before);
    app.finish().await;
}

#[tokio::test]
async fn audit_uploads_under_the_auto_policy_are_active_and_usable_on_the_full_route() {
    let app = spawn_app().await;
    let uploaded = app
        .upload_multipart(
            &app.key,
            "/seedance/assets/audit",
            FilePart {
                name: "hero",
                kind: "image",
                file_name: "h.png",
                bytes: png(640, 360, [20, 90, 160]),
            },
        )
        .await;
    let id = id_of(&uploaded);
    assert_eq!(uploaded.data()["status"], "Active", "{:?}", uploaded.body);
    let status = app.audit_status(&[&id]).await;
    assert_eq!(status.status, 200, "{:?}", status.body);
    assert_eq!(status.data()["items"][0]["review"], "approved");
    let other = app.new_account(0).await;
    let hidden = app
        .get_as(&other.1, &format!("/seedance/assets/status?asset_ids={id}"))
        .await;
    assert_eq!(hidden.status, 404);
    let created = app
        .create_task(&json!({"model": "sd2_mx_fast_720p", "prompt": "x", "duration": 4, "first_image": format!("asset://{id}")}))
        .await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let task = app
        .wait_terminal(created.data()["task_id"].as_str().expect("id"))
        .await;
    assert_eq!(task["status"], "completed", "{task}");
    app.finish().await;
}

#[tokio::test]
async fn the_full_route_refuses_unaudited_assets_until_an_admin_approves() {
    let app = spawn_app_with(with_admin(|s| {
        s.assets.audit_policy = reelay::config::ReviewPolicy::Manual
    }))
    .await;
    let media = media_server(vec![("hero.png", png(640, 360, [20, 90, 160]))]).await;
    let url = format!("{}/hero.png", media.base);
    let body = |id: &str| json!({"model": "sd2_mx_fast_720p", "prompt": "x", "duration": 4, "images": [format!("asset://{id}")]});

    // A library asset is not audited.
    let library = id_of(&app.upload_asset_url(&app.key, "image", &url).await);
    assert_eq!(app.wait_asset(&library).await["status"], "Active");
    let refused = app.create_task(&body(&library)).await;
    assert_eq!(refused.code(), 40003, "{:?}", refused.body);
    assert!(refused.msg().contains("audit"), "{}", refused.msg());

    // An audit upload waits for an operator.
    let audited = app.audit_asset_url("image", &url).await;
    let id = id_of(&audited);
    assert_eq!(audited.data()["status"], "Processing");
    let view = app.wait_asset(&id).await;
    assert_eq!(view["status"], "Processing");
    assert_eq!(view["review"], "pending");
    let pending = app.create_task(&body(&id)).await;
    assert_eq!(pending.code(), 40003, "{:?}", pending.body);
    assert!(pending.msg().contains("review"), "{}", pending.msg());

    let listed = app.admin_get("/reviews?purpose=audit").await;
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    let items = listed.data()["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["asset_id"], id.as_str());
    let preview = items[0]["preview_url"]
        .as_str()
        .expect("preview url")
        .to_string();
    let fetched = app.client.get(&preview).send().await.expect("preview");
    assert_eq!(fetched.status(), 200);

    let approved = app
        .admin_post(&format!("/reviews/{id}/approve"), &json!({}))
        .await;
    assert_eq!(approved.status, 200, "{:?}", approved.body);
    assert_eq!(approved.data()["status"], "Active");
    assert_eq!(approved.data()["reviewed_by"], "admin:alice");
    let again = app
        .admin_post(&format!("/reviews/{id}/approve"), &json!({}))
        .await;
    assert_eq!(again.status, 409, "a decided item is not pending");

    let created = app.create_task(&body(&id)).await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let task = app
        .wait_terminal(created.data()["task_id"].as_str().expect("id"))
        .await;
    assert_eq!(task["status"], "completed", "{task}");

    // A rejection needs a reason, and the user sees it.
    let second = id_of(&app.audit_asset_url("image", &url).await);
    app.wait_asset(&second).await;
    let no_reason = app
        .admin_post(&format!("/reviews/{second}/reject"), &json!({}))
        .await;
    assert_eq!(no_reason.code(), 40001, "{:?}", no_reason.body);
    let rejected = app
        .admin_post(
            &format!("/reviews/{second}/reject"),
            &json!({"reason": "logo is trademarked"}),
        )
        .await;
    assert_eq!(rejected.status, 200, "{:?}", rejected.body);
    let view = app.audit_status(&[&second]).await;
    assert_eq!(view.data()["items"][0]["status"], "Failed");
    assert_eq!(view.data()["items"][0]["reason"], "logo is trademarked");

    let trail = app.admin_get("/audit").await;
    let actions: Vec<(String, String, String)> = trail.data()["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|a| {
            (
                a["action"].as_str().unwrap_or("").to_string(),
                a["target"].as_str().unwrap_or("").to_string(),
                a["actor"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert!(
        actions.contains(&("asset.approve".into(), id.clone(), "admin:alice".into())),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("asset.reject".into(), second.clone(), "admin:alice".into())),
        "{actions:?}"
    );
    app.finish().await;
}

#[tokio::test]
async fn a_url_intake_interrupted_by_a_restart_is_failed_by_the_sweep() {
    let app = spawn_app_with(Options {
        workers: false,
        ..Options::default()
    })
    .await;
    // What a crash mid-download leaves: a Processing row with nothing stored.
    sqlx::query(
        "INSERT INTO assets (id, account_id, purpose, kind, name, source_url, status, created_at, updated_at) \
         VALUES ('asset_interrupted', $1, 'library', 'image', 'x', 'https://example.com/x.png', 'Processing', 0, 0)",
    )
    .bind(&app.account_id)
    .execute(&app.db.write)
    .await
    .expect("insert");
    assert_eq!(
        app.sweeper.sweep_interrupted_assets().await.expect("sweep"),
        1
    );
    let detail = app
        .post_json_as(
            &app.key,
            "/seedance/sp/assets/detail",
            &serde_json::json!({"asset_id": "asset_interrupted"}),
        )
        .await;
    assert_eq!(detail.data()["status"], "Failed", "{:?}", detail.body);
    assert!(detail.data()["reason"]
        .as_str()
        .unwrap_or("")
        .contains("interrupted"));
    assert_eq!(
        app.sweeper.sweep_interrupted_assets().await.expect("sweep"),
        0,
        "only once"
    );
    app.finish().await;
}

#[tokio::test]
async fn the_asset_list_shows_every_purpose_newest_first_with_working_content_urls() {
    let app = spawn_app_with(with_admin(|_| {})).await;
    let (_, other_key) = app.new_account(0).await;
    let image = || png(640, 480, [10, 20, 30]);
    let part = |name: &'static str| FilePart {
        name,
        kind: "image",
        file_name: "a.png",
        bytes: image(),
    };
    let library = id_of(&app.upload_asset_file(part("library one")).await);
    let audited = id_of(
        &app.upload_multipart(&app.key, "/seedance/assets/audit", part("audited"))
            .await,
    );
    let person = id_of(
        &app.upload_multipart(&app.key, "/seedance/sp/realperson/submit", part("Ada"))
            .await,
    );
    let theirs = id_of(
        &app.upload_multipart(&other_key, "/seedance/sp/assets/upload", part("not mine"))
            .await,
    );

    // Every purpose of the caller's, newest first; another account's never.
    let all = app.get("/assets").await;
    assert_eq!(all.status, 200, "{:?}", all.body);
    let ids: Vec<&str> = all.data()["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|a| a["asset_id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, [person.as_str(), audited.as_str(), library.as_str()]);
    assert!(!ids.contains(&theirs.as_str()));
    assert_eq!(all.data()["next_cursor"], json!(null));
    let first = &all.data()["items"][2];
    assert_eq!(first["purpose"], "library");
    assert_eq!(first["type"], "image");
    assert_eq!(first["status"], "Active");
    assert_eq!(
        (first["width"].as_i64(), first["height"].as_i64()),
        (Some(640), Some(480))
    );
    assert_eq!(first["asset_ref"], format!("asset://{library}"));
    // The signed content URL serves the stored bytes without a key.
    let content_url = first["content_url"].as_str().expect("content_url");
    let bytes = reqwest::get(content_url)
        .await
        .expect("get")
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(bytes.as_ref(), image().as_slice());
    // One asset by id, any purpose, as listed; another account's is 404.
    // (`content_url` aside: it changes at the top of each hour.)
    let without_url = |item: &serde_json::Value| {
        let mut item = item.clone();
        item.as_object_mut().map(|o| o.remove("content_url"));
        item
    };
    for (i, id) in [&person, &audited, &library].into_iter().enumerate() {
        let one = app.get(&format!("/assets/{id}")).await;
        assert_eq!(one.status, 200, "{:?}", one.body);
        assert!(one.data()["content_url"].is_string());
        assert_eq!(
            without_url(one.data()),
            without_url(&all.data()["items"][i])
        );
    }
    let other = app.get(&format!("/assets/{theirs}")).await;
    assert_eq!((other.status, other.code()), (404, 40400));
    // The real-person record waits for an operator (manual policy), with its review shown.
    assert_eq!(all.data()["items"][0]["purpose"], "realperson");
    assert_eq!(all.data()["items"][0]["review"], "pending");

    // Filters and pages.
    let people = app.get("/assets?purpose=realperson").await;
    assert_eq!(people.data()["items"].as_array().map(Vec::len), Some(1));
    let page1 = app.get("/assets?limit=2").await;
    assert_eq!(page1.data()["items"].as_array().map(Vec::len), Some(2));
    let cursor = page1.data()["next_cursor"].as_str().expect("cursor");
    let page2 = app.get(&format!("/assets?limit=2&cursor={cursor}")).await;
    assert_eq!(page2.data()["items"][0]["asset_id"], json!(library));
    assert_eq!(page2.data()["next_cursor"], json!(null));
    // The library and audited images are Active (auto policy); the person waits for review.
    let active = app.get("/assets?status=Active&type=image").await;
    let active: Vec<&str> = active.data()["items"]
        .as_array()
        .expect("items")
        .iter()
        .inspect(|a| assert_eq!(a["status"], "Active"))
        .map(|a| a["asset_id"].as_str().expect("id"))
        .collect();
    assert_eq!(active, [audited.as_str(), library.as_str()]);
    let processing = app.get("/assets?status=Processing").await;
    assert_eq!(processing.data()["items"][0]["asset_id"], json!(person));
    for (query, param) in [
        ("purpose=people", "purpose"),
        ("status=active", "status"),
        ("type=picture", "type"),
        ("limit=0", "limit"),
        ("cursor=nope", "cursor"),
    ] {
        let bad = app.get(&format!("/assets?{query}")).await;
        assert_eq!(
            (bad.status, bad.code()),
            (400, 40001),
            "{query}: {:?}",
            bad.body
        );
        assert_eq!(bad.data()["param"], param, "{query}");
    }

    // A deleted asset leaves the list.
    let deleted = app
        .post_json_as(
            &app.key,
            "/seedance/sp/assets/delete",
            &json!({"asset_id": library}),
        )
        .await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    let after = app.get("/assets").await;
    assert_eq!(after.data()["items"].as_array().map(Vec::len), Some(2));
    app.finish().await;
}
