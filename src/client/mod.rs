//! A typed async client for reelay's public API (API.md §2–§4), used by the `reelay` client
//! commands. Every call unwraps the envelope; an error answer becomes [`ClientError::Api`]
//! carrying the API's integer `code`, its `msg` and `data.param`.
//!
//! The payloads are the server's own wire types (`crate::wire::seed`, re-exported here): what a
//! handler writes is what this client reads. They read tolerantly (unknown members are ignored;
//! members newer than the first client default when absent), so a newer server does not break
//! an older client.
//!
//! ```no_run
//! # async fn demo() -> Result<(), reelay::client::ClientError> {
//! use reelay::client::{Client, CreateVideoRequest};
//! let client = Client::new("http://127.0.0.1:8080", Some("sk_...".into()))?;
//! let created = client
//!     .create_video(&CreateVideoRequest { model: "seedance2.0-sp".into(), prompt: "a lighthouse".into(), ..Default::default() })
//!     .await?;
//! let mut events = client.events(&created.task_id, None).await?;
//! while let Some(task) = events.next().await {
//!     let task = task?;
//!     println!("{} {}%", task.status, task.progress);
//! }
//! # Ok(()) }
//! ```

mod sse;

pub use crate::wire::seed::*;
pub use sse::{SseEvent, SseParser};

use std::collections::VecDeque;
use std::path::Path;

