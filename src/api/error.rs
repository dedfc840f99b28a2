//! The one error type of the HTTP layer and the table of stable error codes (API.md §1).
//!
//! Handlers return `Result<_, ApiError>`. `ApiError`'s `IntoResponse` is the only place that picks
//! an HTTP status; internal errors are logged in full with the request id and answered with an
//! opaque 50000.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::accounts::AccountError;
use crate::wire::envelope::{ErrorBody, ErrorParam};

/// Stable error codes; clients branch on these, never on the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    BadJson,
    InvalidField,
    UnknownModel,
    BadAsset,
    Unauthorized,
    InsufficientBalance,
    Forbidden,
    NotFound,
    /// The route does not take this method (the answer carries `Allow`).
    MethodNotAllowed,
    Conflict,
    TooLarge,
    /// A `Range` no byte of the file satisfies (the answer carries `Content-Range: bytes */size`).
    RangeNotSatisfiable,
    RateLimited,
    /// A request body stopped arriving or arrives too slowly (`server.body_timeout_secs`,
    /// `server.min_body_bytes_per_sec`).
    BodyTimeout,
    Internal,
    NoChannel,
    /// The server is at its connection cap (`server.max_connections`).
    Busy,
}

impl ErrorCode {
    /// The integer code and HTTP status of this error.
    pub(crate) fn code_and_status(self) -> (i64, StatusCode) {
        match self {
            ErrorCode::BadJson => (40000, StatusCode::BAD_REQUEST),
            ErrorCode::InvalidField => (40001, StatusCode::BAD_REQUEST),
            ErrorCode::UnknownModel => (40002, StatusCode::BAD_REQUEST),
            ErrorCode::BadAsset => (40003, StatusCode::BAD_REQUEST),
            ErrorCode::Unauthorized => (40100, StatusCode::UNAUTHORIZED),
            ErrorCode::InsufficientBalance => (40200, StatusCode::PAYMENT_REQUIRED),
            ErrorCode::Forbidden => (40300, StatusCode::FORBIDDEN),
            ErrorCode::NotFound => (40400, StatusCode::NOT_FOUND),
            ErrorCode::MethodNotAllowed => (40500, StatusCode::METHOD_NOT_ALLOWED),
            ErrorCode::Conflict => (40900, StatusCode::CONFLICT),
            ErrorCode::TooLarge => (41300, StatusCode::PAYLOAD_TOO_LARGE),
            ErrorCode::RangeNotSatisfiable => (41600, StatusCode::RANGE_NOT_SATISFIABLE),
            ErrorCode::RateLimited => (42900, StatusCode::TOO_MANY_REQUESTS),
            ErrorCode::Internal => (50000, StatusCode::INTERNAL_SERVER_ERROR),
            ErrorCode::NoChannel => (50300, StatusCode::SERVICE_UNAVAILABLE),
            ErrorCode::BodyTimeout => (40800, StatusCode::REQUEST_TIMEOUT),
            ErrorCode::Busy => (50301, StatusCode::SERVICE_UNAVAILABLE),
        }
    }
}

/// An error answered to a client.
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// The field (or header) at fault, reported as `data.param`.
    pub param: Option<String>,
    /// Seconds for a `Retry-After` header.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            param: None,
            retry_after: None,
        }
    }

    pub(crate) fn with_param(mut self, param: impl Into<String>) -> ApiError {
        self.param = Some(param.into());
        self
    }

    pub fn field(param: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::InvalidField, message).with_param(param)
    }

    pub(crate) fn not_found(what: &str) -> ApiError {
        ApiError::new(
            ErrorCode::NotFound,
            format!("{what} not found for this API key's account"),
        )
    }

    /// An unexpected failure: logged here in full, answered opaquely.
    pub fn internal(error: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %error, "internal error");
        ApiError::new(
            ErrorCode::Internal,
            "internal error; the server log has details under this response's X-Request-Id",
        )
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> ApiError {
        // PostgreSQL refuses text holding a NUL character (SQLSTATE 22021); SQLite stores it.
        // The value came from the request (the edges refuse control characters in path and
        // query parameters; this covers the rest, e.g. ids inside JSON bodies): the client's
        // error, never a 500.
        let refused_text = error
            .as_database_error()
            .and_then(|e| e.code())
            .is_some_and(|code| code == "22021");
        if refused_text {
            return ApiError::new(
                ErrorCode::InvalidField,
                "a text value of the request contains a NUL character, which no field allows",
            );
        }
        ApiError::internal(error)
    }
}

/// A secret that cannot be sealed or opened is the server's problem: 500, details in the log.
impl From<crate::keyring::KeyringError> for ApiError {
    fn from(error: crate::keyring::KeyringError) -> ApiError {
        ApiError::internal(error)
    }
}

/// The accounts service's refusals: an unknown account is 404, too many keys 409, a request
/// before the key's next slot 429 with `Retry-After`. A handler that answers one of them
/// otherwise maps it itself.
impl From<AccountError> for ApiError {
    fn from(error: AccountError) -> ApiError {
        match error {
            AccountError::NoAccount(_) => ApiError::new(ErrorCode::NotFound, error.to_string()),
            AccountError::TooManyKeys { .. } => {
                ApiError::new(ErrorCode::Conflict, error.to_string())
            }
            AccountError::RateLimited { retry_after, .. } => {
                let mut answer = ApiError::new(ErrorCode::RateLimited, error.to_string());
                answer.retry_after = Some(retry_after as u64);
                answer
            }
            AccountError::Db(error) => ApiError::from(error),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (code, status) = self.code.code_and_status();
        let body = ErrorBody {
            code,
            data: self.param.map(|param| ErrorParam { param }),
            msg: super::lang::localize(self.code, self.message),
        };
        with_retry_after((status, axum::Json(body)).into_response(), self.retry_after)
    }
}

/// `response` with a `Retry-After` of `seconds` when there is one (every door's error shape).
pub(crate) fn with_retry_after(mut response: Response, seconds: Option<u64>) -> Response {
    if let Some(seconds) = seconds {
        if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert("retry-after", value);
        }
    }
    response
}
