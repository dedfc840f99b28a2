//! The `WHERE` of a task listing, built from the filters that are set: each condition names its
//! values by placeholder (`$n`, numbered in the order they are bound), and the values go to the
//! statement as one argument list.

use sqlx::any::AnyArguments;
use sqlx::Arguments;

/// A value bound to a listing's statement.
pub(super) enum Bound<'a> {
    Text(&'a str),
    Owned(String),
    Int(i64),
}

/// The conditions of one listing and their values.
#[derive(Default)]
pub(super) struct Conditions<'a> {
    parts: Vec<String>,
    values: Vec<Bound<'a>>,
}

impl<'a> Conditions<'a> {
    /// Binds `value`; answers its placeholder.
    pub(super) fn bind(&mut self, value: Bound<'a>) -> String {
        self.values.push(value);
        format!("${}", self.values.len())
    }

    /// Binds `text`; answers its placeholder.
    pub(super) fn text(&mut self, text: &'a str) -> String {
        self.bind(Bound::Text(text))
    }

    /// Binds `n`; answers its placeholder.
    pub(super) fn int(&mut self, n: i64) -> String {
        self.bind(Bound::Int(n))
    }

    /// Adds a condition (joined to the others by `AND`).
    pub(super) fn and(&mut self, condition: String) {
        self.parts.push(condition);
    }

    /// ` WHERE …`, or nothing when no condition is set.
    pub(super) fn where_clause(&self) -> String {
        if self.parts.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.parts.join(" AND "))
        }
    }

    /// The values, in placeholder order, for `sqlx::query_as_with` and friends.
    pub(super) fn arguments(&self) -> Result<AnyArguments<'_>, sqlx::Error> {
        let mut arguments = AnyArguments::default();
        for value in &self.values {
            match value {
                Bound::Text(text) => arguments.add(*text),
                Bound::Owned(text) => arguments.add(text.as_str()),
                Bound::Int(n) => arguments.add(*n),
            }
            .map_err(sqlx::Error::Encode)?;
        }
        Ok(arguments)
    }
}
