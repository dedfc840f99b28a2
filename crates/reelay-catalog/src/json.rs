//! Small readers for the raw JSON body: optional fields (absent or `null`),
//! integers (with the integral-float rule), and a short description of a
//! value for the `(got ...)` part of error messages.

use serde_json::{Map, Value};

/// A field's value, treating JSON `null` like an absent field.
///
/// Decision: clients (and vendor SDKs) often send `"field": null` for "not
/// set"; reelay treats that exactly like leaving the field out.
pub(crate) fn field<'a>(body: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    body.get(key).filter(|value| !value.is_null())
}

/// The value as an integer.
///
/// Decision: a JSON integer is accepted, and so is a float with no
/// fractional part (`5.0`, what some JavaScript clients send); a float with
/// a fraction (`5.5`), a string (`"5"`) or anything else is not an integer.
pub(crate) fn integer(value: &Value) -> Option<i64> {
    let number = value.as_number()?;
    if let Some(integer) = number.as_i64() {
        return Some(integer);
    }
    if number.is_u64() {
        // Above i64::MAX: out of every range the catalog uses.
        return Some(i64::MAX);
    }
    let float = number.as_f64()?;
    if float.fract() != 0.0 || !float.is_finite() {
        return None;
    }
    // Saturating conversion; every range we check is far inside i64.
    Some(float as i64)
}

/// How a value reads in `(got ...)`: strings quoted and cut at 60
/// characters, numbers and booleans as written, containers by kind.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(number) => number.to_string(),
        Value::String(text) => {
            let cut: String = text.chars().take(60).collect();
            if cut.len() < text.len() {
                format!("{:?}…", cut)
            } else {
                format!("{cut:?}")
            }
        }
        Value::Array(items) => format!("an array of {} items", items.len()),
        Value::Object(_) => "an object".to_string(),
    }
}

/// `"a, b or c"`.
pub(crate) fn one_of(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}
