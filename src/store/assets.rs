//! Asset rows (`assets` table): the SP library, Full-route audited assets and real-person
//! records. Status changes go through `crate::assets`; this module only reads and writes rows.

use serde::Serialize;
use sqlx::FromRow;

use super::{now, Db};

/// One asset as stored.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct AssetRow {
    pub id: String,
    pub account_id: String,
    /// `library`, `audit` or `realperson`.
    pub purpose: String,
    /// `image`, `video` or `audio`.
    pub kind: String,
    pub name: String,
    pub source_url: Option<String>,
    /// `Processing`, `Active` or `Failed`.
    pub status: String,
    pub reason: Option<String>,
    /// `None` (no review), `pending`, `approved` or `rejected`.
    pub review: Option<String>,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<i64>,
    pub object_key: Option<String>,
    pub format: Option<String>,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub duration_ms: Option<i64>,
    pub size_bytes: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The values of a new (`Processing`) asset.
pub struct NewAsset<'a> {
    pub id: &'a str,
    pub account_id: &'a str,
    pub purpose: &'a str,
    pub kind: &'a str,
    pub name: &'a str,
    pub source_url: Option<&'a str>,
}

/// What probing found, written when the bytes are stored.
pub(crate) struct Probed<'a> {
    pub object_key: &'a str,
    pub format: &'a str,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub duration_ms: Option<i64>,
    pub size_bytes: i64,
}

pub async fn insert(db: &Db, asset: &NewAsset<'_>) -> Result<AssetRow, sqlx::Error> {
    let at = now();
    sqlx::query(
        "INSERT INTO assets (id, account_id, purpose, kind, name, source_url, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'Processing', $7, $8)",
    )
    .bind(asset.id)
    .bind(asset.account_id)
    .bind(asset.purpose)
    .bind(asset.kind)
    .bind(asset.name)
    .bind(asset.source_url)
    .bind(at)
    .bind(at)
    .execute(&db.write)
    .await?;
    get(db, asset.id)
        .await?
        .ok_or_else(|| sqlx::Error::RowNotFound)
}

/// Any account's asset (workers and admins).
pub async fn get(db: &Db, id: &str) -> Result<Option<AssetRow>, sqlx::Error> {
    sqlx::query_as::<_, AssetRow>("SELECT * FROM assets WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.read)
        .await
}

/// The asset only when `account_id` owns it.
pub async fn get_for_account(
    db: &Db,
    account_id: &str,
    id: &str,
) -> Result<Option<AssetRow>, sqlx::Error> {
    sqlx::query_as::<_, AssetRow>("SELECT * FROM assets WHERE id = $1 AND account_id = $2")
        .bind(id)
        .bind(account_id)
        .fetch_optional(&db.read)
        .await
}

/// Count and stored bytes of an account's assets that are not `Failed`.
pub async fn usage(db: &Db, account_id: &str) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as::<_, (i64, i64)>(
        "SELECT COUNT(*), CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT) FROM assets \
         WHERE account_id = $1 AND status != 'Failed'",
    )
    .bind(account_id)
    .fetch_one(&db.read)
    .await
}

/// Records the stored bytes' facts and the outcome (`status`, `review`) of a `Processing` asset.
pub(crate) async fn mark_stored(
    db: &Db,
    id: &str,
    probed: &Probed<'_>,
    status: &str,
    review: Option<&str>,
    reviewed_by: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let at = now();
    let reviewed_at = reviewed_by.map(|_| at);
    let done = sqlx::query(
        "UPDATE assets SET status = $1, review = $2, reviewed_by = $3, reviewed_at = $4, object_key = $5, \
         format = $6, width = $7, height = $8, duration_ms = $9, size_bytes = $10, updated_at = $11 \
         WHERE id = $12 AND status = 'Processing'",
    )
    .bind(status)
    .bind(review)
    .bind(reviewed_by)
    .bind(reviewed_at)
    .bind(probed.object_key)
    .bind(probed.format)
    .bind(probed.width)
    .bind(probed.height)
    .bind(probed.duration_ms)
    .bind(probed.size_bytes)
    .bind(at)
    .bind(id)
    .execute(&db.write)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// `Processing` → `Failed` with a reason.
pub(crate) async fn mark_failed(db: &Db, id: &str, reason: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE assets SET status = 'Failed', reason = $1, updated_at = $2 WHERE id = $3 AND status = 'Processing'",
    )
    .bind(reason)
    .bind(now())
    .bind(id)
    .execute(&db.write)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Fails URL intakes that a restart interrupted: still `Processing`, nothing stored, and not
/// touched since `cutoff`. Returns how many were failed.
pub(crate) async fn fail_interrupted_intakes(db: &Db, cutoff: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE assets SET status = 'Failed', reason = $1, updated_at = $2 \
         WHERE status = 'Processing' AND object_key IS NULL AND updated_at < $3",
    )
    .bind("the download was interrupted (the server restarted); upload the asset again")
    .bind(now())
    .bind(cutoff)
    .execute(&db.write)
    .await?;
    Ok(done.rows_affected())
}

