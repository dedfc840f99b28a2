//! The web console (issue 8): a plain HTML page, four scripts and one stylesheet under `console/`
//! at the repository root, embedded in the binary with `include_str!` so `reelay serve` alone
//! serves it, with no build step. The console is just another API client: it signs in with an
//! API key or the admin token (kept in the tab's `sessionStorage`) and calls the public and admin
//! routes like any other client; these routes serve only static text and need no auth.

use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::AppState;

/// The page at `GET /`.
pub(crate) const INDEX_HTML: &str = include_str!("../../console/index.html");
/// `GET /console/i18n.js`: the console's strings in English and Chinese, and `t()`.
pub(crate) const I18N_JS: &str = include_str!("../../console/i18n.js");
/// `GET /console/app.js`.
pub(crate) const APP_JS: &str = include_str!("../../console/app.js");
/// `GET /console/account.js`: the Account page.
pub(crate) const ACCOUNT_JS: &str = include_str!("../../console/account.js");
/// `GET /console/models.js`: the Models page.
pub(crate) const MODELS_JS: &str = include_str!("../../console/models.js");
/// `GET /console/operator.js`: the operator's pages.
pub(crate) const OPERATOR_JS: &str = include_str!("../../console/operator.js");
/// `GET /console/style.css`.
pub(crate) const STYLE_CSS: &str = include_str!("../../console/style.css");

/// Scripts and styles only from this origin; results (`video_url`, previews) may be presigned
/// object-store URLs on another origin, so media and images may come from anywhere.
const CSP: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src * data: blob:; \
media-src * blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/",
            get(|| async { file("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/console/i18n.js",
            get(|| async { file("text/javascript; charset=utf-8", I18N_JS) }),
        )
        .route(
            "/console/app.js",
            get(|| async { file("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/console/account.js",
            get(|| async { file("text/javascript; charset=utf-8", ACCOUNT_JS) }),
        )
        .route(
            "/console/models.js",
            get(|| async { file("text/javascript; charset=utf-8", MODELS_JS) }),
        )
        .route(
            "/console/operator.js",
            get(|| async { file("text/javascript; charset=utf-8", OPERATOR_JS) }),
        )
        .route(
            "/console/style.css",
            get(|| async { file("text/css; charset=utf-8", STYLE_CSS) }),
        )
}

/// One embedded file with its type; `no-cache` so a new binary's console shows at once.
fn file(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            (CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)),
        ],
        body,
    )
        .into_response()
}
