//! Connection discipline against the real binary, started under a lowered open-file limit
//! (`ulimit`), on loopback: idle sockets, unfinished heads, idle keep-alives and trickled bodies
//! are closed; past the connection cap, new connections get a fast JSON 503 while `/healthz`
//! still answers. Every wait is bounded; none is asserted as a duration.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// The real binary under `ulimit -S -n soft` / `-H -n hard`, with `env` on top of short test
/// timeouts; its JSON log lines arrive on the channel.
struct Server {
    child: Child,
    address: String,
    log: mpsc::Receiver<Value>,
    secret: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &std::path::Path, soft: u32, hard: u32, env: &[(&str, &str)]) -> Server {
    let script = format!("ulimit -S -n {soft} && ulimit -H -n {hard} && exec \"$0\" \"$@\"");
    let mut command = Command::new("sh");
    command
        .args(["-c", &script, env!("CARGO_BIN_EXE_reelay")])
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .env("REELAY_WORKER__POLL_INTERVAL_MS", "100")
        .env("REELAY_SERVER__SHUTDOWN_GRACE_SECS", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in crate::helpers::backend_env(dir) {
        command.env(k, v);
    }
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let (log_tx, log) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Ok(event) = serde_json::from_str::<Value>(&line) {
                if log_tx.send(event).is_err() {
                    break;
                }
            }
        }
    });
    let mut address = None;
    let mut secret = None;
    while address.is_none() || secret.is_none() {
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .expect("the server prints its address and first key");
        if let Some(found) = line.strip_prefix("reelay listening on http://") {
            address = Some(found.trim().to_string());
        } else if line.starts_with("sk_") {
            secret = Some(line.trim().to_string());
        }
    }
    Server {
        child,
        address: address.expect("address"),
        log,
        secret: secret.expect("secret"),
    }
}

impl Server {
    /// The fields of the first log event whose message is `message`.
    fn logged(&self, message: &str) -> Value {
        loop {
            let event = self
                .log
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("no log line {message:?}"));
            let fields = &event["fields"];
            if fields["message"] == message {
                return fields.clone();
            }
        }
    }

    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(&self.address).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        stream
    }
}

/// Reads until the peer closes; what was read. A reset counts as closed; the read timeout
/// (20 s) does not.
fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return seen,
            Ok(n) => seen.extend_from_slice(&buffer[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return seen,
            Err(e) => panic!("the server kept the connection open: {e} after {seen:?}"),
        }
    }
}

/// One HTTP/1.1 answer read from a kept-alive connection: status and body.
fn read_answer(stream: &mut TcpStream) -> (u16, String) {
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).expect("status line");
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("status line {status_line:?}"));
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("header");
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().expect("length");
            }
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).expect("body");
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: reelay\r\n\r\n")
}

#[test]
fn idle_slow_and_unfinished_connections_are_closed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(
        dir.path(),
        200,
        300,
        &[
            ("REELAY_SERVER__HEADER_TIMEOUT_SECS", "2"),
            ("REELAY_SERVER__KEEPALIVE_TIMEOUT_SECS", "5"),
            ("REELAY_SERVER__BODY_TIMEOUT_SECS", "2"),
            ("REELAY_SERVER__MIN_BODY_BYTES_PER_SEC", "1000"),
        ],
    );
    // The soft open-file limit is raised to the hard one, both logged; the cap stays below it.
    let limit = server.logged("open-file limit");
    assert_eq!(limit["soft_before"], 200, "{limit}");
    assert_eq!(limit["hard"], 300, "{limit}");
    assert_eq!(limit["soft_now"], 300, "{limit}");
    let cap = server.logged("connection cap");
    let total =
        cap["max_connections"].as_u64().expect("cap") + cap["overflow"].as_u64().expect("overflow");
    assert!(total < 300, "{cap}");

    // A socket that sends nothing, and one that never finishes its head: closed.
    let mut idle = server.connect();
    let mut unfinished = server.connect();
    unfinished
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: reelay\r\nX-Slow: ")
        .expect("write");
    assert!(read_until_closed(&mut idle).is_empty());
    assert!(read_until_closed(&mut unfinished).is_empty());

    // A kept-alive connection serves a second request after a pause longer than the head
    // timeout (idle time is the keep-alive's), then is closed once idle past the keep-alive.
    let mut kept = server.connect();
    kept.write_all(get("/healthz").as_bytes()).expect("write");
    assert_eq!(read_answer(&mut kept).0, 200);
    std::thread::sleep(Duration::from_millis(3000));
    kept.write_all(get("/healthz").as_bytes()).expect("write");
    assert_eq!(read_answer(&mut kept).0, 200);
    assert!(read_until_closed(&mut kept).is_empty());

    // A body trickled a byte at a time: 408 in the envelope, then closed.
    let mut trickle = server.connect();
    let head = format!(
        "POST /api/open-api/v1/seedance/videos HTTP/1.1\r\nHost: reelay\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{",
        server.secret
    );
    trickle.write_all(head.as_bytes()).expect("write");
    let mut writer = trickle.try_clone().expect("clone");
    let dripping = std::thread::spawn(move || {
        for _ in 0..200 {
            std::thread::sleep(Duration::from_millis(200));
            if writer.write_all(b" ").is_err() {
                return;
            }
        }
    });
    let answered = String::from_utf8_lossy(&read_until_closed(&mut trickle)).into_owned();
    assert!(answered.starts_with("HTTP/1.1 408"), "{answered}");
    let body = answered
        .split_once("\r\n\r\n")
        .map(|(_, body)| body)
        .unwrap_or("");
    let json: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("JSON: {answered}"));
    assert_eq!(json["code"], 40800, "{json}");
    assert!(
        json["msg"]
            .as_str()
            .unwrap_or("")
            .contains("server.min_body_bytes_per_sec"),
        "{json}"
    );
    let _ = dripping.join();
    crate::helpers::drop_pg_database(dir.path());
}

