//! The safe fetcher: every download of a user-supplied URL goes through [`Fetcher`].
//!
//! Rules (API.md §7): https only (unless `allow_http`); no userinfo; the address connected
//! to must be public (unless `allow_private_networks`), checked after DNS resolution by the
//! client's own resolver and, for IP literals, here before each request; redirects are
//! followed by hand (`redirect::Policy::none()`) so every hop is re-checked, at most
//! `max_redirects`; bodies are capped by Content-Length up front and by counting; the whole
//! call has a total timeout and each connection a connect timeout; proxies from the
//! environment are ignored, since a proxy would resolve names where we cannot check them.

mod error;
mod resolve;

pub use error::FetchError;
pub use resolve::{HostResolver, LookupFuture, SystemResolver};

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::header::{HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use reqwest::{redirect, Method, StatusCode};
use url::{Host, Url};

use error::shorten_url;
use resolve::{AddressRule, GuardedResolver};

/// How much of a POST response body [`Fetcher::post`] keeps.
pub const POST_BODY_LIMIT: usize = 64 * 1024;

/// What the fetcher allows. Defaults are the production rules.
#[derive(Clone, Debug)]
pub struct FetchPolicy {
    /// Accept `http://` URLs (development and tests only).
    pub allow_http: bool,
    /// Skip the public-address check (development and tests only).
    pub allow_private_networks: bool,
    /// Redirects followed before giving up (5).
    pub max_redirects: usize,
    /// Total time for one call, redirects and body included (60 s).
    pub timeout: Duration,
    /// Time to set up one connection (10 s).
    pub connect_timeout: Duration,
    /// The `User-Agent` sent.
    pub user_agent: String,
    /// Hosts exempt from the public-address check, matched case-insensitively against the
    /// URL's host exactly as written (`127.0.0.1`, `[::1]`, `mirror.internal`). Empty by
    /// default. Tests use it to allow exactly their own `127.0.0.1` server while
    /// `localhost` or `127.0.0.2` stay refused; an operator may list an internal mirror.
    pub trusted_hosts: Vec<String>,
}

impl Default for FetchPolicy {
    fn default() -> FetchPolicy {
        FetchPolicy {
            allow_http: false,
            allow_private_networks: false,
            max_redirects: 5,
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            user_agent: concat!("reelay/", env!("CARGO_PKG_VERSION")).to_owned(),
            trusted_hosts: Vec::new(),
        }
    }
}

/// A downloaded body.
#[derive(Clone, Debug)]
pub struct Fetched {
    /// The body, at most the cap given to [`Fetcher::get`].
    pub bytes: Bytes,
    /// The `Content-Type` header of the final response, if any (not trusted for format).
    pub content_type: Option<String>,
    /// The URL of the final response, after redirects.
    pub final_url: Url,
}

/// A body written by [`Fetcher::get_into`].
#[derive(Clone, Debug)]
pub struct FetchedInto {
    /// Bytes written, at most the cap given.
    pub size: u64,
    /// The `Content-Type` header of the final response, if any (not trusted for format).
    pub content_type: Option<String>,
    /// The URL of the final response, after redirects.
    pub final_url: Url,
}

/// A successful response whose body is still to read.
struct Found {
    response: reqwest::Response,
    host: String,
    content_type: Option<String>,
    url: Url,
}

/// The result of a POST (webhook delivery).
#[derive(Clone, Debug)]
pub struct PostOutcome {
    /// The HTTP status; a 3xx is returned as is, never followed.
    pub status: u16,
    /// The first [`POST_BODY_LIMIT`] bytes of the response body.
    pub body: Bytes,
    /// True when the body was longer and was cut.
    pub body_truncated: bool,
}

/// Fetches users' URLs under a [`FetchPolicy`]. Cheap to clone (one shared client).
#[derive(Clone)]
pub struct Fetcher {
    inner: Arc<Inner>,
}

struct Inner {
    policy: FetchPolicy,
    rule: AddressRule,
    client: reqwest::Client,
    /// The lookup under the client's guarded resolver, for [`Fetcher::check_addresses`].
    resolver: Arc<dyn HostResolver>,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("policy", &self.inner.policy)
            .finish_non_exhaustive()
    }
}

