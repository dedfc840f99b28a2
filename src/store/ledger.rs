//! The ledger: every change of a balance is one appended row; rows are never edited.
//!
//! Architecture Invariant: `post` is the only code that changes `accounts.balance`, and it
//! always appends the matching ledger row in the same transaction.

use serde::Serialize;
use sqlx::{AnyConnection, FromRow};

use super::{now, Db};

/// Why a balance changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Topup,
    Charge,
    Refund,
    Adjust,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Topup => "topup",
            Kind::Charge => "charge",
            Kind::Refund => "refund",
            Kind::Adjust => "adjust",
        }
    }
}

/// One ledger row.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Entry {
    pub seq: i64,
    pub account_id: String,
    pub at: i64,
    pub kind: String,
    pub credits: i64,
    pub task_id: Option<String>,
    pub balance_after: i64,
    pub note: Option<String>,
}

/// Why a posting was refused.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    #[error("balance {balance} is below {needed}")]
    Insufficient { balance: i64, needed: i64 },
    #[error("no such account")]
    NoAccount,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Applies `credits` (signed) to the account and appends the ledger row, inside the caller's
/// transaction. A negative posting that would take the balance below zero is refused.
pub async fn post(
    conn: &mut AnyConnection,
    account_id: &str,
    kind: Kind,
    credits: i64,
    task_id: Option<&str>,
    note: Option<&str>,
) -> Result<i64, PostError> {
    let spent_delta = match kind {
        Kind::Charge => credits.saturating_neg(),
        Kind::Refund => credits.saturating_neg(),
        Kind::Topup | Kind::Adjust => 0,
    };
    let balance: Option<i64> = sqlx::query_scalar(
        "UPDATE accounts SET balance = balance + $1, spent_total = spent_total + $2 \
         WHERE id = $3 AND balance + $4 >= 0 RETURNING balance",
    )
    .bind(credits)
    .bind(spent_delta)
    .bind(account_id)
    .bind(credits)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(balance_after) = balance else {
        let current: Option<i64> = sqlx::query_scalar("SELECT balance FROM accounts WHERE id = $1")
            .bind(account_id)
            .fetch_optional(&mut *conn)
            .await?;
        return Err(match current {
            Some(balance) => PostError::Insufficient {
                balance,
                needed: credits.saturating_neg(),
            },
            None => PostError::NoAccount,
        });
    };
    sqlx::query(
        "INSERT INTO ledger (account_id, at, kind, credits, task_id, balance_after, note) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(account_id)
    .bind(now())
    .bind(kind.as_str())
    .bind(credits)
    .bind(task_id)
    .bind(balance_after)
    .bind(note)
    .execute(&mut *conn)
    .await?;
    Ok(balance_after)
}

/// A page of an account's ledger, newest first, starting below `before_seq`.
pub async fn page(
    db: &Db,
    account_id: &str,
    before_seq: Option<i64>,
    limit: i64,
) -> Result<Vec<Entry>, sqlx::Error> {
    sqlx::query_as::<_, Entry>(
        "SELECT * FROM ledger WHERE account_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3",
    )
    .bind(account_id)
    .bind(before_seq.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(&db.read)
    .await
}

/// Sum of all postings of an account (equals its balance when the books balance).
pub async fn sum(db: &Db, account_id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(credits), 0) AS BIGINT) FROM ledger WHERE account_id = $1",
    )
    .bind(account_id)
    .fetch_one(&db.read)
    .await
}
