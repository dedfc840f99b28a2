//! A tiny HTTP/1.1 test server on a loopback address, written on raw TCP so tests control
//! every byte: redirects, missing Content-Length, slow bodies. Counts accepted
//! connections so a test can prove a refused URL never connected.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A running test server.
pub struct TestServer {
    pub addr: SocketAddr,
    connections: Arc<AtomicUsize>,
}

impl TestServer {
    /// Starts a server on `ip:0` (e.g. "127.0.0.1", or "127.0.0.2" for a canary).
    pub async fn start(ip: &str) -> TestServer {
        let listener = TcpListener::bind((ip, 0)).await.expect("bind test server");
        let addr = listener.local_addr().expect("local addr");
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(stream, addr));
            }
        });
        TestServer { addr, connections }
    }

    /// `http://{addr}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// How many TCP connections were accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

async fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 || buffer.len() > 64 * 1024 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let path = request_line.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0);
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < length {
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..read]);
    }
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

async fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) {
    let mut out = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let _ = stream.write_all(out.as_bytes()).await;
    let _ = stream.write_all(body).await;
}

async fn redirect(stream: &mut TcpStream, location: &str) {
    respond(
        stream,
        "302 Found",
        &[("Location", location.to_owned())],
        b"",
    )
    .await;
}

/// Routes:
/// - `/ok`: "hello reelay", text/plain
/// - `/redirect/N`: 302 to `/redirect/N-1` (relative), `/redirect/0` to `/ok`
/// - `/to?LOCATION`: 302 to LOCATION (everything after `?`, verbatim)
/// - `/bytes/N`: N bytes with Content-Length
/// - `/chunked/N`: N bytes chunked, no Content-Length
/// - `/slow-headers`: waits 5 s before answering
/// - `/slow-body`: headers at once, then one byte a second
/// - `/echo`: 201 with the request body and the `x-test` header echoed
/// - anything else: 404
async fn serve(mut stream: TcpStream, _addr: SocketAddr) {
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    let path = request.path.as_str();
    if path == "/ok" {
        let headers = [("Content-Type", "text/plain; charset=utf-8".to_owned())];
        respond(&mut stream, "200 OK", &headers, b"hello reelay").await;
    } else if let Some(n) = path.strip_prefix("/redirect/") {
        let n: usize = n.parse().unwrap_or(0);
        let location = if n == 0 {
            "/ok".to_owned()
        } else {
            format!("/redirect/{}", n - 1)
        };
        redirect(&mut stream, &location).await;
    } else if let Some(location) = path.strip_prefix("/to?") {
        redirect(&mut stream, location).await;
    } else if let Some(n) = path.strip_prefix("/bytes/") {
        let body = vec![b'x'; n.parse().unwrap_or(0)];
        respond(&mut stream, "200 OK", &[], &body).await;
    } else if let Some(n) = path.strip_prefix("/chunked/") {
        let total: usize = n.parse().unwrap_or(0);
        let head = "HTTP/1.1 200 OK\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n";
        let _ = stream.write_all(head.as_bytes()).await;
        let mut sent = 0;
        while sent < total {
            let size = (total - sent).min(8192);
            let chunk = format!("{size:x}\r\n{}\r\n", "y".repeat(size));
            if stream.write_all(chunk.as_bytes()).await.is_err() {
                return;
            }
            sent += size;
        }
        let _ = stream.write_all(b"0\r\n\r\n").await;
    } else if path == "/slow-headers" {
        tokio::time::sleep(Duration::from_secs(5)).await;
        respond(&mut stream, "200 OK", &[], b"late").await;
    } else if path == "/slow-body" {
        let head = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 10\r\n\r\n";
        let _ = stream.write_all(head.as_bytes()).await;
        for _ in 0..10 {
            if stream.write_all(b"z").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    } else if path == "/echo" && request.method == "POST" {
        let tag = request
            .headers
            .iter()
            .find(|(name, _)| name == "x-test")
            .map(|(_, value)| value.clone())
            .unwrap_or_default();
        respond(
            &mut stream,
            "201 Created",
            &[("X-Test", tag)],
            &request.body,
        )
        .await;
    } else {
        respond(&mut stream, "404 Not Found", &[], b"no such thing").await;
    }
}
