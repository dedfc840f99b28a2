//! The `uploads` table: files uploaded through `POST /files/upload`, by account.

use sqlx::FromRow;

use super::Db;

/// One uploaded file.
#[derive(Debug, Clone, FromRow)]
pub struct UploadRow {
    pub id: String,
    pub account_id: String,
    pub object_key: String,
    pub filename: String,
    pub size: i64,
    pub mime_type: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

pub(crate) async fn insert(db: &Db, row: &UploadRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO uploads (id, account_id, object_key, filename, size, mime_type, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&row.id)
    .bind(&row.account_id)
    .bind(&row.object_key)
    .bind(&row.filename)
    .bind(row.size)
    .bind(&row.mime_type)
    .bind(row.created_at)
    .bind(row.expires_at)
    .execute(&db.write)
    .await?;
    Ok(())
}

/// Up to `limit` uploads whose time ran out before `now`.
pub(crate) async fn expired(db: &Db, now: i64, limit: i64) -> Result<Vec<UploadRow>, sqlx::Error> {
    sqlx::query_as::<_, UploadRow>(
        "SELECT * FROM uploads WHERE expires_at IS NOT NULL AND expires_at < $1 ORDER BY expires_at LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(&db.read)
    .await
}

pub(crate) async fn delete(db: &Db, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM uploads WHERE id = $1")
        .bind(id)
        .execute(&db.write)
        .await?;
    Ok(())
}
