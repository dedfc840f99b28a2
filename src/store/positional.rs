//! Rows read by column position, from either driver: the synchronous SQLite reader's
//! (`rusqlite`) and the pools' (`sqlx::any`). One mapper per struct serves both, so a joined read
//! (two structs side by side in one row, their column names clashing) has one definition.

use sqlx::any::{Any, AnyRow};

/// A value both drivers decode: `String`, `i64` and their `Option`s.
pub(crate) trait Column:
    rusqlite::types::FromSql + for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any>
{
}

impl<T> Column for T where
    T: rusqlite::types::FromSql + for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any>
{
}

/// A row whose values are read by position (names would cost a string search per field).
pub(crate) trait ByPosition {
    type Error;

    /// The value of column `index` (0-based).
    fn at<T: Column>(&self, index: usize) -> Result<T, Self::Error>;
}

impl ByPosition for rusqlite::Row<'_> {
    type Error = rusqlite::Error;

    fn at<T: Column>(&self, index: usize) -> Result<T, rusqlite::Error> {
        self.get(index)
    }
}

impl ByPosition for AnyRow {
    type Error = sqlx::Error;

    fn at<T: Column>(&self, index: usize) -> Result<T, sqlx::Error> {
        sqlx::Row::try_get(self, index)
    }
}
