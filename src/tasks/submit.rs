//! Submitting a task: the one way in for every front door (the seed API today; Ark's and
//! OpenAI's dialects next). A raw create body is validated and priced against the catalog, its
//! `asset://` references checked, a channel serving its model required; then the task is
//! accepted with its charge ([`super::accept`]) and the dispatcher woken, here and on the other
//! replicas. A door only translates its dialect into this body and renders the answer.

use std::sync::Arc;

use reelay_catalog::{Catalog, ValidateOptions, ValidatedRequest, ValidationError};
use serde_json::Value;
use tokio::sync::Notify;

use super::accept::{Accepted, CreateError, Creates, Creator, Idempotency};
use crate::assets::refs::{self, RefError};
use crate::providers::channels::Channels;
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
