//! Submitting a task: the one way in for every front door (the seed API today; Ark's and
//! OpenAI's dialects next). A raw create body is validated and priced against the catalog, its
//! `asset://` references checked, a channel serving its model required; then the task is
//! accepted with its charge ([`super::accept`]) and the dispatcher woken, here and on the other
//! replicas. A door only translates its dialect into this body and renders the answer.

use std::sync::Arc;
use std::time::Duration;

use reelay_catalog::{Catalog, MediaRef, ValidateOptions, ValidatedRequest, ValidationError};
use reelay_media::Fetcher;
use serde_json::Value;
use tokio::sync::Notify;

use super::accept::{Accepted, CreateError, Creates, Creator, Idempotency};
use crate::assets::refs::{self, RefError};
use crate::providers::channels::Channels;
use crate::storage::Storage;
use crate::store::notify::{self, Topic};
use crate::store::Db;

/// Why a body was not accepted as a task.
#[derive(Debug)]
pub enum SubmitError {
    /// The catalog's validator refused it (40001 / 40002): names the field and what is allowed.
    Invalid(ValidationError),
    /// An `asset://` reference cannot be used (40003).
    BadAsset {
        field: String,
        message: String,
    },
    /// No configured channel serves the model (50300).
    NoChannel {
        model: String,
    },
    /// Accepting it was refused (balance, idempotency, in-flight limit) or failed.
    Create(CreateError),
    Db(sqlx::Error),
}

/// What a door needs to submit tasks.
#[derive(Clone)]
pub struct Submitter {
    pub db: Db,
    pub catalog: Arc<Catalog>,
    pub validate_options: ValidateOptions,
    pub channels: Arc<Channels>,
    pub creates: Creates,
    /// The dispatcher's wake-up (it routes the task at once).
    pub wake: Arc<Notify>,
    /// The addresses of the request's media URLs and `callback_url`.
    pub urls: UrlCheck,
}

/// The create-time check of a request's URLs (media and `callback_url`): a host that is a
/// private, loopback, link-local or metadata address literal, or a name that resolves to one
/// within `lookup_within`, is refused (40001 naming the field) before anything is charged, unless
/// `media.allow_private_networks`. A name that does not resolve in time is left to the fetch,
/// which checks again the addresses it connects to (DNS rebinding). reelay's own live signed
/// `/files/…` URLs always pass: they are read from storage, never fetched.
#[derive(Clone)]
pub struct UrlCheck {
    /// The fetcher whose rules the fetch will apply (`allow_private_networks`, trusted hosts).
    pub fetcher: Fetcher,
    pub storage: Storage,
    /// `server.public_url`, without a trailing slash: the origin of reelay's own file URLs.
    pub public_url: Arc<str>,
    /// How long a name's lookup may take (`media.create_lookup_ms`); zero skips names.
    pub lookup_within: Duration,
}

impl UrlCheck {
    /// The first refused URL of `request`, in field order, as the validator's 40001.
    async fn check(&self, request: &ValidatedRequest) -> Result<(), ValidationError> {
        let now = crate::clock::now();
        let urls: Vec<(String, &str)> = request_urls(request)
            .into_iter()
            .filter(|(_, url)| self.storage.own_key(&self.public_url, url, now).is_none())
            .collect();
        let checks = urls.iter().map(|(_, url)| async move {
            if self.lookup_within.is_zero() && !is_address_literal(url) {
                return Ok(());
            }
            self.fetcher.check_addresses(url, self.lookup_within).await
        });
        let results = futures::future::join_all(checks).await;
        for ((field, _), result) in urls.iter().zip(results) {
            if let Err(error) = result {
                return Err(ValidationError::invalid(
                    field.clone(),
                    format!("{field}: {error}; reelay fetches only public addresses"),
                ));
            }
        }
        Ok(())
    }
}

/// True when `url`'s host is an IP address literal.
fn is_address_literal(url: &str) -> bool {
    matches!(
        url::Url::parse(url.trim())
            .ok()
            .as_ref()
            .and_then(url::Url::host),
        Some(url::Host::Ipv4(_) | url::Host::Ipv6(_))
    )
}

/// Every URL of a request that reelay will fetch or POST to, with its field (`images[1]`).
fn request_urls(request: &ValidatedRequest) -> Vec<(String, &str)> {
    fn listed<'a>(name: &str, refs: &'a [MediaRef]) -> Vec<(String, &'a MediaRef)> {
        refs.iter()
            .enumerate()
            .map(|(index, reference)| (format!("{name}[{index}]"), reference))
            .collect()
    }
    let mut media: Vec<(String, &MediaRef)> = listed("images", &request.images);
    media.extend(
        request
            .first_image
            .iter()
            .map(|r| ("first_image".to_string(), r)),
    );
    media.extend(
        request
            .last_image
            .iter()
            .map(|r| ("last_image".to_string(), r)),
    );
    media.extend(listed("reference_videos", &request.reference_videos));
    media.extend(listed("reference_audios", &request.reference_audios));
    let mut urls: Vec<(String, &str)> = media
        .into_iter()
        .filter_map(|(field, reference)| match reference {
            MediaRef::Https(url) => Some((field, url.as_str())),
            MediaRef::Asset(_) => None,
        })
        .collect();
    if let Some(callback) = request.callback_url.as_deref().filter(|c| !c.is_empty()) {
        urls.push(("callback_url".to_string(), callback));
    }
    urls
}

impl Submitter {
    /// Validates and prices `body` for this account without creating anything (a quote, and
    /// the first half of a submit).
    pub async fn check(
        &self,
        account_id: &str,
        body: &Value,
    ) -> Result<ValidatedRequest, SubmitError> {
        let request = self
            .catalog
            .validate(body, &self.validate_options)
            .map_err(SubmitError::Invalid)?;
        self.urls
            .check(&request)
            .await
            .map_err(SubmitError::Invalid)?;
        let audited_only = self
            .catalog
            .model(&request.model)
            .is_some_and(|model| model.assets_audited);
        refs::check(&self.db, account_id, &request, audited_only)
            .await
            .map_err(|e| match e {
                RefError::Unusable(problem) => SubmitError::BadAsset {
                    field: problem.field,
                    message: problem.message,
                },
                RefError::Db(e) => SubmitError::Db(e),
            })?;
        if self.channels.serving(&request.model).is_empty() {
            return Err(SubmitError::NoChannel {
                model: request.model,
            });
        }
        Ok(request)
    }

    /// Checks `body`, accepts the task with its charge (or replays the task an earlier create
    /// with the same idempotency key made) and wakes the dispatcher.
    pub async fn submit(
        &self,
        creator: Creator<'_>,
        body: &Value,
        idempotency: Option<Idempotency<'_>>,
    ) -> Result<(ValidatedRequest, Accepted), SubmitError> {
        let request = self.check(creator.account_id, body).await?;
        let accepted = self
            .creates
            .accept(creator, &request, idempotency)
            .await
            .map_err(SubmitError::Create)?;
        if !accepted.replayed {
            self.wake.notify_one();
            notify::announce(&self.db, Topic::Tasks).await;
            tracing::info!(task_id = %accepted.task_id, model = %request.model, credits = request.price.credits, "task accepted");
        }
        Ok((request, accepted))
    }
}
