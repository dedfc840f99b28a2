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

/// The door a path's errors are answered in.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Door {
    Seed,
    Ark,
    OpenAi,
}

fn door_of(path: &str) -> Door {
    if path.starts_with("/api/v3") {
        Door::Ark
    } else if path == "/v1" || path.starts_with("/v1/") {
        Door::OpenAi
    } else {
        Door::Seed
    }
}

const SEED_CODES: [i64; 14] = [
    40000, 40001, 40002, 40003, 40100, 40200, 40300, 40400, 40500, 40900, 41300, 41600, 42900,
    50300,
];
const ARK_CODES: [&str; 10] = [
    "InvalidParameter",
    "InvalidEndpointOrModel.NotFound",
    "AuthenticationError",
    "AccountOverdueError",
    "AccessDenied",
    "ResourceNotFound",
    "MethodNotAllowed",
    "Conflict",
    "RateLimitExceeded",
    "ServerOverloaded",
];
const OPENAI_TYPES: [&str; 6] = [
    "invalid_request_error",
    "authentication_error",
    "insufficient_quota",
    "permission_error",
    "not_found_error",
    "rate_limit_error",
];

/// An error answer is JSON in its door's shape with a known code; a success is left alone. No
/// answer is a server error.
fn assert_enveloped(answer: &crate::helpers::Answer, door: Door, what: &str) {
    assert!(
        answer.status < 500,
        "{what}: {} {}",
        answer.status,
        answer.text
    );
    if answer.status < 400 {
        return;
    }
    let content_type = answer
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        content_type.starts_with("application/json"),
        "{what}: {} answered {content_type:?}: {:?}",
        answer.status,
        answer.text
    );
    match door {
        Door::Seed => {
            assert!(
                SEED_CODES.contains(&answer.code()),
                "{what}: unknown code in {}",
                answer.text
            );
            assert_eq!(
                answer.code() / 100,
                i64::from(answer.status),
                "{what}: the code matches the status: {}",
                answer.text
            );
            assert!(answer.body["msg"].is_string(), "{what}: {}", answer.text);
            let data = &answer.body["data"];
            assert!(
                data.is_null() || data["param"].is_string(),
                "{what}: {}",
                answer.text
            );
        }
        Door::Ark => {
            let code = answer.body["error"]["code"].as_str().unwrap_or("");
            assert!(ARK_CODES.contains(&code), "{what}: {}", answer.text);
        }
        Door::OpenAi => {
            let kind = answer.body["error"]["type"].as_str().unwrap_or("");
            assert!(OPENAI_TYPES.contains(&kind), "{what}: {}", answer.text);
        }
    }
}

/// Sends `method path` with the credentials its door takes.
async fn send(app: &TestApp, method: &str, path: &str) -> crate::helpers::Answer {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let token = if path.starts_with("/admin/v1") {
        crate::helpers::ADMIN_TOKEN.to_string()
    } else {
        app.key.clone()
    };
    let response = app
        .client
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .expect("send");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    if status >= 400 {
        // Error bodies are written in member-name order like every answer the tests read (the
        // successes here include documents that are not, such as `/openapi.json`).
        crate::helpers::assert_written_in_key_order(&text);
    }
    let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    crate::helpers::Answer {
        status,
        headers,
        body,
        text,
    }
}

/// `template` with every `{param}` replaced by `value`.
fn fill(template: &str, value: &str) -> String {
    let mut path = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        path.push_str(&rest[..open]);
        path.push_str(value);
        rest = rest[open..].split_once('}').map_or("", |(_, after)| after);
    }
    path.push_str(rest);
    path
}

