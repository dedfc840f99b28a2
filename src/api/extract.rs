//! Request extractors: the API key (`Authorization: Bearer sk_…`) and a JSON object body with
//! the documented error codes for each way it can be wrong.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use serde_json::Value;

use super::error::{ApiError, ErrorCode};
use super::AppState;
use crate::accounts::Credential;

/// The caller, authenticated by API key.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account_id: String,
    pub key_id: String,
    /// Tasks this key may have queued or processing at once (`None`: unlimited).
    pub max_in_flight: Option<i64>,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        let secret = bearer(&parts.headers)?;
        let key = state
            .accounts
            .authenticate(secret)
            .await?
            .ok_or_else(invalid_key)?;
        admit(state, key).await
    }
}

/// The secret of `Authorization: Bearer sk_…` (40100 when it is missing or malformed).
pub fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let header = headers.get(AUTHORIZATION).ok_or_else(|| {
        unauthorized("missing Authorization header; send `Authorization: Bearer sk_...`")
    })?;
    let value = header
        .to_str()
        .map_err(|_| unauthorized("Authorization header is not valid text"))?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .ok_or_else(|| unauthorized("Authorization must be `Bearer sk_...`"))
}

/// The answer to a secret that matches no active key.
pub(crate) fn invalid_key() -> ApiError {
    unauthorized("API key is invalid or revoked")
}

/// The caller of an authenticated `key`, once its request is counted toward the key's RPM.
pub(crate) async fn admit(state: &AppState, key: Credential) -> Result<Caller, ApiError> {
    crate::telemetry::request::record_account(&key.account_id);
    // Every authenticated request counts toward the key's RPM, in the database so that the
    // limit holds across replicas.
    if let Some(rpm) = key.rpm.or(state.limits.default_rpm.map(i64::from)) {
        state.accounts.count_request(&key.id, rpm).await?;
    }
    Ok(Caller {
        max_in_flight: key
            .max_in_flight
            .or(state.limits.default_max_in_flight.map(i64::from)),
        account_id: key.account_id,
        key_id: key.id,
    })
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(ErrorCode::Unauthorized, message)
}

/// A body that is a JSON object.
pub(crate) struct JsonObject(pub Value);

impl FromRequest<AppState> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<JsonObject, ApiError> {
        let content_type = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if !content_type.starts_with("application/json") {
            return Err(ApiError::new(
                ErrorCode::BadJson,
                "body must be JSON with `Content-Type: application/json`",
            ));
        }
        let limit = state.max_body_bytes;
        let bytes = axum::body::to_bytes(request.into_body(), limit)
            .await
            .map_err(|error| body_read_error(&error, limit))?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::new(ErrorCode::BadJson, format!("body is not valid JSON: {e}"))
        })?;
        if value.is_object() {
            Ok(JsonObject(value))
        } else {
            Err(ApiError::new(
                ErrorCode::BadJson,
                "body must be a JSON object",
            ))
        }
    }
}

/// The answer to a body that could not be read: 413 only when it went over `limit`; any other
/// failure (a truncated or malformed transfer) is the client's bad request, 40000.
fn body_read_error(error: &axum::Error, limit: usize) -> ApiError {
    if is_length_limit(error) {
        ApiError::new(
            ErrorCode::TooLarge,
            format!("body is larger than {limit} bytes"),
        )
    } else {
        ApiError::new(
            ErrorCode::BadJson,
            format!("body could not be read: {error}"),
        )
    }
}

/// True when `error` (or anything in its source chain) is the body length limit.
fn is_length_limit(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        current = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    #[tokio::test]
    async fn only_the_length_limit_is_413() {
        let over = axum::body::to_bytes(Body::from(vec![b'x'; 100]), 10)
            .await
            .expect_err("over the limit");
        assert_eq!(body_read_error(&over, 10).code, ErrorCode::TooLarge);

        let broken = Body::from_stream(futures::stream::iter(vec![
            Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"{\"a\":")),
            Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed mid-body",
            )),
        ]));
        let failed = axum::body::to_bytes(broken, 1024)
            .await
            .expect_err("read fails");
        let answer = body_read_error(&failed, 1024);
        assert_eq!(answer.code, ErrorCode::BadJson);
        assert!(
            answer.message.contains("could not be read"),
            "{}",
            answer.message
        );
    }
}
