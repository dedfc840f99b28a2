//! The Ark door's errors: reelay's [`ApiError`] in Ark's shape, `{"error": {code, message,
//! param, type}}` with Ark's codes (DIALECTS.md §2). The one place this door picks a status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::api::error::{with_retry_after, ApiError, ErrorCode};
use crate::wire::ark::{ArkError, ArkErrorBody};

/// An [`ApiError`] answered in Ark's shape.
#[derive(Debug)]
pub struct ArkApiError(pub ApiError);

impl From<ApiError> for ArkApiError {
    fn from(error: ApiError) -> ArkApiError {
        ArkApiError(error)
    }
}

impl From<sqlx::Error> for ArkApiError {
    fn from(error: sqlx::Error) -> ArkApiError {
        ArkApiError(ApiError::from(error))
    }
}

/// Ark's status, code and type for reelay's error code.
fn ark_code(code: ErrorCode) -> (StatusCode, &'static str, &'static str) {
    match code {
        ErrorCode::BadJson | ErrorCode::InvalidField | ErrorCode::BadAsset => {
            (StatusCode::BAD_REQUEST, "InvalidParameter", "BadRequest")
        }
        ErrorCode::UnknownModel => (
            StatusCode::NOT_FOUND,
            "InvalidEndpointOrModel.NotFound",
            "NotFound",
        ),
        ErrorCode::Unauthorized => (
            StatusCode::UNAUTHORIZED,
            "AuthenticationError",
            "Unauthorized",
        ),
        ErrorCode::InsufficientBalance => (
            StatusCode::PAYMENT_REQUIRED,
            "AccountOverdueError",
            "Forbidden",
        ),
        ErrorCode::Forbidden => (StatusCode::FORBIDDEN, "AccessDenied", "Forbidden"),
        ErrorCode::NotFound => (StatusCode::NOT_FOUND, "ResourceNotFound", "NotFound"),
        ErrorCode::MethodNotAllowed => (
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "MethodNotAllowed",
        ),
        ErrorCode::Conflict => (StatusCode::CONFLICT, "Conflict", "Conflict"),
        ErrorCode::TooLarge => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "InvalidParameter",
            "BadRequest",
        ),
        ErrorCode::RangeNotSatisfiable => (
            StatusCode::RANGE_NOT_SATISFIABLE,
            "InvalidParameter",
            "RangeNotSatisfiable",
        ),
        ErrorCode::RateLimited => (
            StatusCode::TOO_MANY_REQUESTS,
            "RateLimitExceeded",
            "TooManyRequests",
        ),
        ErrorCode::Internal => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServiceError",
            "InternalServerError",
        ),
        ErrorCode::NoChannel | ErrorCode::Busy => (
            StatusCode::SERVICE_UNAVAILABLE,
            "ServerOverloaded",
            "ServiceUnavailable",
        ),
        ErrorCode::BodyTimeout => (
            StatusCode::REQUEST_TIMEOUT,
            "RequestTimeout",
            "RequestTimeout",
        ),
    }
}

impl IntoResponse for ArkApiError {
    fn into_response(self) -> Response {
        let ApiError {
            code,
            message,
            param,
            retry_after,
        } = self.0;
        let (status, ark_code, kind) = ark_code(code);
        let body = ArkErrorBody {
            error: ArkError {
                code: ark_code.to_string(),
                message: crate::api::lang::localize(code, message),
                param: param.unwrap_or_default(),
                kind: kind.to_string(),
            },
        };
        with_retry_after((status, axum::Json(body)).into_response(), retry_after)
    }
}
