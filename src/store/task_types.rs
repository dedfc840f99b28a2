//! The typed columns of a task row: its [`TaskStatus`] and its [`StoredRequest`], each read
//! from the database by either driver (sqlx's `Any` pools and the synchronous SQLite reader),
//! so that no code past the store compares status strings or parses the stored request itself.

use reelay_catalog::ValidatedRequest;
use serde_json::Value;
use sqlx::any::{Any, AnyTypeInfo, AnyValueRef};
use sqlx::error::BoxDynError;

/// Where a task is in its life: `queued → processing → completed | failed`, never backwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskStatus {
    Queued,
    Processing,
    Completed,
    Failed,
}

impl TaskStatus {
    /// Every status, in the order a task goes through them.
    pub(crate) const ALL: [TaskStatus; 4] = [
        TaskStatus::Queued,
        TaskStatus::Processing,
        TaskStatus::Completed,
        TaskStatus::Failed,
    ];

    /// The word stored in `tasks.status` and shown in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Queued => "queued",
            TaskStatus::Processing => "processing",
            TaskStatus::Completed => "completed",
            TaskStatus::Failed => "failed",
        }
    }

    /// The status a stored or requested word names.
    pub fn parse(word: &str) -> Option<TaskStatus> {
        TaskStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == word)
    }

    /// `completed` or `failed`: nothing moves the task any more.
    pub fn is_terminal(self) -> bool {
        matches!(self, TaskStatus::Completed | TaskStatus::Failed)
    }
}

impl std::fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for TaskStatus {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl serde::Serialize for TaskStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl sqlx::Type<Any> for TaskStatus {
    fn type_info() -> AnyTypeInfo {
        <String as sqlx::Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        <String as sqlx::Type<Any>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, Any> for TaskStatus {
    fn decode(value: AnyValueRef<'r>) -> Result<TaskStatus, BoxDynError> {
        let word = <String as sqlx::Decode<'r, Any>>::decode(value)?;
        TaskStatus::parse(&word).ok_or_else(|| format!("unknown task status {word:?}").into())
    }
}

impl rusqlite::types::FromSql for TaskStatus {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let word = value.as_str()?;
        TaskStatus::parse(word).ok_or_else(|| {
            rusqlite::types::FromSqlError::Other(format!("unknown task status {word:?}").into())
        })
    }
}

/// A task's request as stored in its `request` column: the JSON of the `ValidatedRequest` with
/// `price` as the first member and the others in name order (nested objects too, as a `Value`
/// writes them) — what the view echoes after the price, so that a poll copies it instead of
/// parsing and sorting it. Rows written before 2026-12 hold the struct's field order; the view
/// reads both. This type owns the format: [`StoredRequest::encode`] writes it,
/// [`StoredRequest::decode`] reads it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRequest(String);

impl StoredRequest {
    /// How [`StoredRequest::encode`] begins a request.
    pub(crate) const PRICE_FIRST: &'static str = r#"{"price":"#;

    /// The stored form of `request`.
    pub fn encode(request: &ValidatedRequest) -> serde_json::Result<StoredRequest> {
        let mut value = serde_json::to_value(request)?;
        let price = value
            .as_object_mut()
            .and_then(|members| members.remove("price"))
            .unwrap_or(Value::Null);
        let members = serde_json::to_string(&value)?;
        let mut stored =
            String::with_capacity(StoredRequest::PRICE_FIRST.len() + 64 + members.len());
        stored.push_str(StoredRequest::PRICE_FIRST);
        stored.push_str(&serde_json::to_string(&price)?);
        match members.strip_prefix('{') {
            Some("}") | None => stored.push('}'),
            Some(rest) => {
                stored.push(',');
                stored.push_str(rest);
            }
        }
        Ok(StoredRequest(stored))
    }

    /// The request, parsed back (any stored form).
    pub fn decode(&self) -> serde_json::Result<ValidatedRequest> {
        serde_json::from_str(&self.0)
    }

    /// A stored text as it is (tests: rows of every stored form).
    #[cfg(test)]
    pub(crate) fn from_stored(text: String) -> StoredRequest {
        StoredRequest(text)
    }

    /// The stored JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl sqlx::Type<Any> for StoredRequest {
    fn type_info() -> AnyTypeInfo {
        <String as sqlx::Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        <String as sqlx::Type<Any>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, Any> for StoredRequest {
    fn decode(value: AnyValueRef<'r>) -> Result<StoredRequest, BoxDynError> {
        Ok(StoredRequest(<String as sqlx::Decode<'r, Any>>::decode(
            value,
        )?))
    }
}

impl rusqlite::types::FromSql for StoredRequest {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        Ok(StoredRequest(String::column_result(value)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_reads_back_from_its_word() {
        for status in TaskStatus::ALL {
            assert_eq!(TaskStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(TaskStatus::parse("done"), None);
    }

    #[test]
    fn only_completed_and_failed_are_terminal() {
        let terminal: Vec<TaskStatus> = TaskStatus::ALL
            .into_iter()
            .filter(|s| s.is_terminal())
            .collect();
        assert_eq!(terminal, [TaskStatus::Completed, TaskStatus::Failed]);
    }
}

/// What a task's door keeps for its own view (the `client` column, JSON): absent members are
/// left out, and a seed-route task has none (NULL).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClientMeta {
    /// `ark` or `openai`; absent for the seed routes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub door: Option<String>,
    /// The model as the client named it (an alias), when it differs from the catalog's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Ark's `safety_identifier` (stored, shown back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safety_identifier: Option<String>,
    /// Ark's `execution_expires_after`, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_expires_after: Option<i64>,
    /// OpenAI's `remixed_from_video_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remixed_from: Option<String>,
}

impl ClientMeta {
    /// The stored text, or `None` when there is nothing to keep.
    pub fn encode(&self) -> Option<String> {
        (*self != ClientMeta::default())
            .then(|| serde_json::to_string(self).unwrap_or_default())
            .filter(|text| !text.is_empty())
    }

    /// The stored text read back; an unreadable one reads as nothing.
    pub fn decode(text: Option<&str>) -> ClientMeta {
        text.and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default()
    }
}
