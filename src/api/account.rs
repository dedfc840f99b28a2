//! Account, ledger and catalog routes (API.md §4), and the account's own API keys (an
//! extension: list, create with the secret shown once, revoke; decisions in `docs/DEVX.md`).

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::Value;

use super::envelope::Data;
use super::error::{ApiError, ErrorCode};
use super::extract::{Caller, JsonObject, Path, Query};
use super::listing::{parse_limit, seq_cursor, split_by_seq};
use super::AppState;
use crate::accounts::{AccountError, ApiKey};
use crate::wire::envelope::{
    Envelope, Error400, Error401, Error404, Error409, Error413, Error429, Error500,
};
use crate::wire::seed::{
    AccountKey, AccountKeyCreated, AccountKeyList, AccountView, KeyCreateRequest, LedgerEntry,
    LedgerPage, ModelList,
};

/// Longest key name, in characters.
const KEY_NAME_MAX_CHARS: usize = 64;
/// Most active keys one account may hold; creating more is 409 until one is revoked.
const MAX_ACTIVE_KEYS: usize = 100;

/// The account routes' part of `/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(paths(models, account, ledger_page, list_keys, create_key, revoke_key))]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(&super::v1("/models"), get(models))
        .route(&super::v1("/account"), get(account))
        .route(&super::v1("/account/ledger"), get(ledger_page))
        .route(&super::v1("/account/keys"), get(list_keys).post(create_key))
        .route(
            &super::v1("/account/keys/{key_id}/revoke"),
            post(revoke_key),
        )
}

