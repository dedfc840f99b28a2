//! `/openapi.json`: the served document equals the committed snapshot `docs/openapi.json` (so API
//! drift shows in review), and every route the router registers is in it.
//!
//! After a deliberate API change, rewrite the snapshot with
//! `UPDATE_OPENAPI_SNAPSHOT=1 cargo test -p reelay --test it openapi` and commit it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::helpers::*;

fn snapshot_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/openapi.json")
}

async fn served_document(app: &TestApp) -> (String, Value) {
    let response = app
        .client
        .get(format!("{}/openapi.json", app.base))
        .send()
        .await
        .expect("GET /openapi.json");
    assert_eq!(response.status().as_u16(), 200, "GET /openapi.json");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(
        content_type.starts_with("application/json"),
        "content-type {content_type}"
    );
    let text = response.text().await.expect("body");
    let value: Value = serde_json::from_str(&text).expect("/openapi.json is JSON");
    (text, value)
}

#[tokio::test]
async fn the_served_openapi_document_matches_the_committed_snapshot() {
    let app = spawn_app().await;
    let (served, document) = served_document(&app).await;
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["info"]["version"], env!("CARGO_PKG_VERSION"));
    let path = snapshot_path();
    if std::env::var("UPDATE_OPENAPI_SNAPSHOT").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &served).expect("write docs/openapi.json");
        eprintln!("rewrote {}", path.display());
    } else {
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != served {
            let first_difference = committed
                .lines()
                .zip(served.lines())
                .enumerate()
                .find(|(_, (a, b))| a != b)
                .map(|(n, (a, b))| {
                    format!(
                        "first difference at line {}:\n  committed: {a}\n  served:    {b}",
                        n + 1
                    )
                })
                .unwrap_or_else(|| {
                    format!(
                        "one is a prefix of the other ({} vs {} lines)",
                        committed.lines().count(),
                        served.lines().count()
                    )
                });
            panic!(
                "/openapi.json differs from docs/openapi.json; if the API change is intended, run \
                 `UPDATE_OPENAPI_SNAPSHOT=1 cargo test -p reelay --test it openapi` and commit the \
                 file\n{first_difference}"
            );
        }
    }
    app.finish().await;
}

/// Route files of `src/api` and where their router is mounted; files serving things that are not
/// part of the API (the console, signed result files, upstream callbacks) are listed as `None`.
/// A new route file must be added here, so that its routes are checked.
const ROUTE_FILES: [(&str, Option<&str>); 21] = [
    ("videos.rs", Some("/api/open-api/v1")),
    ("companion.rs", Some("/api/open-api/v1")),
    // The Ark and OpenAI doors write their full paths.
    ("ark/mod.rs", Some("")),
    ("openai/mod.rs", Some("")),
    ("events.rs", Some("/api/open-api/v1")),
    ("content.rs", Some("/api/open-api/v1")),
    ("assets.rs", Some("/api/open-api/v1")),
    ("realperson.rs", Some("/api/open-api/v1")),
    ("account.rs", Some("/api/open-api/v1")),
    ("webhooks.rs", Some("/api/open-api/v1")),
    ("admin/mod.rs", Some("/admin/v1")),
    ("admin/accounts.rs", Some("/admin/v1")),
    ("admin/assets.rs", Some("/admin/v1")),
    ("admin/channels.rs", Some("/admin/v1")),
    ("admin/tasks.rs", Some("/admin/v1")),
    ("ops.rs", Some("")),
    ("metrics.rs", Some("")),
    ("openapi.rs", Some("")),
    // `/` and `/console/*.js`: the web console's HTML and scripts.
    ("console.rs", None),
    // `/files/{*key}`: result files behind URLs reelay signs and hands out.
    ("files.rs", None),
    // `/upstream/v1/callbacks/{channel}`: notices from upstream providers.
    ("upstream_callbacks.rs", None),
];

/// Files of `src/api` with no routes (helpers); anything else must be in [`ROUTE_FILES`].
const HELPER_FILES: [&str; 17] = [
    "mod.rs",
    "lang.rs",
    "listing.rs",
    "error.rs",
    "envelope.rs",
    "extract.rs",
    "upload.rs",
    "per_key.rs",
    "serve/mod.rs",
    "serve/watch.rs",
    "serve/body_rate.rs",
    "serve/descriptors.rs",
    "serve/leftover.rs",
    "ark/error.rs",
    "ark/request.rs",
    "openai/error.rs",
    "openai/request.rs",
];

