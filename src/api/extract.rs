//! Request extractors: the API key (`Authorization: Bearer sk_…`), a JSON object body, the
//! query string and the path parameters, each with the documented error codes for every way it
//! can be wrong.
//!
//! Every handler takes its query and path through [`Query`] and [`Path`] (never axum's own,
//! whose rejections answer `text/plain`): a duplicated, malformed or out-of-range parameter is
//! answered in the envelope of the door the request came through ([`Door`]), naming the
//! parameter in `data.param` (40001) when it is known.

use axum::extract::path::ErrorKind;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, OriginalUri, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
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
    bearer_credentials(value).ok_or_else(|| unauthorized("Authorization must be `Bearer sk_...`"))
}

/// The credentials of an `Authorization` value in the `Bearer` scheme, whose name is
/// case-insensitive (RFC 9110 §11.1: `bearer`, `BEARER` …); `None` for any other scheme. The user
/// API and the admin API both read their tokens through it.
pub(crate) fn bearer_credentials(value: &str) -> Option<&str> {
    let (scheme, credentials) = value.trim_start().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credentials.trim())
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

/// The dialect a request's errors are answered in, chosen by its path: Ark's door under
/// `/api/v3`, OpenAI's under `/v1`, reelay's envelope (`{code, data, msg}`) everywhere else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Door {
    Seed,
    Ark,
    OpenAi,
}

impl Door {
    /// The door of a request for `path` (the original path, before any nesting strips it).
    pub(crate) fn of(path: &str) -> Door {
        let under = |prefix: &str| {
            path.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        };
        if under("/api/v3") {
            Door::Ark
        } else if under("/v1") {
            Door::OpenAi
        } else {
            Door::Seed
        }
    }

    /// The door of the request `parts` belong to.
    fn of_parts(parts: &Parts) -> Door {
        let uri = parts
            .extensions
            .get::<OriginalUri>()
            .map_or(&parts.uri, |original| &original.0);
        Door::of(uri.path())
    }

    /// `error` answered in this door's shape.
    pub(crate) fn answer(self, error: ApiError) -> Response {
        match self {
            Door::Seed => error.into_response(),
            Door::Ark => super::ark::error::ArkApiError(error).into_response(),
            Door::OpenAi => super::openai::error::OpenAiApiError(error).into_response(),
        }
    }
}

/// A refused query string or path, answered in the shape of the door it came through.
#[derive(Debug)]
pub(crate) struct Rejection {
    door: Door,
    pub error: ApiError,
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        self.door.answer(self.error)
    }
}

/// The query string deserialized into `T`; a repeated, malformed or out-of-range parameter is
/// 40001 naming it (40000 when it cannot be named), in the request's door's shape.
#[derive(Debug, Clone)]
pub(crate) struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Query<T>, Rejection> {
        parse_query(parts.uri.query().unwrap_or_default())
            .map(Query)
            .map_err(|error| Rejection {
                door: Door::of_parts(parts),
                error,
            })
    }
}

/// Deserializes a query string as axum's `Query` does (`serde_urlencoded`), with errors that name
/// the parameter at fault.
pub(crate) fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let pairs = url::form_urlencoded::parse(query.as_bytes());
    if let Some((name, _)) = pairs
        .clone()
        .find(|(_, value)| value.chars().any(char::is_control))
    {
        return Err(ApiError::field(
            &name,
            format!("{name}: the query parameter contains a control character"),
        ));
    }
    serde_path_to_error::deserialize(serde_urlencoded::Deserializer::new(pairs)).map_err(|error| {
        let path = error.path().to_string();
        let message = error.inner().to_string();
        let param = if path.is_empty() || path == "." {
            repeated_param(query, &message)
        } else {
            Some(path)
        };
        match param {
            Some(param) if message.starts_with("duplicate field") => ApiError::field(
                &param,
                format!("{param}: given more than once; send each query parameter once"),
            ),
            Some(param) => ApiError::field(
                &param,
                format!("{param}: not a valid value for this query parameter ({message})"),
            ),
            None => ApiError::new(
                ErrorCode::BadJson,
                format!("the query string could not be read: {message}"),
            ),
        }
    })
}

/// The parameter of `query` that serde's `message` names (serde reports a repeated field at the
/// top level, by name in backquotes, rather than at its path).
fn repeated_param(query: &str, message: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .map(|(name, _)| name)
        .find(|name| !name.is_empty() && message.contains(&format!("`{name}`")))
        .map(|name| name.into_owned())
}

/// The path parameters deserialized into `T`; one that cannot be read (not UTF-8 once
/// percent-decoded, of the wrong type) is 40001 naming it, in the request's door's shape.
#[derive(Debug, Clone)]
pub(crate) struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Path<T>, Rejection> {
        // No path parameter (an id, a name) holds a control character; PostgreSQL would refuse
        // a NUL in it as a database error.
        if let Ok(raw) = axum::extract::RawPathParams::from_request_parts(parts, state).await {
            if let Some((key, _)) = raw.iter().find(|(_, v)| v.chars().any(char::is_control)) {
                return Err(Rejection {
                    door: Door::of_parts(parts),
                    error: ApiError::field(
                        key,
                        format!("{key}: the path parameter contains a control character"),
                    ),
                });
            }
        }
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(rejection) => Err(Rejection {
                door: Door::of_parts(parts),
                error: path_error(rejection),
            }),
        }
    }
}

