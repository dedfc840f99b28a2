//! The success envelope `{"code": 0, "msg": "ok", "data": …}` and its `api.success_code` variant,
//! written around a payload in place (its wire shape is `crate::wire::envelope::Envelope`).

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

pub use crate::wire::envelope::SuccessCode;

impl SuccessCode {
    /// The spelling the `api.success_code` setting asks for: `"20000"`, or `0` for anything else.
    pub(crate) fn from_setting(value: &str) -> SuccessCode {
        if value == "20000" {
            SuccessCode::String20000
        } else {
            SuccessCode::Zero
        }
    }
}

/// A successful answer with its payload.
pub(crate) struct Data<T: Serialize>(pub SuccessCode, pub T);

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::envelope::Envelope;
    use crate::wire::ops::Health;

    /// What `written` writes is the wire `Envelope` of the payload, in both spellings.
    #[tokio::test]
    async fn the_written_envelope_is_the_wire_envelope() {
        for code in [SuccessCode::Zero, SuccessCode::String20000] {
            let payload = Health {
                status: "ok".to_string(),
            };
            let response = Data(code, payload.clone()).into_response();
            let body = axum::body::to_bytes(response.into_body(), 1 << 16)
                .await
                .expect("body");
            let expected = serde_json::to_vec(&Envelope {
                code,
                msg: "ok".to_string(),
                data: payload,
            })
            .expect("serialize");
            assert_eq!(
                String::from_utf8_lossy(&body),
                String::from_utf8_lossy(&expected)
            );
        }
    }
}
