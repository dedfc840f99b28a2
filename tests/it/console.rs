//! The web console: the embedded files over plain HTTP, and the whole flow in a real headless
//! Chromium driven through `chromedriver` (the W3C WebDriver protocol, spoken with the reqwest
//! client the tests already use): sign in with the key, upload an image from the playground's file
//! input, create a task with the extension options, watch it complete, play and seek the video,
//! approve a real-person submission as the operator; then, in a second browser, create a key
//! (secret shown once) and revoke it, top up an account as the operator (its ledger, its tasks,
//! the audit log, the channels' recent errors), and check the pages at phone width with every
//! control labelled; the assets and people pages (upload, preview, delete, a real person
//! approved), the tasks list's search, days and thumbnails. Screenshots go to
//! `target/console-screenshots/`. Without `chromium` and `chromedriver` on the PATH the browser
//! tests print why and pass (`scripts/test` installs them).

mod browser;

use serde_json::json;

use self::browser::{
    assert_no_unlabelled_controls, check_phone_width, program, screenshot_dir, Browser,
};
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
            "/console/i18n.js",
            "text/javascript; charset=utf-8",
            "function t(key, vars)",
        ),
        (
            "/console/app.js",
            "text/javascript; charset=utf-8",
            "function showPlayground",
        ),
        (
            "/console/account.js",
            "text/javascript; charset=utf-8",
            "function showAccount",
        ),
        (
            "/console/operator.js",
            "text/javascript; charset=utf-8",
            "function showAdminAccount",
        ),
        (
            "/console/models.js",
            "text/javascript; charset=utf-8",
            "function showModels",
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
    // The extension options show only where the model takes them.
    for id in [
        "#f-seed",
        "#f-generate_audio",
        "#f-watermark",
        "#f-camera_fixed",
        "#f-return_last_frame",
        "#f-callback_url",
        "#f-first_image",
        "#file-images",
    ] {
        browser
            .wait_for(&format!("return document.querySelector('{id}') !== null"))
            .await;
    }
    browser.select("#f-model", "seedance2.0-md").await;
    browser
        .wait_for("return document.querySelector('#f-last_image') !== null")
        .await;
    assert_eq!(
        browser
            .eval("return [document.querySelector('#f-generate_audio'), document.querySelector('#file-images')].map((e) => e === null)")
            .await,
        json!([true, true]),
        "MD makes no audio and takes no asset ids"
    );
    browser.select("#f-model", "seedance2.0-sp").await;
    browser
        .wait_for("return document.querySelector('#f-generate_audio') !== null")
        .await;
    assert_no_unlabelled_controls(&browser, "playground").await;
    browser
        .eval("for (const [id, v] of [['#f-duration', '4'], ['#f-resolution', '480p']]) { const s = document.querySelector(id); s.value = v; s.dispatchEvent(new Event('change', {bubbles: true})); } return true")
        .await;
    browser
        .type_into("#f-prompt", "a lighthouse at dusk, waves")
        .await;
    // The quote follows the fields (480p, 4 s on this per-second model: 4 × 1000 credits),
    // with a thousands separator in the browser's (English) locale.
    let quote = browser
        .wait_for("const q = document.querySelector('#quote').textContent; return q.includes('4 s') ? q : null")
        .await;
    assert!(
        quote.as_str().unwrap_or("").contains("4,000 credits"),
        "{quote}"
    );
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
    // Upload an image as an asset through the keyboard-reachable file input (what a drop does).
    let upload_dir = tempfile::tempdir().expect("upload dir");
    let image_path = upload_dir.path().join("harbour.png");
    std::fs::write(&image_path, png(640, 360, [40, 90, 160])).expect("png written");
    assert_eq!(
        browser
            .eval("const f = document.querySelector('#file-images'); return f.labels.length > 0 && f.tabIndex >= 0 && !f.disabled")
            .await,
        json!(true),
        "the file input is labelled and focusable"
    );
    browser
        .type_into("#file-images", &image_path.display().to_string())
        .await;
    let uploaded = browser
        .wait_for("const s = document.querySelector('#up-images').textContent; return /Active|Failed|:/.test(s) && !s.includes('Uploading') && !s.includes('checking') ? s : null")
        .await;
    assert!(
        uploaded.as_str().unwrap_or("").contains("Active"),
        "{uploaded}"
    );
    let asset_ref = browser
        .eval("return document.querySelector('#f-images').value")
        .await;
    let asset_id = asset_ref
        .as_str()
        .and_then(|r| r.strip_prefix("asset://"))
        .expect("an asset ref in the images field")
        .to_string();
    let detail = app.asset_detail_as(&app.key, &asset_id).await;
    assert_eq!(detail.data()["status"], "Active", "{:?}", detail.body);
    assert_eq!(detail.data()["width"], 640);

    // The options: a seed and the last frame.
    browser.type_into("#f-seed", "42").await;
    browser.click("#f-return_last_frame").await;
    browser
        .wait_for("return document.querySelector('#err-seed').textContent === '' && document.querySelector('#quote').textContent.includes('credits')")
        .await;
    browser.clear("#f-seed").await;
    browser.type_into("#f-seed", "99999999999").await;
    let seed_error = browser
        .wait_for("const e = document.querySelector('#err-seed').textContent; return e || null")
        .await;
    assert!(
        seed_error.as_str().unwrap_or("").starts_with("seed:"),
        "{seed_error}"
    );
    browser.clear("#f-seed").await;
    browser.type_into("#f-seed", "42").await;
    browser
        .wait_for("return document.querySelector('#err-seed').textContent === '' && document.querySelector('#quote').textContent.includes('credits')")
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
    assert_eq!(task.data()["request"]["seed"], 42, "{:?}", task.body);
    assert_eq!(task.data()["request"]["return_last_frame"], true);
    assert_eq!(task.data()["request"]["images"], json!([asset_ref]));
    browser
        .wait_for("const i = document.querySelector('img[alt=\"last frame of the video\"]'); return i && i.complete && i.naturalWidth > 0")
        .await;

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
        .wait_for("const b = document.querySelector('#balance'); return b ? b.textContent.replace(/,/g, '') : null")
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
    // Approving is asked once more, in place: nothing is decided by the first click.
    browser
        .wait_for(&format!(
            "return document.querySelector('[data-approve-confirm=\"{person}\"]') !== null"
        ))
        .await;
    assert_eq!(
        app.realperson_status_as(&app.key, &person).await.data()["status"],
        "Processing"
    );
    browser
        .click(&format!("[data-approve-confirm=\"{person}\"]"))
        .await;
    browser
        .wait_for(&format!(
            "return document.querySelector('[data-review=\"{person}\"]') === null"
        ))
        .await;
    browser.screenshot(&shots.join("6-approved.png")).await;
    let status = app.realperson_status_as(&app.key, &person).await;
    assert_eq!(status.data()["status"], "Active", "{:?}", status.body);

    // Submissions made after the page loaded appear on their own; a reason being typed into a
    // card stays while the list refreshes around it.
    let second = app
        .realperson_submit("Grace", &format!("{}/face.png", media.base))
        .await
        .data()["asset_id"]
        .as_str()
        .expect("rp id")
        .to_string();
    app.wait_asset(&second).await;
    browser
        .wait_for(&format!(
            "return document.querySelector('[data-approve=\"{second}\"]') !== null"
        ))
        .await;
    browser
        .type_into(&format!("#reason-{second}"), "blurred photo")
        .await;
    let third = app
        .realperson_submit("Linus", &format!("{}/face.png", media.base))
        .await
        .data()["asset_id"]
        .as_str()
        .expect("rp id")
        .to_string();
    app.wait_asset(&third).await;
    browser
        .wait_for(&format!(
            "return document.querySelector('[data-approve=\"{third}\"]') !== null"
        ))
        .await;
    assert_eq!(
        browser
            .eval(&format!(
                "return document.querySelector('#reason-{second}').value"
            ))
            .await,
        json!("blurred photo"),
        "the typed reason survived the refresh"
    );

    browser.quit().await;
    app.finish().await;
}

