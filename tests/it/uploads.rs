//! Streamed uploads (#22): multipart files go to a temporary file as they arrive, the size cap
//! is enforced chunk by chunk (41300 naming `file`), no temporary file outlives its request, and
//! one API key has at most `limits.uploads_per_key` uploads in progress (429 / 42900 with
//! `Retry-After`).

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use futures::channel::mpsc;
use futures::SinkExt;

use crate::helpers::{answer, mp4, spawn_app_with, Answer, FilePart, Options, TestApp};

const BOUNDARY: &str = "reelay-test-boundary";

/// The opening of a multipart body whose `file` part comes next.
fn file_part_head(file_name: &str) -> Vec<u8> {
    format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes()
}

fn multipart_tail() -> Vec<u8> {
    format!("\r\n--{BOUNDARY}--\r\n").into_bytes()
}

type Chunks = mpsc::Sender<Result<Bytes, std::io::Error>>;

/// Starts a `POST /files/upload` whose body is sent chunk by chunk through the returned sender,
/// with no `Content-Length` (so only the streamed cap can refuse it).
fn streamed_upload(app: &TestApp, key: &str) -> (Chunks, tokio::task::JoinHandle<Answer>) {
    let (sender, receiver) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let request = app
        .client
        .post(app.url("/files/upload"))
        .bearer_auth(key)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(reqwest::Body::wrap_stream(receiver));
    let answered = tokio::spawn(async move { answer(request.send().await.expect("send")).await });
    (sender, answered)
}

/// The files in the app's upload spool (`{data_dir}/tmp`).
fn spooled_files(app: &TestApp) -> Vec<String> {
    spooled_in(&app.data_dir.path().join("tmp"))
}

fn spooled_in(dir: &Path) -> Vec<String> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|entry| entry.ok())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Waits until the spool holds `count` files (uploads whose file part has begun).
async fn wait_for_spooled(app: &TestApp, count: usize) {
    for _ in 0..400 {
        if spooled_files(app).len() >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "expected {count} files in the spool, found {:?}",
        spooled_files(app)
    );
}