#[tokio::test]
async fn every_route_answers_mangled_queries_paths_and_methods_in_its_envelope() {
    let app = spawn_app_with(with_admin(|_| {})).await;
    let document: serde_json::Value = app
        .client
        .get(format!("{}/openapi.json", app.base))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("the document is JSON");
    let paths = document["paths"].as_object().expect("paths");
    assert!(paths.len() > 30, "the document lists the routes");
    let long = "a".repeat(3000);
    let path_mangles = ["%FF", "%C0%AF", "..%2F..%2Fetc", "%00", long.as_str(), "x"];
    let mut requests = 0;
    for (template, operations) in paths {
        let door = door_of(template);
        let documented: Vec<String> = operations
            .as_object()
            .expect("operations")
            .keys()
            .filter(|m| ["get", "post", "put", "patch", "delete"].contains(&m.as_str()))
            .map(|m| m.to_uppercase())
            .collect();
        let mut query_names: Vec<String> = operations
            .as_object()
            .expect("operations")
            .values()
            .filter_map(|op| op["parameters"].as_array())
            .flatten()
            .filter(|p| p["in"] == "query")
            .filter_map(|p| p["name"].as_str().map(str::to_string))
            .collect();
        query_names.extend(
            ["limit", "cursor", "asset_ids", "exp", "sig", "status"]
                .iter()
                .map(|s| s.to_string()),
        );
        query_names.sort();
        query_names.dedup();
        let plain = fill(template, "x");
        for method in &documented {
            // Mangled query strings: each parameter repeated, malformed or huge.
            let mut queries: Vec<String> = Vec::new();
            for name in &query_names {
                queries.push(format!("{name}=1&{name}=2"));
                queries.push(format!("{name}=%FF%FE&{name}="));
                queries.push(format!("{name}={}", "9".repeat(40)));
                // A NUL (PostgreSQL refuses it in text: a 500 once, on `/admin/v1/accounts/%00`).
                queries.push(format!("{name}=a%00b"));
            }
            queries.push("%ZZ=%&&==&=".to_string());
            for query in &queries {
                let answer = send(&app, method, &format!("{plain}?{query}")).await;
                assert_enveloped(&answer, door, &format!("{method} {plain}?{query}"));
                requests += 1;
            }
            // Mangled path parameters.
            if template.contains('{') {
                for mangle in path_mangles {
                    let path = fill(template, mangle);
                    let answer = send(&app, method, &path).await;
                    let shown: String = path.chars().take(120).collect();
                    assert_enveloped(&answer, door, &format!("{method} {shown}"));
                    requests += 1;
                }
            }
        }
        // Methods the route does not take: 405 with `Allow`, in the door's envelope.
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            if documented.iter().any(|m| m == method) {
                continue;
            }
            let answer = send(&app, method, &plain).await;
            let what = format!("{method} {plain}");
            assert_eq!(answer.status, 405, "{what}: {}", answer.text);
            assert_enveloped(&answer, door, &what);
            if door == Door::Seed {
                assert_eq!(answer.code(), 40500, "{what}");
            }
            let allow = answer
                .headers
                .get("allow")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            for taken in &documented {
                assert!(allow.contains(taken.as_str()), "{what}: Allow {allow:?}");
            }
            requests += 1;
        }
    }
    // Routes outside the document: signed files, upstream callbacks, unknown paths per door.
    for path in [
        "/files/results/x/video.mp4?exp=99999999999999999999999&sig=a",
        "/files/results/x/video.mp4?exp=1&exp=2&sig=a&sig=b",
        "/files/results/x/video.mp4?exp=soon&sig=a",
        "/files/%FF%FE?exp=1&sig=a",
        "/upstream/v1/callbacks/%FF",
        "/no/such/route",
        "/api/open-api/v1/no/such/route?limit=1&limit=2",
        "/admin/v1/no/such/route",
        "/api/v3/no/such/route",
        "/v1/no/such/route",
    ] {
        let answer = send(&app, "GET", path).await;
        assert!(answer.status >= 400, "GET {path}: {}", answer.status);
        assert_enveloped(&answer, door_of(path), &format!("GET {path}"));
        requests += 1;
    }
    let wrong = send(&app, "DELETE", "/files/results/x/video.mp4?exp=1&sig=a").await;
    assert_eq!((wrong.status, wrong.code()), (405, 40500), "{}", wrong.text);
    let wrong = send(&app, "POST", "/healthz").await;
    assert_eq!((wrong.status, wrong.code()), (405, 40500), "{}", wrong.text);
    assert!(requests > 500, "{requests} requests");

    // The issue's own examples name the parameter.
    for (path, param) in [
        ("/api/open-api/v1/videos?limit=1&limit=2", "limit"),
        ("/api/open-api/v1/account/ledger?limit=x&limit=y", "limit"),
        (
            "/api/open-api/v1/seedance/assets/status?asset_ids=a&asset_ids=b",
            "asset_ids",
        ),
        ("/admin/v1/accounts?cursor=a&cursor=b", "cursor"),
        (
            "/files/results/x/video.mp4?exp=99999999999999999999999&sig=a",
            "exp",
        ),
        ("/files/results/x/video.mp4?exp=1&sig=a&sig=b", "sig"),
    ] {
        let answer = send(&app, "GET", path).await;
        assert_eq!(
            (answer.status, answer.code()),
            (400, 40001),
            "{path}: {}",
            answer.text
        );
        assert_eq!(answer.data()["param"], param, "{path}");
    }
    let openai = send(&app, "GET", "/v1/videos?limit=1&limit=2").await;
    assert_eq!(openai.status, 400, "{}", openai.text);
    assert_eq!(openai.body["error"]["param"], "limit", "{}", openai.text);
    let ark = send(&app, "PUT", "/api/v3/contents/generations/tasks").await;
    assert_eq!(ark.status, 405, "{}", ark.text);
    assert_eq!(
        ark.body["error"]["code"], "MethodNotAllowed",
        "{}",
        ark.text
    );
    app.finish().await;
}