#[tokio::test]
async fn in_a_browser_a_user_makes_and_revokes_a_key_and_an_operator_tops_up_an_account() {
    let (Some(chromium), Some(chromedriver)) = (program("chromium"), program("chromedriver"))
    else {
        println!("skipped: install chromium chromium-driver (scripts/test does)");
        return;
    };
    let app = spawn_app_with(with_admin(|_| {})).await;
    let browser = Browser::start(&chromium, &chromedriver).await;
    let shots = screenshot_dir();

    browser.goto(&format!("{}/", app.base)).await;
    browser.type_into("#token", &app.key).await;
    browser.click("#signin").await;
    browser
        .wait_for("return document.querySelector('#f-model option') !== null")
        .await;
    check_phone_width(&browser, &shots.join("k1-phone-playground.png")).await;

    // The account's keys: the one signed in with is marked.
    browser.goto(&format!("{}/#/account", app.base)).await;
    browser
        .wait_for("const r = document.querySelectorAll('#keys tr[data-key]'); return r.length === 1 && r[0].textContent.includes('this session')")
        .await;
    assert_no_unlabelled_controls(&browser, "account").await;

    // An empty name is refused next to the field.
    browser.click("#create-key").await;
    let name_error = browser
        .wait_for("const e = document.querySelector('#err-key-name').textContent; return e || null")
        .await;
    assert!(
        name_error.as_str().unwrap_or("").starts_with("name:"),
        "{name_error}"
    );

    // A new key: the secret is shown once, with a warning and a copy button, and it works.
    browser.type_into("#key-name", "render farm").await;
    browser.click("#create-key").await;
    let secret = browser
        .wait_for("const s = document.querySelector('#new-secret'); return s && s.value.startsWith('sk_') ? s.value : null")
        .await
        .as_str()
        .expect("secret")
        .to_string();
    let warning = browser
        .eval("return document.querySelector('#new-secret-warning').textContent")
        .await;
    assert!(
        warning.as_str().unwrap_or("").contains("only this once"),
        "{warning}"
    );
    assert_eq!(
        browser
            .eval("return document.querySelector('#err-key-name').textContent")
            .await,
        json!(""),
        "the earlier error is gone"
    );
    browser.click("#copy-secret").await;
    browser
        .wait_for("return document.querySelector('#copy-secret').textContent !== 'Copy secret'")
        .await;
    browser.screenshot(&shots.join("k2-key-secret.png")).await;
    check_phone_width(&browser, &shots.join("k3-phone-key-secret.png")).await;
    assert_eq!(app.get_as(&secret, "/account").await.status, 200);
    let key_id = app
        .account_keys(&app.key)
        .await
        .iter()
        .find(|k| k["name"] == "render farm")
        .and_then(|k| k["key_id"].as_str())
        .expect("the new key is listed")
        .to_string();
    browser
        .wait_for(&format!(
            "return document.querySelector('#keys tr[data-key=\"{key_id}\"]') !== null"
        ))
        .await;
    browser.click("#secret-done").await;
    browser
        .wait_for("return document.querySelector('#new-secret') === null")
        .await;
    // Shown once: gone from the page, and not there after coming back.
    browser.goto(&format!("{}/#/tasks", app.base)).await;
    browser.goto(&format!("{}/#/account", app.base)).await;
    browser
        .wait_for(&format!(
            "return document.querySelector('#keys tr[data-key=\"{key_id}\"]') !== null"
        ))
        .await;
    let shown = browser
        .eval(&format!(
            "return document.documentElement.outerHTML.includes({0}) || [...document.querySelectorAll('input')].some((i) => i.value === {0})",
            json!(secret)
        ))
        .await;
    assert_eq!(shown, json!(false), "the secret is shown only once");

    // Revoke it, confirming in place; the key stops working.
    browser.click(&format!("[data-revoke=\"{key_id}\"]")).await;
    browser
        .click(&format!("[data-confirm-revoke=\"{key_id}\"]"))
        .await;
    browser
        .wait_for(&format!("const r = document.querySelector('#keys tr[data-key=\"{key_id}\"]'); return r && r.textContent.includes('revoked') && r.querySelector('[data-revoke]') === null"))
        .await;
    browser.screenshot(&shots.join("k4-key-revoked.png")).await;
    let refused = app.get_as(&secret, "/account").await;
    assert_eq!((refused.status, refused.code()), (401, 40100));
    assert_eq!(
        app.get("/account").await.status,
        200,
        "the session key still works"
    );

    // The operator tops up the account; the balance shows it, in the list too.
    let before = app.balance().await;
    browser.click("#signout").await;
    // Signed out, no navigation is shown (the `hidden` attribute wins over `nav`'s display).
    browser
        .wait_for("return getComputedStyle(document.querySelector('#nav')).display === 'none' && [...document.querySelectorAll('#nav a, #signout')].every((e) => e.offsetParent === null)")
        .await;
    browser.type_into("#token", ADMIN_TOKEN).await;
    browser.click("#signin").await;
    browser
        .wait_for("return document.querySelector('#channels tr') !== null")
        .await;
    assert_no_unlabelled_controls(&browser, "operator").await;
    browser.click("a[href=\"#/operator/accounts\"]").await;
    let listed = browser
        .wait_for(&format!("const b = document.querySelector('tr[data-account=\"{}\"] .balance'); return b ? b.textContent.replace(/,/g, '') : null", app.account_id))
        .await;
    assert_eq!(listed, json!(before.to_string()));
    assert_eq!(
        browser
            .eval("return document.querySelector('a[aria-current=page]').textContent")
            .await,
        json!("Accounts")
    );
    assert_no_unlabelled_controls(&browser, "accounts").await;
    browser.screenshot(&shots.join("k5-accounts.png")).await;
    browser
        .click(&format!("tr[data-account=\"{}\"] a", app.account_id))
        .await;
    browser
        .wait_for(&format!("const b = document.querySelector('#acct-balance'); return b && b.textContent.replace(/,/g, '') === '{before}' && document.querySelector('#keys tr[data-key=\"{key_id}\"]') !== null"))
        .await;
    assert_no_unlabelled_controls(&browser, "account detail").await;
    // Amount and reason are both needed.
    browser.type_into("#acct-credits", "5000").await;
    browser.click("#credits-submit").await;
    browser
        .wait_for("return document.querySelector('#err-acct-note').textContent !== ''")
        .await;
    browser.type_into("#acct-note", "invoice 2024-117").await;
    browser.click("#credits-submit").await;
    // The change is asked once more, in place, with the amount; nothing moves before.
    let question = browser
        .wait_for("const q = document.querySelector('#credits-ask .question'); return q && q.textContent || null")
        .await;
    assert!(
        question
            .as_str()
            .unwrap_or("")
            .replace(',', "")
            .contains("5000"),
        "{question}"
    );
    assert_eq!(app.balance().await, before);
    browser.click("#credits-confirm").await;
    let after = before + 5000;
    browser
        .wait_for(&format!("return document.querySelector('#acct-balance').textContent.replace(/,/g, '') === '{after}' && document.querySelector('#credits-done').textContent.replace(/,/g, '').includes('{after}')"))
        .await;
    assert_eq!(app.balance().await, after);
    let ledger = app.get("/account/ledger?limit=1").await;
    assert_eq!(
        ledger.data()["items"][0]["credits"],
        5000,
        "{:?}",
        ledger.body
    );
    // The account's ledger (newest first) has the top-up at once.
    browser
        .wait_for(&format!("const r = document.querySelector('#acct-ledger tr[data-entry]'); const c = r ? [...r.cells].map((x) => x.textContent.replace(/,/g, '')) : []; return r !== null && r.querySelector('[data-kind=\"topup\"]') !== null && c[2] === '+5000' && c[4] === '{after}'"))
        .await;
    browser.screenshot(&shots.join("k6-topped-up.png")).await;
    check_phone_width(&browser, &shots.join("k7-phone-account.png")).await;

    // A quota on the session key (the one active key: the select offers only active ones),
    // confirmed; the keys table and the key's own /key/balance show it.
    let session_key = app
        .account_keys(&app.key)
        .await
        .iter()
        .find(|k| k["revoked_at"].is_null())
        .and_then(|k| k["key_id"].as_str())
        .expect("the session key")
        .to_string();
    browser
        .eval("window.confirm = () => true; return true")
        .await;
    browser.type_into("#keyq-quota", "-1").await;
    browser.click("#quota-submit").await;
    browser
        .wait_for("return document.querySelector('#err-keyq-quota').textContent !== ''")
        .await;
    browser.clear("#keyq-quota").await;
    browser.type_into("#keyq-quota", "70000").await;
    browser.click("#quota-submit").await;
    browser
        .wait_for(&format!("const q = document.querySelector('[data-quota=\"{session_key}\"]'); return q && q.textContent.replace(/,/g, '').includes('of 70000 credits')"))
        .await;
    let key = app.get("/key/balance").await;
    assert_eq!(key.data()["total_quota"], 70000, "{:?}", key.body);
    assert_eq!(key.data()["unlimited"], false);
    browser
        .goto(&format!("{}/#/operator/accounts", app.base))
        .await;
    browser
        .wait_for(&format!("const b = document.querySelector('tr[data-account=\"{}\"] .balance'); return b && b.textContent.replace(/,/g, '') === '{after}'", app.account_id))
        .await;

    // From the account page to its tasks in the task log, filtered by the account.
    browser
        .click(&format!("tr[data-account=\"{}\"] a", app.account_id))
        .await;
    browser.click("#acct-tasks").await;
    let filtered = browser
        .wait_for("const a = document.querySelector('#log-account'); return location.hash.startsWith('#/operator/tasks?account=') && a && document.querySelector('#log-rows tr') ? [a.value, document.querySelector('a[aria-current=page]').textContent] : null")
        .await;
    assert_eq!(filtered, json!([app.account_id, "Task log"]));

    // The audit log has the top-up: who, what, on which account.
    browser.click("a[href='#/operator/audit']").await;
    let audited = browser
        .wait_for(&format!("const r = [...document.querySelectorAll('#audit-rows tr[data-seq]')].find((x) => x.cells[2].textContent === 'account.credits' && x.cells[3].textContent === '{}'); return r ? [...r.cells].map((c) => c.textContent) : null", app.account_id))
        .await;
    assert!(
        audited[1].as_str().unwrap_or("").starts_with("admin"),
        "{audited}"
    );
    assert!(
        audited[4].as_str().unwrap_or("").contains("5000"),
        "{audited}"
    );
    assert_no_unlabelled_controls(&browser, "audit log").await;
    browser.screenshot(&shots.join("k8-audit.png")).await;
    check_phone_width(&browser, &shots.join("k9-phone-audit.png")).await;

    // Each channel's recent errors: none on a channel that has failed nothing.
    browser.click("a[href='#/operator']").await;
    let errors = browser
        .wait_for("const e = document.querySelector('td[data-errors=\"local\"]'); return e ? e.textContent : null")
        .await;
    assert_eq!(errors, json!("none"));

    browser.quit().await;
    app.finish().await;
}

