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
    /// The posting would leave `what` (`balance` or `spent_total`) outside the 64-bit integer
    /// range the database stores: `current` plus `credits` passes `limit`.
    #[error(
        "credits: {credits} would take the {what} ({current}) past its limit of {limit} credits"
    )]
    OutOfRange {
        what: &'static str,
        current: i64,
        credits: i64,
        limit: i64,
    },
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
/// `spent_total`) unless that would take it below zero or either sum out of the 64-bit range;
/// the balance after.
///
/// The arithmetic is checked before SQL: the bounds on the current values under which both sums
/// stay in range are computed here, and the update is guarded by them, so the database never
/// adds past `i64` (SQLite would turn the sum into a REAL, PostgreSQL refuse it with a raw
/// error) and a concurrent posting cannot slip between a check and the update.
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
    let balance_bounds = operand_bounds(credits, 0);
    let spent_bounds = operand_bounds(spent_delta, i64::MIN);
    if let (Some((balance_low, balance_high)), Some((spent_low, spent_high))) =
        (balance_bounds, spent_bounds)
    {
        let balance: Option<i64> = sqlx::query_scalar(
            "UPDATE accounts SET balance = balance + $1, spent_total = spent_total + $2 \
             WHERE id = $3 AND balance >= $4 AND balance <= $5 \
             AND spent_total >= $6 AND spent_total <= $7 RETURNING balance",
        )
        .bind(credits)
        .bind(spent_delta)
        .bind(account_id)
        .bind(balance_low)
        .bind(balance_high)
        .bind(spent_low)
        .bind(spent_high)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(balance) = balance {
            return Ok(balance);
        }
    }
    let current: Option<(i64, i64)> =
        sqlx::query_as("SELECT balance, spent_total FROM accounts WHERE id = $1")
            .bind(account_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((balance, spent_total)) = current else {
        return Err(PostError::NoAccount);
    };
    Err(refusal(balance, spent_total, credits, spent_delta))
}

/// The range of current values `v` for which `v + delta` stays within `[min_result, i64::MAX]`,
/// computed without overflow; `None` when no value qualifies.
fn operand_bounds(delta: i64, min_result: i64) -> Option<(i64, i64)> {
    let low = match min_result.checked_sub(delta) {
        Some(low) => low,
        // min_result - delta below i64::MIN: every value is high enough.
        None if delta > 0 => i64::MIN,
        // min_result - delta above i64::MAX: no value is high enough.
        None => return None,
    };
    // i64::MAX - delta above i64::MAX (a negative delta): every value is low enough.
    let high = i64::MAX.checked_sub(delta).unwrap_or(i64::MAX);
    Some((low, high))
}

/// Why a posting of `credits` (and `spent_delta` to `spent_total`) was refused on an account
/// holding `balance` and `spent_total`.
fn refusal(balance: i64, spent_total: i64, credits: i64, spent_delta: i64) -> PostError {
    let insufficient = PostError::Insufficient {
        balance,
        needed: credits.saturating_neg(),
    };
    match balance.checked_add(credits) {
        None if credits > 0 => {
            return PostError::OutOfRange {
                what: "balance",
                current: balance,
                credits,
                limit: i64::MAX,
            }
        }
        None => return insufficient,
        Some(after) if after < 0 => return insufficient,
        Some(_) => {}
    }
    if spent_total.checked_add(spent_delta).is_none() {
        return PostError::OutOfRange {
            what: "spent_total",
            current: spent_total,
            credits: spent_delta,
            limit: if spent_delta > 0 { i64::MAX } else { i64::MIN },
        };
    }
    // The row changed between the guarded update and this read (another replica's posting):
    // report the balance as it is now.
    insufficient
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operand_bounds_keep_every_sum_in_range() {
        assert_eq!(operand_bounds(10, 0), Some((-10, i64::MAX - 10)));
        assert_eq!(operand_bounds(-10, 0), Some((10, i64::MAX)));
        assert_eq!(operand_bounds(i64::MAX, 0), Some((-i64::MAX, 0)));
        assert_eq!(operand_bounds(i64::MIN, 0), None);
        assert_eq!(operand_bounds(5, i64::MIN), Some((i64::MIN, i64::MAX - 5)));
        assert_eq!(operand_bounds(-5, i64::MIN), Some((i64::MIN + 5, i64::MAX)));
        for delta in [i64::MIN + 1, -7, 0, 7, i64::MAX] {
            for min_result in [0, i64::MIN] {
                let (low, high) = operand_bounds(delta, min_result).expect("some values qualify");
                for value in [low, high] {
                    let sum = value.checked_add(delta).expect("in range");
                    assert!(sum >= min_result);
                }
            }
        }
    }

    #[test]
    fn a_refusal_names_what_would_leave_the_range() {
        assert!(matches!(
            refusal(i64::MAX - 5, 0, 10, 0),
            PostError::OutOfRange {
                what: "balance",
                limit: i64::MAX,
                ..
            }
        ));
        assert!(matches!(
            refusal(100, 0, -200, 0),
            PostError::Insufficient {
                balance: 100,
                needed: 200
            }
        ));
        assert!(matches!(
            refusal(100, 0, i64::MIN, 0),
            PostError::Insufficient { balance: 100, .. }
        ));
        assert!(matches!(
            refusal(100, i64::MAX - 1, -10, 10),
            PostError::OutOfRange {
                what: "spent_total",
                ..
            }
        ));
        let message = refusal(i64::MAX - 5, 0, 10, 0).to_string();
        assert!(message.starts_with("credits: "), "{message}");
        assert!(message.contains(&i64::MAX.to_string()), "{message}");
    }
}
