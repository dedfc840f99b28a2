//! The web console: the embedded files over plain HTTP, and the whole flow in a real headless
//! Chromium driven through `chromedriver` (the W3C WebDriver protocol, spoken with the reqwest
//! client the tests already use): sign in with the key, create a task from the playground, watch
//! it complete, play and seek the video, then approve a real-person submission as the operator.
//! Screenshots go to `target/console-screenshots/`. Without `chromium` and `chromedriver` on
//! the PATH the browser test prints why and passes (`scripts/test` installs them).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn the_console_page_and_its_files_are_served_without_auth() {
    let app = spawn_app().await;
    for (path, content_type, needle) in [
        (
            "/",
            "text/html; charset=utf-8",
            "<title>reelay console</title>",
        ),
        (
            "/console/app.js",
            "text/javascript; charset=utf-8",
            "function showPlayground",
        ),
        (
            "/console/style.css",
            "text/css; charset=utf-8",
            "@media (max-width: 600px)",
        ),
    ] {
        let response = app
            .client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["content-type"], content_type, "{path}");
        assert!(response.headers().contains_key("content-security-policy"));
        let body = response.text().await.expect("body");
        assert!(body.contains(needle), "{path} lacks {needle:?}");
    }
    let unknown = answer(
        app.client
            .get(format!("{}/console/nope.js", app.base))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.code(), 40400, "unknown routes keep the JSON error");
    app.finish().await;
}

#[tokio::test]
async fn in_a_browser_a_user_creates_and_plays_a_video_and_an_operator_approves_a_person() {
    let (Some(chromium), Some(chromedriver)) = (program("chromium"), program("chromedriver"))
    else {
        println!("skipped: install chromium chromium-driver (scripts/test does)");
        return;
    };
    let app = spawn_app_with(with_admin(|_| {})).await;
    let media = media_server(vec![("face.png", png(600, 800, [180, 140, 120]))]).await;
    let submitted = app
        .realperson_submit("Ada", &format!("{}/face.png", media.base))
        .await;
    let person = submitted.data()["asset_id"]
        .as_str()
        .expect("rp id")
        .to_string();
    app.wait_asset(&person).await;

    let browser = Browser::start(&chromium, &chromedriver).await;
    let shots = screenshot_dir();

    // Sign in with the API key.
    browser.goto(&format!("{}/", app.base)).await;
    browser.type_into("#token", &app.key).await;
    browser.click("#signin").await;
    browser
        .wait_for(
            "return document.querySelector('#f-model option[value=\"seedance2.0-sp\"]') !== null",
        )
        .await;
    assert_eq!(
        browser
            .eval("return sessionStorage.getItem('reelay.token')")
            .await,
        json!(app.key),
        "the key lives in sessionStorage"
    );
    assert_eq!(browser.eval("return localStorage.length").await, json!(0));

    // Playground: pick the model, a short duration, see the quote and a field error.
    browser
        .eval("const s = document.querySelector('#f-model'); s.value = 'seedance2.0-sp'; s.dispatchEvent(new Event('change', {bubbles: true})); return true")
        .await;
    browser
        .eval("for (const [id, v] of [['#f-duration', '4'], ['#f-resolution', '480p']]) { const s = document.querySelector(id); s.value = v; s.dispatchEvent(new Event('change', {bubbles: true})); } return true")
        .await;
    browser
        .type_into("#f-prompt", "a lighthouse at dusk, waves")
        .await;
    let quote = browser
        .wait_for("const q = document.querySelector('#quote').textContent; return q.includes('credits') ? q : null")
        .await;
    assert!(quote.as_str().unwrap_or("").contains("4 s"), "{quote}");
    browser.type_into("#f-images", "not-a-url").await;
    let field_error = browser
        .wait_for("const e = document.querySelector('#err-images').textContent; return e || null")
        .await;
    assert!(
        field_error.as_str().unwrap_or("").contains("images"),
        "{field_error}"
    );
    browser
        .screenshot(&shots.join("1-playground-error.png"))
        .await;
    browser.clear("#f-images").await;
    browser
        .wait_for("return document.querySelector('#err-images').textContent === '' && document.querySelector('#quote').textContent.includes('credits')")
        .await;
    browser.screenshot(&shots.join("2-playground.png")).await;
    browser.click("#create").await;

    // The task page follows the events stream until the task completes.
    let task_id = browser
        .wait_for("const m = location.hash.match(/^#\\/tasks\\/(vid_.+)$/); return m ? m[1] : null")
        .await
        .as_str()
        .expect("task id")
        .to_string();
    browser
        .wait_for("const s = document.querySelector('#task-status'); return s && s.textContent === 'completed'")
        .await;
    let task = app.task(&task_id).await;
    assert_eq!(task.data()["status"], "completed", "{:?}", task.body);
    assert_eq!(task.data()["request"]["duration"], 4);

    // Play the video: metadata loads, the duration matches the request, it plays and seeks.
    let duration = browser
        .wait_for("const v = document.querySelector('#player'); return v && v.readyState >= 1 && isFinite(v.duration) ? v.duration : null")
        .await
        .as_f64()
        .expect("duration");
    assert!(
        (duration - 4.0).abs() <= 0.1,
        "the <video> reports {duration} s for a 4 s request"
    );
    browser
        .eval("const v = document.querySelector('#player'); v.muted = true; v.play().catch(() => {}); return true")
        .await;
    browser
        .wait_for("return document.querySelector('#player').currentTime > 0")
        .await;
    browser
        .eval("const v = document.querySelector('#player'); v.pause(); v.currentTime = 3; return true")
        .await;
    browser
        .wait_for("const v = document.querySelector('#player'); return !v.seeking && Math.abs(v.currentTime - 3) < 0.2 && v.readyState >= 2")
        .await;
    let download = browser
        .eval("return document.querySelector('#download').getAttribute('href')")
        .await;
    assert_eq!(download, task.data()["result"]["video_url"]);
    let curl = browser
        .eval("return document.querySelector('#curl').textContent")
        .await;
    let curl = curl.as_str().unwrap_or("");
    assert!(
        curl.contains("/api/open-api/v1/seedance/videos") && curl.contains("$REELAY_API_KEY"),
        "{curl}"
    );
    assert!(!curl.contains(&app.key), "the curl never shows the key");
    browser.screenshot(&shots.join("3-task-playing.png")).await;

    // The task list shows it; the account shows the charge.
    browser.goto(&format!("{}/#/tasks", app.base)).await;
    browser
        .wait_for(&format!("const r = document.querySelector('tr[data-task=\"{task_id}\"]'); return r && r.textContent.includes('completed')"))
        .await;
    browser.screenshot(&shots.join("4-tasks.png")).await;
    browser.goto(&format!("{}/#/account", app.base)).await;
    let balance = browser
        .wait_for("const b = document.querySelector('#balance'); return b ? b.textContent : null")
        .await;
    assert_eq!(balance, json!(app.balance().await.to_string()));
    browser
        .wait_for(&format!(
            "return document.querySelector('#ledger').textContent.includes('{task_id}')"
        ))
        .await;

    // The operator signs in and approves the real person.
    browser.click("#signout").await;
    browser.type_into("#token", ADMIN_TOKEN).await;
    browser.click("#signin").await;
    browser
        .wait_for(&format!("return document.querySelector('[data-approve=\"{person}\"]') !== null && document.querySelector('#channels tr') !== null"))
        .await;
    browser
        .wait_for(&format!("const i = document.querySelector('[data-review=\"{person}\"] img'); return i && i.complete && i.naturalWidth === 600"))
        .await;
    browser.screenshot(&shots.join("5-operator.png")).await;
    browser.click(&format!("[data-approve=\"{person}\"]")).await;
    browser
        .wait_for(&format!(
            "return document.querySelector('[data-review=\"{person}\"]') === null"
        ))
        .await;
    browser.screenshot(&shots.join("6-approved.png")).await;
    let status = app.realperson_status_as(&app.key, &person).await;
    assert_eq!(status.data()["status"], "Active", "{:?}", status.body);

    browser.quit().await;
    app.finish().await;
}