#[test]
fn past_the_connection_cap_new_connections_get_a_fast_503_and_healthz_still_answers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(
        dir.path(),
        200,
        200,
        &[("REELAY_SERVER__HEADER_TIMEOUT_SECS", "30")],
    );
    let cap = server.logged("connection cap");
    let main = cap["max_connections"].as_u64().expect("cap") as usize;
    let overflow = cap["overflow"].as_u64().expect("overflow") as usize;
    assert!(main + overflow <= 200 - 64, "{cap}");

    // Fill the cap and the overflow with idle sockets, then some more: those past both are
    // answered the canned 503 at once, without being read.
    let mut held: Vec<TcpStream> = (0..main + overflow).map(|_| server.connect()).collect();
    let mut past = server.connect();
    let answered = String::from_utf8_lossy(&read_until_closed(&mut past)).into_owned();
    assert!(answered.starts_with("HTTP/1.1 503"), "{answered}");
    assert!(
        answered.to_ascii_lowercase().contains("retry-after: 1"),
        "{answered}"
    );
    let body = answered
        .split_once("\r\n\r\n")
        .map(|(_, body)| body)
        .unwrap_or("");
    let json: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("JSON: {answered}"));
    assert_eq!(json["code"], 50301, "{json}");

    // The idle overflow connections are dropped within a second; the cap's stay (30 s head
    // timeout). Health checks are then answered by the overflow, every other route 503 in its
    // door's envelope.
    let overflowed: Vec<TcpStream> = held.split_off(main);
    for mut socket in overflowed {
        assert!(read_until_closed(&mut socket).is_empty());
    }
    let mut health = server.connect();
    health.write_all(get("/healthz").as_bytes()).expect("write");
    let (status, body) = read_answer(&mut health);
    assert_eq!(status, 200, "{body}");
    let mut busy = server.connect();
    busy.write_all(get("/api/open-api/v1/models").as_bytes())
        .expect("write");
    let (status, body) = read_answer(&mut busy);
    assert_eq!(status, 503, "{body}");
    let json: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(json["code"], 50301, "{json}");
    let mut ark = server.connect();
    ark.write_all(get("/api/v3/contents/generations/tasks").as_bytes())
        .expect("write");
    let (status, body) = read_answer(&mut ark);
    assert_eq!(status, 503, "{body}");
    let json: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(json["error"]["code"], "ServerOverloaded", "{json}");

    // Once the held sockets close, the server serves normally again.
    drop(held);
    let mut again = server.connect();
    let mut status = 0;
    for _ in 0..50 {
        let request = format!(
            "GET /api/open-api/v1/models HTTP/1.1\r\nHost: reelay\r\nAuthorization: Bearer {}\r\n\r\n",
            server.secret
        );
        again.write_all(request.as_bytes()).expect("write");
        status = read_answer(&mut again).0;
        if status == 200 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        again = server.connect();
    }
    assert_eq!(status, 200);
    crate::helpers::drop_pg_database(dir.path());
}

/// What a client sends as one request, in two writes: the head, then (a moment later, as a
/// loaded client's second segment) its body.
fn send_in_two(stream: &mut TcpStream, head: &str, body: &str) {
    stream.write_all(head.as_bytes()).expect("head");
    stream.flush().expect("flush");
    std::thread::sleep(Duration::from_millis(200));
    stream.write_all(body.as_bytes()).expect("body");
}

#[test]
fn a_body_the_handler_did_not_read_does_not_cost_the_connection() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), 200, 300, &[]);
    // The Ark SDK's DELETE carries `{}`, which the handler never reads; here its two bytes
    // arrive after the answer could be ready. The next request on the same connection is
    // still answered (hyper had closed it, unannounced: "server disconnected" in the SDK).
    let mut stream = server.connect();
    let head = format!(
        "DELETE /api/v3/contents/generations/tasks/cgt-unknown HTTP/1.1\r\nHost: reelay\r\n\
         Authorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n",
        server.secret
    );
    send_in_two(&mut stream, &head, "{}");
    let (status, body) = read_answer(&mut stream);
    assert_eq!(status, 404, "{body}");
    stream
        .write_all(get("/healthz").as_bytes())
        .expect("next request");
    let (status, body) = read_answer(&mut stream);
    assert_eq!(
        status, 200,
        "the connection carried the next request: {body}"
    );

    // A rest larger than the server reads for this: the answer says the connection closes.
    let mut stream = server.connect();
    let head = format!(
        "DELETE /api/v3/contents/generations/tasks/cgt-unknown HTTP/1.1\r\nHost: reelay\r\n\
         Authorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n{{",
        server.secret
    );
    stream.write_all(head.as_bytes()).expect("head");
    let answer = String::from_utf8_lossy(&read_until_closed(&mut stream)).to_lowercase();
    assert!(answer.starts_with("http/1.1 404"), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
}
