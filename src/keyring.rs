//! The secrets reelay keeps in its database and must read back, sealed at rest with
//! `secrets.key` ([`crate::secrets`]): the URL-signing key (table `meta`) and the accounts'
//! webhook secrets (`accounts.webhook_secret`). At start, values stored in clear or under
//! `secrets.previous_key` are sealed again under `secrets.key` (compare-and-set, so replicas
//! starting together agree). Without `secrets.key` they are stored in clear, as before.

use std::sync::Arc;

use crate::secrets::{Sealer, SecretsError};
use crate::store::{meta, webhooks, Db};

/// The slot of the URL-signing key.
const SIGNING_KEY_SLOT: &str = "url_signing_key";

/// Why a secret could not be read or sealed.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

/// Seals and opens the database's secrets; cheap to clone.
#[derive(Clone)]
pub struct Keyring {
    db: Db,
    sealer: Arc<Sealer>,
}

fn webhook_slot(account_id: &str) -> String {
    format!("webhook_secret:{account_id}")
}

impl Keyring {
    pub fn new(db: Db, sealer: Arc<Sealer>) -> Keyring {
        Keyring { db, sealer }
    }

    /// Whether secrets are sealed (a `secrets.key` is set).
    pub fn seals(&self) -> bool {
        self.sealer.seals()
    }

    /// The URL-signing key, made on first use; sealed again under `secrets.key` when it was
    /// stored in clear or under the previous key.
    pub async fn url_signing_key(&self) -> Result<String, KeyringError> {
        let fresh = self
            .sealer
            .seal(SIGNING_KEY_SLOT, &crate::ids::random_token(48))?;
        let stored = meta::get_or_init(&self.db, SIGNING_KEY_SLOT, || fresh).await?;
        let opened = self.sealer.open(SIGNING_KEY_SLOT, &stored)?;
        if opened.stale {
            let resealed = self.sealer.seal(SIGNING_KEY_SLOT, &opened.value)?;
            meta::replace(&self.db, SIGNING_KEY_SLOT, &stored, &resealed).await?;
        }
        Ok(opened.value)
    }

    /// Seals every webhook secret stored in clear or under the previous key under
    /// `secrets.key`; how many were sealed again. Nothing to do without a key.
    pub async fn reseal_webhook_secrets(&self) -> Result<usize, KeyringError> {
        if !self.sealer.seals() {
            return Ok(0);
        }
        let mut resealed = 0;
        for (account_id, stored) in webhooks::stored_secrets(&self.db).await? {
            let slot = webhook_slot(&account_id);
            let opened = self.sealer.open(&slot, &stored)?;
            if opened.stale {
                let sealed = self.sealer.seal(&slot, &opened.value)?;
                if webhooks::replace_secret(&self.db, &account_id, &stored, &sealed).await? {
                    resealed += 1;
                }
            }
        }
        Ok(resealed)
    }

    /// An account's webhook secret as it is to be stored.
    pub fn seal_webhook_secret(
        &self,
        account_id: &str,
        secret: &str,
    ) -> Result<String, SecretsError> {
        self.sealer.seal(&webhook_slot(account_id), secret)
    }

    /// An account's webhook secret as stored, opened.
    pub fn open_webhook_secret(
        &self,
        account_id: &str,
        stored: &str,
    ) -> Result<String, SecretsError> {
        Ok(self.sealer.open(&webhook_slot(account_id), stored)?.value)
    }
}
