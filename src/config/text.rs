//! Settings that are text, read leniently: the environment layer parses `REELAY_API__SUCCESS_CODE=20000`
//! as the number 20000, and a text setting takes it as the text `"20000"` (as it does `true`).
//! Used with `#[serde(deserialize_with = ...)]` on every `String` setting.

use serde::{Deserialize, Deserializer};

/// A scalar where text is expected.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    Bool(bool),
}

impl From<Scalar> for String {
    fn from(value: Scalar) -> String {
        match value {
            Scalar::Text(text) => text,
            Scalar::Unsigned(n) => n.to_string(),
            Scalar::Signed(n) => n.to_string(),
            Scalar::Float(n) => n.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

/// A required text setting.
pub fn string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Scalar::deserialize(deserializer).map(String::from)
}

/// An optional text setting.
pub fn opt_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Option::<Scalar>::deserialize(deserializer).map(|value| value.map(String::from))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Section {
        #[serde(deserialize_with = "super::string")]
        code: String,
        #[serde(default, deserialize_with = "super::opt_string")]
        name: Option<String>,
    }

    #[test]
    fn numbers_and_text_are_both_text() {
        let from_number: Section = serde_json::from_str(r#"{"code": 20000, "name": 7}"#).unwrap();
        assert_eq!(from_number.code, "20000");
        assert_eq!(from_number.name.as_deref(), Some("7"));
        let from_text: Section = serde_json::from_str(r#"{"code": "20000"}"#).unwrap();
        assert_eq!(from_text.code, "20000");
        assert_eq!(from_text.name, None);
        assert!(serde_json::from_str::<Section>(r#"{"code": [1]}"#).is_err());
    }
}
