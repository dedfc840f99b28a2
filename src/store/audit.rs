//! The admin audit trail: one appended row per admin action.

use serde::Serialize;
use sqlx::FromRow;

use super::{now, Db};

/// One recorded admin action.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct AdminAction {
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
}

/// Records an admin action (`action` like `asset.approve`, `target` the id acted on).
pub async fn record(
    db: &Db,
    actor: &str,
    action: &str,
    target: Option<&str>,
    detail: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO admin_actions (at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(now())
    .bind(actor)
    .bind(action)
    .bind(target)
    .bind(detail)
    .execute(&db.write)
    .await?;
    Ok(())
}

/// The newest actions first, older than `before` (a `seq`) when given.
pub async fn recent(
    db: &Db,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<AdminAction>, sqlx::Error> {
    sqlx::query_as::<_, AdminAction>(
        "SELECT * FROM admin_actions WHERE seq < $1 ORDER BY seq DESC LIMIT $2",
    )
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(&db.read)
    .await
}
