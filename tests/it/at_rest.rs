//! Secrets and files at rest (issue #22, "Secrets kept private"): the data directory is `0700`
//! and the SQLite files `0600`, a directory others can write is refused; with `secrets.key` the
//! URL-signing key and webhook secrets are sealed in the database, values stored in clear are
//! sealed at the next start, `secrets.previous_key` rotates, and a start with the wrong key or
//! none is refused with a message that says what to set.

use reelay::app::{Application, Role};
use reelay::secrets::Sealer;

use crate::helpers::{backend_settings, test_settings};

const FIRST: &str = "first-secrets-key-0123456789abcdef-0123";
const SECOND: &str = "second-secrets-key-0123456789abcdef-456";

async fn start(
    dir: &std::path::Path,
    key: Option<&str>,
    previous: Option<&str>,
) -> Result<Application, String> {
    build(backend_settings(dir), key, previous).await
}

async fn build(
    mut settings: reelay::config::Settings,
    key: Option<&str>,
    previous: Option<&str>,
) -> Result<Application, String> {
    settings.secrets.key = key.map(|k| k.to_string().into());
    settings.secrets.previous_key = previous.map(|k| k.to_string().into());
    Application::build(settings, Role::ApiOnly)
        .await
        .map_err(|e| e.to_string())
}

async fn stored_signing_key(app: &Application) -> String {
    sqlx::query_scalar("SELECT value FROM meta WHERE name = 'url_signing_key'")
        .fetch_one(&app.db().read)
        .await
        .expect("signing key row")
}

/// The id of a sealed value's key (`enc1:<id>:…`).
fn key_id(sealed: &str) -> &str {
    sealed.split(':').nth(1).unwrap_or("")
}

#[tokio::test]
async fn stored_secrets_are_sealed_at_the_next_start_and_rotate_to_a_new_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clear = {
        let app = start(dir.path(), None, None)
            .await
            .expect("starts without a key");
        let account: String = sqlx::query_scalar("SELECT id FROM accounts LIMIT 1")
            .fetch_one(&app.db().read)
            .await
            .expect("bootstrap account");
        sqlx::query("UPDATE accounts SET webhook_secret = 'whsec_c2VjcmV0' WHERE id = $1")
            .bind(&account)
            .execute(&app.db().write)
            .await
            .expect("secret set");
        stored_signing_key(&app).await
    };
    assert!(!clear.starts_with("enc1:"), "no key: stored in clear");

    // With a key: both sealed, and they open to the same values.
    let first = Sealer::new(Some(FIRST), None).expect("key");
    let sealed = {
        let app = start(dir.path(), Some(FIRST), None).await.expect("starts");
        let sealed = stored_signing_key(&app).await;
        assert!(sealed.starts_with("enc1:"), "{sealed}");
        assert_eq!(
            first.open("url_signing_key", &sealed).expect("opens").value,
            clear
        );
        let (account, webhook): (String, String) = sqlx::query_as(
            "SELECT id, webhook_secret FROM accounts WHERE webhook_secret IS NOT NULL",
        )
        .fetch_one(&app.db().read)
        .await
        .expect("row");
        assert!(webhook.starts_with("enc1:"), "{webhook}");
        let slot = format!("webhook_secret:{account}");
        assert_eq!(
            first.open(&slot, &webhook).expect("opens").value,
            "whsec_c2VjcmV0"
        );
        sealed
    };

    // Rotation: the new key with the old one as previous seals everything again.
    {
        let app = start(dir.path(), Some(SECOND), Some(FIRST))
            .await
            .expect("rotates");
        let rotated = stored_signing_key(&app).await;
        assert_ne!(
            key_id(&rotated),
            key_id(&sealed),
            "sealed under the new key"
        );
        let second = Sealer::new(Some(SECOND), None).expect("key");
        assert_eq!(
            second
                .open("url_signing_key", &rotated)
                .expect("opens")
                .value,
            clear
        );
    }

    // The old key alone, or no key, cannot read them: the start is refused, saying why.
    let wrong = start(dir.path(), Some(FIRST), None)
        .await
        .err()
        .expect("refused");
    assert!(wrong.contains("neither secrets.key"), "{wrong}");
    let none = start(dir.path(), None, None).await.err().expect("refused");
    assert!(none.contains("REELAY_SECRETS__KEY"), "{none}");
    let short = start(dir.path(), Some("short"), None)
        .await
        .err()
        .expect("refused");
    assert!(short.contains("at least 32 characters"), "{short}");
    crate::helpers::drop_pg_database(dir.path());
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_directory_and_database_are_private_and_a_writable_one_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path).expect("stat").permissions().mode() & 0o777
    };
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("data");
    {
        // SQLite and files in the data directory whatever the suite's backend: they are the point.
        let _app = build(test_settings(&dir), None, None)
            .await
            .expect("starts");
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("reelay.db")), 0o600);
        for suffix in ["-wal", "-shm"] {
            let file = dir.join(format!("reelay.db{suffix}"));
            if file.exists() {
                assert_eq!(mode(&file), 0o600, "{}", file.display());
            }
        }
    }
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let refused = build(test_settings(&dir), None, None)
        .await
        .err()
        .expect("refused");
    assert!(
        refused.contains("can be written by other users") && refused.contains("chmod 700"),
        "{refused}"
    );
}
