//! The success envelope `{"code": 0, "msg": "ok", "data": …}` and its `api.success_code` variant.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{json, Value};

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

    fn value(self) -> Value {
        match self {
            SuccessCode::Zero => json!(0),
            SuccessCode::String20000 => json!("20000"),
        }
    }
}

/// A successful answer with its payload.
pub struct Data<T: Serialize>(pub SuccessCode, pub T);

/// The envelope as written: the payload is serialized in place, not copied into a new tree.
#[derive(Serialize)]
struct Envelope<'a, T> {
    code: Value,
    msg: &'static str,
    data: &'a T,
}

impl<T: Serialize> IntoResponse for Data<T> {
    fn into_response(self) -> Response {
        let envelope = Envelope {
            code: self.0.value(),
            msg: "ok",
            data: &self.1,
        };
        // Most answers (a task, a page of a few) fit without the buffer growing.
        let mut body = Vec::with_capacity(1024);
        match serde_json::to_writer(&mut body, &envelope) {
            Ok(()) => (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response(),
            Err(error) => super::error::ApiError::internal(error).into_response(),
        }
    }
}
