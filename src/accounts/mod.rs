//! Accounts, their API keys and their credits: the rules every edge (the user API, the admin
//! API, the CLI) goes through, so that a key is made one way and credits move one way.

mod service;

pub use service::Accounts;

use crate::ids;
use crate::store::keys;
use crate::store::ledger::{self, Kind};
use crate::store::Db;

pub use crate::store::accounts::Account;
pub use crate::store::keys::{ApiKey, Credential};
pub use crate::store::ledger::PostError;

/// Why an account operation was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AccountError {
    #[error("account {0} not found")]
    NoAccount(String),
    #[error("this account already has {active} active keys, the most allowed; revoke one first")]
    TooManyKeys { active: usize },
    /// The key's next slot (its limit paces requests one every `60 s / rpm`) is `retry_after`
    /// seconds away (rounded up).
    #[error("this API key is limited to {rpm} requests per minute, paced evenly; retry after {retry_after} s")]
    RateLimited { rpm: i64, retry_after: i64 },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// A key just made: its stored row and the secret, shown once.
pub(crate) struct NewKey {
    pub key: ApiKey,
    pub secret: String,
}

/// Makes an API key named `name` for `account_id`. With `max_active`, refuses when the account
/// already has that many active keys (the limit a user's own key creation keeps to; operators
/// have none).
pub(crate) async fn create_key(
    db: &Db,
    account_id: &str,
    name: &str,
    max_active: Option<usize>,
) -> Result<NewKey, AccountError> {
    if crate::store::accounts::get(db, account_id).await?.is_none() {
        return Err(AccountError::NoAccount(account_id.to_string()));
    }
    if let Some(max_active) = max_active {
        let existing = keys::list(db, Some(account_id)).await?;
        let active = existing.iter().filter(|k| k.revoked_at.is_none()).count();
        if active >= max_active {
            return Err(AccountError::TooManyKeys { active });
        }
    }
    let mut conn = db.write.acquire().await?;
    let created = keys::insert(&mut conn, account_id, name).await?;
    drop(conn);
    let key = keys::get(db, &created.key_id).await?.ok_or_else(|| {
        sqlx::Error::Protocol(format!("key {} vanished after insert", created.key_id))
    })?;
    Ok(NewKey {
        key,
        secret: created.secret,
    })
}

/// The keys of one account, or of every account (`None`), oldest first, revoked ones too.
pub(crate) async fn list_keys(
    db: &Db,
    account_id: Option<&str>,
) -> Result<Vec<ApiKey>, AccountError> {
    Ok(keys::list(db, account_id).await?)
}

/// Revokes a key; false when there is no such active key.
pub(crate) async fn revoke_key(db: &Db, key_id: &str) -> Result<bool, AccountError> {
    Ok(keys::revoke(db, key_id).await?)
}

/// Adds (or, when negative, removes) credits through the ledger, outside any task.
pub(crate) async fn adjust_credits(
    db: &Db,
    account_id: &str,
    credits: i64,
    note: Option<&str>,
) -> Result<i64, PostError> {
    let mut tx = db.write.begin().await?;
    let kind = if credits >= 0 {
        Kind::Topup
    } else {
        Kind::Adjust
    };
    let balance = ledger::post(&mut tx, account_id, kind, credits, None, note).await?;
    tx.commit().await?;
    Ok(balance)
}

/// Creates an account with `credits` and a first key; returns (account id, key id, secret).
pub async fn create_account_with_key(
    db: &Db,
    name: &str,
    key_name: &str,
    credits: i64,
) -> Result<(String, String, String), PostError> {
    let account_id = ids::new_id("acct");
    let mut tx = db.write.begin().await?;
    crate::store::accounts::insert(&mut tx, &account_id, name).await?;
    let key = crate::store::keys::insert(&mut tx, &account_id, key_name).await?;
    if credits != 0 {
        ledger::post(
            &mut tx,
            &account_id,
            Kind::Topup,
            credits,
            None,
            Some("initial credits"),
        )
        .await?;
    }
    tx.commit().await?;
    Ok((account_id, key.key_id, key.secret))
}

/// What a key may still spend: its name, quota (0 = unlimited) and what its tasks used.
#[derive(Debug, Clone)]
pub(crate) struct KeyQuota {
    pub name: String,
    pub quota: i64,
    pub used: i64,
}

impl KeyQuota {
    fn of(key: &ApiKey) -> KeyQuota {
        KeyQuota {
            name: key.name.clone(),
            quota: key.quota.unwrap_or(0).max(0),
            used: key.quota_used,
        }
    }

    /// No cap set.
    pub fn unlimited(&self) -> bool {
        self.quota == 0
    }

    /// Credits left under the cap (0 when unlimited: see [`KeyQuota::unlimited`]).
    pub fn available(&self) -> i64 {
        if self.unlimited() {
            0
        } else {
            (self.quota - self.used).max(0)
        }
    }
}

/// The calling key's quota, or `None` when there is no such key.
pub(crate) async fn key_quota(db: &Db, key_id: &str) -> Result<Option<KeyQuota>, AccountError> {
    Ok(keys::get(db, key_id).await?.as_ref().map(KeyQuota::of))
}

/// Sets a key's spending quota in credits (0 = unlimited); the key after the change, or
/// `None` when there is no such key. Lowering it below what the key used refuses its next
/// create; tasks already accepted run on.
pub(crate) async fn set_key_quota(
    db: &Db,
    key_id: &str,
    quota: i64,
) -> Result<Option<ApiKey>, AccountError> {
    Ok(keys::set_quota(db, key_id, Some(quota)).await?)
}

/// An account's money as the vendor's `/user/balance` shows it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Balance {
    /// Credits spendable now.
    pub available: i64,
    /// Credits its tasks were charged, net of refunds.
    pub used: i64,
}

/// The account's balance, or `None` when there is no such account.
pub(crate) async fn balance(db: &Db, account_id: &str) -> Result<Option<Balance>, AccountError> {
    let Some(account) = crate::store::accounts::get(db, account_id).await? else {
        return Ok(None);
    };
    Ok(Some(Balance {
        available: account.balance,
        used: account.spent_total,
    }))
}