/// Resolves every name to loopback: a name that was public when the task was made and points
/// inside when its webhook is sent (DNS rebinding).
struct Rebound;

impl reelay_media::HostResolver for Rebound {
    fn lookup(&self, _host: &str) -> reelay_media::LookupFuture {
        Box::pin(async { Ok(vec![std::net::IpAddr::from([127, 0, 0, 1])]) })
    }
}

#[tokio::test]
async fn a_webhook_target_refused_at_delivery_fails_at_once() {
    let app = spawn_app_with(crate::helpers::Options {
        workers: false,
        tweak: Box::new(|s| {
            s.media.allow_private_networks = false;
            // Names are not looked up at create: as if this one had been public then.
            s.media.create_lookup_ms = 0;
        }),
    })
    .await;
    let receiver = crate::helpers::webhook_receiver(0).await;
    let callback = receiver.url.replace("127.0.0.1", "rebind.test");
    let mut body = crate::helpers::text_request("seedance2.0-sp");
    body["callback_url"] = callback.clone().into();
    let created = app.create_task(&body).await;
    assert_eq!(created.status, 200, "{}", created.text);
    let task_id = created.data()["task_id"]
        .as_str()
        .expect("task id")
        .to_string();
    assert_eq!(app.cancel(&task_id).await.status, 200);

    let fetcher = reelay_media::Fetcher::with_resolver(
        reelay_media::FetchPolicy {
            allow_http: true,
            ..reelay_media::FetchPolicy::default()
        },
        std::sync::Arc::new(Rebound),
    )
    .expect("fetcher");
    let dispatcher = reelay::webhooks::Dispatcher {
        fetcher,
        ..app.dispatcher.clone()
    };
    assert_eq!(dispatcher.deliver_due().await.expect("dispatch"), 1);
    let webhook = app.task(&task_id).await.data()["webhook"].clone();
    assert_eq!(webhook["state"], "failed", "{webhook}");
    assert_eq!(webhook["attempts"], 1, "{webhook}");
    assert!(webhook["next_attempt_at"].is_null(), "{webhook}");
    let error = webhook["last_error"].as_str().unwrap_or("");
    assert!(
        error.contains("rebind.test") && error.contains("loopback"),
        "{webhook}"
    );
    // Nothing is left to retry, and the receiver never heard from it.
    assert_eq!(dispatcher.deliver_due().await.expect("dispatch"), 0);
    assert!(receiver.calls().is_empty());
    app.finish().await;
}

