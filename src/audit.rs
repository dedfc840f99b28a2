//! The admin audit trail (API.md §5): every action of the admin API is appended with its time,
//! actor and target, and operators read the newest. Review decisions on assets are recorded in
//! the same trail by `assets::review`, in the function that applies them.

use crate::store::{audit, Db};

pub use crate::store::audit::AdminAction;

/// The trail over one database; cheap to clone.
#[derive(Clone)]
pub struct AuditTrail {
    db: Db,
}

impl AuditTrail {
    pub fn new(db: Db) -> AuditTrail {
        AuditTrail { db }
    }

    /// Appends an admin action (`action` like `key.revoke`, `target` the id acted on).
    pub(crate) async fn record(
        &self,
        actor: &str,
        action: &str,
        target: Option<&str>,
        detail: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        audit::record(&self.db, actor, action, target, detail).await
    }

    /// The newest `limit` actions, newest first.
    pub(crate) async fn recent(
        &self,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AdminAction>, sqlx::Error> {
        audit::recent(&self.db, before, limit).await
    }
}
