//! The dispatcher: every `poll_interval_ms` it takes due deliveries, POSTs the task object
//! (built fresh, so URLs are freshly signed) through the safe fetcher, and records the outcome.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use reelay_media::Fetcher;
use tokio_util::sync::CancellationToken;

use crate::clock::now;
use crate::config::WebhookSettings;
use crate::storage::Storage;
use crate::store::webhooks::{self, AttemptResult, Delivery};
use crate::store::{accounts, tasks, Db};
use crate::tasks::view::ark::ark_task;
use crate::tasks::view::{task_json, ViewContext};
use crate::tasks::ClientMeta;

/// Deliveries attempted at once by one dispatcher.
const CONCURRENCY: usize = 8;
/// Deliveries taken per pass.
const BATCH: i64 = 64;

/// Delivers webhooks. Cheap to clone.
#[derive(Clone)]
pub struct Dispatcher {
    pub db: Db,
    pub fetcher: Fetcher,
    pub storage: Storage,
    pub public_url: Arc<str>,
    pub retention_secs: i64,
    pub settings: WebhookSettings,
    /// Opens the accounts' webhook secrets (sealed with `secrets.key`).
    pub keyring: crate::keyring::Keyring,
}

impl Dispatcher {
    /// Delivers due webhooks until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let every = Duration::from_millis(self.settings.poll_interval_ms.max(10));
        loop {
            if let Err(error) = self.deliver_due().await {
                tracing::error!(%error, "webhook dispatch failed");
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
        }
    }

    /// One pass: attempts every due delivery once. Returns how many were attempted.
    pub async fn deliver_due(&self) -> Result<usize, sqlx::Error> {
        let due = webhooks::due(&self.db, now(), BATCH).await?;
        let count = due.len();
        futures::stream::iter(due)
            .for_each_concurrent(CONCURRENCY, |delivery| async move {
                let id = delivery.id.clone();
                if let Err(error) = self.attempt(delivery).await {
                    tracing::error!(%error, delivery_id = %id, "recording a webhook attempt failed");
                }
            })
            .await;
        Ok(count)
    }

    #[tracing::instrument(skip_all, fields(delivery_id = %delivery.id, task_id = %delivery.task_id))]
    async fn attempt(&self, delivery: Delivery) -> Result<(), sqlx::Error> {
        let timeout = Duration::from_secs(self.settings.timeout_secs.max(1));
        let started = now();
        let lease_until = started + timeout.as_secs() as i64 + 30;
        if !webhooks::claim_attempt(&self.db, &delivery.id, started, lease_until).await? {
            return Ok(());
        }
        let attempts = delivery.attempts + 1;
        let Some(task) = tasks::get(&self.db, &delivery.task_id).await? else {
            let error = "the task no longer exists";
            return webhooks::record(
                &self.db,
                &delivery.id,
                AttemptResult::GaveUp {
                    status: None,
                    error,
                },
            )
            .await;
        };
        let view = ViewContext {
            storage: &self.storage,
            public_url: &self.public_url,
            retention_secs: self.retention_secs,
        };
        let body = body_of(&task, &view);
        let stored = accounts::get(&self.db, &delivery.account_id)
            .await?
            .and_then(|a| a.webhook_secret);
        let secret = match stored
            .map(|stored| {
                self.keyring
                    .open_webhook_secret(&delivery.account_id, &stored)
            })
            .transpose()
        {
            Ok(secret) => secret,
            Err(error) => {
                // Never sent unsigned: the receiver must be able to trust what it gets. Tried
                // again on the schedule, so it goes out once the operator restores the key.
                let error = format!("the account's webhook secret cannot be read: {error}");
                tracing::error!(%error, "webhook not sent");
                return self
                    .retry_or_give_up(&delivery, attempts, None, error)
                    .await;
            }
        };
        let timestamp = now();
        let mut headers = vec![
            ("content-type".to_string(), "application/json".to_string()),
            ("webhook-id".to_string(), delivery.id.clone()),
            ("webhook-timestamp".to_string(), timestamp.to_string()),
        ];
        if let Some(key) = secret.as_deref().and_then(super::signing_key) {
            headers.push((
                "webhook-signature".to_string(),
                super::sign(&key, &delivery.id, timestamp, &body),
            ));
        }
        let (status, error) = match self
            .fetcher
            .post(&delivery.url, &headers, body, timeout)
            .await
        {
            Ok(outcome) if (200..300).contains(&outcome.status) => {
                tracing::info!(status = outcome.status, attempts, "webhook delivered");
                let status = i64::from(outcome.status);
                return webhooks::record(
                    &self.db,
                    &delivery.id,
                    AttemptResult::Delivered { status },
                )
                .await;
            }
            Ok(outcome) => (
                Some(i64::from(outcome.status)),
                format!("the receiver answered HTTP {}", outcome.status),
            ),
            Err(error) if error.is_refused_by_policy() => {
                // The target itself is refused (its form or its address): no later attempt
                // can succeed, so the delivery ends now rather than after a day of retries.
                let error = format!("refused: {error}");
                tracing::warn!(%error, attempts, "webhook target refused; giving up");
                return webhooks::record(
                    &self.db,
                    &delivery.id,
                    AttemptResult::GaveUp {
                        status: None,
                        error: &error,
                    },
                )
                .await;
            }
            Err(error) => (None, error.to_string()),
        };
        self.retry_or_give_up(&delivery, attempts, status, error)
            .await
    }

    /// Records a failed attempt: a retry on the schedule, or the end of the delivery once the
    /// schedule or the maximum age is used up.
    async fn retry_or_give_up(
        &self,
        delivery: &Delivery,
        attempts: i64,
        status: Option<i64>,
        error: String,
    ) -> Result<(), sqlx::Error> {
        let next = super::next_attempt_at(
            &self.settings.schedule_secs,
            self.settings.max_age_secs,
            attempts,
            delivery.created_at,
            now(),
        );
        match next {
            Some(next_attempt_at) => {
                tracing::info!(?status, %error, attempts, next_attempt_at, "webhook attempt failed; will retry");
                webhooks::record(
                    &self.db,
                    &delivery.id,
                    AttemptResult::Retry {
                        status,
                        error: &error,
                        next_attempt_at,
                    },
                )
                .await
            }
            None => {
                tracing::warn!(?status, %error, attempts, "webhook attempts exhausted; giving up");
                webhooks::record(
                    &self.db,
                    &delivery.id,
                    AttemptResult::GaveUp {
                        status,
                        error: &error,
                    },
                )
                .await
            }
        }
    }
}

/// A delivery's body: the task as its door shows it. A task made through Ark's door gets Ark's
/// task object (what Ark's own callbacks carry); every other task the seed task object.
fn body_of(task: &crate::tasks::TaskRow, view: &ViewContext<'_>) -> Vec<u8> {
    let door = ClientMeta::decode(task.client.as_deref()).door;
    if door.as_deref() == Some("ark") {
        if let Some(json) = ark_task(task, view).and_then(|t| serde_json::to_vec(&t).ok()) {
            return json;
        }
    }
    task_json(task, view).to_string().into_bytes()
}