/// Waits until the spool is empty again.
async fn wait_for_empty_spool(app: &TestApp) {
    for _ in 0..400 {
        if spooled_files(app).is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("temporary files left behind: {:?}", spooled_files(app));
}

#[tokio::test]
async fn an_upload_over_the_cap_is_refused_while_it_streams_and_leaves_no_temporary_file() {
    let app = spawn_app_with(Options {
        workers: true,
        tweak: Box::new(|s| s.assets.max_upload_bytes = 1024 * 1024),
    })
    .await;
    // /files/upload: 3 MiB in 64 KiB chunks, no Content-Length.
    let (mut chunks, answered) = streamed_upload(&app, &app.key);
    let sending = tokio::spawn(async move {
        let mut body = file_part_head("big.png");
        body.extend_from_slice(b"\x89PNG\r\n\x1a\n");
        let _ = chunks.send(Ok(Bytes::from(body))).await;
        for _ in 0..48 {
            if chunks
                .send(Ok(Bytes::from(vec![7u8; 64 * 1024])))
                .await
                .is_err()
            {
                return; // the server stopped reading
            }
        }
        let _ = chunks.send(Ok(Bytes::from(multipart_tail()))).await;
    });
    let refused = answered.await.expect("answered");
    assert_eq!(
        (refused.status, refused.code()),
        (413, 41300),
        "{:?}",
        refused.body
    );
    assert_eq!(refused.data()["param"], "file", "{:?}", refused.body);
    let _ = sending.await;
    wait_for_empty_spool(&app).await;

    // The asset route, through the same reader.
    let mut big = crate::helpers::png(400, 400, [1, 2, 3]);
    big.resize(3 * 1024 * 1024, 0);
    let uploaded = app
        .upload_asset_file(FilePart {
            name: "big",
            kind: "image",
            file_name: "big.png",
            bytes: big,
        })
        .await;
    assert_eq!((uploaded.status, uploaded.code()), (413, 41300));
    wait_for_empty_spool(&app).await;
    app.finish().await;
}

#[tokio::test]
async fn a_key_past_its_concurrent_uploads_gets_429_with_retry_after() {
    let app = spawn_app_with(Options {
        workers: true,
        tweak: Box::new(|s| s.limits.uploads_per_key = 2),
    })
    .await;
    // Two uploads that start their file part and then wait.
    let mut held = Vec::new();
    for _ in 0..2 {
        let (mut chunks, answered) = streamed_upload(&app, &app.key);
        let mut body = file_part_head("slow.png");
        body.extend_from_slice(b"\x89PNG\r\n\x1a\n");
        body.extend_from_slice(&[0u8; 1024]);
        chunks.send(Ok(Bytes::from(body))).await.expect("sends");
        held.push((chunks, answered));
    }
    wait_for_spooled(&app, 2).await;

    let form = || {
        reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(crate::helpers::png(320, 320, [9, 9, 9]))
                .file_name("third.png"),
        )
    };
    let third = answer(
        app.client
            .post(app.url("/files/upload"))
            .bearer_auth(&app.key)
            .multipart(form())
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(
        (third.status, third.code()),
        (429, 42900),
        "{:?}",
        third.body
    );
    assert!(
        third.msg().contains("limits.uploads_per_key"),
        "{}",
        third.msg()
    );
    assert!(
        third.headers.contains_key("retry-after"),
        "{:?}",
        third.headers
    );
    // The asset route counts against the same slots.
    let asset = app
        .upload_asset_file(FilePart {
            name: "logo",
            kind: "image",
            file_name: "logo.png",
            bytes: crate::helpers::png(320, 320, [1, 1, 1]),
        })
        .await;
    assert_eq!(
        (asset.status, asset.code()),
        (429, 42900),
        "{:?}",
        asset.body
    );

    // Another key is not held back.
    let (_, other_key) = app.new_account(0).await;
    let other = answer(
        app.client
            .post(app.url("/files/upload"))
            .bearer_auth(&other_key)
            .multipart(form())
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(other.status, 200, "{:?}", other.body);

    // The held uploads finish; their slots come back and their files go.
    for (mut chunks, answered) in held {
        chunks
            .send(Ok(Bytes::from(multipart_tail())))
            .await
            .expect("sends");
        drop(chunks);
        let done = answered.await.expect("answered");
        assert_eq!(done.status, 200, "{:?}", done.body);
    }
    let again = answer(
        app.client
            .post(app.url("/files/upload"))
            .bearer_auth(&app.key)
            .multipart(form())
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    wait_for_empty_spool(&app).await;
    app.finish().await;
}

#[tokio::test]
async fn an_upload_cut_off_mid_body_leaves_no_temporary_file_and_frees_its_slot() {
    let app = spawn_app_with(Options {
        workers: true,
        tweak: Box::new(|s| s.limits.uploads_per_key = 1),
    })
    .await;
    let (mut chunks, answered) = streamed_upload(&app, &app.key);
    let mut body = file_part_head("cut.png");
    body.extend_from_slice(&[1u8; 256 * 1024]);
    chunks.send(Ok(Bytes::from(body))).await.expect("sends");
    wait_for_spooled(&app, 1).await;
    // The client's body fails mid-file: the connection is dropped.
    let _ = chunks.send(Err(std::io::Error::other("client gone"))).await;
    drop(chunks);
    let _ = answered.await;
    wait_for_empty_spool(&app).await;
    // The slot came back.
    let uploaded = app
        .upload_asset_file(FilePart {
            name: "logo",
            kind: "image",
            file_name: "logo.png",
            bytes: crate::helpers::png(320, 320, [1, 1, 1]),
        })
        .await;
    assert_eq!(uploaded.data()["status"], "Active", "{:?}", uploaded.body);
    app.finish().await;
}

#[tokio::test]
async fn a_20_mb_upload_is_stored_whole_and_a_20_mb_video_is_probed() {
    let app = spawn_app_with(Options::default()).await;
    // /files/upload: 20 MB behind a PNG signature, read back byte for byte.
    let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
    big.extend((0..20 * 1024 * 1024u32).map(|i| (i % 251) as u8));
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(big.clone()).file_name("big.png"),
    );
    let uploaded = answer(
        app.client
            .post(app.url("/files/upload"))
            .bearer_auth(&app.key)
            .multipart(form)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(uploaded.status, 200, "{:?}", uploaded.body);
    assert_eq!(uploaded.data()["size"], big.len() as i64);
    let url = uploaded.data()["url"].as_str().expect("url").to_string();
    let fetched = app
        .client
        .get(&url)
        .send()
        .await
        .expect("get")
        .bytes()
        .await
        .expect("bytes");
    assert!(fetched[..] == big[..], "the stored file differs");

    // An asset: a real 2 s MP4 followed by 20 MB of `free` box, probed from its headers.
    let mut video = mp4(2);
    let padding = 20 * 1024 * 1024u32;
    video.extend_from_slice(&(padding + 8).to_be_bytes());
    video.extend_from_slice(b"free");
    video.resize(video.len() + padding as usize, 0);
    let size = video.len() as i64;
    let asset = app
        .upload_asset_file(FilePart {
            name: "clip",
            kind: "video",
            file_name: "clip.mp4",
            bytes: video,
        })
        .await;
    assert_eq!(asset.data()["status"], "Active", "{:?}", asset.body);
    let id = asset.data()["asset_id"]
        .as_str()
        .expect("asset_id")
        .to_string();
    let detail = app.asset_detail_as(&app.key, &id).await;
    assert_eq!(detail.data()["size_bytes"], size, "{:?}", detail.body);
    assert_eq!(detail.data()["width"], 640, "{:?}", detail.body);
    wait_for_empty_spool(&app).await;
    app.finish().await;
}