#[tokio::test]
async fn in_a_browser_only_a_queued_task_offers_cancel_and_it_asks_first() {
    let (Some(chromium), Some(chromedriver)) = (program("chromium"), program("chromedriver"))
    else {
        println!("skipped: install chromium chromium-driver (scripts/test does)");
        return;
    };
    let app = spawn_app_with(with_admin(|_| {})).await;
    // Paused, the local channel takes nothing: the task stays queued.
    assert_eq!(
        app.admin_post("/channels/local/pause", &json!({}))
            .await
            .status,
        200
    );
    let before = app.balance().await;
    let created = app.create_task(&text_request("seedance2.0-sp")).await;
    let task_id = created.data()["task_id"].as_str().expect("id").to_string();

    let browser = Browser::start(&chromium, &chromedriver).await;
    browser.goto(&format!("{}/", app.base)).await;
    browser.type_into("#token", &app.key).await;
    browser.click("#signin").await;
    browser
        .wait_for("return document.querySelector('#f-model option') !== null")
        .await;
    browser
        .goto(&format!("{}/#/tasks/{task_id}", app.base))
        .await;
    browser
        .wait_for("return document.querySelector('#cancel-task') !== null")
        .await;
    // The first click only asks; nothing is cancelled yet.
    browser.click("#cancel-task").await;
    browser
        .wait_for("return document.querySelector('#confirm-cancel') !== null")
        .await;
    assert_eq!(app.task(&task_id).await.data()["status"], "queued");
    browser.click("#confirm-cancel").await;
    browser
        .wait_for("const s = document.querySelector('#task-status'); return s && s.textContent === 'failed' && document.querySelector('#cancel-task') === null")
        .await;
    let task = app.task(&task_id).await;
    assert_eq!(task.data()["error"]["code"], "cancelled");
    assert_eq!(app.balance().await, before, "refunded");
    browser.quit().await;
    assert_eq!(
        app.admin_post("/channels/local/resume", &json!({}))
            .await
            .status,
        200
    );
    app.finish().await;
}

#[tokio::test]
async fn in_a_browser_an_error_found_only_at_submit_stays_until_the_form_changes() {
    let (Some(chromium), Some(chromedriver)) = (program("chromium"), program("chromedriver"))
    else {
        println!("skipped: install chromium chromium-driver (scripts/test does)");
        return;
    };
    let app = spawn_app_with(with_admin(|_| {})).await;
    // An account that can pay for a quote but not for the task: the create's 402 is found only
    // at submit.
    let (_, poor_key) = app.new_account(1).await;
    let browser = Browser::start(&chromium, &chromedriver).await;
    browser.goto(&format!("{}/", app.base)).await;
    browser.type_into("#token", &poor_key).await;
    browser.click("#signin").await;
    browser
        .wait_for("return document.querySelector('#f-model option[value=\"seedance2.0-sp\"]') !== null && document.querySelector('#f-prompt') !== null")
        .await;
    browser.type_into("#f-prompt", "a lighthouse at dusk").await;
    browser
        .wait_for("return document.querySelector('#quote').textContent.startsWith('Price: ') && document.querySelector('#quote').textContent !== 'Price: —'")
        .await;
    browser.click("#create").await;
    let shown = browser
        .wait_for("const e = document.querySelector('#form-error').textContent; return e || null")
        .await;
    assert!(shown.as_str().unwrap_or("").contains("balance"), "{shown}");
    // The click blurred the prompt (a `change`, then a re-quote 250 ms later): the error stays.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(
        browser
            .eval("return document.querySelector('#form-error').textContent")
            .await,
        shown,
        "the submit's error is still shown"
    );
    // Changing the form clears it and quotes again.
    browser.type_into("#f-prompt", ", waves").await;
    browser
        .wait_for("return document.querySelector('#form-error').textContent === ''")
        .await;
    browser.quit().await;
    app.finish().await;
}

#[tokio::test]
async fn in_a_browser_progress_updates_keep_the_keyboard_focus() {
    let (Some(chromium), Some(chromedriver)) = (program("chromium"), program("chromedriver"))
    else {
        println!("skipped: install chromium chromium-driver (scripts/test does)");
        return;
    };
    let app = spawn_app_with(with_admin(|_| {})).await;
    // A long render, so that several progress events arrive while it runs.
    let created = app
        .create_task(&json!({"model": "seedance2.0-sp", "prompt": "a long take across the city", "duration": 15, "resolution": "1080p"}))
        .await;
    let task_id = created.data()["task_id"].as_str().expect("id").to_string();
    let browser = Browser::start(&chromium, &chromedriver).await;
    browser.goto(&format!("{}/", app.base)).await;
    browser.type_into("#token", &app.key).await;
    browser.click("#signin").await;
    browser
        .wait_for("return document.querySelector('#f-model option') !== null")
        .await;
    browser
        .goto(&format!("{}/#/tasks/{task_id}", app.base))
        .await;
    let start = browser
        .wait_for("const s = document.querySelector('#task-status'); const p = document.querySelector('#task-progress'); return s && s.textContent === 'processing' && p ? String(p.value) : null")
        .await;
    browser
        .eval("document.querySelector('#copy-curl').focus(); return true")
        .await;
    // A later progress event of the running task has arrived: the focus is where the user left
    // it (before, the page was rebuilt on every event and the focus fell to the body).
    let seen = browser
        .wait_for(&format!("const p = document.querySelector('#task-progress'); const s = document.querySelector('#task-status'); return (s && s.textContent === 'processing' && p && String(p.value) !== {start}) ? String(document.activeElement && document.activeElement.id) : null"))
        .await;
    assert_eq!(seen, json!("copy-curl"), "the focus stayed on Copy curl");
    browser
        .wait_for("const s = document.querySelector('#task-status'); return s && s.textContent === 'completed'")
        .await;
    browser.quit().await;
    app.finish().await;
}