use futures::StreamExt;
use reqwest::{RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

/// Base path of the public API.
const BASE: &str = "/api/open-api/v1";

/// What can go wrong in a call.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error envelope.
    #[error("{msg} (code {code}, HTTP {status})")]
    Api {
        status: u16,
        code: i64,
        msg: String,
        param: Option<String>,
    },
    /// The server could not be reached or the connection broke.
    #[error("cannot reach the server at {url}: {source}")]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// The answer was not what the API documents.
    #[error("unexpected answer from the server: {0}")]
    Decode(String),
    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl ClientError {
    /// The API's error code, when the server answered with one.
    pub fn code(&self) -> Option<i64> {
        match self {
            ClientError::Api { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// A connection to one reelay server with one API key. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Client {
    origin: String,
    key: Option<String>,
    http: reqwest::Client,
}

impl Client {
    /// A client for the server at `origin` (e.g. `http://127.0.0.1:8080`).
    pub fn new(origin: &str, key: Option<String>) -> Result<Client, ClientError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("reelay-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| ClientError::Transport {
                url: origin.to_string(),
                source,
            })?;
        Ok(Client {
            origin: origin.trim_end_matches('/').to_string(),
            key,
            http,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{BASE}{path}", self.origin)
    }

    fn get(&self, path: &str) -> RequestBuilder {
        self.authed(self.http.get(self.url(path)))
    }

    fn post(&self, path: &str) -> RequestBuilder {
        self.authed(self.http.post(self.url(path)))
    }

    fn authed(&self, request: RequestBuilder) -> RequestBuilder {
        match &self.key {
            Some(key) => request.bearer_auth(key),
            None => request,
        }
    }

    async fn send(&self, request: RequestBuilder) -> Result<Response, ClientError> {
        request
            .send()
            .await
            .map_err(|source| ClientError::Transport {
                url: self.origin.clone(),
                source,
            })
    }

    /// Sends, unwraps the envelope and decodes `data`.
    async fn call<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, ClientError> {
        let response = self.send(request).await?;
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .map_err(|source| ClientError::Transport {
                url: self.origin.clone(),
                source,
            })?;
        let body: Value = serde_json::from_str(&text).map_err(|_| {
            ClientError::Decode(format!(
                "HTTP {status} with a body that is not JSON: {}",
                text.chars().take(200).collect::<String>()
            ))
        })?;
        let ok = matches!(&body["code"], Value::Number(n) if n.as_i64() == Some(0))
            || body["code"] == "20000";
        if (200..300).contains(&status) && ok {
            return serde_json::from_value(body["data"].clone())
                .map_err(|e| ClientError::Decode(format!("data: {e}")));
        }
        Err(ClientError::Api {
            status,
            code: body["code"].as_i64().unwrap_or(i64::from(status) * 100),
            msg: body["msg"]
                .as_str()
                .unwrap_or("the server answered with an error and no message")
                .to_string(),
            param: body["data"]["param"].as_str().map(str::to_string),
        })
    }

    /// `POST /seedance/videos`.
    pub async fn create_video(
        &self,
        request: &CreateVideoRequest,
    ) -> Result<TaskCreated, ClientError> {
        self.call(self.post("/seedance/videos").json(request)).await
    }

    /// `GET /videos/{id}`.
    pub async fn get_video(&self, task_id: &str) -> Result<Task, ClientError> {
        self.call(self.get(&format!("/videos/{task_id}"))).await
    }

    /// `GET /videos`: a page of the caller's tasks, newest first.
    pub async fn list_videos(
        &self,
        status: Option<&str>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<TaskPage, ClientError> {
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(status) = status {
            query.push(("status", status.to_string()));
        }
        if let Some(limit) = limit {
            query.push(("limit", limit.to_string()));
        }
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor.to_string()));
        }
        self.call(self.get("/videos").query(&query)).await
    }

    /// `POST /videos/{id}/cancel`.
    pub async fn cancel_video(&self, task_id: &str) -> Result<Task, ClientError> {
        self.call(self.post(&format!("/videos/{task_id}/cancel")))
            .await
    }

    /// `GET /models`.
    pub async fn models(&self) -> Result<Vec<ModelItem>, ClientError> {
        let listing: ModelList = self.call(self.get("/models")).await?;
        Ok(listing.items)
    }

    /// `GET /account`.
    pub async fn account(&self) -> Result<AccountView, ClientError> {
        self.call(self.get("/account")).await
    }

    /// `POST /account/webhook-secret`: a new secret, shown once.
    pub async fn rotate_webhook_secret(&self) -> Result<String, ClientError> {
        let answer: WebhookSecret = self.call(self.post("/account/webhook-secret")).await?;
        Ok(answer.secret)
    }

    /// `POST /seedance/sp/assets/upload` from a URL; returns the asset id.
    pub async fn upload_asset_url(
        &self,
        name: &str,
        kind: &str,
        url: &str,
    ) -> Result<String, ClientError> {
        // `type` as given: the server checks it (40001 naming `type`).
        let body = json!({ "name": name, "type": kind, "url": url });
        let accepted: AssetAccepted = self
            .call(self.post("/seedance/sp/assets/upload").json(&body))
            .await?;
        Ok(accepted.asset_id)
    }

    /// `POST /seedance/sp/assets/upload` with the bytes of a local file (multipart); returns the asset id.
    pub async fn upload_asset_file(&self, path: &Path, kind: &str) -> Result<String, ClientError> {
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|source| ClientError::Io {
                path: path.display().to_string(),
                source,
            })?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "upload".to_string());
        let form = reqwest::multipart::Form::new()
            .text("name", name.clone())
            .text("type", kind.to_string())
            .part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name(name),
            );
        let accepted: AssetAccepted = self
            .call(self.post("/seedance/sp/assets/upload").multipart(form))
            .await?;
        Ok(accepted.asset_id)
    }

    /// `POST /seedance/sp/assets/detail`.
    pub async fn asset_detail(&self, asset_id: &str) -> Result<AssetDetail, ClientError> {
        let body = AssetIdRequest {
            asset_id: asset_id.to_string(),
        };
        self.call(self.post("/seedance/sp/assets/detail").json(&body))
            .await
    }

    /// `GET /videos/{id}/events`: the task at each change, ending after a terminal state.
    /// `last_event_id` resumes a stream.
    pub async fn events(
        &self,
        task_id: &str,
        last_event_id: Option<&str>,
    ) -> Result<TaskEvents, ClientError> {
        let mut request = self
            .get(&format!("/videos/{task_id}/events"))
            .header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = self.send(request).await?;
        if !response.status().is_success() {
            // Errors come as the usual envelope.
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            return Err(ClientError::Api {
                status,
                code: body["code"].as_i64().unwrap_or(i64::from(status) * 100),
                msg: body["msg"]
                    .as_str()
                    .unwrap_or("event stream refused")
                    .to_string(),
                param: None,
            });
        }
        Ok(TaskEvents {
            body: Box::pin(response.bytes_stream()),
            parser: SseParser::default(),
            pending: VecDeque::new(),
            origin: self.origin.clone(),
            last_event_id: None,
        })
    }

    /// Downloads the result of a completed task (`GET /videos/{id}/content`) to `path`;
    /// returns the number of bytes written.
    pub async fn download(&self, task_id: &str, path: &Path) -> Result<u64, ClientError> {
        let response = self
            .send(self.get(&format!("/videos/{task_id}/content")))
            .await?;
        if !response.status().is_success() {
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            return Err(ClientError::Api {
                status,
                code: body["code"].as_i64().unwrap_or(i64::from(status) * 100),
                msg: body["msg"]
                    .as_str()
                    .unwrap_or("download refused")
                    .to_string(),
                param: None,
            });
        }
        let io = |source| ClientError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut file = tokio::fs::File::create(path).await.map_err(io)?;
        let mut body = response.bytes_stream();
        let mut written = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|source| ClientError::Transport {
                url: self.origin.clone(),
                source,
            })?;
            file.write_all(&chunk).await.map_err(io)?;
            written += chunk.len() as u64;
        }
        file.flush().await.map_err(io)?;
        Ok(written)
    }
}

type ByteStream =
    std::pin::Pin<Box<dyn futures::Stream<Item = Result<bytes::Bytes, reqwest::Error>> + Send>>;

/// An open event stream of one task.
pub struct TaskEvents {
    body: ByteStream,
    parser: SseParser,
    pending: VecDeque<SseEvent>,
    origin: String,
    /// The id of the last event read (to resume with).
    pub last_event_id: Option<String>,
}

impl TaskEvents {
    /// The next state of the task; `None` when the stream ended.
    pub async fn next(&mut self) -> Option<Result<Task, ClientError>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                if event.event != "task" {
                    continue;
                }
                self.last_event_id = event.id.clone();
                return Some(
                    serde_json::from_str(&event.data)
                        .map_err(|e| ClientError::Decode(format!("event data: {e}"))),
                );
            }
            match self.body.next().await? {
                Ok(chunk) => self.pending.extend(self.parser.push(&chunk)),
                Err(source) => {
                    return Some(Err(ClientError::Transport {
                        url: self.origin.clone(),
                        source,
                    }))
                }
            }
        }
    }
}
