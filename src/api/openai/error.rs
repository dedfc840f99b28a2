//! The OpenAI door's errors: reelay's [`ApiError`] in OpenAI's shape, `{"error": {code,
//! message, param, type}}` (DIALECTS.md §3). The one place this door picks a status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::api::error::{with_retry_after, ApiError, ErrorCode};
use crate::wire::openai::{OpenAiError, OpenAiErrorBody};

/// An [`ApiError`] answered in OpenAI's shape.
#[derive(Debug)]
pub struct OpenAiApiError(pub ApiError);

impl From<ApiError> for OpenAiApiError {
    fn from(error: ApiError) -> OpenAiApiError {
        OpenAiApiError(error)
    }
}

impl From<sqlx::Error> for OpenAiApiError {
    fn from(error: sqlx::Error) -> OpenAiApiError {
        OpenAiApiError(ApiError::from(error))
    }
}

/// OpenAI's status, type and code for reelay's error code.
fn openai_code(code: ErrorCode) -> (StatusCode, &'static str, &'static str) {
    let (_, status) = code.code_and_status();
    let (kind, code) = match code {
        ErrorCode::BadJson | ErrorCode::InvalidField | ErrorCode::BadAsset => {
            ("invalid_request_error", "invalid_value")
        }
        ErrorCode::UnknownModel => ("invalid_request_error", "model_not_found"),
        ErrorCode::Unauthorized => ("authentication_error", "invalid_api_key"),
        ErrorCode::InsufficientBalance => ("insufficient_quota", "insufficient_quota"),
        ErrorCode::Forbidden => ("permission_error", "forbidden"),
        ErrorCode::NotFound => ("not_found_error", "not_found"),
        ErrorCode::MethodNotAllowed => ("invalid_request_error", "method_not_allowed"),
        ErrorCode::Conflict => ("invalid_request_error", "conflict"),
        ErrorCode::TooLarge => ("invalid_request_error", "request_too_large"),
        ErrorCode::RangeNotSatisfiable => ("invalid_request_error", "range_not_satisfiable"),
        ErrorCode::RateLimited => ("rate_limit_error", "rate_limit_exceeded"),
        ErrorCode::Internal => ("server_error", "internal_error"),
        ErrorCode::NoChannel | ErrorCode::Busy => ("server_error", "service_unavailable"),
        ErrorCode::BodyTimeout => ("invalid_request_error", "request_timeout"),
    };
    (status, kind, code)
}

impl IntoResponse for OpenAiApiError {
    fn into_response(self) -> Response {
        let ApiError {
            code,
            message,
            param,
            retry_after,
        } = self.0;
        let message = crate::api::lang::localize(code, message);
        let (status, kind, code) = openai_code(code);
        let body = OpenAiErrorBody {
            error: OpenAiError {
                code: Some(code.to_string()),
                message,
                param,
                kind: kind.to_string(),
            },
        };
        with_retry_after((status, axum::Json(body)).into_response(), retry_after)
    }
}
