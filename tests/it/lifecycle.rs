//! A task's life: create → queued → processing → completed, with a real MP4 behind a signed URL.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn text_task_completes_with_a_real_mp4() {
    let app = spawn_app().await;
    let created = app.create_task(&text_request("seedance2.0-sp")).await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    assert_eq!(created.body["code"], json!(0));
    assert_eq!(created.msg(), "ok");
    assert!(created.headers.contains_key("x-request-id"));
    let data = created.data();
    let task_id = data["task_id"].as_str().expect("task id").to_string();
    assert!(task_id.starts_with("vid_"));
    assert_eq!(data["status"], "queued");
    assert_eq!(data["model"], "seedance2.0-sp");
    assert!(data["created_at"].as_i64().is_some());
    assert_eq!(
        data["cost"],
        json!({"credits": 4000, "unit": "per_second", "seconds": 4})
    );

    let task = app.wait_terminal(&task_id).await;
    assert_eq!(task["status"], "completed", "{task}");
    assert_eq!(task["progress"], 100);
    assert!(task["completed_at"].as_i64().is_some());
    assert_eq!(task["error"], json!(null));
    assert_eq!(task["request"]["duration"], 4);
    assert_eq!(task["request"]["ratio"], "16:9");
    let result = &task["result"];
    assert_eq!(result["width"], 864);
    assert_eq!(result["height"], 480);
    assert_eq!(result["fps"], 24);
    assert_eq!(result["has_audio"], false);
    assert_eq!(result["channel"], "local");
    assert!(
        result["expires_at"].as_i64().expect("expires")
            > task["completed_at"].as_i64().expect("done")
    );

    let url = result["video_url"].as_str().expect("video url");
    assert!(url.starts_with(&app.base), "{url} is served by reelay");
    let video = app.client.get(url).send().await.expect("get video");
    assert_eq!(video.status(), 200);
    assert_eq!(video.headers()["content-type"], "video/mp4");
    let bytes = video.bytes().await.expect("bytes");
    assert_eq!(
        bytes.len() as u64,
        result["size_bytes"].as_u64().expect("size")
    );
    // Parse the file with reelay-media's independent box parser, not the muxer that wrote it.
    let probe = reelay_media::probe(&bytes).expect("a parseable MP4");
    assert_eq!(probe.format, reelay_media::MediaFormat::Mp4);
    assert_eq!((probe.width, probe.height), (Some(864), Some(480)));
    let seconds = probe.duration_secs.expect("duration");
    assert!((seconds - 4.0).abs() < 0.05, "duration {seconds}");
    app.finish().await;
}