impl Fetcher {
    /// A fetcher resolving names with the operating system's resolver.
    pub fn new(policy: FetchPolicy) -> Result<Fetcher, FetchError> {
        Fetcher::with_resolver(policy, Arc::new(SystemResolver))
    }

    /// A fetcher resolving names with `resolver` (tests inject a fixed table here). The
    /// addresses it returns are checked like any others.
    pub fn with_resolver(
        policy: FetchPolicy,
        resolver: Arc<dyn HostResolver>,
    ) -> Result<Fetcher, FetchError> {
        let rule = AddressRule {
            allow_private_networks: policy.allow_private_networks,
            trusted_hosts: policy
                .trusted_hosts
                .iter()
                .map(|host| host.to_ascii_lowercase())
                .collect(),
        };
        let guarded = GuardedResolver {
            lookup: resolver.clone(),
            rule: rule.clone(),
        };
        let client = reqwest::Client::builder()
            .redirect(redirect::Policy::none())
            .no_proxy()
            .https_only(!policy.allow_http)
            .connect_timeout(policy.connect_timeout)
            .user_agent(policy.user_agent.clone())
            .dns_resolver(Arc::new(guarded))
            .build()
            .map_err(|error| FetchError::ClientBuild {
                reason: error.to_string(),
            })?;
        Ok(Fetcher {
            inner: Arc::new(Inner {
                policy,
                rule,
                client,
                resolver,
            }),
        })
    }

    /// The policy this fetcher enforces.
    pub fn policy(&self) -> &FetchPolicy {
        &self.inner.policy
    }

    /// Checks a URL's shape without touching the network: http(s) scheme (https unless
    /// `allow_http`), no userinfo, a host. For create-time validation.
    pub fn check_url_shape(&self, url: &str) -> Result<Url, FetchError> {
        let parsed = Url::parse(url.trim()).map_err(|error| FetchError::InvalidUrl {
            reason: error.to_string(),
        })?;
        self.check_parsed_shape(parsed)
    }

    fn check_parsed_shape(&self, url: Url) -> Result<Url, FetchError> {
        match url.scheme() {
            "https" => {}
            "http" if self.inner.policy.allow_http => {}
            "http" => {
                return Err(FetchError::HttpsRequired {
                    url: shorten_url(url.as_str()),
                })
            }
            other => {
                return Err(FetchError::UnsupportedScheme {
                    scheme: other.to_owned(),
                })
            }
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(FetchError::UserinfoNotAllowed);
        }
        match url.host() {
            None => Err(FetchError::MissingHost),
            Some(Host::Domain("")) => Err(FetchError::MissingHost),
            Some(_) => Ok(url),
        }
    }

    /// Refuses `url` when its host is an address literal outside the allowed ranges, or a name
    /// that resolves (within `lookup_within`) to any such address: the create-time check, so
    /// that a URL the fetch would refuse is refused before anything is charged. Only the address
    /// is judged here: a URL that does not parse, a name that does not resolve in time or at
    /// all, and every other problem are left to the fetch, which checks everything again (and
    /// the addresses it actually connects to, against DNS rebinding).
    pub async fn check_addresses(
        &self,
        url: &str,
        lookup_within: Duration,
    ) -> Result<(), FetchError> {
        let Ok(url) = Url::parse(url.trim()) else {
            return Ok(());
        };
        let host = url.host_str().unwrap_or_default();
        let name = match url.host() {
            Some(Host::Ipv4(ip)) => return self.inner.rule.check(host, ip.into()),
            Some(Host::Ipv6(ip)) => return self.inner.rule.check(host, ip.into()),
            Some(Host::Domain(name)) if !name.is_empty() => name,
            _ => return Ok(()),
        };
        if self.inner.rule.allow_private_networks || self.inner.rule.is_trusted(name) {
            return Ok(());
        }
        let lookup = self.inner.resolver.lookup(name);
        match tokio::time::timeout(lookup_within, lookup).await {
            Ok(Ok(ips)) => ips
                .into_iter()
                .try_for_each(|ip| self.inner.rule.check(name, ip)),
            Ok(Err(_)) | Err(_) => Ok(()),
        }
    }

