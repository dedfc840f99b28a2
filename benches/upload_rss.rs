//! Issue 22, "Uploads streamed": the server's peak resident set while it takes 1 and then 6
//! concurrent 100 MB multipart uploads.
//!
//! For each row a fresh `reelay serve` (the real binary, SQLite and a local object store in a
//! temporary directory) is started; the bench sends the uploads over loopback, generating each
//! body as it goes (the client holds no file), checks that every one was stored (200, the size
//! answered equals the size sent), and reads the server's `VmHWM` (peak RSS) from
//! `/proc/<pid>/status`; `VmRSS` is also sampled every 20 ms while the uploads run. Nothing is
//! asserted: it prints a Markdown table (and writes it to `target/bench-uploads.md`).
//!
//! Rows: `POST /files/upload` (the type sniffed from the first bytes; an MP4 signature here)
//! and `POST /seedance/sp/assets/upload` with a real MP4 padded by a large `free` box (probed
//! from its headers; at 100 MB it is past the 50 MiB video cap, so the asset ends `Failed`
//! after the whole body was read and probed: the row measures reading, not storing).
//!
//! Run: `cargo bench --bench upload_rss` (release), or `cargo bench --profile dev --bench
//! upload_rss` to reuse a debug build. Knobs: `BENCH_UPLOAD_MB` (100), `BENCH_CONCURRENT` (6).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::stream;

const BOUNDARY: &str = "reelay-bench-boundary";
const CHUNK: usize = 256 * 1024;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `VmHWM` / `VmRSS` of `pid` in KiB.
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