#[tokio::test]
async fn every_model_of_the_catalog_runs_on_the_local_channel() {
    let app = spawn_app().await;
    let models = app.get("/models").await;
    assert_eq!(models.status, 200);
    let items = models.data()["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 22);
    let mut ids = Vec::new();
    for model in &items {
        let name = model["model"].as_str().expect("name");
        assert_eq!(model["channels"], json!(["local"]), "{name}");
        let min = model["duration"]["min"].as_u64().expect("min");
        let mut body = json!({"model": name, "prompt": "a short test clip", "duration": min});
        if name == "seedance2.0-fast-i2v" || name == "seedance2.0-md" {
            continue; // these need images; media_inputs.rs covers them
        }
        if model["resolution"]["allowed"]
            .as_array()
            .is_some_and(|a| a.contains(&json!("480p")))
        {
            body["resolution"] = json!("480p");
        }
        let created = app.create_task(&body).await;
        assert_eq!(created.status, 200, "{name}: {:?}", created.body);
        ids.push((
            name.to_string(),
            created.data()["task_id"].as_str().expect("id").to_string(),
        ));
    }
    for (name, id) in ids {
        let task = app.wait_terminal(&id).await;
        assert_eq!(task["status"], "completed", "{name}: {task}");
        assert_eq!(
            task["result"]["duration"].as_f64().map(f64::round),
            task["request"]["duration"].as_f64(),
            "{name}"
        );
    }
    app.finish().await;
}

#[tokio::test]
async fn list_pages_newest_first_with_a_cursor_and_filters() {
    let app = spawn_app_with(Options {
        workers: false,
        ..Options::default()
    })
    .await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        let created = app.create_task(&text_request("seedance2.0-mini")).await;
        ids.push(created.data()["task_id"].as_str().expect("id").to_string());
    }
    let page1 = app.get("/videos?limit=2").await;
    assert_eq!(page1.status, 200);
    let items: Vec<&str> = page1.data()["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| t["task_id"].as_str().expect("id"))
        .collect();
    assert_eq!(items.len(), 2);
    let cursor = page1.data()["next_cursor"]
        .as_str()
        .expect("cursor")
        .to_string();
    let page2 = app.get(&format!("/videos?limit=2&cursor={cursor}")).await;
    let cursor2 = page2.data()["next_cursor"]
        .as_str()
        .expect("cursor")
        .to_string();
    let page3 = app.get(&format!("/videos?limit=2&cursor={cursor2}")).await;
    assert_eq!(page3.data()["next_cursor"], json!(null));
    let mut seen: Vec<String> = Vec::new();
    for page in [&page1, &page2, &page3] {
        for item in page.data()["items"].as_array().expect("items") {
            seen.push(item["task_id"].as_str().expect("id").to_string());
        }
    }
    let mut expected = ids.clone();
    expected.sort();
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(sorted, expected, "every task exactly once across pages");
    // created_at never increases along the listing
    let times: Vec<i64> = [&page1, &page2, &page3]
        .iter()
        .flat_map(|p| {
            p.data()["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|t| t["created_at"].as_i64().expect("t"))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]));

    assert_eq!(
        app.get("/videos?status=queued").await.data()["items"]
            .as_array()
            .map(Vec::len),
        Some(5)
    );
    assert_eq!(
        app.get("/videos?status=completed").await.data()["items"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    assert_eq!(
        app.get("/videos?model=seedance2.0-sp").await.data()["items"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    let bad = app.get("/videos?status=done").await;
    assert_eq!((bad.status, bad.code()), (400, 40001));
    assert_eq!(bad.data()["param"], "status");
    let bad = app.get("/videos?limit=101").await;
    assert_eq!(
        (bad.status, bad.code(), bad.data()["param"].as_str()),
        (400, 40001, Some("limit"))
    );
    let bad = app.get("/videos?cursor=%%%").await;
    assert_eq!((bad.status, bad.code()), (400, 40001));

    app.run_queued_tasks().await;
    app.finish().await;
}

#[tokio::test]
async fn cancel_refunds_a_queued_task_and_refuses_terminal_ones() {
    let app = spawn_app_with(Options {
        workers: false,
        ..Options::default()
    })
    .await;
    let before = app.balance().await;
    let created = app.create_task(&text_request("seedance2.0-sp")).await;
    let task_id = created.data()["task_id"].as_str().expect("id").to_string();
    assert_eq!(app.balance().await, before - 4000);
    let cancelled = app.cancel(&task_id).await;
    assert_eq!(cancelled.status, 200, "{:?}", cancelled.body);
    assert_eq!(cancelled.data()["status"], "failed");
    assert_eq!(cancelled.data()["error"]["code"], "cancelled");
    assert_eq!(cancelled.data()["cost"]["refunded"], true);
    assert_eq!(app.balance().await, before);
    let again = app.cancel(&task_id).await;
    assert_eq!((again.status, again.code()), (409, 40900));
    assert_eq!(app.balance().await, before, "refunded exactly once");
    let missing = app.cancel("vid_doesnotexist").await;
    assert_eq!((missing.status, missing.code()), (404, 40400));

    let done = app.create_task(&text_request("seedance2.0-sp")).await;
    let done_id = done.data()["task_id"].as_str().expect("id").to_string();
    app.worker.poll_once().await.expect("poll");
    assert_eq!(app.task(&done_id).await.data()["status"], "completed");
    let refused = app.cancel(&done_id).await;
    assert_eq!((refused.status, refused.code()), (409, 40900));
    assert!(refused.msg().contains("completed"), "{}", refused.msg());
    app.finish().await;
}

#[tokio::test]
async fn signed_urls_support_range_and_refuse_tampering() {
    let app = spawn_app().await;
    let mut body = text_request("seedance2.0-sp");
    body["return_last_frame"] = json!(true);
    let created = app.create_task(&body).await;
    let task = app
        .wait_terminal(created.data()["task_id"].as_str().expect("id"))
        .await;
    let url = task["result"]["video_url"]
        .as_str()
        .expect("url")
        .to_string();
    let size = task["result"]["size_bytes"].as_u64().expect("size");

    let part = app
        .client
        .get(&url)
        .header("Range", "bytes=10-19")
        .send()
        .await
        .expect("range");
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 10-19/{size}").as_str()
    );
    assert_eq!(part.bytes().await.expect("bytes").len(), 10);
    let tail = app
        .client
        .get(&url)
        .header("Range", "bytes=-8")
        .send()
        .await
        .expect("range");
    assert_eq!(tail.status(), 206);
    let beyond = app
        .client
        .get(&url)
        .header("Range", format!("bytes={size}-"))
        .send()
        .await
        .expect("range");
    assert_eq!(beyond.status(), 416);

    let other_path = url.replace("video.mp4", "last_frame.png");
    assert_eq!(
        app.client
            .get(&other_path)
            .send()
            .await
            .expect("get")
            .status(),
        403,
        "signature bound to the path"
    );
    let (head, _) = url.split_once("&sig=").expect("sig");
    assert_eq!(
        app.client
            .get(format!("{head}&sig=AAAA"))
            .send()
            .await
            .expect("get")
            .status(),
        403
    );
    let parsed = reqwest::Url::parse(&url).expect("url");
    let exp: i64 = parsed
        .query_pairs()
        .find(|(k, _)| k == "exp")
        .map(|(_, v)| v.parse().expect("exp"))
        .expect("exp");
    let changed = url.replace(&format!("exp={exp}"), &format!("exp={}", exp + 3600));
    assert_eq!(
        app.client.get(&changed).send().await.expect("get").status(),
        403,
        "expiry is signed"
    );

    let frame_url = task["result"]["last_frame_url"]
        .as_str()
        .expect("last frame");
    let frame = app.client.get(frame_url).send().await.expect("frame");
    assert_eq!(frame.headers()["content-type"], "image/png");
    let png = frame.bytes().await.expect("png");
    assert_eq!(
        reelay_media::sniff(&png),
        Some(reelay_media::MediaFormat::Png)
    );
    app.finish().await;
}

#[tokio::test]
async fn retention_sweep_deletes_files_and_marks_the_task() {
    let app = spawn_app_with(Options {
        workers: false,
        tweak: Box::new(|s| s.results.retention_hours = 1),
    })
    .await;
    let created = app.create_task(&text_request("seedance2.0-sp")).await;
    let task_id = created.data()["task_id"].as_str().expect("id").to_string();
    app.worker.poll_once().await.expect("poll");
    let url = app.task(&task_id).await.data()["result"]["video_url"]
        .as_str()
        .expect("url")
        .to_string();
    assert_eq!(
        app.sweeper.sweep_retention().await.expect("sweep"),
        0,
        "not yet due"
    );
    // Age the result past retention.
    sqlx::query("UPDATE tasks SET completed_at = completed_at - 7200 WHERE id = $1")
        .bind(&task_id)
        .execute(&app.db.write)
        .await
        .expect("age");
    assert_eq!(app.sweeper.sweep_retention().await.expect("sweep"), 1);
    let task = app.task(&task_id).await;
    assert_eq!(task.data()["status"], "completed");
    assert_eq!(task.data()["result"]["expired"], true);
    assert_eq!(task.data()["result"]["video_url"], json!(null));
    assert_eq!(task.data()["result"]["width"], 864, "metadata kept");
    assert!(
        !app.object_exists(&format!("results/{task_id}/video.mp4"))
            .await
    );
    let gone = app.client.get(&url).send().await.expect("get");
    assert!(
        gone.status() == 403 || gone.status() == 404,
        "{}",
        gone.status()
    );
    app.finish().await;
}

/// A worker stored the video and the last frame, then died on the task's last allowed claim:
/// the lost-worker sweep fails the task with its refund and deletes both files (the chaos run
/// once found such a video orphaned).
#[tokio::test]
async fn a_task_lost_on_its_last_claim_fails_without_leaving_files() {
    let app = spawn_app_with(Options {
        workers: false,
        ..Options::default()
    })
    .await;
    let before = app.balance().await;
    let created = app.create_task(&text_request("seedance2.0-sp")).await;
    let task_id = created.data()["task_id"].as_str().expect("id").to_string();
    // The dispatcher routes it to the local channel; then a worker may claim it.
    app.worker.route_queued().await.expect("route");
    let claimed =
        reelay::tasks::state::claim(&app.db, "doomed-worker", &["local".to_string()], 60, 3)
            .await
            .expect("claim")
            .expect("a task to claim");
    assert_eq!(claimed.id, task_id);
    for key in [
        reelay::storage::video_key(&task_id),
        reelay::storage::last_frame_key(&task_id),
    ] {
        app.storage
            .put(&key, b"stored before the crash".to_vec())
            .await
            .expect("put");
    }
    assert_eq!(
        app.sweeper.sweep_lost().await.expect("sweep"),
        0,
        "the lease still runs"
    );
    // The worker is gone: its lease ran out on the last claim it was allowed.
    sqlx::query("UPDATE tasks SET lease_until = 0, attempts = $1 WHERE id = $2")
        .bind(app.sweeper.max_attempts)
        .bind(&task_id)
        .execute(&app.db.write)
        .await
        .expect("expire the lease");
    assert_eq!(app.sweeper.sweep_lost().await.expect("sweep"), 1);
    let task = app.task(&task_id).await;
    assert_eq!(task.data()["status"], "failed", "{:?}", task.body);
    assert_eq!(task.data()["error"]["code"], "worker_lost");
    assert_eq!(task.data()["cost"]["refunded"], true);
    assert_eq!(app.balance().await, before, "refunded");
    assert_eq!(
        app.storage
            .list(&format!("results/{task_id}"))
            .await
            .expect("list"),
        Vec::<String>::new(),
        "the dead worker's files are deleted"
    );
    assert_eq!(app.sweeper.sweep_lost().await.expect("sweep"), 0);
    app.finish().await;
}

/// A task failed by someone else (an operator, the lost-worker sweep) while its worker still
/// runs it: the worker drops its outcome and deletes whatever is under the task's results.
#[tokio::test]
async fn a_worker_whose_task_failed_meanwhile_deletes_its_files() {
    let app = spawn_app_with(Options {
        workers: false,
        ..Options::default()
    })
    .await;
    let before = app.balance().await;
    let long = json!({"model": "seedance2.0-sp", "prompt": "a long take", "duration": 15, "resolution": "1080p"});
    let created = app.create_task(&long).await;
    let task_id = created.data()["task_id"].as_str().expect("id").to_string();
    let worker = app.worker.clone();
    let run = tokio::spawn(async move { worker.poll_once().await });
    for _ in 0..100 {
        if app.task(&task_id).await.data()["status"] == "processing" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // As if the worker had stored the video already; then the task fails under it.
    let key = reelay::storage::video_key(&task_id);
    app.storage
        .put(&key, b"stored by the worker".to_vec())
        .await
        .expect("put");
    let failed = reelay::tasks::state::fail(
        &app.db,
        &task_id,
        reelay::tasks::state::Holder::AnyLive,
        &reelay::providers::TaskFailure::new("internal", "failed by the operator"),
    )
    .await
    .expect("fail");
    assert!(failed);
    run.await.expect("join").expect("poll");
    assert!(
        !app.object_exists(&key).await,
        "the worker deleted its file"
    );
    let task = app.task(&task_id).await;
    assert_eq!(task.data()["status"], "failed");
    assert_eq!(task.data()["cost"]["refunded"], true);
    assert_eq!(app.balance().await, before);
    app.finish().await;
}

#[tokio::test]
async fn files_stored_after_a_task_failed_are_deleted_by_the_sweep_after_its_grace() {
    let app = spawn_app_with(Options {
        workers: false,
        ..Options::default()
    })
    .await;
    let created = app.create_task(&text_request("seedance2.0-sp")).await;
    let task_id = created.data()["task_id"].as_str().expect("id").to_string();
    let failed = reelay::tasks::state::fail(
        &app.db,
        &task_id,
        reelay::tasks::state::Holder::AnyLive,
        &reelay::providers::TaskFailure::new("internal", "failed by the operator"),
    )
    .await
    .expect("fail");
    assert!(failed);
    // A worker that lost the task stores its video after the failure, and is killed before it
    // notices: nobody else deletes it.
    let key = reelay::storage::video_key(&task_id);
    app.storage
        .put(&key, b"stored by a worker past its lease".to_vec())
        .await
        .expect("put");

    // Within the grace period the sweep leaves it (the worker may still be uploading).
    let mut sweeper = app.sweeper.clone();
    assert_eq!(sweeper.discard_grace_secs, 15 * 60);
    assert_eq!(sweeper.sweep_discards().await.expect("sweep"), 0);
    assert!(app.object_exists(&key).await);

    // After it, the sweep deletes the task's results once, and then the task is done with.
    sweeper.discard_grace_secs = 0;
    assert_eq!(sweeper.sweep_discards().await.expect("sweep"), 1);
    assert!(!app.object_exists(&key).await, "the late file was deleted");
    app.storage
        .put(&key, b"a file under a task that was already swept".to_vec())
        .await
        .expect("put");
    assert_eq!(sweeper.sweep_discards().await.expect("sweep again"), 0);
    assert!(
        app.object_exists(&key).await,
        "each failed task is swept once"
    );
    app.storage.delete(&key).await.expect("clean up");

    let task = app.task(&task_id).await;
    assert_eq!(task.data()["status"], "failed");
    assert_eq!(task.data()["cost"]["refunded"], true);
    app.finish().await;
}

#[tokio::test]
async fn success_code_can_be_the_string_20000() {
    let app = spawn_app_with(Options {
        workers: false,
        tweak: Box::new(|s| s.api.success_code = "20000".into()),
    })
    .await;
    let quote = app.quote(&text_request("seedance2.0-sp")).await;
    assert_eq!(quote.body["code"], json!("20000"));
    let error = app.quote(&json!({"model": "nope", "prompt": "x"})).await;
    assert_eq!(
        error.body["code"],
        json!(40002),
        "errors keep integer codes"
    );
    app.finish().await;
}

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let health = app
        .client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .expect("get");
    assert_eq!(health.status(), 200);
    let ready = app
        .client
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .expect("get");
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.expect("json");
    assert_eq!(body["database"], true);
    assert_eq!(body["storage"], true);
    app.finish().await;
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_tasks_by_status() {
    let app = spawn_app().await;
    let created = app.create_task(&text_request("seedance2.0-sp")).await;
    app.wait_terminal(created.data()["task_id"].as_str().expect("id"))
        .await;
    let text = scrape_metrics(&app).await;
    assert!(
        text.contains(r#"reelay_http_requests_total{route="/api/open-api/v1/seedance/videos",method="POST",status="200"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"route="/api/open-api/v1/videos/{task_id}""#),
        "route templates, not raw ids: {text}"
    );
    assert!(
        text.contains(r#"reelay_tasks{model="seedance2.0-sp",status="completed"} 1"#),
        "{text}"
    );
    assert!(text.contains("reelay_queue_depth 0"), "{text}");
    // The local render's time, by model.
    assert!(
        text.lines()
            .any(|l| l == r#"reelay_render_seconds_count{model="seedance2.0-sp"} 1"#),
        "{text}"
    );
    assert!(!text.contains("vid_"), "no task ids in labels");
    app.finish().await;
}

/// A `reelay worker` with `worker.metrics_listen` serves its own metrics and health (and nothing
/// else): the render it does is counted there, not on the API replica that took the request.
#[tokio::test]
async fn a_worker_process_serves_its_own_metrics() {
    let app = spawn_app_with(Options {
        workers: false,
        ..Options::default()
    })
    .await;
    let mut settings = backend_settings(app.data_dir.path());
    settings.worker.metrics_listen = Some("127.0.0.1:0".into());
    let worker = reelay::app::Application::build(settings, reelay::app::Role::WorkerOnly)
        .await
        .expect("worker builds");
    assert!(worker.serves_http());
    let worker_base = format!("http://{}", worker.address());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run_until_stopped(async move {
        let _ = stopped.await;
    }));

    let created = app.create_task(&text_request("seedance2.0-sp")).await;
    let task = app
        .wait_terminal(created.data()["task_id"].as_str().expect("id"))
        .await;
    assert_eq!(task["status"], "completed", "{task}");

    let get = |path: &str| app.client.get(format!("{worker_base}{path}")).send();
    let scraped = get("/metrics").await.expect("scrape");
    assert_eq!(scraped.status(), 200);
    let text = scraped.text().await.expect("text");
    let rendered = r#"reelay_render_seconds_count{model="seedance2.0-sp"} 1"#;
    assert!(text.lines().any(|l| l == rendered), "{text}");
    // The database's counts, as on any replica.
    assert!(
        text.contains(r#"reelay_tasks{model="seedance2.0-sp",status="completed"} 1"#),
        "{text}"
    );
    assert_eq!(get("/healthz").await.expect("healthz").status(), 200);
    assert_eq!(get("/readyz").await.expect("readyz").status(), 200);
    // Only ops routes: the API is the replicas' job.
    let api = get("/api/open-api/v1/models").await.expect("api");
    assert_eq!(api.status(), 404);
    // The API replica that took the request rendered nothing.
    let api_text = scrape_metrics(&app).await;
    assert!(!api_text.lines().any(|l| l == rendered), "{api_text}");

    let _ = stop.send(());
    running.await.expect("joins").expect("worker stops cleanly");
    app.finish().await;
}

/// The task poll and the API-key lookup read SQLite synchronously (`store::local_read`); they
/// must answer exactly what the pooled sqlx path answers, for a queued and a completed task, a
/// revoked key and someone else's task. The test runs the worker itself, so that no claim lands
/// between the two reads it compares.
#[tokio::test]
async fn local_reads_answer_as_the_pool_does() {
    use reelay::store::{keys, tasks};
    let app = spawn_app_with(Options {
        workers: false,
        ..Options::default()
    })
    .await;
    let pooled = app.db.without_local();
    assert!(pooled.local().is_none());
    let sqlite = app.db.backend() == reelay::store::Backend::Sqlite;
    assert_eq!(app.db.local().is_some(), sqlite);

    let created = app.create_task(&text_request("seedance2.0-sp")).await;
    let task_id = created.data()["task_id"].as_str().expect("id").to_string();
    let same = |a: Option<tasks::TaskRow>, b: Option<tasks::TaskRow>| {
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        a
    };
    let queued = same(
        tasks::get_for_account(&app.db, &app.account_id, &task_id)
            .await
            .expect("local read"),
        tasks::get_for_account(&pooled, &app.account_id, &task_id)
            .await
            .expect("pooled read"),
    )
    .expect("the task");
    assert_eq!(queued.id, task_id);
    if let Some(reader) = app.db.local() {
        // The reader itself answers (a failure would fall back to the pool unseen).
        let count = reader.query_row(
            "SELECT COUNT(*) FROM tasks WHERE id = $1",
            [&task_id],
            |r| r.get::<_, i64>(0),
        );
        assert_eq!(count, Some(Some(1)));
    }

    assert!(matches!(
        app.worker.poll_once().await.expect("poll"),
        reelay::tasks::worker::PollOutcome::Started
    ));
    app.wait_terminal(&task_id).await;
    let done = same(
        tasks::get_for_account(&app.db, &app.account_id, &task_id)
            .await
            .expect("local read"),
        tasks::get_for_account(&pooled, &app.account_id, &task_id)
            .await
            .expect("pooled read"),
    )
    .expect("the task");
    assert_eq!(done.status, "completed");
    assert!(done.result.is_some() && done.completed_at.is_some());
    assert!(same(
        tasks::get_for_account(&app.db, "acc_someone_else", &task_id)
            .await
            .expect("local read"),
        tasks::get_for_account(&pooled, "acc_someone_else", &task_id)
            .await
            .expect("pooled read"),
    )
    .is_none());

    // The poll's joined read: key and task, key and someone else's task, a wrong secret.
    let (other_account, other_key) = app.new_account(100_000).await;
    let last = if app.key.ends_with('x') { "y" } else { "x" };
    let wrong = format!("{}{last}", &app.key[..app.key.len() - 1]);
    for (secret, expect_key, expect_task) in [
        (app.key.as_str(), Some(app.account_id.as_str()), true),
        (other_key.as_str(), Some(other_account.as_str()), false),
        (wrong.as_str(), None, false),
    ] {
        let local = tasks::get_with_key(&app.db, secret, &task_id)
            .await
            .expect("local read");
        let pooled_answer = tasks::get_with_key(&pooled, secret, &task_id)
            .await
            .expect("pooled read");
        assert_eq!(format!("{local:?}"), format!("{pooled_answer:?}"));
        assert_eq!(
            local.as_ref().map(|(key, _)| key.account_id.as_str()),
            expect_key
        );
        assert_eq!(
            local.and_then(|(_, task)| task).map(|task| task.id),
            expect_task.then(|| task_id.clone())
        );
    }

    let local_key = keys::authenticate(&app.db, &app.key)
        .await
        .expect("local read");
    let pooled_key = keys::authenticate(&pooled, &app.key)
        .await
        .expect("pooled read");
    assert_eq!(format!("{local_key:?}"), format!("{pooled_key:?}"));
    let key = local_key.expect("the key authenticates");
    assert!(keys::revoke(&app.db, &key.id).await.expect("revoke"));
    assert!(keys::authenticate(&app.db, &app.key)
        .await
        .expect("local read")
        .is_none());
    assert!(keys::authenticate(&pooled, &app.key)
        .await
        .expect("pooled read")
        .is_none());
    for db in [&app.db, &pooled] {
        assert!(tasks::get_with_key(db, &app.key, &task_id)
            .await
            .expect("read")
            .is_none());
    }
    app.finish().await;
}

/// The SQLite writer checkpoints after `database.sqlite_wal_autocheckpoint` pages (default 250:
/// short stalls, docs/BENCHMARKS.md); 0 is refused at load with the key named.
#[tokio::test]
async fn the_sqlite_writer_checkpoints_at_the_configured_size() {
    let app = spawn_app_with(Options {
        workers: false,
        tweak: Box::new(|settings| settings.database.sqlite_wal_autocheckpoint = 123),
    })
    .await;
    if app.db.backend() == reelay::store::Backend::Sqlite {
        let pages: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
            .fetch_one(&app.db.write)
            .await
            .expect("pragma");
        assert_eq!(pages, 123);
    }
    app.finish().await;

    let mut settings = reelay::config::Settings::default();
    settings.database.sqlite_wal_autocheckpoint = 0;
    let error = settings.validate().expect_err("0 is refused").to_string();
    assert!(
        error.contains("database.sqlite_wal_autocheckpoint"),
        "{error}"
    );
}

/// PostgreSQL pools do not ping before every statement (a second round trip per query), only
/// connections idle for `PING_WHEN_IDLE_FOR`: when the server drops every connection (a restart,
/// a proxy's idle timeout), the next requests still succeed on fresh connections.
#[tokio::test]
async fn connections_the_database_dropped_are_replaced() {
    // No background workers: only these requests use the pool after the drop.
    let app = spawn_app_with(Options {
        workers: false,
        ..Options::default()
    })
    .await;
    if app.db.backend() != reelay::store::Backend::Postgres {
        eprintln!("SQLite: nothing to drop (the PostgreSQL suite runs this)");
        return;
    }
    let created = app.create_task(&text_request("seedance2.0-sp")).await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let task_id = created.data()["task_id"].as_str().expect("id").to_string();
    let polls = || async {
        let answers = futures::future::join_all((0..8).map(|_| app.task(&task_id))).await;
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    };
    assert_eq!(polls().await, vec![200; 8]);

    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(app.db.url())
        .await
        .expect("connect");
    let dropped: Vec<(bool,)> = sqlx::query_as(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(&mut admin)
    .await
    .expect("terminate");
    assert!(!dropped.is_empty(), "the app had connections to drop");

    tokio::time::sleep(reelay::store::PING_WHEN_IDLE_FOR + std::time::Duration::from_millis(500))
        .await;
    assert_eq!(
        polls().await,
        vec![200; 8],
        "after the connections were dropped"
    );
    let cancelled = app.cancel(&task_id).await;
    assert_eq!(cancelled.status, 200, "{:?}", cancelled.body);
    app.finish().await;
}

#[tokio::test]
async fn list_finds_tasks_by_a_piece_of_prompt_or_id_and_by_creation_time() {
    let mut options = with_admin(|_| {});
    options.workers = false;
    let app = spawn_app_with(options).await;
    let with_prompt = |prompt: &str| json!({ "model": "seedance2.0-mini", "prompt": prompt, "duration": 4, "resolution": "480p" });
    let mut ids = Vec::new();
    for prompt in [
        "A Lighthouse at dusk",
        "一座灯塔，海浪",
        "a cat, 100% fluffy",
        "a dog_in_snow",
    ] {
        let created = app.create_task(&with_prompt(prompt)).await;
        assert_eq!(created.status, 200, "{:?}", created.body);
        ids.push(created.data()["task_id"].as_str().expect("id").to_string());
    }
    let found = |answer: &Answer| -> Vec<String> {
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        answer.data()["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|t| {
                t["task_id"]
                    .as_str()
                    .or_else(|| t["task"]["task_id"].as_str())
                    .expect("id")
                    .to_string()
            })
            .collect()
    };
    // Every byte percent-encoded: the query reaches the server exactly as written.
    let search = |q: &str| {
        let encoded: String = q.bytes().map(|b| format!("%{b:02X}")).collect();
        format!("/videos?q={encoded}")
    };
    // Any case; Chinese; `%` and `_` are plain characters, not wildcards.
    assert_eq!(
        found(&app.get(&search("lighthouse")).await),
        [ids[0].clone()]
    );
    assert_eq!(found(&app.get(&search("灯塔")).await), [ids[1].clone()]);
    assert_eq!(found(&app.get(&search("100%")).await), [ids[2].clone()]);
    assert_eq!(found(&app.get(&search("%")).await), [ids[2].clone()]);
    assert_eq!(found(&app.get(&search("g_i")).await), [ids[3].clone()]);
    assert!(found(&app.get(&search("unicorn")).await).is_empty());
    // A piece of a task id finds that task.
    let piece = &ids[3][ids[3].len() - 8..];
    assert_eq!(found(&app.get(&search(piece)).await), [ids[3].clone()]);
    // With other filters and paging.
    assert_eq!(
        found(&app.get("/videos?q=a&model=seedance2.0-mini&limit=1").await).len(),
        1
    );

    // Creation time: `since` inclusive, `until` exclusive, unix seconds.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    assert_eq!(
        found(&app.get(&format!("/videos?since={}", now - 3600)).await).len(),
        4
    );
    assert!(found(&app.get(&format!("/videos?since={}", now + 3600)).await).is_empty());
    assert!(found(&app.get(&format!("/videos?until={}", now - 3600)).await).is_empty());
    assert_eq!(
        found(&app.get(&format!("/videos?until={}", now + 3600)).await).len(),
        4
    );

    // The operator's log takes the same filters.
    assert_eq!(
        found(&app.admin_get("/tasks?q=LIGHTHOUSE").await),
        [ids[0].clone()]
    );
    assert!(found(&app.admin_get(&format!("/tasks?since={}", now + 3600)).await).is_empty());

    for (query, param) in [
        (format!("q={}", "x".repeat(201)), "q"),
        ("since=yesterday".to_string(), "since"),
        ("until=-5".to_string(), "until"),
    ] {
        let bad = app.get(&format!("/videos?{query}")).await;
        assert_eq!(
            (bad.status, bad.code()),
            (400, 40001),
            "{query}: {:?}",
            bad.body
        );
        assert_eq!(bad.data()["param"], param, "{query}");
    }
    app.run_queued_tasks().await;
    app.finish().await;
}
