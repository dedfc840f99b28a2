//! Hostile clients (issue #22): money arithmetic at the edge of the integer range, errors that
//! always answer in the envelope, private addresses refused at create, and the small protocol
//! items (the `Bearer` scheme's case, `Range: bytes=-`).

use serde_json::json;

use crate::helpers::{backend_env, spawn_app_with, with_admin, TestApp};

/// Runs the real `reelay` binary's operator commands against the app's database.
fn operator(app: &TestApp, args: &[&str]) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_reelay"));
    command
        .args(args)
        .arg("--data-dir")
        .arg(app.data_dir.path())
        .env("RUST_LOG", "warn");
    for (key, value) in backend_env(app.data_dir.path()) {
        command.env(key, value);
    }
    command.output().expect("the binary runs")
}

/// No raw database or driver error text reaches a user.
fn assert_no_raw_error(text: &str) {
    for raw in [
        "Rust type",
        "SQL type",
        "DOUBLE",
        "sqlx",
        "error returned from database",
    ] {
        assert!(!text.contains(raw), "a raw database error leaked: {text}");
    }
}

#[tokio::test]
async fn a_top_up_past_the_largest_balance_is_refused_by_the_admin_api_and_the_cli() {
    let app = spawn_app_with(with_admin(|_| {})).await;
    let account = app.account_id.clone();
    let limit = i64::MAX.to_string();
    let start = app.balance().await;

    // The CLI has no per-command bound: it fills the balance to 10 below the limit.
    let fill = (i64::MAX - 10 - start).to_string();
    let filled = operator(&app, &["credits", "add", "--account", &account, &fill]);
    let stdout = String::from_utf8_lossy(&filled.stdout).to_string();
    assert!(
        filled.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&filled.stderr)
    );
    assert!(stdout.contains(&(i64::MAX - 10).to_string()), "{stdout}");

    // One more than fits: refused by the CLI, naming the field and the limit.
    let over = operator(&app, &["credits", "add", "--account", &account, "11"]);
    let stderr = String::from_utf8_lossy(&over.stderr).to_string();
    assert!(!over.status.success(), "an overflowing top-up is refused");
    assert!(
        stderr.contains("credits") && stderr.contains(&limit),
        "the error names credits and the limit: {stderr}"
    );
    assert_no_raw_error(&stderr);
    assert_no_raw_error(&String::from_utf8_lossy(&over.stdout));

    // The most negative amount is refused as insufficient, not a crash or a raw error.
    let lowest = i64::MIN.to_string();
    let under = operator(&app, &["credits", "add", "--account", &account, &lowest]);
    let stderr = String::from_utf8_lossy(&under.stderr).to_string();
    assert!(!under.status.success(), "i64::MIN is refused");
    assert!(stderr.contains("credits"), "{stderr}");
    assert_no_raw_error(&stderr);

    // The admin API answers 400 / 40001 naming `credits` and the limit, and changes nothing.
    let refused = app
        .admin_post(
            &format!("/accounts/{account}/credits"),
            &json!({"credits": 1000}),
        )
        .await;
    assert_eq!(
        (refused.status, refused.code()),
        (400, 40001),
        "{}",
        refused.text
    );
    assert_eq!(refused.data()["param"], "credits");
    assert!(refused.msg().contains(&limit), "{}", refused.msg());
    assert_no_raw_error(&refused.text);
    assert_eq!(app.balance().await, i64::MAX - 10);

    // Up to the limit exactly still works, and past it the balance stays put.
    let topped = app
        .admin_post(
            &format!("/accounts/{account}/credits"),
            &json!({"credits": 10}),
        )
        .await;
    assert_eq!(topped.status, 200, "{}", topped.text);
    assert_eq!(topped.data()["balance"], i64::MAX);
    let one_more = app
        .admin_post(
            &format!("/accounts/{account}/credits"),
            &json!({"credits": 1}),
        )
        .await;
    assert_eq!((one_more.status, one_more.code()), (400, 40001));
    assert_eq!(app.balance().await, i64::MAX);

    // A removal still works on a full balance.
    let removed = app
        .admin_post(
            &format!("/accounts/{account}/credits"),
            &json!({"credits": -5}),
        )
        .await;
    assert_eq!(removed.data()["balance"], i64::MAX - 5, "{}", removed.text);
    app.finish().await;
}
