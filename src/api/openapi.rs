//! `GET /openapi.json`: the OpenAPI 3.1 document of the public, admin and ops routes, generated
//! from the code with `utoipa` (API.md §8).
//!
//! Each route module carries `#[utoipa::path]` on its handlers and an `ApiDoc` listing them,
//! next to its `router()`; [`ApiDoc`] here nests them under the same prefixes as [`super::router`].
//! The schemas are those of the wire types the handlers answer with (`crate::wire`), so the
//! document describes what the handlers write; `scripts/fuzz-api` (schemathesis) also checks the
//! real answers against it.
//!
//! `docs/openapi.json` is the committed snapshot; `tests/it/openapi.rs` fails when the served
//! document drifts from it (rewrite it with `UPDATE_OPENAPI_SNAPSHOT=1`) and when a route of the
//! router is missing from the document.

use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::AppState;

/// Name of the security scheme of `/api/open-api/v1` (an `sk_…` API key).
pub(crate) const API_KEY: &str = "api_key";
/// Name of the security scheme of `/admin/v1` (the operator's admin token).
pub const ADMIN_TOKEN: &str = "admin_token";

/// The whole document: every module's paths under its prefix.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "reelay",
        description = "Self-hostable gateway for AI video generation speaking the Seedance 2.0 task API. \
            Every response of `/api/open-api/v1` and `/admin/v1` is the envelope `{code, msg, data}`: \
            `code` is 0 (or the string \"20000\" with `api.success_code = \"20000\"`) on success and an \
            integer error code (API.md §1) otherwise; `data` is `null` or `{param}` on errors.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    nest(
        (path = "/api/open-api/v1", api = super::videos::ApiDoc),
        (path = "/api/open-api/v1", api = super::events::ApiDoc),
        (path = "/api/open-api/v1", api = super::content::ApiDoc),
        (path = "/api/open-api/v1", api = super::assets::ApiDoc),
        (path = "/api/open-api/v1", api = super::realperson::ApiDoc),
        (path = "/api/open-api/v1", api = super::account::ApiDoc),
        (path = "/api/open-api/v1", api = super::companion::ApiDoc),
        (path = "/api/v3", api = super::ark::ApiDoc),
        (path = "/v1", api = super::openai::ApiDoc),
        (path = "/api/open-api/v1", api = super::webhooks::ApiDoc),
        (path = "/admin/v1", api = super::admin::ApiDoc),
        (path = "/admin/v1", api = super::admin::accounts::ApiDoc),
        (path = "/admin/v1", api = super::admin::assets::ApiDoc),
        (path = "/admin/v1", api = super::admin::channels::ApiDoc),
        (path = "/admin/v1", api = super::admin::tasks::ApiDoc),
    ),
    paths(
        super::ops::healthz,
        super::ops::readyz,
        super::metrics::scrape,
        openapi_json,
    ),
    modifiers(&Finish),
    tags(
        (name = "tasks", description = "Video tasks (API.md §2)"),
        (name = "assets", description = "Asset library, Full-route audit and real-person whitelist (API.md §3)"),
        (name = "account", description = "Account, ledger, keys, webhook secret and the model catalog (API.md §4, §6)"),
        (name = "admin", description = "Admin API, bearer admin token (API.md §5)"),
        (name = "ops", description = "Health, readiness, metrics and this document (API.md §8)"),
    ),
)]
pub struct ApiDoc;

/// Adds the security schemes and `info.version`.
struct Finish;

impl Modify for Finish {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi.info.version = env!("CARGO_PKG_VERSION").to_string();
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut api_key = Http::new(HttpAuthScheme::Bearer);
        api_key.bearer_format = Some("sk_…".to_string());
        api_key.description = Some(
            "An API key (`Authorization: Bearer sk_…`); missing, unknown or revoked keys get 401 / 40100."
                .to_string(),
        );
        components.add_security_scheme(API_KEY, SecurityScheme::Http(api_key));
        let mut admin = Http::new(HttpAuthScheme::Bearer);
        admin.description = Some(
            "The admin token (`admin.token` / `REELAY_ADMIN__TOKEN`); an API key gets 403 / 40300; \
             the admin API answers 404 when no token is configured."
                .to_string(),
        );
        components.add_security_scheme(ADMIN_TOKEN, SecurityScheme::Http(admin));
    }
}

/// The document as served (and as committed in `docs/openapi.json`): pretty JSON, final newline.
pub(crate) fn document_json() -> String {
    let mut text = ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}"));
    text.push('\n');
    text
}

pub fn router() -> Router<AppState> {
    let document = std::sync::Arc::<str>::from(document_json());
    Router::new().route(
        "/openapi.json",
        get(move || {
            let document = document.clone();
            async move { openapi_response(&document) }
        }),
    )
}

fn openapi_response(document: &str) -> Response {
    let mut response = document.to_string().into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// This document (OpenAPI 3.1), generated from the code.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "ops",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object)),
)]
#[allow(dead_code)] // the route serves a document built once; this only describes it
async fn openapi_json() {}
