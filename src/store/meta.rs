//! Small named values shared by every replica (e.g. the URL-signing key).

use super::Db;

/// The value stored under `name`, creating it with `make()` the first time.
pub async fn get_or_init(
    db: &Db,
    name: &str,
    make: impl FnOnce() -> String,
) -> Result<String, sqlx::Error> {
    sqlx::query("INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .bind(make())
        .execute(&db.write)
        .await?;
    sqlx::query_scalar("SELECT value FROM meta WHERE name = $1")
        .bind(name)
        .fetch_one(&db.write)
        .await
}

/// Replaces the value under `name` when it still is `old` (compare-and-set); whether it did.
pub(crate) async fn replace(
    db: &Db,
    name: &str,
    old: &str,
    new: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE meta SET value = $1 WHERE name = $2 AND value = $3")
        .bind(new)
        .bind(name)
        .bind(old)
        .execute(&db.write)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Stores `value` under `name` unless a value is there; true when this call stored it (a
/// once-only claim that holds across replicas).
pub(crate) async fn insert_if_absent(
    db: &Db,
    name: &str,
    value: &str,
) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(value)
            .execute(&db.write)
            .await?;
    Ok(done.rows_affected() == 1)
}