/// Signs `key` in and waits for the playground's form.
async fn sign_in(browser: &Browser, app: &crate::helpers::TestApp, key: &str) {
    browser.goto(&format!("{}/", app.base)).await;
    browser.type_into("#token", key).await;
    browser.click("#signin").await;
    browser
        .wait_for("return document.querySelector('#f-model option') !== null")
        .await;
}

#[tokio::test]
async fn in_a_browser_each_chosen_file_has_its_own_status_and_a_failed_one_is_not_added() {
    let (Some(chromium), Some(chromedriver)) = (program("chromium"), program("chromedriver"))
    else {
        println!("skipped: install chromium chromium-driver (scripts/test does)");
        return;
    };
    let app = spawn_app_with(with_admin(|_| {})).await;
    let browser = Browser::start(&chromium, &chromedriver).await;
    sign_in(&browser, &app, &app.key).await;
    browser.select("#f-model", "seedance2.0-sp").await;
    browser
        .wait_for("return document.querySelector('#file-images') !== null")
        .await;
    let dir = tempfile::tempdir().expect("dir");
    let good = dir.path().join("good.png");
    std::fs::write(&good, png(640, 360, [10, 120, 60])).expect("png");
    let bad = dir.path().join("broken.png");
    std::fs::write(&bad, b"this is not an image at all").expect("bad file");
    // Two files chosen at once (WebDriver takes several paths separated by newlines).
    browser
        .type_into(
            "#file-images",
            &format!("{}\n{}", good.display(), bad.display()),
        )
        .await;
    let lines = browser
        .wait_for("const l = [...document.querySelectorAll('#up-images li')].map((li) => [li.textContent, li.className]); return l.length === 2 && l.every(([t]) => !t.includes('Uploading') && !t.includes('checking')) ? l : null")
        .await;
    let lines = lines.as_array().expect("two lines");
    let (good_line, bad_line) = (&lines[0], &lines[1]);
    assert!(
        good_line[0].as_str().unwrap_or("").starts_with("good.png")
            && good_line[0].as_str().unwrap_or("").contains("Active"),
        "{lines:?}"
    );
    assert!(
        bad_line[0].as_str().unwrap_or("").starts_with("broken.png")
            && bad_line[0].as_str().unwrap_or("").contains("not added"),
        "{lines:?}"
    );
    assert_eq!(
        bad_line[1], "error",
        "the failed file's line is marked as an error"
    );
    let field = browser
        .eval("return document.querySelector('#f-images').value")
        .await;
    let refs: Vec<&str> = field.as_str().unwrap_or("").split_whitespace().collect();
    assert_eq!(
        refs.len(),
        1,
        "only the good file's asset is in the field: {field}"
    );
    assert!(refs[0].starts_with("asset://"), "{field}");
    browser.quit().await;
    app.finish().await;
}

#[tokio::test]
async fn in_a_browser_tasks_page_through_filters_and_fit_a_phone() {
    let (Some(chromium), Some(chromedriver)) = (program("chromium"), program("chromedriver"))
    else {
        println!("skipped: install chromium chromium-driver (scripts/test does)");
        return;
    };
    let app = spawn_app_with(crate::helpers::Options {
        workers: false,
        tweak: Box::new(|s| s.admin.token = Some("adm-console-tasks".to_string().into())),
    })
    .await;
    // 55 queued tasks (no workers) and one failed by a cancel: more than a page of 50.
    let mut made = Vec::new();
    for i in 0..56 {
        let created = app
            .create_task(&json!({"model": "seedance2.0-sp", "prompt": format!("shot number {i} of the harbour")}))
            .await;
        made.push(created.data()["task_id"].as_str().expect("id").to_string());
    }
    let cancelled = made[3].clone();
    assert_eq!(app.cancel(&cancelled).await.status, 200);
    let browser = Browser::start(&chromium, &chromedriver).await;
    sign_in(&browser, &app, &app.key).await;
    browser.goto(&format!("{}/#/tasks", app.base)).await;
    let first = browser
        .wait_for("const r = document.querySelectorAll('#task-rows tr[data-task]'); return r.length ? [r.length, r[0].dataset.task, document.querySelector('#older').disabled, document.querySelector('#newer').disabled] : null")
        .await;
    assert_eq!(
        first,
        json!([50, made[55], false, true]),
        "newest first, 50 a page"
    );
    assert_eq!(
        browser
            .eval("return document.querySelector('#task-rows tr td.prompt').textContent")
            .await,
        json!("shot number 55 of the harbour")
    );
    browser.click("#older").await;
    let second = browser
        .wait_for("const r = document.querySelectorAll('#task-rows tr[data-task]'); return r.length === 6 ? [r[0].dataset.task, r[5].dataset.task, document.querySelector('#older').disabled, document.querySelector('#task-page').textContent] : null")
        .await;
    assert_eq!(second, json!([made[5], made[0], true, "Page 2"]));
    browser.click("#newer").await;
    browser
        .wait_for("return document.querySelectorAll('#task-rows tr[data-task]').length === 50")
        .await;
    // A status filter starts again from the newest.
    browser.select("#filter-status", "failed").await;
    let failed = browser
        .wait_for("const r = [...document.querySelectorAll('#task-rows tr[data-task]')]; return r.length === 1 ? r[0].dataset.task : null")
        .await;
    assert_eq!(failed, json!(cancelled));
    browser.select("#filter-status", "").await;
    browser
        .wait_for("return document.querySelectorAll('#task-rows tr[data-task]').length === 50")
        .await;
    // Queued tasks have nothing to show yet: an empty thumbnail box each.
    assert_eq!(
        browser
            .eval("return [...document.querySelectorAll('#task-rows tr[data-task] td.thumb')].filter((td) => td.querySelector('.thumb-empty')).length")
            .await,
        json!(50)
    );
    // Search: a piece of the prompt in any case finds just that task (not "number 50 of"…).
    browser.type_into("#filter-q", "Number 5 OF").await;
    let searched = browser
        .wait_for("const r = [...document.querySelectorAll('#task-rows tr[data-task]')]; return r.length === 1 ? r[0].dataset.task : null")
        .await;
    assert_eq!(searched, json!(made[5]));
    // A task id finds its task.
    browser.select("#filter-q", &made[42]).await;
    let searched = browser
        .wait_for(&format!("const r = [...document.querySelectorAll('#task-rows tr[data-task]')]; return r.length === 1 && r[0].dataset.task === '{}' ? r[0].dataset.task : null", made[42]))
        .await;
    assert_eq!(searched, json!(made[42]));
    // Nothing matches: said so.
    browser.select("#filter-q", "no such words anywhere").await;
    browser
        .wait_for("const r = document.querySelector('#task-rows'); return r.querySelectorAll('tr[data-task]').length === 0 && r.textContent.includes('No tasks match')")
        .await;
    browser.select("#filter-q", "").await;
    browser
        .wait_for("return document.querySelectorAll('#task-rows tr[data-task]').length === 50")
        .await;
    // Days, in the browser's time zone: up to yesterday finds none; from today to today all.
    let day = |offset: i32| {
        format!("const d = new Date(); d.setDate(d.getDate() + ({offset})); return `${{d.getFullYear()}}-${{String(d.getMonth() + 1).padStart(2, '0')}}-${{String(d.getDate()).padStart(2, '0')}}`")
    };
    let yesterday = browser.eval(&day(-1)).await;
    let today = browser.eval(&day(0)).await;
    browser
        .select("#filter-to", yesterday.as_str().expect("a day"))
        .await;
    browser
        .wait_for("const r = document.querySelector('#task-rows'); return r.querySelectorAll('tr[data-task]').length === 0 && r.textContent.includes('No tasks match')")
        .await;
    browser
        .select("#filter-from", today.as_str().expect("a day"))
        .await;
    browser
        .select("#filter-to", today.as_str().expect("a day"))
        .await;
    let first_today = browser
        .wait_for("const r = document.querySelectorAll('#task-rows tr[data-task]'); return r.length === 50 ? [r[0].dataset.task, document.querySelector('#older').disabled] : null")
        .await;
    assert_eq!(first_today, json!([made[55], false]));
    browser.select("#filter-from", "").await;
    browser.select("#filter-to", "").await;
    browser
        .wait_for("return document.querySelectorAll('#task-rows tr[data-task]').length === 50")
        .await;
    // Open by id: an unknown one is said so; a known one opens its page.
    browser
        .type_into("#find-task", "vid_nosuchtask0000000000")
        .await;
    browser.click("#find").await;
    let said = browser
        .wait_for("return document.querySelector('#find-error').textContent || null")
        .await;
    assert!(said.as_str().unwrap_or("").contains("No task"), "{said}");
    browser.clear("#find-task").await;
    browser.type_into("#find-task", &made[10]).await;
    browser.click("#find").await;
    browser
        .wait_for(&format!("return location.hash === '#/tasks/{}' && document.querySelector('#task-status') !== null", made[10]))
        .await;
    // At a phone's width the task's heading and the tasks table fit their boxes.
    browser.set_window(390, 844).await;
    let heading = browser
        .wait_for("const h = document.querySelector('.page h2'); return window.innerWidth <= 400 && h ? [h.scrollWidth, h.clientWidth] : null")
        .await;
    assert!(
        heading[0].as_i64() <= heading[1].as_i64(),
        "task heading {heading}"
    );
    browser.goto(&format!("{}/#/tasks", app.base)).await;
    let table = browser
        .wait_for("const w = document.querySelector('.table-wrap'); const t = w && w.querySelector('table'); return t && document.querySelectorAll('#task-rows tr[data-task]').length ? [t.scrollWidth, w.clientWidth] : null")
        .await;
    assert!(
        table[0].as_i64() <= table[1].as_i64(),
        "tasks table {table}"
    );
    browser.set_window(1280, 1000).await;
    browser.quit().await;
    app.run_queued_tasks().await;
    app.finish().await;
}

