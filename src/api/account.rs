//! Account, ledger and catalog routes (API.md §4).

use axum::extract::{Query, State};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};

use super::envelope::Data;
use super::error::ApiError;
use super::extract::Caller;
use super::videos::parse_limit;
use super::AppState;
use crate::store::{accounts, ledger};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/models", get(models))
        .route("/account", get(account))
        .route("/account/ledger", get(ledger_page))
}

async fn models(State(state): State<AppState>, _caller: Caller) -> Data<Value> {
    let channels = state.channels.clone();
    let listing = state
        .catalog
        .models_listing(&|model: &str| channels.serving(model));
    Data(state.success, listing)
}

async fn account(State(state): State<AppState>, caller: Caller) -> Result<Data<Value>, ApiError> {
    let account = accounts::get(&state.db, &caller.account_id)
        .await?
        .ok_or_else(|| ApiError::not_found("account"))?;
    Ok(Data(
        state.success,
        json!({
            "account_id": account.id,
            "name": account.name,
            "balance": account.balance,
            "spent_total": account.spent_total,
            "webhook_secret_set": account.webhook_secret.is_some(),
        }),
    ))
}

#[derive(Deserialize)]
struct LedgerParams {
    limit: Option<String>,
    cursor: Option<String>,
}

async fn ledger_page(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<LedgerParams>,
) -> Result<Data<Value>, ApiError> {
    let limit = parse_limit(params.limit.as_deref())?;
    let before = match params.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(cursor) => Some(cursor.parse::<i64>().map_err(|_| {
            ApiError::field(
                "cursor",
                "cursor: not a cursor this server issued; pass next_cursor unchanged",
            )
        })?),
        None => None,
    };
    let entries = ledger::page(&state.db, &caller.account_id, before, limit + 1).await?;
    let has_more = entries.len() as i64 > limit;
    let entries = &entries[..entries.len().min(limit as usize)];
    let next_cursor = match (has_more, entries.last()) {
        (true, Some(last)) => Some(last.seq.to_string()),
        _ => None,
    };
    let items: Vec<Value> = entries
        .iter()
        .map(|e| {
            json!({
                "id": format!("led_{}", e.seq),
                "at": e.at,
                "kind": e.kind,
                "credits": e.credits,
                "task_id": e.task_id,
                "balance_after": e.balance_after,
            })
        })
        .collect();
    Ok(Data(
        state.success,
        json!({ "items": items, "next_cursor": next_cursor }),
    ))
}
