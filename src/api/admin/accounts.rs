//! Admin accounts, keys and credits (API.md §5): list and create accounts, read one with its
//! keys, top up or adjust credits (always through the ledger), create and revoke keys. Every
//! action is recorded in the audit trail.

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::Value;

use super::Admin;
use crate::accounts::{Account, AccountError, ApiKey, PostError};
use crate::api::account::{ledger_of, LedgerParams};
use crate::api::envelope::Data;
use crate::api::error::{ApiError, ErrorCode};
use crate::api::extract::{JsonObject, Path, Query};
use crate::api::listing::parse_limit;
use crate::api::AppState;
use crate::wire::admin::{
    AccountCreateRequest, AdminAccount, AdminAccountCreated, AdminAccountDetail, AdminAccountPage,
    AdminBalance, AdminKey, AdminKeyCreateRequest, AdminKeyCreated, AdminKeyRevoked,
    CreditsRequest, KeyLimitsRequest,
};
use crate::wire::envelope::{Envelope, Error400, Error401, Error403, Error404, Error413, Error500};
use crate::wire::seed::LedgerPage;

/// The admin account and key routes' part of `/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list,
    create,
    show,
    ledger,
    credits,
    create_key,
    revoke_key,
    set_key_limits
))]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/accounts", get(list).post(create))
        .route("/accounts/{id}", get(show))
        .route("/accounts/{id}/ledger", get(ledger))
        .route("/accounts/{id}/credits", post(credits))
        .route("/accounts/{id}/keys", post(create_key))
        .route("/keys/{key_id}/revoke", post(revoke_key))
        .route("/keys/{key_id}/limits", post(set_key_limits))
}

fn account_view(account: Account) -> AdminAccount {
    AdminAccount {
        account_id: account.id,
        balance: account.balance,
        created_at: account.created_at,
        name: account.name,
        spent_total: account.spent_total,
    }
}