/// Applies a review decision to a `pending` asset: approve → `Active`, reject → `Failed` with
/// `reason`. False when the asset is not awaiting review.
pub(crate) async fn decide(
    db: &Db,
    id: &str,
    approve: bool,
    actor: &str,
    reason: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let at = now();
    let (status, review) = if approve {
        ("Active", "approved")
    } else {
        ("Failed", "rejected")
    };
    let done = sqlx::query(
        "UPDATE assets SET status = $1, review = $2, reviewed_by = $3, reviewed_at = $4, reason = $5, updated_at = $6 \
         WHERE id = $7 AND review = 'pending' AND status = 'Processing'",
    )
    .bind(status)
    .bind(review)
    .bind(actor)
    .bind(at)
    .bind(reason)
    .bind(at)
    .bind(id)
    .execute(&db.write)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Assets awaiting an operator's decision, oldest first; `purpose` filters when given.
pub(crate) async fn pending_reviews(
    db: &Db,
    purpose: Option<&str>,
    limit: i64,
) -> Result<Vec<AssetRow>, sqlx::Error> {
    sqlx::query_as::<_, AssetRow>(
        "SELECT * FROM assets WHERE review = 'pending' AND status = 'Processing' \
         AND ($1 IS NULL OR purpose = $2) ORDER BY created_at, id LIMIT $3",
    )
    .bind(purpose)
    .bind(purpose)
    .bind(limit)
    .fetch_all(&db.read)
    .await
}

/// Filters of an account's asset listing.
pub struct AssetFilter<'a> {
    pub account_id: &'a str,
    /// `library`, `audit` or `realperson`; `None`: all three.
    pub purpose: Option<&'a str>,
    pub status: Option<&'a str>,
    pub kind: Option<&'a str>,
    /// Only assets strictly older than this `(created_at, id)` position.
    pub before: Option<(i64, String)>,
    pub limit: i64,
}

/// A page of an account's assets, newest first.
pub(crate) async fn page(db: &Db, filter: &AssetFilter<'_>) -> Result<Vec<AssetRow>, sqlx::Error> {
    let (before_at, before_id) = filter.before.clone().unwrap_or((i64::MAX, String::new()));
    sqlx::query_as::<_, AssetRow>(
        "SELECT * FROM assets WHERE account_id = $1 \
         AND ($2 IS NULL OR purpose = $3) AND ($4 IS NULL OR status = $5) \
         AND ($6 IS NULL OR kind = $7) \
         AND (created_at < $8 OR (created_at = $9 AND id < $10)) \
         ORDER BY created_at DESC, id DESC LIMIT $11",
    )
    .bind(filter.account_id)
    .bind(filter.purpose)
    .bind(filter.purpose)
    .bind(filter.status)
    .bind(filter.status)
    .bind(filter.kind)
    .bind(filter.kind)
    .bind(before_at)
    .bind(before_at)
    .bind(before_id)
    .bind(filter.limit)
    .fetch_all(&db.read)
    .await
}

/// Removes an account's asset row; true when it existed.
pub async fn delete(db: &Db, account_id: &str, id: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM assets WHERE id = $1 AND account_id = $2")
        .bind(id)
        .bind(account_id)
        .execute(&db.write)
        .await?;
    Ok(done.rows_affected() == 1)
}