#[tokio::test]
async fn in_a_browser_a_user_creates_and_rotates_the_webhook_secret_and_dark_mode_follows_the_system(
) {
    let (Some(chromium), Some(chromedriver)) = (program("chromium"), program("chromedriver"))
    else {
        println!("skipped: install chromium chromium-driver (scripts/test does)");
        return;
    };
    let app = spawn_app_with(with_admin(|_| {})).await;
    let browser = Browser::start(&chromium, &chromedriver).await;
    sign_in(&browser, &app, &app.key).await;
    browser.goto(&format!("{}/#/account", app.base)).await;
    browser.click("#webhook-create").await;
    let first = browser
        .wait_for("const s = document.querySelector('#new-secret'); return s && s.value || null")
        .await;
    assert!(
        first.as_str().unwrap_or("").starts_with("whsec_"),
        "{first}"
    );
    assert_eq!(app.account().await["webhook_secret_set"], true);
    browser.click("#secret-done").await;
    // Rotating asks first, then shows the new secret once.
    browser.click("#webhook-rotate").await;
    browser.click("#webhook-rotate-confirm").await;
    let second = browser
        .wait_for(&format!("const s = document.querySelector('#new-secret'); return s && s.value !== {first} ? s.value : null"))
        .await;
    assert!(
        second.as_str().unwrap_or("").starts_with("whsec_"),
        "{second}"
    );

    // Dark mode follows prefers-color-scheme (emulated through the DevTools protocol).
    let background = "return getComputedStyle(document.body).backgroundColor";
    let light = browser.eval(background).await;
    browser
        .command(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            Some(json!({"cmd": "Emulation.setEmulatedMedia", "params": {"features": [{"name": "prefers-color-scheme", "value": "dark"}]}})),
        )
        .await;
    let dark = browser
        .wait_for(&format!("const b = getComputedStyle(document.body).backgroundColor; return b !== {light} ? b : null"))
        .await;
    assert_eq!(dark, json!("rgb(20, 23, 27)"), "the dark background");
    browser
        .screenshot(&screenshot_dir().join("dark-account.png"))
        .await;
    browser.quit().await;
    app.finish().await;
}

/// Strings the two languages may share (none today: a name like "reelay" stays out of the
/// dictionaries).
const SAME_IN_BOTH: &[&str] = &[];

/// Issue 21: every key the console uses (`t("...")` in its scripts, `data-i18n*="..."` in the
/// page) is in both the English and the Chinese block of `console/i18n.js`, every key there is
/// used, and no Chinese string is the English one left untranslated.
#[test]
fn every_console_string_is_in_english_and_in_chinese() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("console");
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("console/{name}: {e}"))
    };
    let i18n = read("i18n.js");
    let en = dictionary(&i18n, "en");
    let zh = dictionary(&i18n, "zh");
    assert!(
        en.len() > 100,
        "the English block looks unread: {} keys",
        en.len()
    );
    let mut scripts: Vec<String> = std::fs::read_dir(&dir)
        .expect("console dir")
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".js"))
        .collect();
    scripts.sort();
    for needed in ["app.js", "account.js", "operator.js", "i18n.js"] {
        assert!(scripts.iter().any(|s| s == needed), "console/{needed}");
    }
    let mut used: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for name in &scripts {
        used.extend(t_keys(&read(name.as_str())));
    }
    used.extend(attribute_keys(&read("index.html")));
    assert!(
        used.contains("nav.playground") && used.contains("playground.title"),
        "{used:?}"
    );

    let mut problems = Vec::new();
    for key in &used {
        if !en.contains_key(key) {
            problems.push(format!("{key}: used but missing from the English block"));
        }
        if !zh.contains_key(key) {
            problems.push(format!("{key}: used but missing from the Chinese block"));
        }
    }
    let defined: std::collections::BTreeSet<&String> = en.keys().chain(zh.keys()).collect();
    for key in defined {
        if !used.contains(key) {
            problems.push(format!("{key}: defined but never used"));
        }
    }
    for (key, english) in &en {
        if zh.get(key) == Some(english) && !SAME_IN_BOTH.contains(&key.as_str()) {
            problems.push(format!("{key}: the Chinese is the English {english:?}"));
        }
    }
    assert!(
        problems.is_empty(),
        "console strings (console/i18n.js):\n{}",
        problems.join("\n")
    );
}

/// The `"key": "value",` lines of the `lang` block of console/i18n.js (`  en: {` to `  },`).
fn dictionary(source: &str, lang: &str) -> std::collections::BTreeMap<String, String> {
    let open = format!("  {lang}: {{");
    let mut lines = source
        .lines()
        .skip_while(|line| line.trim_end() != open.as_str());
    assert!(
        lines.next().is_some(),
        "console/i18n.js has no `{open}` block"
    );
    let mut map = std::collections::BTreeMap::new();
    for line in lines {
        let line = line.trim();
        if line.starts_with('}') {
            break;
        }
        let Some(rest) = line.strip_prefix('"') else {
            continue;
        };
        let (key, value) = rest
            .split_once("\": ")
            .unwrap_or_else(|| panic!("console/i18n.js: cannot read {line:?}"));
        let value = value.strip_suffix(',').unwrap_or(value).trim_matches('"');
        assert!(
            map.insert(key.to_string(), value.to_string()).is_none(),
            "console/i18n.js: {key} twice in {lang}"
        );
    }
    map
}

/// The keys of the `t("key"...)` and `t('key'...)` calls in a script.
fn t_keys(source: &str) -> Vec<String> {
    let bytes = source.as_bytes();
    let mut keys = Vec::new();
    let mut from = 0;
    while let Some(at) = source[from..].find("t(") {
        let start = from + at;
        from = start + 2;
        if start > 0 {
            let before = bytes[start - 1];
            if before.is_ascii_alphanumeric() || matches!(before, b'_' | b'$' | b'.') {
                continue;
            }
        }
        let rest = source[from..].trim_start();
        let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            continue;
        };
        if let Some(end) = rest[1..].find(quote) {
            keys.push(rest[1..1 + end].to_string());
        }
    }
    keys
}