    /// Refuses IP-literal hosts outside the allowed ranges. Names are checked by the
    /// client's resolver instead, which reqwest bypasses for literals.
    fn check_literal_host(&self, url: &Url) -> Result<(), FetchError> {
        let host = url.host_str().unwrap_or_default();
        match url.host() {
            Some(Host::Ipv4(ip)) => self.inner.rule.check(host, ip.into()),
            Some(Host::Ipv6(ip)) => self.inner.rule.check(host, ip.into()),
            Some(Host::Domain(_)) => Ok(()),
            None => Err(FetchError::MissingHost),
        }
    }

    /// Downloads `url`, following up to `max_redirects` redirects (each re-checked), and
    /// returns at most `max_bytes` of body or [`FetchError::TooLarge`].
    pub async fn get(&self, url: &str, max_bytes: u64) -> Result<Fetched, FetchError> {
        let mut body = Vec::new();
        let fetched = self.get_into(url, max_bytes, &mut body).await?;
        Ok(Fetched {
            bytes: Bytes::from(body),
            content_type: fetched.content_type,
            final_url: fetched.final_url,
        })
    }

    /// [`Fetcher::get`] writing the body into `sink` as it arrives instead of holding it: the
    /// cap is enforced chunk by chunk, so at most `max_bytes` are ever written. Answers the
    /// number of bytes written; on an error `sink` holds a partial body the caller discards.
    pub async fn get_into<W>(
        &self,
        url: &str,
        max_bytes: u64,
        sink: &mut W,
    ) -> Result<FetchedInto, FetchError>
    where
        W: tokio::io::AsyncWrite + Unpin,
    {
        let url = self.check_url_shape(url)?;
        let timeout = self.inner.policy.timeout;
        let exchange = async {
            let found = self.get_following_redirects(url, max_bytes).await?;
            let size = write_capped(found.response, &found.host, max_bytes, sink).await?;
            Ok(FetchedInto {
                size,
                content_type: found.content_type,
                final_url: found.url,
            })
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or(Err(FetchError::Timeout { after: timeout }))
    }

    async fn get_following_redirects(
        &self,
        mut url: Url,
        max_bytes: u64,
    ) -> Result<Found, FetchError> {
        let mut redirects = 0;
        loop {
            self.check_literal_host(&url)?;
            let host = url.host_str().unwrap_or_default().to_owned();
            let response = self
                .inner
                .client
                .request(Method::GET, url.clone())
                .send()
                .await
                .map_err(|error| self.request_error(&host, error))?;
            let status = response.status();
            if is_followed_redirect(status) {
                if redirects >= self.inner.policy.max_redirects {
                    return Err(FetchError::TooManyRedirects {
                        max: self.inner.policy.max_redirects,
                    });
                }
                redirects += 1;
                let bad_redirect = || FetchError::BadRedirect {
                    status: status.as_u16(),
                    host: host.clone(),
                };
                let location = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|value| value.to_str().ok())
                    .ok_or_else(bad_redirect)?;
                let next = url.join(location).map_err(|_| bad_redirect())?;
                tracing::debug!(from = %url, to = %next, "following redirect");
                url = self.check_parsed_shape(next)?;
                continue;
            }
            if !status.is_success() {
                return Err(FetchError::HttpStatus {
                    status: status.as_u16(),
                    host,
                });
            }
            if let Some(length) = content_length(&response) {
                if length > max_bytes {
                    return Err(FetchError::TooLarge { limit: max_bytes });
                }
            }
            let content_type = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned);
            return Ok(Found {
                response,
                host,
                content_type,
                url,
            });
        }
    }

    /// POSTs `body` with `headers` to `url` under the same URL and address rules, within
    /// `timeout`. Redirects are not followed: a 3xx comes back as the status.
    pub async fn post(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<PostOutcome, FetchError> {
        let url = self.check_url_shape(url)?;
        self.check_literal_host(&url)?;
        let host = url.host_str().unwrap_or_default().to_owned();
        let mut request = self.inner.client.request(Method::POST, url);
        for (name, value) in headers {
            let invalid = || FetchError::InvalidHeader { name: name.clone() };
            let name_parsed = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
            let value_parsed = HeaderValue::from_str(value).map_err(|_| invalid())?;
            request = request.header(name_parsed, value_parsed);
        }
        let exchange = async {
            let response = request
                .body(body)
                .send()
                .await
                .map_err(|error| self.request_error(&host, error))?;
            let status = response.status().as_u16();
            let (body, body_truncated) = read_prefix(response, POST_BODY_LIMIT).await;
            Ok(PostOutcome {
                status,
                body,
                body_truncated,
            })
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or(Err(FetchError::Timeout { after: timeout }))
    }

    /// Turns a reqwest error into a [`FetchError`], recovering the resolver's own refusal
    /// from the error chain when there is one.
    fn request_error(&self, host: &str, error: reqwest::Error) -> FetchError {
        let mut source: Option<&(dyn StdError + 'static)> = Some(&error);
        let mut innermost = error.to_string();
        while let Some(current) = source {
            if let Some(ours) = current.downcast_ref::<FetchError>() {
                return ours.clone();
            }
            innermost = current.to_string();
            source = current.source();
        }
        let host = host.to_owned();
        if error.is_connect() && error.is_timeout() {
            FetchError::ConnectTimeout {
                host,
                after: self.inner.policy.connect_timeout,
            }
        } else if error.is_connect() {
            FetchError::Connect {
                host,
                reason: innermost,
            }
        } else {
            FetchError::Request {
                host,
                reason: innermost,
            }
        }
    }
}

fn is_followed_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

fn content_length(response: &reqwest::Response) -> Option<u64> {
    response
        .headers()
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Streams the body into `sink`, failing as soon as it passes `max_bytes`; the bytes written.
async fn write_capped<W: tokio::io::AsyncWrite + Unpin>(
    mut response: reqwest::Response,
    host: &str,
    max_bytes: u64,
    sink: &mut W,
) -> Result<u64, FetchError> {
    use tokio::io::AsyncWriteExt;
    let write_error = |error: std::io::Error| FetchError::Write {
        reason: error.to_string(),
    };
    let mut written = 0u64;
    loop {
        let chunk = response
            .chunk()
            .await
            .map_err(|error| FetchError::BodyRead {
                host: host.to_owned(),
                reason: innermost_message(&error),
            })?;
        let Some(chunk) = chunk else {
            sink.flush().await.map_err(write_error)?;
            return Ok(written);
        };
        if written + chunk.len() as u64 > max_bytes {
            return Err(FetchError::TooLarge { limit: max_bytes });
        }
        sink.write_all(&chunk).await.map_err(write_error)?;
        written += chunk.len() as u64;
    }
}

/// Reads up to `limit` bytes of body, ignoring read errors after the status arrived.
async fn read_prefix(mut response: reqwest::Response, limit: usize) -> (Bytes, bool) {
    let mut buffer = BytesMut::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = limit - buffer.len();
        if chunk.len() > room {
            buffer.extend_from_slice(&chunk[..room]);
            return (buffer.freeze(), true);
        }
        buffer.extend_from_slice(&chunk);
    }
    (buffer.freeze(), false)
}

fn innermost_message(error: &(dyn StdError + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}
