//! [`Accounts`]: the accounts service as the HTTP API holds it. Every read and write of
//! accounts, keys, per-key limits and the ledger a handler makes goes through it; the one-off
//! commands (`reelay keys`, `credits`) call the functions of [`super`] with the database they
//! opened.

use super::{AccountError, NewKey, PostError};
use crate::store::accounts::{self, Account};
use crate::store::keys::{self, ApiKey, Credential};
use crate::store::ledger::{self, Entry};
use crate::store::{rate, Db};

/// Accounts, keys, limits and credits over one database; cheap to clone.
#[derive(Clone)]
pub struct Accounts {
    db: Db,
}

/// How far ahead of its even pace a key may run: 10 s of its budget (`rpm / 6` requests) at
/// once, on top of the request due now.
pub(crate) const KEY_BURST: std::time::Duration = std::time::Duration::from_secs(10);

impl Accounts {
    pub fn new(db: Db) -> Accounts {
        Accounts { db }
    }

    /// The active key whose secret is `secret`; `None` when it is unknown, revoked or wrong.
    pub(crate) async fn authenticate(
        &self,
        secret: &str,
    ) -> Result<Option<Credential>, AccountError> {
        Ok(keys::authenticate(&self.db, secret).await?)
    }

    /// Lets one request of key `key_id` through its limit of `rpm` requests per minute, paced
    /// evenly (one every `60 s / rpm`) with a burst of up to [`KEY_BURST`] worth of the budget
    /// (GCRA's tolerance: a client that sends a few requests at once, such as a page loading, is
    /// not refused, and a minute's budget is still never spent in its first seconds). Kept in
    /// the database so that the limit holds across replicas. [`AccountError::RateLimited`] with
    /// the wait until the key's next slot, in whole seconds rounded up, when the request comes
    /// early (a refused request takes nothing).
    pub(crate) async fn count_request(&self, key_id: &str, rpm: i64) -> Result<(), AccountError> {
        let scope = format!("key:{key_id}");
        rate::take(&self.db, &scope, rpm, crate::clock::now_us(), KEY_BURST)
            .await?
            .map(|_slot| ())
            .map_err(|wait| AccountError::RateLimited {
                rpm,
                retry_after: (wait.as_micros() as u64).div_ceil(1_000_000).max(1) as i64,
            })
    }

    /// One account, with its balance.
    pub(crate) async fn account(&self, account_id: &str) -> Result<Option<Account>, AccountError> {
        Ok(accounts::get(&self.db, account_id).await?)
    }

    /// Up to `limit` accounts after `after_id`, by id.
    pub(crate) async fn accounts_page(
        &self,
        after_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Account>, AccountError> {
        Ok(accounts::page(&self.db, after_id, limit).await?)
    }

    /// Up to `limit` of an account's ledger entries below `before_seq`, newest first.
    pub(crate) async fn ledger_page(
        &self,
        account_id: &str,
        before_seq: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Entry>, AccountError> {
        Ok(ledger::page(&self.db, account_id, before_seq, limit).await?)
    }

    /// Whether key `key_id` exists and is not revoked (an open event stream re-checks it).
    pub(crate) async fn key_is_active(&self, key_id: &str) -> Result<bool, AccountError> {
        Ok(keys::get(&self.db, key_id)
            .await?
            .is_some_and(|key| key.revoked_at.is_none()))
    }

    /// The keys of one account, oldest first, revoked ones too.
    pub(crate) async fn keys_of(&self, account_id: &str) -> Result<Vec<ApiKey>, AccountError> {
        super::list_keys(&self.db, Some(account_id)).await
    }

    /// [`super::create_key`].
    pub(crate) async fn create_key(
        &self,
        account_id: &str,
        name: &str,
        max_active: Option<usize>,
    ) -> Result<NewKey, AccountError> {
        super::create_key(&self.db, account_id, name, max_active).await
    }

    /// Revokes a key; false when there is no such active key.
    pub(crate) async fn revoke_key(&self, key_id: &str) -> Result<bool, AccountError> {
        super::revoke_key(&self.db, key_id).await
    }

    /// Sets a key's own limits (`Some(None)` clears one back to the server default, `None`
    /// leaves it); the key after the change, or `None` when there is no such key.
    pub(crate) async fn set_key_limits(
        &self,
        key_id: &str,
        rpm: Option<Option<i64>>,
        max_in_flight: Option<Option<i64>>,
        quota: Option<Option<i64>>,
    ) -> Result<Option<ApiKey>, AccountError> {
        Ok(keys::set_limits(&self.db, key_id, rpm, max_in_flight, quota).await?)
    }

    /// [`super::set_key_quota`].
    pub(crate) async fn set_key_quota(
        &self,
        key_id: &str,
        quota: i64,
    ) -> Result<Option<ApiKey>, AccountError> {
        super::set_key_quota(&self.db, key_id, quota).await
    }

    /// [`super::key_quota`].
    pub(crate) async fn key_quota(
        &self,
        key_id: &str,
    ) -> Result<Option<super::KeyQuota>, AccountError> {
        super::key_quota(&self.db, key_id).await
    }

    /// [`super::balance`].
    pub(crate) async fn balance(
        &self,
        account_id: &str,
    ) -> Result<Option<super::Balance>, AccountError> {
        super::balance(&self.db, account_id).await
    }

    /// [`super::adjust_credits`].
    pub(crate) async fn adjust_credits(
        &self,
        account_id: &str,
        credits: i64,
        note: Option<&str>,
    ) -> Result<i64, PostError> {
        super::adjust_credits(&self.db, account_id, credits, note).await
    }

    /// [`super::create_account_with_key`].
    pub(crate) async fn create_account_with_key(
        &self,
        name: &str,
        key_name: &str,
        credits: i64,
    ) -> Result<(String, String, String), PostError> {
        super::create_account_with_key(&self.db, name, key_name, credits).await
    }
}
