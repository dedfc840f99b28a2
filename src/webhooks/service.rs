//! [`Webhooks`]: what the HTTP API asks of webhooks: rotate an account's signing secret, and
//! the delivery of a task, reported on the task poll.

use crate::keyring::{Keyring, KeyringError};
use crate::store::webhooks;
use crate::store::Db;
use crate::tasks::view::TaskView;

pub use crate::store::webhooks::Delivery;

/// Webhook secrets and deliveries over one database; cheap to clone.
#[derive(Clone)]
pub struct Webhooks {
    db: Db,
    keyring: Keyring,
}

impl Webhooks {
    pub fn new(db: Db, keyring: Keyring) -> Webhooks {
        Webhooks { db, keyring }
    }

    /// Makes a new signing secret for the account and stores it in place of the old one;
    /// deliveries from now on are signed with it. `None` when there is no such account.
    pub(crate) async fn rotate_secret(
        &self,
        account_id: &str,
    ) -> Result<Option<String>, KeyringError> {
        let secret = super::new_secret();
        let sealed = self.keyring.seal_webhook_secret(account_id, &secret)?;
        let stored = webhooks::set_secret(&self.db, account_id, &sealed).await?;
        Ok(stored.then_some(secret))
    }

    /// The delivery of a task that has one: a task with a `callback_url` that ended. A task
    /// without a `callback_url` has none, and no query is made for it.
    pub(crate) async fn delivery_of(
        &self,
        task: &TaskView<'_>,
    ) -> Result<Option<Delivery>, sqlx::Error> {
        if !task.has_callback_url() {
            return Ok(None);
        }
        webhooks::for_task(&self.db, task.task_id()).await
    }
}
