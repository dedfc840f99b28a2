//! An account's own API keys (`/account/keys`): listing never shows a secret, a new key's
//! secret is shown once and works, names are validated with the field named, another account's
//! key is 404, and a revoked key (the calling one included) gets 401 afterwards.

use serde_json::{json, Value};

use crate::helpers::*;

fn no_workers() -> Options {
    Options {
        workers: false,
        ..Options::default()
    }
}

#[tokio::test]
async fn the_key_routes_need_a_valid_key() {
    let app = spawn_app_with(no_workers()).await;
    let list = answer(
        app.client
            .get(app.url("/account/keys"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!((list.status, list.code()), (401, 40100));
    let create = answer(
        app.client
            .post(app.url("/account/keys"))
            .json(&json!({"name": "ci"}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!((create.status, create.code()), (401, 40100));
    let keys = app.account_keys(&app.key).await;
    let own = keys[0]["key_id"].as_str().expect("key id").to_string();
    let revoke = app
        .post_json_as(
            "sk_nope",
            &format!("/account/keys/{own}/revoke"),
            &json!({}),
        )
        .await;
    assert_eq!((revoke.status, revoke.code()), (401, 40100));
    assert_eq!(app.get("/account").await.status, 200, "still active");
    app.finish().await;
}

#[tokio::test]
async fn listing_shows_the_accounts_keys_without_secrets_and_marks_the_calling_one() {
    let app = spawn_app_with(no_workers()).await;
    let listed = app.get("/account/keys").await;
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    let items = listed.data()["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "the bootstrap key");
    let key = &items[0];
    assert_eq!(key["current"], true);
    assert!(key["key_id"].as_str().unwrap_or("").starts_with("key_"));
    assert_eq!(key["revoked_at"], Value::Null);
    assert!(key["created_at"].as_i64().unwrap_or(0) > 0);
    assert!(app.key.starts_with(key["prefix"].as_str().expect("prefix")));
    let text = listed.body.to_string();
    assert!(!text.contains(&app.key), "the secret is never listed");
    for hidden in ["secret", "secret_hash", "hash"] {
        assert!(key.get(hidden).is_none(), "{hidden} listed: {key}");
    }
    app.finish().await;
}

#[tokio::test]
async fn a_new_key_shows_its_secret_once_and_works() {
    let app = spawn_app_with(no_workers()).await;
    let made = app
        .post_json_as(&app.key, "/account/keys", &json!({"name": "  laptop  "}))
        .await;
    assert_eq!(made.status, 200, "{:?}", made.body);
    let secret = made.data()["secret"].as_str().expect("secret").to_string();
    let key_id = made.data()["key_id"].as_str().expect("key id").to_string();
    assert!(secret.starts_with("sk_"));
    assert_eq!(made.data()["name"], "laptop", "trimmed");
    assert_eq!(made.data()["current"], false);
    assert_eq!(made.data()["revoked_at"], Value::Null);

    let account = app.get_as(&secret, "/account").await;
    assert_eq!(account.status, 200);
    assert_eq!(account.data()["account_id"], json!(app.account_id));

    let listed = app.get_as(&secret, "/account/keys").await;
    assert!(!listed.body.to_string().contains(&secret));
    let items = listed.data()["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    let mine = items
        .iter()
        .find(|k| k["key_id"] == json!(key_id))
        .expect("listed");
    assert_eq!(mine["current"], true, "called with the new key");
    assert_eq!(mine["name"], "laptop");
    app.finish().await;
}

#[tokio::test]
async fn key_names_are_validated_and_the_error_names_the_field() {
    let app = spawn_app_with(no_workers()).await;
    let longest = "n".repeat(64);
    let too_long = "é".repeat(65);
    for (body, needle) in [
        (json!({}), "name: required"),
        (json!({"name": null}), "name: required"),
        (json!({"name": ""}), "1 to 64 characters"),
        (json!({"name": "   "}), "1 to 64 characters"),
        (json!({"name": too_long}), "(got 65)"),
        (json!({"name": 7}), "must be a string"),
        (json!({"name": ["a"]}), "must be a string"),
        (json!({"name": "two\nlines"}), "control characters"),
    ] {
        let refused = app.post_json_as(&app.key, "/account/keys", &body).await;
        assert_eq!(
            (refused.status, refused.code()),
            (400, 40001),
            "{body}: {:?}",
            refused.body
        );
        assert_eq!(refused.data()["param"], "name", "{body}");
        assert!(refused.msg().starts_with("name: "), "{}", refused.msg());
        assert!(refused.msg().contains(needle), "{body}: {}", refused.msg());
    }
    let not_json = answer(
        app.client
            .post(app.url("/account/keys"))
            .bearer_auth(&app.key)
            .body("name=x")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!((not_json.status, not_json.code()), (400, 40000));
    assert_eq!(app.account_keys(&app.key).await.len(), 1, "nothing made");
    let ok = app
        .post_json_as(&app.key, "/account/keys", &json!({"name": longest}))
        .await;
    assert_eq!(ok.status, 200, "64 characters are allowed: {:?}", ok.body);
    app.finish().await;
}

#[tokio::test]
async fn another_accounts_key_is_404_and_not_listed() {
    let app = spawn_app_with(no_workers()).await;
    let (_other, other_key) = app.new_account(0).await;
    let mine = app.account_keys(&app.key).await;
    let my_key_id = mine[0]["key_id"].as_str().expect("id").to_string();

    let theirs = app.account_keys(&other_key).await;
    assert_eq!(theirs.len(), 1);
    assert_ne!(theirs[0]["key_id"], json!(my_key_id));

    let revoke = app
        .post_json_as(
            &other_key,
            &format!("/account/keys/{my_key_id}/revoke"),
            &json!({}),
        )
        .await;
    assert_eq!(
        (revoke.status, revoke.code()),
        (404, 40400),
        "{:?}",
        revoke.body
    );
    assert_eq!(app.get("/account").await.status, 200, "still works");
    let unknown = app
        .post_json_as(&app.key, "/account/keys/key_nope/revoke", &json!({}))
        .await;
    assert_eq!((unknown.status, unknown.code()), (404, 40400));
    app.finish().await;
}

#[tokio::test]
async fn a_revoked_key_gets_401_and_cannot_be_revoked_twice() {
    let app = spawn_app_with(no_workers()).await;
    let made = app
        .post_json_as(&app.key, "/account/keys", &json!({"name": "ci"}))
        .await;
    let secret = made.data()["secret"].as_str().expect("secret").to_string();
    let key_id = made.data()["key_id"].as_str().expect("id").to_string();
    assert_eq!(app.get_as(&secret, "/account").await.status, 200);

    let revoked = app
        .post_json_as(
            &app.key,
            &format!("/account/keys/{key_id}/revoke"),
            &json!({}),
        )
        .await;
    assert_eq!(revoked.status, 200, "{:?}", revoked.body);
    assert_eq!(revoked.data()["key_id"], json!(key_id));
    assert!(revoked.data()["revoked_at"].as_i64().unwrap_or(0) > 0);
    let refused = app.get_as(&secret, "/account").await;
    assert_eq!((refused.status, refused.code()), (401, 40100));

    let again = app
        .post_json_as(
            &app.key,
            &format!("/account/keys/{key_id}/revoke"),
            &json!({}),
        )
        .await;
    assert_eq!(
        (again.status, again.code()),
        (409, 40900),
        "{:?}",
        again.body
    );
    let listed = app.account_keys(&app.key).await;
    let row = listed
        .iter()
        .find(|k| k["key_id"] == json!(key_id))
        .expect("still listed");
    assert!(row["revoked_at"].as_i64().is_some(), "listed as revoked");
    assert_eq!(app.get("/account").await.status, 200, "the other key works");
    app.finish().await;
}

#[tokio::test]
async fn a_key_may_revoke_itself_and_is_refused_from_the_next_request() {
    let app = spawn_app_with(no_workers()).await;
    let spare = app
        .post_json_as(&app.key, "/account/keys", &json!({"name": "spare"}))
        .await;
    let spare = spare.data()["secret"].as_str().expect("secret").to_string();
    let own = app.account_keys(&app.key).await;
    let own_id = own
        .iter()
        .find(|k| k["current"] == true)
        .and_then(|k| k["key_id"].as_str())
        .expect("current key")
        .to_string();
    let revoked = app
        .post_json_as(
            &app.key,
            &format!("/account/keys/{own_id}/revoke"),
            &json!({}),
        )
        .await;
    assert_eq!(revoked.status, 200, "{:?}", revoked.body);
    assert_eq!(revoked.data()["current"], true);
    assert_eq!(app.get("/account").await.status, 401);
    assert_eq!(app.get_as(&spare, "/account").await.status, 200);
    app.finish().await;
}
