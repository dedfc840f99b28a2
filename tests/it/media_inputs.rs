//! Tasks with media inputs: fetched from the users' URLs (a loopback server here, allowed by the
//! test settings), probed, checked against the media limits, and rendered.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn first_frame_with_adaptive_ratio_takes_the_images_shape() {
    let app = spawn_app().await;
    let media = media_server(vec![("portrait.png", png(600, 1000, [200, 40, 40]))]).await;
    let body = json!({
        "model": "seedance2.0-sp", "prompt": "she turns around", "duration": 4, "resolution": "480p",
        "first_image": format!("{}/portrait.png", media.base),
    });
    let created = app.create_task(&body).await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let task = app
        .wait_terminal(created.data()["task_id"].as_str().expect("id"))
        .await;
    assert_eq!(task["status"], "completed", "{task}");
    assert_eq!(task["request"]["ratio"], "adaptive");
    assert_eq!(task["result"]["ratio"], "9:16");
    assert_eq!(
        (
            task["result"]["width"].as_u64(),
            task["result"]["height"].as_u64()
        ),
        (Some(480), Some(864))
    );
    app.finish().await;
}

#[tokio::test]
async fn first_and_last_frames_and_reference_images_render() {
    let app = spawn_app().await;
    let media = media_server(vec![
        ("a.png", png(800, 800, [10, 120, 200])),
        ("b.png", png(800, 800, [220, 200, 20])),
    ])
    .await;
    let a = format!("{}/a.png", media.base);
    let b = format!("{}/b.png", media.base);
    let bodies = [
        json!({"model": "seedance2.0-md", "prompt": "morph", "duration": 2, "ratio": "1:1", "first_image": a, "last_image": b}),
        json!({"model": "seedance2.0-fast-i2v", "prompt": "slides", "duration": 2, "ratio": "9:16", "images": [a, b]}),
        json!({"model": "seedance2.0-mini", "prompt": "ref", "duration": 4, "resolution": "480p", "images": [a]}),
    ];
    let mut ids = Vec::new();
    for body in &bodies {
        let created = app.create_task(body).await;
        assert_eq!(created.status, 200, "{body}: {:?}", created.body);
        ids.push(created.data()["task_id"].as_str().expect("id").to_string());
    }
    let expected = [(960, 960, 2.0), (704, 1248, 2.0), (864, 480, 4.0)];
    for (id, (w, h, seconds)) in ids.iter().zip(expected) {
        let task = app.wait_terminal(id).await;
        assert_eq!(task["status"], "completed", "{task}");
        assert_eq!(task["result"]["width"], w);
        assert_eq!(task["result"]["height"], h);
        assert_eq!(task["result"]["duration"].as_f64(), Some(seconds));
    }
    app.finish().await;
}

#[tokio::test]
async fn media_that_breaks_the_rules_fails_the_task_with_a_refund() {
    let app = spawn_app().await;
    let media = media_server(vec![
        ("tiny.png", png(200, 200, [0, 0, 0])),
        (
            "page.png",
            b"<!doctype html><html><body>not an image</body></html>".to_vec(),
        ),
        ("wide.png", png(1500, 400, [0, 0, 0])),
    ])
    .await;
    let before = app.balance().await;
    let cases = [
        ("tiny.png", "300"),
        ("page.png", "HTML"),
        ("wide.png", "aspect"),
    ];
    for (file, word) in cases {
        let body = json!({
            "model": "seedance2.0-sp", "prompt": "x", "duration": 4, "resolution": "480p",
            "images": [format!("{}/{file}", media.base)],
        });
        let created = app.create_task(&body).await;
        assert_eq!(created.status, 200);
        let task = app
            .wait_terminal(created.data()["task_id"].as_str().expect("id"))
            .await;
        assert_eq!(task["status"], "failed", "{file}: {task}");
        assert_eq!(task["cost"]["refunded"], true);
        let message = task["error_message"].as_str().expect("message");
        assert!(message.contains("images[0]"), "{file}: {message}");
        assert!(
            message.to_lowercase().contains(&word.to_lowercase()),
            "{file}: {message} lacks {word}"
        );
    }
    assert_eq!(app.balance().await, before);
    app.finish().await;
}

#[tokio::test]
async fn private_addresses_are_refused_when_not_allowed() {
    let app = spawn_app_with(Options {
        workers: true,
        tweak: Box::new(|s| s.media.allow_private_networks = false),
    })
    .await;
    let media = media_server(vec![("a.png", png(800, 800, [1, 2, 3]))]).await;
    let body = json!({
        "model": "seedance2.0-sp", "prompt": "x", "duration": 4, "resolution": "480p",
        "first_image": format!("{}/a.png", media.base),
    });
    let before = app.balance().await;
    // Refused at create (issue #22), before anything is charged.
    let created = app.create_task(&body).await;
    assert_eq!(
        (created.status, created.code()),
        (400, 40001),
        "{:?}",
        created.body
    );
    assert_eq!(created.data()["param"], "first_image");
    let message = created.msg();
    assert!(
        message.contains("first_image") && message.contains("127.0.0.1"),
        "{message}"
    );
    assert_eq!(app.balance().await, before);
    app.finish().await;
}
