//! `GET /files/{key}?exp=&sig=`: result files behind an HMAC-signed, expiring URL, with `Range`.

use axum::body::Body;
use axum::extract::State;
use axum::http::header::{ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, RANGE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use super::error::{ApiError, ErrorCode};
use super::extract::{Door, Path, Query};
use super::AppState;
use crate::storage::StorageError;

pub fn router() -> Router<AppState> {
    Router::new().route("/files/{*key}", get(serve))
}

#[derive(Deserialize)]
struct Signature {
    exp: Option<i64>,
    sig: Option<String>,
}

/// A single byte range from a `Range` header, resolved against the object size.
#[derive(Debug, PartialEq, Eq)]
enum Wanted {
    All,
    Part(u64, u64),
    Unsatisfiable,
}

/// Reads `Range` (RFC 9110 §14.2). A valid single range is served (206); a valid one that no
/// byte of the file satisfies (`bytes=-0`, a start past the end, any range of an empty file) is
/// 416. A suffix longer than the file is the whole file, as the RFC says. A header that is not a
/// valid single byte range (`bytes=-`, `bytes=5-2`, text, several ranges) is ignored, as the RFC
/// allows: the whole file, 200.
fn parse_range(header: Option<&str>, size: u64) -> Wanted {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Wanted::All;
    };
    if spec.contains(',') {
        return Wanted::All; // multipart ranges are not served; the whole file is a valid answer
    }
    let Some((start, end)) = spec.split_once('-') else {
        return Wanted::All;
    };
    let (start, end) = match (start.trim(), end.trim()) {
        ("", suffix) => match suffix.parse::<u64>() {
            Ok(0) => return Wanted::Unsatisfiable,
            Ok(n) => (size.saturating_sub(n), size.saturating_sub(1)),
            // `bytes=-` or `bytes=-x`: no suffix length, so not a range at all.
            Err(_) => return Wanted::All,
        },
        (start, "") => match start.parse::<u64>() {
            Ok(s) => (s, size.saturating_sub(1)),
            Err(_) => return Wanted::All,
        },
        (start, end) => match (start.parse::<u64>(), end.parse::<u64>()) {
            (Ok(s), Ok(e)) if s <= e => (s, e.min(size.saturating_sub(1))),
            _ => return Wanted::All,
        },
    };
    if size == 0 || start >= size {
        Wanted::Unsatisfiable
    } else {
        Wanted::Part(start, end)
    }
}

fn content_type(key: &str) -> &'static str {
    if key.ends_with(".mp4") {
        "video/mp4"
    } else if key.ends_with(".png") {
        "image/png"
    } else {
        "application/octet-stream"
    }
}

async fn serve(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(signature): Query<Signature>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (Some(exp), Some(sig)) = (signature.exp, signature.sig) else {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "this file URL is not signed",
        ));
    };
    if !state.storage.verify(&key, exp, &sig, crate::clock::now()) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "this file URL is expired or its signature does not match; query the task for a fresh URL",
        ));
    }
    serve_object(&state, &key, &headers, Door::Seed).await
}

/// Answers object `key` of storage with `Range` support (200, 206 or 416), streamed; a 416 is
/// answered in `door`'s error shape.
pub(crate) async fn serve_object(
    state: &AppState,
    key: &str,
    headers: &HeaderMap,
    door: Door,
) -> Result<Response, ApiError> {
    let not_found = |e: StorageError| match e {
        StorageError::NotFound => ApiError::new(
            ErrorCode::NotFound,
            "this file was deleted (past its retention)",
        ),
        other => ApiError::internal(other),
    };
    let size = state.storage.size(key).await.map_err(not_found)?;
    let wanted = parse_range(headers.get(RANGE).and_then(|v| v.to_str().ok()), size);
    let (status, range) = match wanted {
        Wanted::All => (StatusCode::OK, None),
        Wanted::Part(start, end) => (StatusCode::PARTIAL_CONTENT, Some(start..end + 1)),
        Wanted::Unsatisfiable => {
            let mut response = door.answer(ApiError::new(
                ErrorCode::RangeNotSatisfiable,
                format!("Range: no byte of the file's {size} satisfies it"),
            ));
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
                response.headers_mut().insert(CONTENT_RANGE, value);
            }
            return Ok(response);
        }
    };
    let read = state
        .storage
        .open(key, range.clone())
        .await
        .map_err(not_found)?;
    let length = read.range.end - read.range.start;
    let mut response = Response::new(Body::from_stream(read.stream));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type(key)));
    headers.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(value) = HeaderValue::from_str(&length.to_string()) {
        headers.insert(CONTENT_LENGTH, value);
    }
    if range.is_some() {
        let content_range = format!(
            "bytes {}-{}/{}",
            read.range.start,
            read.range.end - 1,
            read.total
        );
        if let Ok(value) = HeaderValue::from_str(&content_range) {
            headers.insert(CONTENT_RANGE, value);
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range(None, 100), Wanted::All);
        assert_eq!(parse_range(Some("bytes=0-9"), 100), Wanted::Part(0, 9));
        assert_eq!(parse_range(Some("bytes=90-"), 100), Wanted::Part(90, 99));
        assert_eq!(parse_range(Some("bytes=-10"), 100), Wanted::Part(90, 99));
        assert_eq!(parse_range(Some("bytes=50-500"), 100), Wanted::Part(50, 99));
        assert_eq!(parse_range(Some("bytes=100-"), 100), Wanted::Unsatisfiable);
    }

    #[test]
    fn suffix_ranges_follow_rfc_9110() {
        // Longer than the file: the whole file, as a 206.
        assert_eq!(parse_range(Some("bytes=-500"), 100), Wanted::Part(0, 99));
        // A zero-length suffix is satisfiable by no byte.
        assert_eq!(parse_range(Some("bytes=-0"), 100), Wanted::Unsatisfiable);
        // No suffix length: not a valid range, ignored like every other invalid one.
        for invalid in [
            "bytes=-",
            "bytes= - ",
            "bytes=-x",
            "bytes=5-2",
            "bytes=x-",
            "bytes=5",
        ] {
            assert_eq!(parse_range(Some(invalid), 100), Wanted::All, "{invalid}");
        }
        assert_eq!(parse_range(Some("bytes=-"), 0), Wanted::All);
    }
}