/// The keys of `data-i18n="key"` (and `data-i18n-aria-label="key"`, ...) in the page.
fn attribute_keys(html: &str) -> Vec<String> {
    let mut keys = Vec::new();
    for (at, _) in html.match_indices("data-i18n") {
        let rest = &html[at + "data-i18n".len()..];
        let Some(eq) = rest.find("=\"") else {
            continue;
        };
        if !rest[..eq]
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '-')
        {
            continue;
        }
        let value = &rest[eq + 2..];
        if let Some(end) = value.find('"') {
            keys.push(value[..end].to_string());
        }
    }
    keys
}

#[tokio::test]
async fn in_a_browser_the_console_switches_to_chinese_remembers_it_and_fits_a_phone() {
    let (Some(chromium), Some(chromedriver)) = (program("chromium"), program("chromedriver"))
    else {
        println!("skipped: install chromium chromium-driver (scripts/test does)");
        return;
    };
    let app = spawn_app_with(with_admin(|_| {})).await;
    let browser = Browser::start(&chromium, &chromedriver).await;
    let shots = screenshot_dir();
    sign_in(&browser, &app, &app.key).await;
    // English by default (the test browser asks for en-US), and nothing saved until chosen.
    assert_eq!(
        browser
            .eval("return [document.documentElement.lang, document.querySelector('#lang').value, localStorage.getItem('reelay.lang'), document.querySelector('#playground h2').textContent]")
            .await,
        json!(["en", "en", null, "Playground"])
    );

    // 中文: the header, the page and <html lang> follow at once, and the choice is kept.
    browser.select("#lang", "zh").await;
    let seen = browser
        .wait_for("const h = document.querySelector('#playground h2'); return h && h.textContent === '创作台' && document.querySelector('#quote').textContent.startsWith('价格：') ? [document.documentElement.lang, [...document.querySelectorAll('#nav a')].filter((a) => !a.hidden).map((a) => a.textContent), document.querySelector('#signout').textContent, document.querySelector('label[for=f-model]').textContent, localStorage.getItem('reelay.lang')] : null")
        .await;
    assert_eq!(
        seen,
        json!([
            "zh-CN",
            ["创作台", "任务", "素材", "真人", "模型", "账户"],
            "退出登录",
            "模型",
            "zh"
        ])
    );
    assert_no_unlabelled_controls(&browser, "playground in Chinese").await;

    // Remembered: a fresh load of the page (same tab, still signed in) is in Chinese.
    browser.goto(&format!("{}/", app.base)).await;
    let again = browser
        .wait_for("const h = document.querySelector('#playground h2'); return h && h.textContent === '创作台' ? [document.documentElement.lang, document.querySelector('#lang').value, document.title] : null")
        .await;
    assert_eq!(again, json!(["zh-CN", "zh", "reelay 控制台"]));
    check_phone_width(&browser, &shots.join("zh1-phone-playground.png")).await;
    browser.goto(&format!("{}/#/tasks", app.base)).await;
    browser
        .wait_for("const h = document.querySelector('.page h2'); return h && h.textContent === '任务' && document.querySelector('#task-page').textContent === '第 1 页'")
        .await;
    check_phone_width(&browser, &shots.join("zh2-phone-tasks.png")).await;
    browser.goto(&format!("{}/#/account", app.base)).await;
    browser
        .wait_for("const h = document.querySelector('.page h2'); return h && h.textContent === '账户' && document.querySelector('#keys tr[data-key]') !== null")
        .await;
    check_phone_width(&browser, &shots.join("zh3-phone-account.png")).await;

    // Signed out, the sign-in form is in Chinese too; back to English from there.
    browser.click("#signout").await;
    browser
        .wait_for("const h = document.querySelector('#signin-view h2'); return h && !document.querySelector('#signin-view').hidden && h.textContent === '登录'")
        .await;
    browser.select("#lang", "en").await;
    let back = browser
        .wait_for("const h = document.querySelector('#signin-view h2'); return h && h.textContent === 'Sign in' ? [document.documentElement.lang, document.querySelector('#signin').textContent, localStorage.getItem('reelay.lang')] : null")
        .await;
    assert_eq!(back, json!(["en", "Sign in", "en"]));
    browser.quit().await;
    app.finish().await;
}

#[tokio::test]
async fn in_a_browser_an_operator_fails_a_stuck_task_from_the_task_log_and_it_is_refunded() {
    let (Some(chromium), Some(chromedriver)) = (program("chromium"), program("chromedriver"))
    else {
        println!("skipped: install chromium chromium-driver (scripts/test does)");
        return;
    };
    let mut options = with_admin(|_| {});
    options.workers = false;
    let app = spawn_app_with(options).await;
    let (other_account, other_key) = app.new_account(100_000).await;
    let stuck = app
        .create_task_with_key(&other_key, &text_request("seedance2.0-sp"))
        .await;
    let stuck = stuck.data()["task_id"].as_str().expect("id").to_string();
    let balance = || async {
        app.get_as(&other_key, "/account").await.data()["balance"]
            .as_i64()
            .expect("balance")
    };
    let before = balance().await;
    let browser = Browser::start(&chromium, &chromedriver).await;
    browser.goto(&format!("{}/", app.base)).await;
    browser.type_into("#token", ADMIN_TOKEN).await;
    browser.click("#signin").await;
    browser
        .wait_for("return location.hash === '#/operator'")
        .await;
    // Pausing a channel is asked once more, in place; the first click changes nothing.
    browser.click("[data-switch=\"local\"]").await;
    browser
        .wait_for("return document.querySelector('[data-switch-confirm=\"local\"]') !== null")
        .await;
    let channels = app.admin_get("/channels").await;
    assert!(
        !channels.text.contains("\"paused\":true"),
        "{}",
        channels.text
    );
    browser.click("[data-switch-confirm=\"local\"]").await;
    browser
        .wait_for("const b = document.querySelector('[data-switch=\"local\"]'); return b && b.textContent.startsWith('Resume')")
        .await;
    browser.click("[data-switch=\"local\"]").await;
    browser.click("[data-switch-confirm=\"local\"]").await;
    browser
        .wait_for("const b = document.querySelector('[data-switch=\"local\"]'); return b && b.textContent.startsWith('Pause')")
        .await;
    browser.click("a[href='#/operator/tasks']").await;
    browser
        .wait_for(&format!(
            "return document.querySelector('[data-fail=\"{stuck}\"]') !== null"
        ))
        .await;
    assert_no_unlabelled_controls(&browser, "task log").await;
    browser.click(&format!("[data-fail=\"{stuck}\"]")).await;
    // No reason: refused in place, nothing failed.
    browser.click("#log-fail-confirm").await;
    browser
        .wait_for("return document.querySelector('#err-log-reason').textContent !== ''")
        .await;
    let task_of = |id: String| {
        let request = app
            .client
            .get(app.url(&format!("/videos/{id}")))
            .bearer_auth(&other_key);
        async move {
            answer(request.send().await.expect("send"))
                .await
                .data()
                .clone()
        }
    };
    assert_eq!(task_of(stuck.clone()).await["status"], "queued");
    browser
        .type_into("#log-reason", "stuck upstream for an hour")
        .await;
    browser.click("#log-fail-confirm").await;
    let done = browser
        .wait_for("return document.querySelector('#log-done').textContent || null")
        .await;
    assert!(
        done.as_str().unwrap_or("").contains(&other_account),
        "{done}"
    );
    browser
        .wait_for(&format!("const r = document.querySelector('tr[data-task=\"{stuck}\"] td.status-failed'); return r !== null"))
        .await;
    let task = task_of(stuck.clone()).await;
    assert_eq!(task["error"]["code"], "operator_failed");
    assert_eq!(
        balance().await,
        before + task["cost"]["credits"].as_i64().expect("price")
    );
    browser.quit().await;
    app.finish().await;
}