/// `(METHOD, path)` of every `.route("path", get(..).post(..))` in `text`.
fn routes_in(text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(".route(") {
        rest = &rest[start + ".route(".len()..];
        let Some(open) = rest.find('"') else { break };
        let Some(close) = rest[open + 1..].find('"') else {
            break;
        };
        let path = rest[open + 1..open + 1 + close].to_string();
        // The method router: up to the parenthesis that closes `.route(`.
        let mut depth = 1;
        let mut end = rest.len();
        for (i, c) in rest.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let methods = &rest[open + 1 + close + 1..end];
        for method in ["get", "post", "put", "patch", "delete"] {
            let pattern = format!("{method}(");
            let mut at = 0;
            while let Some(i) = methods[at..].find(&pattern) {
                let index = at + i;
                let before = methods[..index].chars().last();
                if !before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    found.push((method.to_uppercase(), path.clone()));
                }
                at = index + pattern.len();
            }
        }
        rest = &rest[end.min(rest.len())..];
    }
    found
}

fn api_files(dir: &Path, base: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("read src/api").flatten() {
        let path = entry.path();
        if path.is_dir() {
            api_files(&path, base, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            if let Ok(relative) = path.strip_prefix(base) {
                out.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
}

#[tokio::test]
async fn every_route_of_the_router_is_in_the_openapi_document() {
    let api_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api");
    let mut files = Vec::new();
    api_files(&api_dir, &api_dir, &mut files);
    let mut registered = BTreeSet::new();
    for file in &files {
        let text = std::fs::read_to_string(api_dir.join(file)).expect("read route file");
        let routes = routes_in(&text);
        let mount = ROUTE_FILES.iter().find(|(name, _)| name == file);
        match mount {
            Some((_, Some(prefix))) => {
                for (method, path) in routes {
                    registered.insert((method, format!("{prefix}{path}")));
                }
            }
            Some((_, None)) => {}
            None => assert!(
                HELPER_FILES.contains(&file.as_str()) && routes.is_empty(),
                "src/api/{file} is not in ROUTE_FILES of tests/it/openapi.rs: say where its router \
                 is mounted (or that it is not part of the API)"
            ),
        }
    }
    assert!(registered.len() > 40, "found only {registered:?}");

    let app = spawn_app().await;
    let (_, document) = served_document(&app).await;
    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let missing: Vec<_> = registered.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&registered).collect();
    assert!(
        missing.is_empty(),
        "routes of the router missing from /openapi.json (add #[utoipa::path] and list the \
         handler in its module's ApiDoc): {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "/openapi.json documents routes the router does not have: {extra:?}"
    );

    // Every API route says how to authenticate and documents its error envelope.
    for (method, path) in &documented {
        let operation = &document["paths"][path][method.to_lowercase()];
        let scheme = if path.starts_with("/api/open-api/v1") {
            Some("api_key")
        } else if path.starts_with("/admin/v1") {
            Some("admin_token")
        } else {
            None
        };
        if let Some(scheme) = scheme {
            assert!(
                operation["security"][0].get(scheme).is_some(),
                "{method} {path}: security {scheme} expected"
            );
            for status in ["401", "500"] {
                assert!(
                    operation["responses"].get(status).is_some(),
                    "{method} {path}: no {status} response documented"
                );
            }
        }
    }
    app.finish().await;
}

#[test]
fn the_route_scanner_reads_multi_method_and_multi_line_routes() {
    let text = r#"Router::new()
        .route("/a", get(list).post(create))
        .route(
            "/b/{id}",
            post(upload).layer(body_limit),
        )
        .route("/c", get(|| async { file("x", Y) }))"#;
    assert_eq!(
        routes_in(text),
        vec![
            ("GET".to_string(), "/a".to_string()),
            ("POST".to_string(), "/a".to_string()),
            ("POST".to_string(), "/b/{id}".to_string()),
            ("GET".to_string(), "/c".to_string()),
        ]
    );
}

/// Found by `scripts/fuzz-api`: `credits: i64::MIN` panicked (negation overflow) and closed the
/// connection; amounts past ±10^15 are now refused with 40001 and the balance is unchanged.
#[tokio::test]
async fn admin_credits_out_of_range_are_refused_not_a_crash() {
    let app = spawn_app_with(with_admin(|_| {})).await;
    let before = app.balance().await;
    let url = format!("{}/admin/v1/accounts/{}/credits", app.base, app.account_id);
    for credits in [
        serde_json::json!(i64::MIN),
        serde_json::json!(i64::MAX),
        serde_json::json!(-1_000_000_000_000_001_i64),
        serde_json::json!(1_000_000_000_000_001_i64),
    ] {
        let reply = answer(
            app.client
                .post(&url)
                .bearer_auth(ADMIN_TOKEN)
                .json(&serde_json::json!({ "credits": credits }))
                .send()
                .await
                .expect("send"),
        )
        .await;
        assert_eq!(reply.status, 400, "credits {credits}: {:?}", reply.body);
        assert_eq!(reply.code(), 40001);
        assert_eq!(reply.data()["param"], "credits");
    }
    let created = answer(
        app.client
            .post(format!("{}/admin/v1/accounts", app.base))
            .bearer_auth(ADMIN_TOKEN)
            .json(&serde_json::json!({ "name": "big", "credits": i64::MAX }))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(created.status, 400, "{:?}", created.body);
    assert_eq!(app.balance().await, before);
    app.finish().await;
}
