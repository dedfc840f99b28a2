//! Small named values shared by every replica (e.g. the URL-signing key).

use super::Db;

/// The value stored under `name`, creating it with `make()` the first time.
pub async fn get_or_init(
    db: &Db,
    name: &str,
    make: impl FnOnce() -> String,
) -> Result<String, sqlx::Error> {
    sqlx::query("INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .bind(make())
        .execute(&db.write)
        .await?;
    sqlx::query_scalar("SELECT value FROM meta WHERE name = ?")
        .bind(name)
        .fetch_one(&db.write)
        .await
}
