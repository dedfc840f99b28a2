//! [`Tasks`]: the task service as the HTTP API holds it. Every task read a handler makes (one
//! task, a page, the poll's key-and-task read, the counts of `/metrics`), cancel, and the
//! operator's view and switches of the channels tasks are routed to go through it. Creates go
//! through [`super::submit::Submitter`].

use std::collections::HashMap;

use super::state::{self, CancelOutcome, DeleteOutcome};
use crate::metrics::Metrics;
use crate::store::keys::Credential;
use crate::store::tasks::{self, ListFilter, NumberedFilter, TaskRow};
use crate::store::upstream as upstream_rows;
use crate::store::Db;

/// Tasks over one database; cheap to clone.
#[derive(Clone)]
pub struct Tasks {
    db: Db,
}

/// How many tasks each channel holds upstream now (channels without any are absent).
pub(crate) struct ChannelLoads {
    /// Submissions being made or accepted, by channel.
    in_flight: HashMap<String, i64>,
    /// Of those, the tasks still `queued` and `processing`, by channel.
    live: HashMap<String, (i64, i64)>,
}

impl ChannelLoads {
    /// Submissions of `channel` being made or accepted upstream.
    pub(crate) fn in_flight(&self, channel: &str) -> i64 {
        self.in_flight.get(channel).copied().unwrap_or(0)
    }

    /// `(queued, processing)` tasks among the submissions of `channel`.
    pub(crate) fn queued_and_processing(&self, channel: &str) -> (i64, i64) {
        self.live.get(channel).copied().unwrap_or((0, 0))
    }
}

impl Tasks {
    pub fn new(db: Db) -> Tasks {
        Tasks { db }
    }

    /// A task of this account; others' tasks are invisible (`None`, like an unknown id).
    pub(crate) async fn get_for_account(
        &self,
        account_id: &str,
        task_id: &str,
    ) -> Result<Option<TaskRow>, sqlx::Error> {
        tasks::get_for_account(&self.db, account_id, task_id).await
    }

    /// The active API key `secret` and, when it is its account's, task `task_id`, in one read
    /// (the poll, the request clients repeat most). `None`: the key is unknown, revoked or wrong.
    pub(crate) async fn get_with_key(
        &self,
        secret: &str,
        task_id: &str,
    ) -> Result<Option<(Credential, Option<TaskRow>)>, sqlx::Error> {
        tasks::get_with_key(&self.db, secret, task_id).await
    }

    /// A page of tasks, newest first: one account's (the user's list) or every account's (the
    /// operator's log).
    pub(crate) async fn page(&self, filter: &ListFilter<'_>) -> Result<Vec<TaskRow>, sqlx::Error> {
        tasks::page(&self.db, filter).await
    }

    /// Any account's task (the operator's view).
    pub(crate) async fn get_any(&self, task_id: &str) -> Result<Option<TaskRow>, sqlx::Error> {
        tasks::get(&self.db, task_id).await
    }

    /// An operator fails a live task (queued or processing, whoever holds it) with `reason`,
    /// refunded in the same transaction; false when it had already ended.
    pub(crate) async fn fail_by_operator(
        &self,
        task_id: &str,
        reason: &str,
    ) -> Result<bool, sqlx::Error> {
        let failure = crate::providers::TaskFailure::new(
            "operator_failed",
            format!("failed by an operator: {reason}"),
        );
        state::fail(&self.db, task_id, state::Holder::AnyLive, &failure).await
    }

    /// A page of an account's tasks by number, and how many match (Ark's list).
    pub(crate) async fn numbered_page(
        &self,
        filter: &NumberedFilter<'_>,
    ) -> Result<(Vec<TaskRow>, i64), sqlx::Error> {
        tasks::numbered_page(&self.db, filter).await
    }

    /// A page of an account's tasks, oldest first, after a `(created_at, id)` position.
    pub(crate) async fn page_ascending(
        &self,
        account_id: &str,
        after: Option<(i64, String)>,
        limit: i64,
    ) -> Result<Vec<TaskRow>, sqlx::Error> {
        tasks::page_ascending(&self.db, account_id, after, limit).await
    }

    /// Ark's and OpenAI's DELETE ([`state::delete_for_owner`]).
    pub(crate) async fn delete_for_owner(
        &self,
        storage: &crate::storage::Storage,
        account_id: &str,
        task_id: &str,
    ) -> Result<DeleteOutcome, sqlx::Error> {
        state::delete_for_owner(&self.db, storage, account_id, task_id).await
    }

    /// Cancels a queued task of this account ([`state::cancel`]).
    pub(crate) async fn cancel(
        &self,
        account_id: &str,
        task_id: &str,
    ) -> Result<CancelOutcome, sqlx::Error> {
        state::cancel(&self.db, account_id, task_id).await
    }

    /// Reads the task counts by model and status into `metrics` (at each scrape).
    pub(crate) async fn count_into(&self, metrics: &Metrics) -> Result<(), sqlx::Error> {
        super::view::count_into(&self.db, metrics).await
    }

    /// True when the database the tasks live in answers (`/readyz`).
    pub(crate) async fn database_answers(&self) -> bool {
        self.db.ping().await
    }

    /// What every channel holds upstream now (the operators' channel list).
    pub(crate) async fn channel_loads(&self) -> Result<ChannelLoads, sqlx::Error> {
        Ok(ChannelLoads {
            in_flight: upstream_rows::in_flight(&self.db).await?,
            live: upstream_rows::live_counts(&self.db).await?,
        })
    }

    /// Stores an operator's pause switch of `channel`, so that it survives restarts and holds
    /// on every replica (the caller flips the running channel too).
    pub(crate) async fn store_channel_pause(
        &self,
        channel: &str,
        paused: bool,
    ) -> Result<(), sqlx::Error> {
        upstream_rows::set_paused(&self.db, channel, paused).await
    }

    /// An upstream's notice that its task `upstream_id` changed: the poller of `channel` asks
    /// for that task's status at its next turn. False when no submitted task has that id.
    pub(crate) async fn poll_soon(
        &self,
        channel: &str,
        upstream_id: &str,
    ) -> Result<bool, sqlx::Error> {
        upstream_rows::poke(&self.db, channel, upstream_id).await
    }
}
