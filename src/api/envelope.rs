//! The success envelope `{"code": 0, "msg": "ok", "data": …}` and its `api.success_code` variant.

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

impl<T: Serialize> IntoResponse for Data<T> {
    fn into_response(self) -> Response {
        match serde_json::to_value(&self.1) {
            Ok(data) => axum::Json(json!({ "code": self.0.value(), "msg": "ok", "data": data }))
                .into_response(),
            Err(error) => super::error::ApiError::internal(error).into_response(),
        }
    }
}