#[tokio::test]
async fn every_door_refuses_a_private_media_url_at_create_and_charges_nothing() {
    let app = spawn_app_with(crate::helpers::Options {
        workers: true,
        tweak: Box::new(|s| s.media.allow_private_networks = false),
    })
    .await;
    let before = app.balance().await;
    let ark = app
        .client
        .post(format!("{}/api/v3/contents/generations/tasks", app.base))
        .bearer_auth(&app.key)
        .json(&json!({
            "model": "seedance2.0-sp",
            "content": [
                {"type": "text", "text": "a lighthouse"},
                {"type": "image_url", "image_url": {"url": "http://169.254.169.254/latest/"}, "role": "first_frame"}
            ],
            "duration": 4, "resolution": "480p",
        }))
        .send()
        .await
        .expect("send");
    let ark = crate::helpers::answer(ark).await;
    assert_eq!(ark.status, 400, "{}", ark.text);
    assert_eq!(
        ark.body["error"]["code"], "InvalidParameter",
        "{}",
        ark.text
    );
    assert!(
        ark.body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("metadata"),
        "{}",
        ark.text
    );
    let openai = app
        .client
        .post(format!("{}/v1/videos", app.base))
        .bearer_auth(&app.key)
        .json(&json!({
            "model": "seedance2.0-sp", "prompt": "a lighthouse", "seconds": "4",
            "input_reference": "http://[fd00::1]/a.png",
        }))
        .send()
        .await
        .expect("send");
    let openai = crate::helpers::answer(openai).await;
    assert_eq!(openai.status, 400, "{}", openai.text);
    assert_eq!(
        openai.body["error"]["param"], "input_reference",
        "{}",
        openai.text
    );
    assert!(
        openai.body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("unique-local"),
        "{}",
        openai.text
    );
    assert_eq!(app.balance().await, before, "nothing charged");
    app.finish().await;
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive_on_the_user_and_admin_apis() {
    let app = spawn_app_with(with_admin(|_| {})).await;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let admin = app
            .client
            .get(format!("{}/admin/v1/accounts", app.base))
            .header(
                "authorization",
                format!("{scheme} {}", crate::helpers::ADMIN_TOKEN),
            )
            .send()
            .await
            .expect("send");
        assert_eq!(admin.status(), 200, "admin API with {scheme:?}");
        let user = app
            .client
            .get(format!("{}/api/open-api/v1/account", app.base))
            .header("authorization", format!("{scheme} {}", app.key))
            .send()
            .await
            .expect("send");
        assert_eq!(user.status(), 200, "user API with {scheme:?}");
    }
    let basic = app
        .client
        .get(format!("{}/admin/v1/accounts", app.base))
        .header(
            "authorization",
            format!("Basic {}", crate::helpers::ADMIN_TOKEN),
        )
        .send()
        .await
        .expect("send");
    assert_eq!(basic.status(), 401, "another scheme is not a bearer token");
    app.finish().await;
}

#[tokio::test]
async fn an_empty_suffix_range_is_ignored_and_an_over_long_one_is_the_whole_file() {
    let app = crate::helpers::spawn_app().await;
    let created = app
        .create_task(&crate::helpers::text_request("seedance2.0-sp"))
        .await;
    let task_id = created.data()["task_id"].as_str().expect("id").to_string();
    let task = app.wait_terminal(&task_id).await;
    assert_eq!(task["status"], "completed", "{task}");
    let url = task["result"]["video_url"]
        .as_str()
        .expect("video url")
        .to_string();
    let size = task["result"]["size_bytes"].as_u64().expect("size");
    let get = |range: &'static str| {
        let request = app.client.get(&url).header("Range", range);
        async move { request.send().await.expect("send") }
    };
    // Not a valid range (no suffix length): ignored, the whole file.
    let empty = get("bytes=-").await;
    assert_eq!(empty.status(), 200);
    assert_eq!(empty.bytes().await.expect("body").len() as u64, size);
    // A suffix longer than the file: the whole file, as a range (RFC 9110 §14.1.2).
    let long = get("bytes=-999999999").await;
    assert_eq!(long.status(), 206);
    assert_eq!(
        long.headers()["content-range"],
        format!("bytes 0-{}/{size}", size - 1).as_str()
    );
    assert_eq!(long.bytes().await.expect("body").len() as u64, size);
    // A zero-length suffix is satisfied by no byte.
    let zero = get("bytes=-0").await;
    assert_eq!(zero.status(), 416);
    assert_eq!(
        zero.headers()["content-range"],
        format!("bytes */{size}").as_str()
    );
    let zero = crate::helpers::answer(zero).await;
    assert_eq!(
        zero.code(),
        41600,
        "a 416 is in the envelope too: {}",
        zero.text
    );
    app.finish().await;
}

#[tokio::test]
async fn a_nul_character_in_an_id_is_the_clients_error_on_every_backend() {
    let app = spawn_app_with(with_admin(|_| {})).await;
    // In a path parameter, a query parameter, and inside a JSON body (PostgreSQL refuses NUL in
    // text; SQLite would store it).
    let path = app.get("/videos/vid_%00").await;
    assert_eq!((path.status, path.code()), (400, 40001), "{}", path.text);
    let query = app.get("/videos?cursor=a%00b").await;
    assert_eq!((query.status, query.code()), (400, 40001), "{}", query.text);
    let admin = app.admin_get("/accounts/acct_%00").await;
    assert_eq!((admin.status, admin.code()), (400, 40001), "{}", admin.text);
    let body = app
        .post_json_as(
            &app.key,
            "/seedance/sp/assets/status",
            &json!({"asset_ids": ["asset_\u{0}x"]}),
        )
        .await;
    assert!(
        body.status == 400 || body.status == 200 || body.status == 404,
        "never a 500: {} {}",
        body.status,
        body.text
    );
    app.finish().await;
}
