//! The ledger: every change of a balance is one appended row; rows are never edited.
//!
//! Architecture Invariant: `post` and `post_many` are the only code that changes
//! `accounts.balance`, and they always append the matching ledger rows in the same transaction.

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
    let balance_after = apply(conn, account_id, kind, credits).await?;
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

/// Adds `credits` (signed) to the balance (and a charge's or refund's opposite to
/// `spent_total`) unless that would take it below zero; the balance after.
async fn apply(
    conn: &mut AnyConnection,
    account_id: &str,
    kind: Kind,
    credits: i64,
) -> Result<i64, PostError> {
    let spent_delta = match kind {
        Kind::Charge | Kind::Refund => credits.saturating_neg(),
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
    if let Some(balance) = balance {
        return Ok(balance);
    }
    let current: Option<i64> = sqlx::query_scalar("SELECT balance FROM accounts WHERE id = $1")
        .bind(account_id)
        .fetch_optional(&mut *conn)
        .await?;
    Err(match current {
        Some(balance) => PostError::Insufficient {
            balance,
            needed: credits.saturating_neg(),
        },
        None => PostError::NoAccount,
    })
}

/// Applies several postings of one `kind` to one account with one balance update and one
/// multi-row insert, inside the caller's transaction (the group commit of task creates).
/// `postings` are `(task_id, credits)`, applied in order; the result is each one's
/// `balance_after`. All or none: when their sum would take the balance below zero nothing is
/// applied and `Insufficient` reports the sum.
pub(crate) async fn post_many(
    conn: &mut AnyConnection,
    account_id: &str,
    kind: Kind,
    postings: &[(&str, i64)],
) -> Result<Vec<i64>, PostError> {
    if postings.is_empty() {
        return Ok(Vec::new());
    }
    let total = postings
        .iter()
        .try_fold(0i64, |sum, (_, credits)| sum.checked_add(*credits))
        .ok_or(PostError::Insufficient {
            balance: 0,
            needed: i64::MAX,
        })?;
    let final_balance = apply(conn, account_id, kind, total).await?;
    let mut running = final_balance - total;
    let mut after = Vec::with_capacity(postings.len());
    for (_, credits) in postings {
        running += credits;
        after.push(running);
    }
    let at = now();
    let sql = format!(
        "INSERT INTO ledger (account_id, at, kind, credits, task_id, balance_after) VALUES {}",
        super::values_placeholders(postings.len(), 6)
    );
    let mut insert = sqlx::query(&sql);
    for ((task_id, credits), balance_after) in postings.iter().zip(&after) {
        insert = insert
            .bind(account_id)
            .bind(at)
            .bind(kind.as_str())
            .bind(*credits)
            .bind(*task_id)
            .bind(*balance_after);
    }
    insert.execute(&mut *conn).await?;
    Ok(after)
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
