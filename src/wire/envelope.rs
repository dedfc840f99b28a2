//! The envelope around every answer of `/api/open-api/v1` and `/admin/v1` (API.md §1): success
//! `{"code": 0, "msg": "ok", "data": …}`, error `{"code": <integer>, "data": null | {"param"},
//! "msg": "…"}`; and the error bodies the `#[utoipa::path]` annotations name in their
//! `responses` ([`Error400`] … [`Error503`]), one per HTTP status, each listing its codes.

use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// The success envelope: `{"code": 0, "msg": "ok", "data": …}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Envelope<T> {
    pub code: SuccessCode,
    /// Always `ok` on success.
    #[schema(example = "ok")]
    pub msg: String,
    pub data: T,
}

/// How success is spelled: the integer `0` (default), or the string `"20000"` when the server
/// runs with `api.success_code = "20000"` (for clients written against that variant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuccessCode {
    /// `0`.
    Zero,
    /// `"20000"`.
    String20000,
}

impl Serialize for SuccessCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            SuccessCode::Zero => serializer.serialize_i64(0),
            SuccessCode::String20000 => serializer.serialize_str("20000"),
        }
    }
}

impl<'de> Deserialize<'de> for SuccessCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = SuccessCode;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("0 or \"20000\"")
            }

            fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<SuccessCode, E> {
                match value {
                    0 => Ok(SuccessCode::Zero),
                    _ => Err(E::invalid_value(
                        serde::de::Unexpected::Signed(value),
                        &self,
                    )),
                }
            }

            fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<SuccessCode, E> {
                match value {
                    0 => Ok(SuccessCode::Zero),
                    _ => Err(E::invalid_value(
                        serde::de::Unexpected::Unsigned(value),
                        &self,
                    )),
                }
            }

            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<SuccessCode, E> {
                match value {
                    "20000" => Ok(SuccessCode::String20000),
                    _ => Err(E::invalid_value(serde::de::Unexpected::Str(value), &self)),
                }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl PartialSchema for SuccessCode {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(SchemaType::new(Type::Integer))
                    .enum_values(Some([0])),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(SchemaType::new(Type::String))
                    .enum_values(Some(["20000"])),
            )
            .description(Some(
                "0 (default), or \"20000\" with `api.success_code = \"20000\"`",
            ))
            .into()
    }
}

impl ToSchema for SuccessCode {}

/// An error answer: `{"code": 40001, "data": {"param": "duration"}, "msg": "…"}`. Its schema
/// in `/openapi.json` is the one of the status it is sent with ([`Error400`] …).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The stable integer error code (API.md §1); clients branch on it, never on `msg`.
    pub code: i64,
    /// `null`, or the field (or header) at fault.
    pub data: Option<ErrorParam>,
    /// One sentence a person can act on.
    pub msg: String,
}

/// `data` of an error: `null`, or the field (or header) at fault.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorParam {
    /// The field or header at fault, e.g. `duration` or `Idempotency-Key`.
    pub param: String,
}

/// The schema of an [`ErrorBody`] whose `code` is one of `codes`.
fn error_schema(codes: &[i64], description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .description(Some(description))
        .property(
            "code",
            ObjectBuilder::new()
                .schema_type(SchemaType::new(Type::Integer))
                .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                    utoipa::openapi::KnownFormat::Int64,
                )))
                .enum_values(Some(codes.iter().copied())),
        )
        .required("code")
        .property(
            "msg",
            ObjectBuilder::new()
                .schema_type(SchemaType::new(Type::String))
                .description(Some("One sentence a person can act on.")),
        )
        .required("msg")
        .property(
            "data",
            OneOfBuilder::new()
                .item(ObjectBuilder::new().schema_type(SchemaType::new(Type::Null)))
                .item(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    "ErrorParam",
                ))),
        )
        .required("data")
        .into()
}

/// One error body per HTTP status, for `responses((status = 404, body = Error404, …))`: a
/// schema-only type (the answer itself is an [`ErrorBody`]) whose `code` lists the codes sent
/// with that status.
macro_rules! error_body {
    ($name:ident, [$($code:literal),+], $description:literal) => {
        #[doc = $description]
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                error_schema(&[$($code),+], $description)
            }
        }

        impl ToSchema for $name {
            fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
                schemas.push(("ErrorParam".to_string(), ErrorParam::schema()));
            }
        }
    };
}

error_body!(
    Error400,
    [40000, 40001, 40002, 40003],
    "400: 40000 bad JSON body, 40001 invalid field (data.param), 40002 unknown model, 40003 unusable asset:// reference"
);
error_body!(
    Error401,
    [40100],
    "401: 40100 missing or invalid credentials"
);
error_body!(
    Error402,
    [40200],
    "402: 40200 balance too low for this task"
);
error_body!(
    Error403,
    [40300],
    "403: 40300 not allowed (an API key on an admin route)"
);
error_body!(
    Error404,
    [40400],
    "404: 40400 no such resource for this caller"
);
error_body!(
    Error409,
    [40900],
    "409: 40900 conflict with the resource's state"
);
error_body!(Error413, [41300], "413: 41300 body or upload too large");
error_body!(
    Error429,
    [42900],
    "429: 42900 rate or in-flight limit of this key (Retry-After set)"
);
error_body!(
    Error500,
    [50000],
    "500: 50000 internal error (details in the server log under X-Request-Id)"
);
error_body!(
    Error503,
    [50300],
    "503: 50300 no channel can take this model now"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_code_is_written_and_read_in_both_spellings() {
        for (code, json) in [
            (SuccessCode::Zero, "0"),
            (SuccessCode::String20000, "\"20000\""),
        ] {
            assert_eq!(serde_json::to_string(&code).ok().as_deref(), Some(json));
            assert_eq!(serde_json::from_str::<SuccessCode>(json).ok(), Some(code));
        }
        assert!(serde_json::from_str::<SuccessCode>("20000").is_err());
        assert!(serde_json::from_str::<SuccessCode>("\"0\"").is_err());
    }

    /// The success envelope writes `code`, `msg`, `data` in that order, as
    /// `api::envelope::written` does; an error body writes its members in name order.
    #[test]
    fn envelopes_are_written_in_their_order() {
        let ok = Envelope {
            code: SuccessCode::Zero,
            msg: "ok".to_string(),
            data: ErrorParam {
                param: "x".to_string(),
            },
        };
        assert_eq!(
            serde_json::to_string(&ok).ok().as_deref(),
            Some(r#"{"code":0,"msg":"ok","data":{"param":"x"}}"#)
        );
        let error = ErrorBody {
            code: 40001,
            data: None,
            msg: "duration: too long".to_string(),
        };
        assert_eq!(
            serde_json::to_string(&error).ok().as_deref(),
            Some(r#"{"code":40001,"data":null,"msg":"duration: too long"}"#)
        );
    }
}
