//! Accounts: who owns keys, tasks and a balance.

use serde::Serialize;
use sqlx::{AnyConnection, FromRow};

use super::{now, Db};

/// One account as stored.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub balance: i64,
    pub spent_total: i64,
    pub webhook_secret: Option<String>,
    pub created_at: i64,
}

pub async fn insert(conn: &mut AnyConnection, id: &str, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO accounts (id, name, balance, spent_total, created_at) VALUES ($1, $2, 0, 0, $3)",
    )
    .bind(id)
    .bind(name)
    .bind(now())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Account>, sqlx::Error> {
    sqlx::query_as::<_, Account>("SELECT * FROM accounts WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.read)
        .await
}

pub async fn count(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
        .fetch_one(&db.read)
        .await
}

/// A page of all accounts, oldest first, after `after_id`.
pub async fn page(
    db: &Db,
    after_id: Option<&str>,
    limit: i64,
) -> Result<Vec<Account>, sqlx::Error> {
    sqlx::query_as::<_, Account>("SELECT * FROM accounts WHERE id > $1 ORDER BY id LIMIT $2")
        .bind(after_id.unwrap_or(""))
        .bind(limit)
        .fetch_all(&db.read)
        .await
}