/// A path rejection as an [`ApiError`]; never echoes the value (it may be long or binary).
fn path_error(rejection: PathRejection) -> ApiError {
    let PathRejection::FailedToDeserializePathParams(failed) = rejection else {
        // A handler asking for parameters its route does not have: the router's bug.
        return ApiError::internal(rejection.body_text());
    };
    let (param, problem) = match failed.kind() {
        ErrorKind::InvalidUtf8InPathParam { key } => (Some(key), "is not UTF-8 once decoded"),
        ErrorKind::ParseErrorAtKey { key, .. } | ErrorKind::DeserializeError { key, .. } => {
            (Some(key), "is not of the expected type")
        }
        _ => (None, "could not be read"),
    };
    match param {
        Some(param) => ApiError::field(param, format!("{param}: the path parameter {problem}")),
        None => ApiError::new(ErrorCode::BadJson, format!("a path parameter {problem}")),
    }
}

/// The answer to a method a route does not take (the router adds `Allow`), in the request's
/// door's shape: the router's `method_not_allowed_fallback`.
pub(crate) async fn method_not_allowed(method: Method, OriginalUri(uri): OriginalUri) -> Response {
    Door::of(uri.path()).answer(ApiError::new(
        ErrorCode::MethodNotAllowed,
        format!(
            "{method} is not allowed on this route; the Allow header lists the methods it takes"
        ),
    ))
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

/// The answer to a body that could not be read: 413 only when it went over `limit`; 408 when it
/// arrived too slowly (`server.body_timeout_secs`, `server.min_body_bytes_per_sec`); any other
/// failure (a truncated or malformed transfer) is the client's bad request, 40000. Every route
/// that reads a body maps its failure here (the extractors' rejections included).
pub(crate) fn body_read_error(error: &(dyn std::error::Error + 'static), limit: usize) -> ApiError {
    if let Some(slow) = crate::api::serve::body_rate::too_slow(error) {
        ApiError::new(ErrorCode::BodyTimeout, format!("body: {slow}"))
    } else if is_length_limit(error) {
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

/// The answer to a body that the `Bytes` extractor could not read (413 over the route's limit,
/// 408 too slow, otherwise 40000), for the routes that take raw bytes.
pub(crate) fn bytes_rejection(rejection: &axum::extract::rejection::BytesRejection) -> ApiError {
    if let Some(slow) = crate::api::serve::body_rate::too_slow(rejection) {
        ApiError::new(ErrorCode::BodyTimeout, format!("body: {slow}"))
    } else if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            ErrorCode::TooLarge,
            format!("body: {}", rejection.body_text()),
        )
    } else {
        ApiError::new(
            ErrorCode::BadJson,
            format!("body: {}", rejection.body_text()),
        )
    }
}

/// The answer to a multipart body that could not be read: `over_limit` when it went over the
/// route's limit, 408 too slow, otherwise 40000 naming the multipart problem.
pub(crate) fn multipart_error(
    error: &axum::extract::multipart::MultipartError,
    over_limit: impl FnOnce() -> ApiError,
) -> ApiError {
    if let Some(slow) = crate::api::serve::body_rate::too_slow(error) {
        ApiError::new(ErrorCode::BodyTimeout, format!("body: {slow}"))
    } else if error.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        over_limit()
    } else {
        ApiError::new(
            ErrorCode::BadJson,
            format!("body is not valid multipart/form-data: {error}"),
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

    #[derive(Debug, serde::Deserialize)]
    struct Params {
        limit: Option<String>,
        exp: Option<i64>,
    }

    #[test]
    fn query_errors_name_the_parameter() {
        let repeated = parse_query::<Params>("limit=1&limit=2").expect_err("repeated");
        assert_eq!(repeated.code, ErrorCode::InvalidField);
        assert_eq!(repeated.param.as_deref(), Some("limit"));
        let huge = parse_query::<Params>("exp=99999999999999999999999").expect_err("huge");
        assert_eq!(huge.param.as_deref(), Some("exp"));
        let text = parse_query::<Params>("exp=soon").expect_err("text");
        assert_eq!(text.param.as_deref(), Some("exp"));
        let ok = parse_query::<Params>("limit=5&other=1&other=2").expect("unknown ones ignored");
        assert_eq!(ok.limit.as_deref(), Some("5"));
        assert_eq!(ok.exp, None);
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for value in ["Bearer abc", "bearer abc", "BEARER abc", "bEaReR   abc "] {
            assert_eq!(bearer_credentials(value), Some("abc"), "{value}");
        }
        for value in ["Basic abc", "Bearerabc", "abc", "", "Token abc"] {
            assert_eq!(bearer_credentials(value), None, "{value}");
        }
    }

    #[test]
    fn the_door_is_chosen_by_the_path() {
        assert_eq!(Door::of("/api/v3/contents/generations/tasks"), Door::Ark);
        assert_eq!(Door::of("/v1/videos"), Door::OpenAi);
        assert_eq!(Door::of("/v1"), Door::OpenAi);
        assert_eq!(Door::of("/v1x"), Door::Seed);
        assert_eq!(Door::of("/api/open-api/v1/videos"), Door::Seed);
        assert_eq!(Door::of("/admin/v1/accounts"), Door::Seed);
    }

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