#[tokio::test]
async fn in_a_browser_the_models_page_groups_families_and_prices_from_480p_up() {
    let (Some(chromium), Some(chromedriver)) = (program("chromium"), program("chromedriver"))
    else {
        println!("skipped: install chromium chromium-driver (scripts/test does)");
        return;
    };
    let app = spawn_app_with(with_admin(|_| {})).await;
    let catalog = app.get("/models").await;
    let items = catalog.data()["items"].as_array().expect("models").clone();
    let families: std::collections::BTreeSet<String> = items
        .iter()
        .map(|m| m["family"].as_str().unwrap_or("").to_string())
        .collect();
    let sp = items
        .iter()
        .find(|m| m["model"] == "seedance2.0-sp")
        .expect("seedance2.0-sp");
    let price_720 = sp["prices"]["720p"].as_i64().expect("720p price");
    let browser = Browser::start(&chromium, &chromedriver).await;
    sign_in(&browser, &app, &app.key).await;
    // The balance is in view while creating.
    let shown = browser
        .wait_for(
            "const b = document.querySelector('#pg-balance'); return b && b.textContent || null",
        )
        .await;
    let balance = app.balance().await;
    assert!(
        shown
            .as_str()
            .unwrap_or("")
            .replace(',', "")
            .contains(&balance.to_string()),
        "{shown}"
    );
    browser.click("a[href='#/models']").await;
    let seen = browser
        .wait_for("const s = [...document.querySelectorAll('section[data-family]')]; return s.length ? s.map((x) => x.dataset.family) : null")
        .await;
    let seen: std::collections::BTreeSet<String> = seen
        .as_array()
        .expect("families")
        .iter()
        .map(|f| f.as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(seen, families, "one section per family");
    let headers = browser
        .eval("return [...document.querySelector('tr[data-model=\"seedance2.0-sp\"]').closest('table').querySelectorAll('thead th.num')].map((th) => th.textContent)")
        .await;
    let headers: Vec<String> = headers
        .as_array()
        .expect("headers")
        .iter()
        .map(|h| h.as_str().unwrap_or("").to_string())
        .collect();
    let rank = |r: &str| match r {
        "480p" => 0,
        "720p" => 1,
        "1080p" => 2,
        "2k" => 3,
        "4k" => 4,
        _ => 5,
    };
    assert!(
        headers.windows(2).all(|w| rank(&w[0]) <= rank(&w[1])),
        "480p → 4k: {headers:?}"
    );
    let cell = browser
        .eval("return document.querySelector('tr[data-model=\"seedance2.0-sp\"] td[data-resolution=\"720p\"]').textContent")
        .await;
    assert_eq!(
        cell.as_str().unwrap_or("").replace(',', ""),
        price_720.to_string()
    );
    assert_no_unlabelled_controls(&browser, "models").await;
    check_phone_width(&browser, &screenshot_dir().join("m1-phone-models.png")).await;
    browser.quit().await;
    app.finish().await;
}

#[tokio::test]
async fn in_a_browser_a_task_page_shows_its_inputs_and_reopens_in_the_playground() {
    let (Some(chromium), Some(chromedriver)) = (program("chromium"), program("chromedriver"))
    else {
        println!("skipped: install chromium chromium-driver (scripts/test does)");
        return;
    };
    let app = spawn_app_with(with_admin(|_| {})).await;
    let media = media_server(vec![("start.png", png(640, 360, [200, 80, 20]))]).await;
    let first_image = format!("{}/start.png", media.base);
    let created = app
        .create_task(&json!({"model": "seedance2.0-sp", "prompt": "a red kite\nover the dunes", "duration": 5, "first_image": first_image, "return_last_frame": true}))
        .await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let task_id = created.data()["task_id"].as_str().expect("id").to_string();
    let done = app.wait_terminal(&task_id).await;
    assert_eq!(done["status"], "completed", "{done}");
    let last_frame = done["result"]["last_frame_url"]
        .as_str()
        .expect("last frame")
        .to_string();
    // A task without a last frame: its thumbnail is the video's first moment.
    let plain = app.create_task(&text_request("seedance2.0-sp")).await;
    let plain = plain.data()["task_id"].as_str().expect("id").to_string();
    let plain_done = app.wait_terminal(&plain).await;
    assert_eq!(plain_done["status"], "completed", "{plain_done}");
    let video_url = plain_done["result"]["video_url"]
        .as_str()
        .expect("video url")
        .to_string();
    let browser = Browser::start(&chromium, &chromedriver).await;
    sign_in(&browser, &app, &app.key).await;

    // The tasks list: the last frame as a picture, else the video (muted, metadata only).
    browser.goto(&format!("{}/#/tasks", app.base)).await;
    let pictured = browser
        .wait_for(&format!("const i = document.querySelector('tr[data-task=\"{task_id}\"] td.thumb img'); return i && i.complete && i.naturalWidth > 0 ? i.getAttribute('src') : null"))
        .await;
    let path = |url: &str| url.split(['?', '#']).next().unwrap_or("").to_string();
    assert_eq!(
        path(pictured.as_str().unwrap_or("")),
        path(last_frame.as_str()),
        "the last frame"
    );
    let moving = browser
        .wait_for(&format!("const v = document.querySelector('tr[data-task=\"{plain}\"] td.thumb video'); return v && v.readyState >= 1 ? [v.getAttribute('src'), v.muted, v.getAttribute('preload')] : null"))
        .await;
    let src = moving[0].as_str().unwrap_or("");
    assert!(src.ends_with("#t=0.1"), "{src}");
    assert_eq!(path(src), path(video_url.as_str()));
    assert_eq!(moving[1], json!(true), "muted");
    assert_eq!(moving[2], json!("metadata"));
    // The 2 s refresh keeps the thumbnails as they are (they would load again if rebuilt).
    browser
        .eval(&format!("document.querySelector('tr[data-task=\"{task_id}\"] td.thumb img').dataset.kept = 'yes'; document.querySelector('tr[data-task=\"{plain}\"] td.thumb video').dataset.kept = 'yes'; return true"))
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(4500)).await;
    assert_eq!(
        browser
            .eval(&format!("return [document.querySelector('tr[data-task=\"{task_id}\"] td.thumb img').dataset.kept, document.querySelector('tr[data-task=\"{plain}\"] td.thumb video').dataset.kept]"))
            .await,
        json!(["yes", "yes"]),
        "the same elements after two refreshes"
    );
    browser
        .goto(&format!("{}/#/tasks/{task_id}", app.base))
        .await;
    let shown = browser
        .wait_for("const p = document.querySelector('#task-prompt'); const r = document.querySelector('#task-request'); return p && r ? [p.textContent, r.textContent, document.querySelectorAll('#task-inputs img').length] : null")
        .await;
    assert_eq!(shown[0], "a red kite\nover the dunes", "the prompt as text");
    let request: serde_json::Value =
        serde_json::from_str(shown[1].as_str().unwrap_or("")).expect("request JSON");
    let object = request.as_object().expect("object");
    assert!(
        !object.contains_key("family"),
        "no internal fields: {request}"
    );
    assert!(object.values().all(|v| !v.is_null()), "no nulls: {request}");
    assert_eq!(shown[2], 1, "the first frame is previewed");
    // Copy as curl: its body is a create the API takes as it is.
    let curl = browser
        .eval("return document.querySelector('#curl').textContent")
        .await;
    let body = curl
        .as_str()
        .and_then(|c| c.split("-d '").nth(1))
        .and_then(|b| b.strip_suffix('\''))
        .expect("curl body")
        .replace("'\\''", "'");
    let again: serde_json::Value = serde_json::from_str(&body).expect("curl body JSON");
    let copied = app.create_task(&again).await;
    assert_eq!(copied.status, 200, "{again}: {:?}", copied.body);
    let copied = copied.data()["task_id"].as_str().expect("id").to_string();
    // The last frame becomes the next task's first frame.
    browser.click("#use-last-frame").await;
    let filled = browser
        .wait_for("const f = document.querySelector('#f-first_image'); return location.hash === '#/playground' && f && f.value ? [document.querySelector('#f-model').value, f.value, document.querySelector('#f-prompt').value] : null")
        .await;
    assert_eq!(
        filled,
        json!(["seedance2.0-sp", last_frame, "a red kite\nover the dunes"])
    );
    // "Open in Playground" brings every field back.
    browser
        .goto(&format!("{}/#/tasks/{task_id}", app.base))
        .await;
    browser.click("#open-playground").await;
    let filled = browser
        .wait_for("const d = document.querySelector('#f-duration'); return location.hash === '#/playground' && d ? [d.value, document.querySelector('#f-first_image').value, document.querySelector('#f-return_last_frame').checked] : null")
        .await;
    assert_eq!(filled, json!(["5", first_image, true]));
    browser.quit().await;
    assert_eq!(app.wait_terminal(&copied).await["status"], "completed");
    app.finish().await;
}