fn key_view(key: ApiKey) -> AdminKey {
    AdminKey {
        account_id: key.account_id,
        created_at: key.created_at,
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

#[derive(Deserialize)]
struct ListParams {
    limit: Option<String>,
    cursor: Option<String>,
}

/// Accounts, a page at a time.
#[utoipa::path(
    get,
    path = "/accounts",
    tag = "admin",
    security(("admin_token" = [])),
    params(("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "1-100, default 20"), ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page")),
    responses(
        (status = 200, description = "A page of accounts", body = Envelope<AdminAccountPage>),
        (status = 401, description = "40100 missing or invalid admin token", body = Error401),
        (status = 403, description = "40300 an API key was sent instead of the admin token", body = Error403),
        (status = 404, description = "40400 admin API off (no admin.token)", body = Error404),
        (status = 400, description = "40001 bad limit", body = Error400),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn list(
    State(state): State<AppState>,
    _admin: Admin,
    Query(params): Query<ListParams>,
) -> Result<Data<AdminAccountPage>, ApiError> {
    let limit = parse_limit(params.limit.as_deref())?;
    let mut rows = state
        .accounts
        .accounts_page(params.cursor.as_deref(), limit + 1)
        .await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more {
        rows.last().map(|a| a.id.clone())
    } else {
        None
    };
    let items = rows.into_iter().map(account_view).collect();
    Ok(Data(state.success, AdminAccountPage { items, next_cursor }))
}

/// A name field: a non-empty string of at most 100 characters.
fn name_field(body: &Value, field: &str) -> Result<String, ApiError> {
    match body.get(field) {
        Some(Value::String(name)) if !name.trim().is_empty() && name.chars().count() <= 100 => {
            Ok(name.clone())
        }
        _ => Err(ApiError::field(
            field,
            format!("{field}: must be a non-empty string of at most 100 characters"),
        )),
    }
}

/// Largest number of credits one admin request may add or remove. Bounds the arithmetic on
/// balances: `i64::MIN` used to panic when negated, and sums past `i64::MAX` leave the integer
/// range of the database.
const MAX_CREDITS_PER_REQUEST: i64 = 1_000_000_000_000_000;

/// A credits field: an integer (negative only where allowed), at most
/// [`MAX_CREDITS_PER_REQUEST`] either way.
fn credits_field(body: &Value, allow_negative: bool) -> Result<i64, ApiError> {
    match body.get("credits") {
        None | Some(Value::Null) if !allow_negative => Ok(0),
        Some(value) => match value.as_i64() {
            Some(n)
                if n != 0
                    && (allow_negative || n > 0)
                    && n.unsigned_abs() <= MAX_CREDITS_PER_REQUEST as u64 =>
            {
                Ok(n)
            }
            _ => Err(ApiError::field(
                "credits",
                if allow_negative {
                    "credits: must be a non-zero integer from -10^15 to 10^15 (negative to remove credits)"
                } else {
                    "credits: must be a positive integer of at most 10^15"
                },
            )),
        },
        None => Err(ApiError::field(
            "credits",
            "credits: required, a non-zero integer",
        )),
    }
}

fn post_error(error: PostError, account_id: &str) -> ApiError {
    match error {
        PostError::NoAccount => ApiError::new(
            ErrorCode::NotFound,
            format!("account {account_id} not found"),
        ),
        PostError::Insufficient { balance, needed } => ApiError::field(
            "credits",
            format!("credits: removing {needed} would take the balance ({balance}) below zero"),
        ),
        error @ PostError::OutOfRange { .. } => ApiError::field("credits", error.to_string()),
        PostError::Db(e) => ApiError::internal(e),
    }
}

/// `POST /admin/v1/accounts {name, credits?}`: a new account and its first key (secret shown once).
/// A new account and its first key (secret shown once).
#[utoipa::path(
    post,
    path = "/accounts",
    tag = "admin",
    security(("admin_token" = [])),
    request_body(content = AccountCreateRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The account, its key and secret", body = Envelope<AdminAccountCreated>),
        (status = 401, description = "40100 missing or invalid admin token", body = Error401),
        (status = 403, description = "40300 an API key was sent instead of the admin token", body = Error403),
        (status = 404, description = "40400 admin API off (no admin.token)", body = Error404),
        (status = 400, description = "40000 bad JSON body; 40001 invalid field (data.param)", body = Error400),
        (status = 413, description = "41300 body larger than the JSON limit", body = Error413),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn create(
    State(state): State<AppState>,
    admin: Admin,
    JsonObject(body): JsonObject,
) -> Result<Data<AdminAccountCreated>, ApiError> {
    let name = name_field(&body, "name")?;
    let credits = credits_field(&body, false)?;
    let (account_id, key_id, secret) = state
        .accounts
        .create_account_with_key(&name, &name, credits)
        .await
        .map_err(|e| post_error(e, ""))?;
    state
        .audit
        .record(
            &admin.actor,
            "account.create",
            Some(&account_id),
            Some(&format!("credits={credits}")),
        )
        .await?;
    Ok(Data(
        state.success,
        AdminAccountCreated {
            account_id,
            balance: credits,
            key_id,
            secret,
        },
    ))
}

/// An account's ledger, newest first (the same page as the user's `GET /account/ledger`).
#[utoipa::path(
    get,
    path = "/accounts/{id}/ledger",
    tag = "admin",
    security(("admin_token" = [])),
    params(
        ("id" = String, Path, description = "`acct_…`"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "1-100, default 20"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of ledger entries", body = Envelope<LedgerPage>),
        (status = 400, description = "40001 bad limit or cursor", body = Error400),
        (status = 401, description = "40100 missing or invalid admin token", body = Error401),
        (status = 403, description = "40300 an API key was sent instead of the admin token", body = Error403),
        (status = 404, description = "40400 no such account, or admin API off", body = Error404),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn ledger(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
    Query(params): Query<LedgerParams>,
) -> Result<Data<LedgerPage>, ApiError> {
    if state.accounts.account(&id).await?.is_none() {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("account {id} not found"),
        ));
    }
    let page = ledger_of(&state, &id, &params).await?;
    Ok(Data(state.success, page))
}

/// One account with its keys.
#[utoipa::path(
    get,
    path = "/accounts/{id}",
    tag = "admin",
    security(("admin_token" = [])),
    params(("id" = String, Path, description = "`acct_…`")),
    responses(
        (status = 200, description = "The account", body = Envelope<AdminAccountDetail>),
        (status = 401, description = "40100 missing or invalid admin token", body = Error401),
        (status = 403, description = "40300 an API key was sent instead of the admin token", body = Error403),
        (status = 404, description = "40400 no such account, or admin API off", body = Error404),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn show(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Data<AdminAccountDetail>, ApiError> {
    let account = state
        .accounts
        .account(&id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("account {id} not found")))?;
    let keys = state
        .accounts
        .keys_of(&id)
        .await?
        .into_iter()
        .map(key_view)
        .collect();
    Ok(Data(
        state.success,
        AdminAccountDetail {
            account_id: account.id,
            balance: account.balance,
            created_at: account.created_at,
            keys,
            name: account.name,
            spent_total: account.spent_total,
        },
    ))
}

/// `POST /admin/v1/accounts/{id}/credits {credits, note?}`: a top-up (positive) or an
/// adjustment (negative), appended to the ledger.
/// Top up (positive) or adjust (negative) an account's credits, through the ledger.
#[utoipa::path(
    post,
    path = "/accounts/{id}/credits",
    tag = "admin",
    security(("admin_token" = [])),
    params(("id" = String, Path, description = "`acct_…`")),
    request_body(content = CreditsRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The new balance", body = Envelope<AdminBalance>),
        (status = 401, description = "40100 missing or invalid admin token", body = Error401),
        (status = 403, description = "40300 an API key was sent instead of the admin token", body = Error403),
        (status = 404, description = "40400 no such account, or admin API off", body = Error404),
        (status = 400, description = "40000 bad JSON body; 40001 invalid field (data.param)", body = Error400),
        (status = 413, description = "41300 body larger than the JSON limit", body = Error413),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn credits(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Data<AdminBalance>, ApiError> {
    let credits = credits_field(&body, true)?;
    let note = body
        .get("note")
        .and_then(Value::as_str)
        .map(|n| n.chars().take(200).collect::<String>());
    let balance = state
        .accounts
        .adjust_credits(&id, credits, note.as_deref())
        .await
        .map_err(|e| post_error(e, &id))?;
    state
        .audit
        .record(
            &admin.actor,
            "account.credits",
            Some(&id),
            Some(&format!("credits={credits}")),
        )
        .await?;
    Ok(Data(
        state.success,
        AdminBalance {
            account_id: id,
            balance,
        },
    ))
}

/// `POST /admin/v1/accounts/{id}/keys {name}`: a new key for an account (secret shown once).
/// A new key for an account (secret shown once).
#[utoipa::path(
    post,
    path = "/accounts/{id}/keys",
    tag = "admin",
    security(("admin_token" = [])),
    params(("id" = String, Path, description = "`acct_…`")),
    request_body(content = AdminKeyCreateRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The key and its secret", body = Envelope<AdminKeyCreated>),
        (status = 401, description = "40100 missing or invalid admin token", body = Error401),
        (status = 403, description = "40300 an API key was sent instead of the admin token", body = Error403),
        (status = 404, description = "40400 no such account, or admin API off", body = Error404),
        (status = 400, description = "40000 bad JSON body; 40001 invalid field (data.param)", body = Error400),
        (status = 413, description = "41300 body larger than the JSON limit", body = Error413),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn create_key(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Data<AdminKeyCreated>, ApiError> {
    let name = name_field(&body, "name")?;
    let quota = quota_field(&body)?.flatten();
    let made = state
        .accounts
        .create_key(&id, &name, None)
        .await
        .map_err(|e| match e {
            AccountError::NoAccount(_) => {
                ApiError::new(ErrorCode::NotFound, format!("account {id} not found"))
            }
            other => ApiError::internal(other),
        })?;
    if let Some(quota) = quota {
        state.accounts.set_key_quota(&made.key.id, quota).await?;
    }
    state
        .audit
        .record(&admin.actor, "key.create", Some(&made.key.id), Some(&id))
        .await?;
    Ok(Data(
        state.success,
        AdminKeyCreated {
            account_id: id,
            key_id: made.key.id,
            secret: made.secret,
        },
    ))
}

/// Revoke a key.
#[utoipa::path(
    post,
    path = "/keys/{key_id}/revoke",
    tag = "admin",
    security(("admin_token" = [])),
    params(("key_id" = String, Path, description = "`key_…`")),
    responses(
        (status = 200, description = "Revoked", body = Envelope<AdminKeyRevoked>),
        (status = 401, description = "40100 missing or invalid admin token", body = Error401),
        (status = 403, description = "40300 an API key was sent instead of the admin token", body = Error403),
        (status = 404, description = "40400 no such active key, or admin API off", body = Error404),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn revoke_key(
    State(state): State<AppState>,
    admin: Admin,
    Path(key_id): Path<String>,
) -> Result<Data<AdminKeyRevoked>, ApiError> {
    if !state.accounts.revoke_key(&key_id).await? {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("no active key {key_id}"),
        ));
    }
    state
        .audit
        .record(&admin.actor, "key.revoke", Some(&key_id), None)
        .await?;
    Ok(Data(
        state.success,
        AdminKeyRevoked {
            key_id,
            revoked: true,
        },
    ))
}

/// One limit field of `POST /keys/{id}/limits`: absent = unchanged, `null` = back to the
/// server default, a whole number ≥ 1 = this key's own limit.
fn limit_field(body: &Value, field: &str) -> Result<Option<Option<i64>>, ApiError> {
    match body.get(field) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(value) => match value.as_i64() {
            Some(n) if (1..=1_000_000).contains(&n) => Ok(Some(Some(n))),
            _ => Err(ApiError::field(
                field,
                format!("{field}: must be a whole number from 1 to 1000000, or null for the server default"),
            )),
        },
    }
}

/// `quota` of a key's limits: absent = unchanged, `null` or 0 = unlimited, else the most
/// credits the key may spend.
fn quota_field(body: &Value) -> Result<Option<Option<i64>>, ApiError> {
    match body.get("quota") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(value) => match value.as_i64() {
            Some(0) => Ok(Some(None)),
            Some(n) if n > 0 => Ok(Some(Some(n))),
            _ => Err(ApiError::field(
                "quota",
                format!("quota: must be a whole number of credits, 0 or null for unlimited (got {value})"),
            )),
        },
    }
}

/// `POST /admin/v1/keys/{id}/limits {rpm?, max_in_flight?, quota?}`: a key's own request rate and
/// in-flight limits (`null` falls back to `limits.default_*`).
/// Set a key's own requests-per-minute and in-flight limits.
#[utoipa::path(
    post,
    path = "/keys/{key_id}/limits",
    tag = "admin",
    security(("admin_token" = [])),
    params(("key_id" = String, Path, description = "`key_…`")),
    request_body(content = KeyLimitsRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The key with its limits", body = Envelope<AdminKey>),
        (status = 401, description = "40100 missing or invalid admin token", body = Error401),
        (status = 403, description = "40300 an API key was sent instead of the admin token", body = Error403),
        (status = 404, description = "40400 no such key, or admin API off", body = Error404),
        (status = 400, description = "40000 bad JSON body; 40001 invalid field (data.param)", body = Error400),
        (status = 413, description = "41300 body larger than the JSON limit", body = Error413),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn set_key_limits(
    State(state): State<AppState>,
    admin: Admin,
    Path(key_id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Data<AdminKey>, ApiError> {
    if let Some(unknown) = body.as_object().and_then(|o| {
        o.keys()
            .find(|k| !["rpm", "max_in_flight", "quota"].contains(&k.as_str()))
    }) {
        return Err(ApiError::field(
            unknown,
            format!("{unknown}: unknown field; allowed: rpm, max_in_flight, quota"),
        ));
    }
    let rpm = limit_field(&body, "rpm")?;
    let max_in_flight = limit_field(&body, "max_in_flight")?;
    let quota = quota_field(&body)?;
    let Some(key) = state
        .accounts
        .set_key_limits(&key_id, rpm, max_in_flight, quota)
        .await?
    else {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("key {key_id} not found"),
        ));
    };
    state
        .audit
        .record(
            &admin.actor,
            "key.limits",
            Some(&key_id),
            Some(&body.to_string()),
        )
        .await?;
    Ok(Data(state.success, key_view(key)))
}
