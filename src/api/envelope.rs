//! The success envelope `{"code": 0, "msg": "ok", "data": …}` and its `api.success_code` variant.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// How success is spelled: integer `0` (default) or the string `"20000"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuccessCode {
    Zero,
    String20000,
}

impl SuccessCode {
    pub fn from_setting(value: &str) -> SuccessCode {
        if value == "20000" {
            SuccessCode::String20000
        } else {
            SuccessCode::Zero
        }
    }
}

/// A successful answer with its payload.
pub struct Data<T: Serialize>(pub SuccessCode, pub T);

impl<T: Serialize> IntoResponse for Data<T> {
    fn into_response(self) -> Response {
        written(self.0, |body| serde_json::to_writer(body, &self.1))
    }
}

/// The success envelope around the payload `write` appends to the body: `{"code":…,"msg":"ok",
/// "data":` + payload + `}`, written in place.
pub fn written(
    code: SuccessCode,
    write: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
) -> Response {
    // Most answers (a task, a page of a few) fit without the buffer growing.
    let mut body = Vec::with_capacity(1024);
    body.extend_from_slice(match code {
        SuccessCode::Zero => br#"{"code":0,"msg":"ok","data":"#.as_slice(),
        SuccessCode::String20000 => br#"{"code":"20000","msg":"ok","data":"#.as_slice(),
    });
    match write(&mut body) {
        Ok(()) => {
            body.push(b'}');
            (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response()
        }
        Err(error) => super::error::ApiError::internal(error).into_response(),
    }
}
