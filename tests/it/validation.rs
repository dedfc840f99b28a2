//! Bad input over HTTP: each gets its documented code and a message naming the field, and
//! nothing is written. (The catalog crate's own tests cover every rule of every family from
//! both sides of its bound; these prove the server maps them faithfully.)

use serde_json::{json, Value};

use crate::helpers::*;

async fn assert_nothing_written(app: &TestApp, balance: i64) {
    assert_eq!(app.balance().await, balance, "no charge");
    assert_eq!(
        app.get("/videos").await.data()["items"],
        json!([]),
        "no task"
    );
}

#[tokio::test]
async fn malformed_bodies_get_40000_or_41300() {
    let app = spawn_app_with(Options {
        workers: false,
        ..Options::default()
    })
    .await;
    let balance = app.balance().await;
    let post = |body: Vec<u8>, content_type: &'static str| {
        app.client
            .post(app.url("/seedance/videos"))
            .bearer_auth(&app.key)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    for (body, content_type) in [
        (b"{not json".to_vec(), "application/json"),
        (b"[1,2]".to_vec(), "application/json"),
        (b"\"text\"".to_vec(), "application/json"),
        (b"".to_vec(), "application/json"),
        (
            br#"{"model":"seedance2.0-sp","prompt":"x"}"#.to_vec(),
            "text/plain",
        ),
    ] {
        let answer = answer(post(body.clone(), content_type).await.expect("send")).await;
        assert_eq!(
            (answer.status, answer.code()),
            (400, 40000),
            "{:?}",
            String::from_utf8_lossy(&body)
        );
        assert!(!answer.msg().is_empty());
    }
    let mut huge = br#"{"model":"seedance2.0-sp","prompt":""#.to_vec();
    huge.extend(std::iter::repeat_n(b'a', 1024 * 1024 + 10));
    huge.extend(br#""}"#);
    let too_large = answer(post(huge, "application/json").await.expect("send")).await;
    assert_eq!((too_large.status, too_large.code()), (413, 41300));
    assert_nothing_written(&app, balance).await;
    app.finish().await;
}

/// (body, expected code, expected param, words the message must contain)
fn cases() -> Vec<(Value, i64, &'static str, Vec<&'static str>)> {
    vec![
        (json!({"prompt": "x"}), 40001, "model", vec!["model"]),
        (
            json!({"model": 7, "prompt": "x"}),
            40001,
            "model",
            vec!["model"],
        ),
        (
            json!({"model": "seedance9", "prompt": "x"}),
            40002,
            "model",
            vec!["seedance9", "seedance2.0-sp"],
        ),
        (
            json!({"model": "seedance2.0-sp"}),
            40001,
            "prompt",
            vec!["prompt"],
        ),
        (
            json!({"model": "seedance2.0-sp", "prompt": "   "}),
            40001,
            "prompt",
            vec!["prompt"],
        ),
        (
            json!({"model": "seedance2.0-sp", "prompt": "x".repeat(5001)}),
            40001,
            "prompt",
            vec!["prompt", "5000"],
        ),
        (
            json!({"model": "seedance2.0-sp", "prompt": "x", "duration": 20}),
            40001,
            "duration",
            vec!["duration", "4", "15", "seedance2.0-sp", "20"],
        ),
        (
            json!({"model": "seedance2.0-sp", "prompt": "x", "duration": 3}),
            40001,
            "duration",
            vec!["duration"],
        ),
        (
            json!({"model": "seedance2.0-sp", "prompt": "x", "duration": "5"}),
            40001,
            "duration",
            vec!["duration"],
        ),
        (
            json!({"model": "sd2_mx_720p", "prompt": "x", "duration": 13}),
            40001,
            "duration",
            vec!["12"],
        ),
        (
            json!({"model": "seedance2.0-md", "prompt": "x", "duration": 0}),
            40001,
            "duration",
            vec!["1"],
        ),
        (
            json!({"model": "seedance2.0-sp", "prompt": "x", "resolution": "4k"}),
            40001,
            "resolution",
            vec!["resolution"],
        ),
        (
            json!({"model": "seedance2.0-mini-sp", "prompt": "x", "resolution": "1080p"}),
            40001,
            "resolution",
            vec!["480p", "720p"],
        ),
        (
            json!({"model": "seedance2.0-sp", "prompt": "x", "ratio": "5:4"}),
            40001,
            "ratio",
            vec!["ratio"],
        ),
        (
            json!({"model": "seedance2.0-md", "prompt": "x", "ratio": "21:9"}),
            40001,
            "ratio",
            vec!["16:9"],
        ),
        (
            json!({"model": "seedance2.0-sp", "prompt": "x", "orientation": "sideways"}),
            40001,
            "orientation",
            vec!["landscape"],
        ),
        (
            json!({"model": "seedance2.0-sp", "prompt": "x", "images": "https://e.com/a.png"}),
            40001,
            "images",
            vec!["images"],
        ),
        (
            json!({"model": "seedance2.0-sp", "prompt": "x", "images": ["ftp://e.com/a.png"]}),
            40001,
            "images[0]",
            vec!["https://"],
        ),
        (
            json!({"model": "seedance2.0-sp", "prompt": "x", "images": ["https://e.com/a.png", "https://e.com/a.png"]}),
            40001,
            "images[1]",
            vec!["duplicate"],
        ),
        (
            json!({"model": "seedance2.0-sp", "prompt": "x", "images": (0..10).map(|i| format!("https://e.com/{i}.png")).collect::<Vec<_>>()}),
            40001,
            "images",
            vec!["9"],
        ),
        (
            json!({"model": "seedance2.0-sp", "prompt": "x", "images": ["https://e.com/a.png"], "first_image": "https://e.com/b.png"}),
            40001,
            "images",
            vec!["first_image"],
        ),
        (
            json!({"model": "seedance2.0-sp", "prompt": "x", "last_image": "https://e.com/b.png"}),
            40001,
            "last_image",
            vec!["first_image"],
        ),
        (
            json!({"model": "seedance2.0-sp", "prompt": "x", "reference_audios": ["https://e.com/a.mp3"]}),
            40001,
            "reference_audios",
            vec!["reference_audios"],
        ),
        (
            json!({"model": "seedance2.0-md", "prompt": "x", "first_image": "https://e.com/a.png"}),
            40001,
            "last_image",
            vec!["last_image"],
        ),
        (
            json!({"model": "seedance2.0-fast-i2v", "prompt": "x"}),
            40001,
            "images",
            vec!["image"],
        ),
        (
            json!({"model": "seedance2.0-fast-i2v", "prompt": "x", "images": ["https://e.com/a.png"], "reference_videos": ["https://e.com/v.mp4"]}),
            40001,
            "reference_videos",
            vec!["reference_videos"],
        ),
        (
            json!({"model": "seedance2.0-std", "prompt": "x", "first_image": "https://e.com/a.png", "reference_audios": ["https://e.com/a.mp3"]}),
            40001,
            "reference_audios",
            vec!["frame"],
        ),
        (
            json!({"model": "sd2_mx_720p", "prompt": "x", "images": ["https://e.com/a.png"]}),
            40001,
            "images[0]",
            vec!["asset"],
        ),
        (
            json!({"model": "seedance2.0-md", "prompt": "x", "images": ["asset://asset_abc"]}),
            40001,
            "images[0]",
            vec!["https"],
        ),
        (
            json!({"model": "sd2_mx_720p", "prompt": "x", "reference_videos": ["asset://a"]}),
            40001,
            "reference_videos",
            vec!["reference_videos"],
        ),
        (
            json!({"model": "seedance2.0-sp", "prompt": "x", "seed": -2}),
            40001,
            "seed",
            vec!["seed"],
        ),
        (
            json!({"model": "seedance2.0-sp", "prompt": "x", "seed": 4294967296u64}),
            40001,
            "seed",
            vec!["seed"],
        ),
        (
            json!({"model": "seedance2.0-sp", "prompt": "x", "watermark": "yes"}),
            40001,
            "watermark",
            vec!["watermark"],
        ),
        (
            json!({"model": "seedance2.0-sp", "prompt": "x", "callback_url": "ftp://x"}),
            40001,
            "callback_url",
            vec!["callback_url"],
        ),
        (
            json!({"model": "seedance2.0-sp", "prompt": "x", "images": ["asset://asset_unknown"]}),
            40003,
            "images[0]",
            vec!["asset_unknown"],
        ),
    ]
}

#[tokio::test]
async fn every_invalid_field_names_itself_and_writes_nothing() {
    let app = spawn_app_with(Options {
        workers: false,
        ..Options::default()
    })
    .await;
    let balance = app.balance().await;
    for (body, code, param, words) in cases() {
        for answer in [app.create_task(&body).await, app.quote(&body).await] {
            assert_eq!(answer.status, 400, "{body}: {:?}", answer.body);
            assert_eq!(answer.code(), code, "{body}: {:?}", answer.body);
            assert_eq!(answer.data()["param"], param, "{body}: {:?}", answer.body);
            for word in &words {
                assert!(
                    answer.msg().contains(word),
                    "{body}: message {:?} lacks {word:?}",
                    answer.msg()
                );
            }
        }
    }
    assert_nothing_written(&app, balance).await;
    app.finish().await;
}

#[tokio::test]
async fn defaults_and_ignored_values_are_reported_on_the_task() {
    let app = spawn_app_with(Options {
        workers: false,
        ..Options::default()
    })
    .await;
    let cases = [
        // duration omitted → 5; resolution omitted → 720p; ratio omitted → 16:9
        (
            json!({"model": "seedance2.0-sp", "prompt": "x"}),
            5,
            "720p",
            "16:9",
        ),
        // fixed-resolution model ignores a valid different resolution
        (
            json!({"model": "seedance2.0-std", "prompt": "x", "resolution": "1080p"}),
            5,
            "720p",
            "16:9",
        ),
        (
            json!({"model": "sd2_mx_1080p", "prompt": "x", "resolution": "480p", "duration": 4}),
            4,
            "1080p",
            "16:9",
        ),
        // ratio wins over orientation; portrait → 9:16
        (
            json!({"model": "seedance2.0-sp", "prompt": "x", "orientation": "portrait"}),
            5,
            "720p",
            "9:16",
        ),
        (
            json!({"model": "seedance2.0-sp", "prompt": "x", "orientation": "portrait", "ratio": "1:1"}),
            5,
            "720p",
            "1:1",
        ),
        // adaptive with no image resolves to 16:9, any case
        (
            json!({"model": "seedance2.0-sp", "prompt": "x", "ratio": "ADAPTIVE"}),
            5,
            "720p",
            "16:9",
        ),
    ];
    for (body, duration, resolution, ratio) in cases {
        let created = app.create_task(&body).await;
        assert_eq!(created.status, 200, "{body}: {:?}", created.body);
        let task = app
            .task(created.data()["task_id"].as_str().expect("id"))
            .await;
        let request = &task.data()["request"];
        assert_eq!(request["duration"], duration, "{body}");
        assert_eq!(request["resolution"], resolution, "{body}");
        assert_eq!(request["ratio"], ratio, "{body}");
        // unknown fields are ignored, not errors
    }
    let aliased = app
        .create_task(&json!({"model": "seedance2.0-sp", "prompt": "x", "vendor_alias": 1}))
        .await;
    assert_eq!(aliased.status, 200);
    app.run_queued_tasks().await;
    app.finish().await;
}

#[tokio::test]
async fn errors_speak_chinese_when_the_request_asks_for_it_with_the_same_codes() {
    let app = crate::helpers::spawn_app().await;
    let bad = serde_json::json!({"model": "seedance2.0-sp", "prompt": "a cat", "duration": 20});
    let send = |language: Option<&'static str>, path: &'static str, body: serde_json::Value| {
        let mut request = app
            .client
            .post(app.url(path))
            .bearer_auth(&app.key)
            .json(&body);
        if let Some(language) = language {
            request = request.header("Accept-Language", language);
        }
        async move { crate::helpers::answer(request.send().await.expect("send")).await }
    };
    let english = send(None, "/seedance/videos", bad.clone()).await;
    assert_eq!(english.code(), 40001);
    assert!(
        english
            .msg()
            .starts_with("duration: must be an integer from 4 to 15"),
        "{}",
        english.msg()
    );
    let chinese = send(
        Some("zh-CN,zh;q=0.9,en;q=0.8"),
        "/seedance/videos",
        bad.clone(),
    )
    .await;
    assert_eq!(
        (chinese.status, chinese.code()),
        (400, 40001),
        "same status and code"
    );
    assert_eq!(
        chinese.msg(),
        "duration：模型 seedance2.0-sp 要求 4 到 15 之间的整数（收到 20）"
    );
    assert_eq!(chinese.data()["param"], "duration");
    // English preferred over Chinese: English.
    let preferred = send(Some("en-US,zh-CN;q=0.5"), "/seedance/videos", bad.clone()).await;
    assert_eq!(preferred.msg(), english.msg());
    // An unknown route, in Chinese too.
    let unknown = app
        .client
        .get(format!("{}/api/open-api/v1/no-such-route", app.base))
        .header("Accept-Language", "zh")
        .send()
        .await
        .expect("send");
    let unknown = crate::helpers::answer(unknown).await;
    assert_eq!(unknown.code(), 40400);
    assert_eq!(
        unknown.msg(),
        "没有这个路由；请参阅 API 文档中 reelay 提供的路由"
    );
    // Ark's door: the same translation in Ark's error shape.
    let ark = app
        .client
        .post(format!("{}/api/v3/contents/generations/tasks", app.base))
        .bearer_auth(&app.key)
        .header("Accept-Language", "zh-CN")
        .json(&serde_json::json!({"model": "seedance2.0-sp", "content": [{"type": "text", "text": "a cat"}], "duration": 20}))
        .send()
        .await
        .expect("send");
    assert_eq!(ark.status(), 400);
    let body: serde_json::Value = ark.json().await.expect("json");
    assert_eq!(body["error"]["code"], "InvalidParameter");
    let message = body["error"]["message"].as_str().unwrap_or("");
    assert!(message.contains("之间的整数"), "{message}");
    app.finish().await;
}