#[tokio::test]
async fn in_a_browser_a_user_uploads_previews_and_deletes_assets_and_whitelists_a_person() {
    let (Some(chromium), Some(chromedriver)) = (program("chromium"), program("chromedriver"))
    else {
        println!("skipped: install chromium chromium-driver (scripts/test does)");
        return;
    };
    let app = spawn_app_with(with_admin(|_| {})).await;
    let media = media_server(vec![
        ("harbour.png", png(640, 360, [40, 90, 160])),
        ("face.png", png(600, 800, [180, 140, 120])),
    ])
    .await;
    let browser = Browser::start(&chromium, &chromedriver).await;
    let shots = screenshot_dir();
    sign_in(&browser, &app, &app.key).await;
    browser.click("a[href='#/assets']").await;
    browser
        .wait_for("const p = document.querySelector('#assets-page'); return p !== null && p.textContent !== ''")
        .await;
    assert_no_unlabelled_controls(&browser, "assets").await;

    // Neither a URL nor a file: said next to the URL field.
    browser.click("#asset-upload").await;
    browser
        .wait_for("return document.querySelector('#err-asset-url').textContent !== ''")
        .await;

    // A file: probed before the answer, so listed Active at once, under its own name.
    let dir = tempfile::tempdir().expect("dir");
    let image = dir.path().join("lighthouse.png");
    std::fs::write(&image, png(640, 360, [200, 80, 20])).expect("png written");
    browser
        .type_into("#asset-file", &image.display().to_string())
        .await;
    browser.click("#asset-upload").await;
    let by_file = browser
        .wait_for("const r = document.querySelectorAll('#asset-rows tr[data-asset]'); return r.length === 1 && r[0].querySelector('[data-status=\"Active\"]') && r[0].textContent.includes('lighthouse.png') ? r[0].dataset.asset : null")
        .await
        .as_str()
        .expect("asset id")
        .to_string();
    assert_eq!(
        browser
            .eval("return document.querySelector('#err-asset-url').textContent")
            .await,
        json!(""),
        "the earlier error is gone"
    );

    // A URL: fetched in the background; the list looks again until it is Active.
    browser.type_into("#asset-name", "harbour").await;
    browser
        .type_into("#asset-url", &format!("{}/harbour.png", media.base))
        .await;
    browser.click("#asset-upload").await;
    let by_url = browser
        .wait_for(&format!("const r = [...document.querySelectorAll('#asset-rows tr[data-asset]')]; const n = r.find((x) => x.dataset.asset !== '{by_file}'); return r.length === 2 && n && n.querySelector('[data-status=\"Active\"]') && n.textContent.includes('harbour') ? n.dataset.asset : null"))
        .await
        .as_str()
        .expect("asset id")
        .to_string();
    // Both thumbnails show the stored pictures.
    browser
        .wait_for("const i = [...document.querySelectorAll('#asset-rows td.thumb img')]; return i.length === 2 && i.every((x) => x.complete && x.naturalWidth === 640)")
        .await;
    browser.screenshot(&shots.join("a1-assets.png")).await;
    check_phone_width(&browser, &shots.join("a2-phone-assets.png")).await;

    // The detail: the picture, its facts, its reference to copy.
    browser
        .click(&format!("tr[data-asset=\"{by_url}\"] a"))
        .await;
    let shown = browser
        .wait_for("const p = document.querySelector('#asset-preview'); const r = document.querySelector('#asset-ref'); return p && r && p.tagName === 'IMG' && p.getAttribute('src') && p.complete && p.naturalWidth > 0 ? [p.naturalWidth, r.value, document.querySelector('#asset-facts').textContent] : null")
        .await;
    assert_eq!(shown[0], 640);
    assert_eq!(shown[1], json!(format!("asset://{by_url}")));
    let facts = shown[2].as_str().unwrap_or("");
    assert!(
        facts.contains("640×360") && facts.contains("png") && facts.contains("Active"),
        "{facts}"
    );
    assert_no_unlabelled_controls(&browser, "asset").await;
    browser.click("#copy-ref").await;
    browser
        .wait_for("return document.querySelector('#copy-ref').textContent !== 'Copy'")
        .await;
    browser.screenshot(&shots.join("a3-asset.png")).await;
    check_phone_width(&browser, &shots.join("a4-phone-asset.png")).await;

    // Delete: asked once more in place; nothing is deleted by the first click.
    browser.click("#delete-asset").await;
    browser
        .wait_for("return document.querySelector('#confirm-delete') !== null")
        .await;
    assert_eq!(
        app.asset_detail_as(&app.key, &by_url).await.status,
        200,
        "not deleted before the confirmation"
    );
    browser.click("#confirm-delete").await;
    browser
        .wait_for(&format!("return location.hash === '#/assets' && document.querySelector('tr[data-asset=\"{by_file}\"]') !== null && document.querySelector('tr[data-asset=\"{by_url}\"]') === null"))
        .await;
    assert_eq!(app.asset_detail_as(&app.key, &by_url).await.status, 404);
    assert_eq!(
        app.asset_detail_as(&app.key, &by_file).await.data()["status"],
        "Active"
    );

    // A real person: submitted by URL, waits for an operator, then Active with its reference.
    browser.click("a[href='#/people']").await;
    browser
        .wait_for("const p = document.querySelector('#people-page'); return p !== null && p.textContent !== ''")
        .await;
    assert_no_unlabelled_controls(&browser, "people").await;
    // The form's own check comes first: a person needs a name, then exactly one photo source.
    browser.click("#person-submit").await;
    let no_name = browser
        .wait_for("const e = document.querySelector('#err-person-name'); return e && e.textContent !== '' ? e.textContent : null")
        .await;
    assert!(!no_name.as_str().unwrap_or("").is_empty(), "{no_name}");
    browser.type_into("#person-name", "Ada").await;
    browser.click("#person-submit").await;
    browser
        .wait_for("const e = document.querySelector('#err-person-url'); return e && e.textContent !== '' ? e.textContent : null")
        .await;
    let name_error = browser
        .eval("return document.querySelector('#err-person-name').textContent")
        .await;
    assert_eq!(name_error, json!(""), "a fixed field's error is cleared");
    browser
        .type_into("#person-url", &format!("{}/face.png", media.base))
        .await;
    browser.click("#person-submit").await;
    let person = browser
        .wait_for("const r = document.querySelectorAll('#people-rows tr[data-person]'); return r.length === 1 ? r[0].dataset.person : null")
        .await
        .as_str()
        .expect("rp id")
        .to_string();
    assert!(person.starts_with("rp_"), "{person}");
    app.wait_asset(&person).await;
    let pending = browser
        .wait_for(&format!("const s = document.querySelector('[data-state=\"{person}\"]'); return s && s.textContent.includes('review') ? s.textContent : null"))
        .await;
    assert!(
        pending.as_str().unwrap_or("").contains("operator"),
        "{pending}"
    );
    browser
        .screenshot(&shots.join("a5-people-pending.png"))
        .await;
    let approved = app
        .admin_post(&format!("/reviews/{person}/approve"), &json!({}))
        .await;
    assert_eq!(approved.status, 200, "{:?}", approved.body);
    let reference = browser
        .wait_for(&format!("const r = document.querySelector('[data-ref=\"{person}\"]'); const s = document.querySelector('tr[data-person=\"{person}\"] [data-status]'); return r && s && s.dataset.status === 'Active' ? r.textContent : null"))
        .await;
    assert_eq!(reference, json!(format!("asset://{person}")));
    browser
        .click(&format!("[data-copy-ref=\"{person}\"]"))
        .await;
    browser
        .wait_for(&format!(
            "return document.querySelector('[data-copy-ref=\"{person}\"]').textContent !== 'Copy'"
        ))
        .await;
    browser
        .screenshot(&shots.join("a6-people-active.png"))
        .await;
    check_phone_width(&browser, &shots.join("a7-phone-people.png")).await;
    browser.quit().await;
    app.finish().await;
}