/// `name` on the PATH, if there.
fn program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("console-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

/// The W3C name of an element reference in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// One headless Chromium session behind its own chromedriver (killed on drop).
struct Browser {
    http: reqwest::Client,
    session: String,
    _driver: tokio::process::Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn start(chromium: &Path, chromedriver: &Path) -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let driver = tokio::process::Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let http = reqwest::Client::new();
        let root = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        loop {
            let ready = match http.get(format!("{root}/status")).send().await {
                Ok(r) => r
                    .json::<Value>()
                    .await
                    .ok()
                    .map(|v| v["value"]["ready"] == true),
                Err(_) => None,
            };
            if ready == Some(true) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver never got ready"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,1000",
            "--autoplay-policy=no-user-gesture-required",
        ]
        .map(String::from)
        .into_iter()
        .chain([format!("--user-data-dir={}", profile.path().display())])
        .collect::<Vec<_>>();
        let created: Value = http
            .post(format!("{root}/session"))
            .json(&json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {"binary": chromium, "args": args},
            }}}))
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("session json");
        let id = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"));
        Browser {
            session: format!("{root}/session/{id}"),
            http,
            _driver: driver,
            _profile: profile,
        }
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.session));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request
            .send()
            .await
            .expect("webdriver")
            .json()
            .await
            .expect("webdriver json");
        let value = answer["value"].clone();
        if value.get("error").is_some() {
            panic!("webdriver {path}: {value}");
        }
        value
    }

    async fn goto(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    async fn eval(&self, script: &str) -> Value {
        self.command(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    /// Runs `script` until it returns something other than null or false (bounded).
    async fn wait_for(&self, script: &str) -> Value {
        let started = Instant::now();
        loop {
            let value = self.eval(script).await;
            if !value.is_null() && value != json!(false) {
                return value;
            }
            if started.elapsed() > Duration::from_secs(90) {
                self.screenshot(&screenshot_dir().join("timeout.png")).await;
                let text = self.eval("return document.body.innerText").await;
                panic!("timed out waiting for `{script}`; the page says: {text}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn element(&self, css: &str) -> String {
        self.wait_for(&format!(
            "return document.querySelector({}) !== null",
            json!(css)
        ))
        .await;
        let found = self
            .command(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {found}"))
            .to_string()
    }

    async fn click(&self, css: &str) {
        let id = self.element(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        )
        .await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    async fn clear(&self, css: &str) {
        let id = self.element(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/clear"),
            Some(json!({})),
        )
        .await;
    }

    async fn screenshot(&self, path: &Path) {
        use base64::Engine;
        let data = self
            .command(reqwest::Method::GET, "/screenshot", None)
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap_or(""))
            .expect("png base64");
        std::fs::write(path, png).expect("screenshot written");
        println!("screenshot: {}", path.display());
    }

    async fn quit(self) {
        let _ = self.http.delete(&self.session).send().await;
    }
}
