//! The browser side of the console tests: one headless Chromium session behind its own
//! chromedriver, spoken to over the W3C WebDriver protocol with reqwest, plus the page checks
//! the tests share (labels, phone width) and where screenshots go.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Fails on any visible form control without a label (a `<label>`, `aria-label` or, for a
/// button, its text) or out of the tab order.
pub async fn assert_no_unlabelled_controls(browser: &Browser, page: &str) {
    let bad = browser
        .eval(
            "const bad = [];
             for (const el of document.querySelectorAll('input, select, textarea, button')) {
               if (el.type === 'hidden' || el.closest('[hidden]')) continue;
               const named = (el.labels && el.labels.length > 0) || el.getAttribute('aria-label')
                 || (el.tagName === 'BUTTON' && el.textContent.trim() !== '');
               if (!named || el.tabIndex < 0) bad.push(el.id || el.outerHTML.slice(0, 120));
             }
             return bad;",
        )
        .await;
    assert_eq!(
        bad,
        json!([]),
        "unlabelled or unreachable controls on {page}"
    );
}

/// At a phone's width (390 CSS px) the page needs no sideways scrolling (wide tables scroll
/// inside their own box); takes a screenshot there, then restores the desktop size.
pub async fn check_phone_width(browser: &Browser, shot: &Path) {
    browser.set_window(390, 844).await;
    let widths = browser
        .wait_for("return window.innerWidth <= 400 ? [document.documentElement.scrollWidth, window.innerWidth] : null")
        .await;
    let (scroll, inner) = (
        widths[0].as_i64().unwrap_or(0),
        widths[1].as_i64().unwrap_or(0),
    );
    browser.screenshot(shot).await;
    assert!(
        scroll <= inner,
        "{}: the page is {scroll} px wide in a {inner} px viewport",
        shot.display()
    );
    browser.set_window(1280, 1000).await;
}

/// `name` on the PATH, if there.
pub fn program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

pub fn screenshot_dir() -> PathBuf {
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
pub struct Browser {
    http: reqwest::Client,
    session: String,
    _driver: tokio::process::Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn start(chromium: &Path, chromedriver: &Path) -> Browser {
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

    pub async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
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

    pub async fn goto(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    pub async fn eval(&self, script: &str) -> Value {
        self.command(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    /// Runs `script` until it returns something other than null or false (bounded).
    pub async fn wait_for(&self, script: &str) -> Value {
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

    pub async fn element(&self, css: &str) -> String {
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

    pub async fn click(&self, css: &str) {
        let id = self.element(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        )
        .await;
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// Picks `value` in the `<select>` at `css`, as a person would (a change event follows).
    pub async fn select(&self, css: &str, value: &str) {
        self.element(css).await;
        self.eval(&format!(
            "const s = document.querySelector({}); s.value = {}; s.dispatchEvent(new Event('change', {{bubbles: true}})); return true",
            json!(css),
            json!(value)
        ))
        .await;
    }

    pub async fn set_window(&self, width: u32, height: u32) {
        self.command(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        )
        .await;
    }

    pub async fn clear(&self, css: &str) {
        let id = self.element(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/clear"),
            Some(json!({})),
        )
        .await;
    }

    pub async fn screenshot(&self, path: &Path) {
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

    pub async fn quit(self) {
        let _ = self.http.delete(&self.session).send().await;
    }
}