struct Server {
    child: Child,
    base: String,
    key: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(dir: &Path, port: u16) -> Server {
    let bin = std::env::var("REELAY_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_reelay").into());
    let database = format!("sqlite://{}/reelay.db", dir.display());
    let mut child = Command::new(bin)
        .args(["serve", "--no-workers", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(dir)
        .arg("--database-url")
        .arg(&database)
        .env("RUST_LOG", "warn")
        // Six uploads from one key: lift the per-key cap (4 by default).
        .env("REELAY_LIMITS__UPLOADS_PER_KEY", "0")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.join("stderr.txt")).expect("stderr file"))
        .spawn()
        .expect("reelay starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut key = String::new();
    for line in lines.by_ref() {
        let line = line.expect("line");
        if line.starts_with("sk_") {
            key = line.trim().to_string();
            break;
        }
    }
    // Keep reading, so that the server never writes to a closed pipe.
    std::thread::spawn(move || for _ in lines {});
    assert!(!key.is_empty(), "no bootstrap key printed");
    Server {
        child,
        base: format!("http://127.0.0.1:{port}/api/open-api/v1"),
        key,
    }
}

async fn wait_ready(client: &reqwest::Client, base: &str) {
    let health = base.replace("/api/open-api/v1", "/healthz");
    for _ in 0..300 {
        if client.get(&health).send().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("reelay did not answer {health}");
}

/// A real 2 s MP4 (reelay's renderer).
fn small_mp4() -> Vec<u8> {
    let request = reelay_render::RenderRequest {
        prompt: "bench clip".into(),
        duration_secs: 2,
        width: 320,
        height: 180,
        fps: 12,
        label: "bench".into(),
        ..Default::default()
    };
    reelay_render::render(&request, &mut |_| true)
        .expect("renders")
        .mp4
}

/// A multipart body of `size` file bytes: `head` (the start of the file), then a `free` box
/// header covering the rest, then zeros; generated chunk by chunk.
fn body(
    text_parts: &[(&str, &str)],
    head: Arc<Vec<u8>>,
    size: u64,
) -> (
    u64,
    impl futures::Stream<Item = Result<Bytes, std::io::Error>>,
) {
    let mut opening = String::new();
    for (name, value) in text_parts {
        opening.push_str(&format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    opening.push_str(&format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.mp4\"\r\nContent-Type: video/mp4\r\n\r\n"
    ));
    let closing = format!("\r\n--{BOUNDARY}--\r\n");
    let padding = size - head.len() as u64;
    let mut file_start = head.to_vec();
    file_start.extend_from_slice(&(padding as u32).to_be_bytes());
    file_start.extend_from_slice(b"free");
    let total = opening.len() as u64 + size + closing.len() as u64;
    let pieces: Vec<Bytes> = vec![Bytes::from(opening), Bytes::from(file_start)];
    let mut left = padding - 8;
    let zeros = Bytes::from(vec![0u8; CHUNK]);
    let rest = std::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        let take = left.min(CHUNK as u64);
        left -= take;
        Some(zeros.slice(..take as usize))
    });
    let stream = stream::iter(
        pieces
            .into_iter()
            .chain(rest)
            .chain(std::iter::once(Bytes::from(closing)))
            .map(Ok),
    );
    (total, stream)
}

struct Row {
    label: String,
    idle_kib: u64,
    peak_kib: u64,
    sampled_kib: u64,
    secs: f64,
    ok: usize,
}

async fn run_row(
    label: &str,
    route: &str,
    asset: bool,
    concurrent: usize,
    size: u64,
    port: u16,
) -> Row {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start_server(dir.path(), port);
    let client = reqwest::Client::new();
    wait_ready(&client, &server.base).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pid = server.child.id();
    let idle_kib = status_kib(pid, "VmRSS:");
    let head = Arc::new(small_mp4());
    let running = Arc::new(AtomicBool::new(true));
    let sampled = Arc::new(AtomicU64::new(0));
    let sampler = {
        let running = running.clone();
        let sampled = sampled.clone();
        tokio::spawn(async move {
            while running.load(Ordering::Relaxed) {
                sampled.fetch_max(status_kib(pid, "VmRSS:"), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let started = Instant::now();
    let mut uploads = Vec::new();
    for _ in 0..concurrent {
        let text: Vec<(&str, &str)> = if asset {
            vec![("name", "big"), ("type", "video")]
        } else {
            Vec::new()
        };
        let (length, stream) = body(&text, head.clone(), size);
        let request = client
            .post(format!("{}{route}", server.base))
            .bearer_auth(&server.key)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .header("content-length", length)
            .body(reqwest::Body::wrap_stream(stream));
        uploads.push(tokio::spawn(async move {
            let response = request.send().await.expect("send");
            let status = response.status().as_u16();
            let text = response.text().await.unwrap_or_default();
            (status, text)
        }));
    }
    let mut ok = 0;
    for upload in uploads {
        let (status, text) = upload.await.expect("upload");
        let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let stored = if asset {
            // Read whole and probed; past the video cap it ends Failed with the size named.
            status == 200 && value["data"]["asset_id"].is_string()
        } else {
            status == 200 && value["data"]["size"].as_u64() == Some(size)
        };
        if stored {
            ok += 1;
        } else {
            eprintln!("upload-rss: {label}: {status} {text}");
        }
    }
    let secs = started.elapsed().as_secs_f64();
    running.store(false, Ordering::Relaxed);
    let _ = sampler.await;
    let peak_kib = status_kib(pid, "VmHWM:");
    let leftover = std::fs::read_dir(dir.path().join("tmp"))
        .map(|entries| entries.count())
        .unwrap_or(0);
    if leftover > 0 {
        eprintln!("upload-rss: {label}: {leftover} temporary files left");
    }
    drop(server);
    Row {
        label: label.to_string(),
        idle_kib,
        peak_kib,
        sampled_kib: sampled.load(Ordering::Relaxed),
        secs,
        ok,
    }
}

#[tokio::main]
async fn main() {
    let mb = env_u64("BENCH_UPLOAD_MB", 100);
    let many = env_u64("BENCH_CONCURRENT", 6) as usize;
    let size = mb * 1_000_000;
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let mut rows = Vec::new();
    let mut port = 47_310;
    for (route, asset, name) in [
        ("/files/upload", false, "POST /files/upload"),
        (
            "/seedance/sp/assets/upload",
            true,
            "POST /seedance/sp/assets/upload (video)",
        ),
    ] {
        for concurrent in [1, many] {
            let label = format!("{name}, {concurrent} × {mb} MB");
            eprintln!("upload-rss: {label}");
            rows.push(run_row(&label, route, asset, concurrent, size, port).await);
            port += 1;
        }
    }
    let mut table = format!(
        "Peak RSS of `reelay serve` taking multipart uploads ({profile} build, SQLite, local storage)\n\n\
         | uploads | ok | idle RSS | peak RSS (VmHWM) | peak sampled VmRSS | seconds |\n\
         |---|---|---|---|---|---|\n"
    );
    for row in &rows {
        table.push_str(&format!(
            "| {} | {} | {:.1} MB | {:.1} MB | {:.1} MB | {:.1} |\n",
            row.label,
            row.ok,
            row.idle_kib as f64 / 1024.0,
            row.peak_kib as f64 / 1024.0,
            row.sampled_kib as f64 / 1024.0,
            row.secs
        ));
    }
    println!("{table}");
    let _ = std::fs::create_dir_all("target");
    let _ = std::fs::write("target/bench-uploads.md", &table);
}