/// The model catalog as the server enforces it, with the channels serving each model.
#[utoipa::path(
    get,
    path = "/models",
    tag = "account",
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Every model", body = Envelope<ModelList>),
        (status = 401, description = "40100 missing or invalid API key", body = Error401),
        (status = 429, description = "42900 key's request rate limit", body = Error429, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn models(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Data<ModelList>, ApiError> {
    let channels = state.channels.clone();
    let listing = state
        .catalog
        .models_listing(&|model: &str| channels.serving(model));
    // The catalog publishes itself (`reelay_catalog`'s `listing.rs`); read as the wire type,
    // which declares every member it writes (`models_answer_is_the_catalog_listing` below).
    let models: ModelList = serde_json::from_value(listing).map_err(ApiError::internal)?;
    Ok(Data(state.success, models))
}

/// The caller's account and balance.
#[utoipa::path(
    get,
    path = "/account",
    tag = "account",
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The account", body = Envelope<AccountView>),
        (status = 401, description = "40100 missing or invalid API key", body = Error401),
        (status = 404, description = "40400 the key's account is gone", body = Error404),
        (status = 429, description = "42900 key's request rate limit", body = Error429, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn account(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Data<AccountView>, ApiError> {
    let account = state
        .accounts
        .account(&caller.account_id)
        .await?
        .ok_or_else(|| ApiError::not_found("account"))?;
    Ok(Data(
        state.success,
        AccountView {
            account_id: account.id,
            balance: account.balance,
            name: account.name,
            spent_total: account.spent_total,
            webhook_secret_set: account.webhook_secret.is_some(),
        },
    ))
}

#[derive(Deserialize)]
pub(crate) struct LedgerParams {
    limit: Option<String>,
    cursor: Option<String>,
}

/// The account's ledger, newest first.
#[utoipa::path(
    get,
    path = "/account/ledger",
    tag = "account",
    security(("api_key" = [])),
    params(
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "1-100, default 20"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of ledger entries", body = Envelope<LedgerPage>),
        (status = 400, description = "40001 bad limit or cursor", body = Error400),
        (status = 401, description = "40100 missing or invalid API key", body = Error401),
        (status = 429, description = "42900 key's request rate limit", body = Error429, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn ledger_page(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<LedgerParams>,
) -> Result<Data<LedgerPage>, ApiError> {
    let page = ledger_of(&state, &caller.account_id, &params).await?;
    Ok(Data(state.success, page))
}

/// A page of an account's ledger, newest first (the user's own, and the operator's view of any
/// account's).
pub(crate) async fn ledger_of(
    state: &AppState,
    account_id: &str,
    params: &LedgerParams,
) -> Result<LedgerPage, ApiError> {
    let limit = parse_limit(params.limit.as_deref())?;
    let before = seq_cursor(params.cursor.as_deref())?;
    let entries = state
        .accounts
        .ledger_page(account_id, before, limit + 1)
        .await?;
    let (entries, next_cursor) = split_by_seq(&entries, limit, |e| e.seq);
    let items = entries
        .iter()
        .map(|e| LedgerEntry {
            at: e.at,
            balance_after: e.balance_after,
            credits: e.credits,
            id: format!("led_{}", e.seq),
            kind: e.kind.clone(),
            task_id: e.task_id.clone(),
        })
        .collect();
    Ok(LedgerPage { items, next_cursor })
}

/// One key as its account sees it: never the secret or its hash. `current` marks the key
/// this request was made with.
fn key_view(key: ApiKey, caller: &Caller) -> AccountKey {
    AccountKey {
        created_at: key.created_at,
        current: key.id == caller.key_id,
        key_id: key.id,
        max_in_flight: key.max_in_flight,
        name: key.name,
        prefix: key.lookup,
        quota: key.quota.unwrap_or(0).max(0),
        quota_used: key.quota_used,
        revoked_at: key.revoked_at,
        rpm: key.rpm,
    }
}

/// `GET /account/keys`: every key of the caller's account, revoked ones included, oldest first.
#[utoipa::path(
    get,
    path = "/account/keys",
    tag = "account",
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The account's keys, oldest first", body = Envelope<AccountKeyList>),
        (status = 401, description = "40100 missing or invalid API key", body = Error401),
        (status = 429, description = "42900 key's request rate limit", body = Error429, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn list_keys(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Data<AccountKeyList>, ApiError> {
    let items = state
        .accounts
        .keys_of(&caller.account_id)
        .await?
        .into_iter()
        .map(|key| key_view(key, &caller))
        .collect();
    Ok(Data(state.success, AccountKeyList { items }))
}

/// The `name` of a new key: a string of 1 to 64 characters once trimmed, no control characters.
fn key_name(body: &Value) -> Result<String, ApiError> {
    let name = match body.get("name") {
        None | Some(Value::Null) => {
            return Err(ApiError::field(
                "name",
                format!("name: required, a string of 1 to {KEY_NAME_MAX_CHARS} characters"),
            ))
        }
        Some(Value::String(name)) => name.trim(),
        Some(_) => {
            return Err(ApiError::field(
                "name",
                format!("name: must be a string of 1 to {KEY_NAME_MAX_CHARS} characters"),
            ))
        }
    };
    let chars = name.chars().count();
    if chars == 0 || chars > KEY_NAME_MAX_CHARS {
        return Err(ApiError::field(
            "name",
            format!(
                "name: must be 1 to {KEY_NAME_MAX_CHARS} characters, \
                 not counting surrounding spaces (got {chars})"
            ),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(ApiError::field(
            "name",
            "name: must not contain control characters (line breaks, tabs)",
        ));
    }
    Ok(name.to_string())
}

/// `POST /account/keys {name}`: a new key for the caller's account; the secret is in this
/// answer only.
#[utoipa::path(
    post,
    path = "/account/keys",
    tag = "account",
    security(("api_key" = [])),
    request_body(content = KeyCreateRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The new key with its secret (shown once)", body = Envelope<AccountKeyCreated>),
        (status = 400, description = "40000 bad JSON body; 40001 bad name", body = Error400),
        (status = 401, description = "40100 missing or invalid API key", body = Error401),
        (status = 409, description = "40900 the account has the most active keys allowed", body = Error409),
        (status = 413, description = "41300 body larger than the JSON limit", body = Error413),
        (status = 429, description = "42900 key's request rate limit", body = Error429, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn create_key(
    State(state): State<AppState>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> Result<Data<AccountKeyCreated>, ApiError> {
    let name = key_name(&body)?;
    let made = state
        .accounts
        .create_key(&caller.account_id, &name, Some(MAX_ACTIVE_KEYS))
        .await
        .map_err(|e| match e {
            // The calling key's own account is gone: not the caller's mistake.
            AccountError::NoAccount(_) => ApiError::internal(e),
            other => ApiError::from(other),
        })?;
    tracing::info!(key_id = %made.key.id, by = %caller.key_id, "API key created by its account");
    let view = key_view(made.key, &caller);
    Ok(Data(
        state.success,
        AccountKeyCreated {
            created_at: view.created_at,
            current: view.current,
            key_id: view.key_id,
            max_in_flight: view.max_in_flight,
            name: view.name,
            prefix: view.prefix,
            quota: view.quota,
            quota_used: view.quota_used,
            revoked_at: view.revoked_at,
            rpm: view.rpm,
            secret: made.secret,
        },
    ))
}

/// `POST /account/keys/{key_id}/revoke`: revokes one of the caller's account's keys, the
/// calling key included (the request that revokes it still succeeds; the next one gets 401).
/// Another account's key, or an unknown id, is 404; a key already revoked is 409.
#[utoipa::path(
    post,
    path = "/account/keys/{key_id}/revoke",
    tag = "account",
    security(("api_key" = [])),
    params(("key_id" = String, Path, description = "`key_…`")),
    responses(
        (status = 200, description = "The revoked key", body = Envelope<AccountKey>),
        (status = 401, description = "40100 missing or invalid API key", body = Error401),
        (status = 404, description = "40400 no such key in the caller's account", body = Error404),
        (status = 409, description = "40900 the key is already revoked", body = Error409),
        (status = 429, description = "42900 key's request rate limit", body = Error429, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
#[tracing::instrument(skip_all, fields(account_id = %caller.account_id, key_id = %key_id))]
async fn revoke_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(key_id): Path<String>,
) -> Result<Data<AccountKey>, ApiError> {
    let key = state
        .accounts
        .keys_of(&caller.account_id)
        .await?
        .into_iter()
        .find(|key| key.id == key_id)
        .ok_or_else(|| ApiError::not_found(&format!("key {key_id}")))?;
    if key.revoked_at.is_some() || !state.accounts.revoke_key(&key.id).await? {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("key {key_id} is already revoked"),
        ));
    }
    tracing::info!(by = %caller.key_id, "API key revoked by its account");
    let revoked = state
        .accounts
        .keys_of(&caller.account_id)
        .await?
        .into_iter()
        .find(|k| k.id == key.id)
        .unwrap_or(key);
    Ok(Data(state.success, key_view(revoked, &caller)))
}

#[cfg(test)]
mod tests {
    use crate::wire::seed::ModelList;

    /// The catalog's listing reads as the wire `ModelList` and writes the same bytes: the wire
    /// type declares every member the catalog publishes, `null`s included.
    #[test]
    fn models_answer_is_the_catalog_listing() {
        let catalog = reelay_catalog::Catalog::embedded();
        let listing = catalog.models_listing(&|model: &str| vec![format!("ch-{model}")]);
        let typed: ModelList = serde_json::from_value(listing.clone()).expect("reads");
        assert!(typed.items.len() > 1);
        assert!(typed.items.iter().any(|m| m.reference_audios.is_none()));
        assert_eq!(
            serde_json::to_string(&typed).expect("writes"),
            listing.to_string()
        );
    }
}
