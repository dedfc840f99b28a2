//! Review decisions on audited assets and real-person records: approve (→ `Active`) or reject
//! with a reason (→ `Failed`). Every decision is recorded in the admin audit trail with its actor
//! and time, and the row keeps who decided and when (`reviewed_by`, `reviewed_at`).

use super::{Assets, Purpose};
use crate::store::assets::{self as rows, AssetRow};

/// A decision that could not be applied.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReviewError {
    #[error("no asset or real-person record {0}")]
    NotFound(String),
    #[error("{id} is not awaiting review (status {status}, review {review})")]
    NotPending {
        id: String,
        status: String,
        review: String,
    },
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

/// Approve or reject.
#[derive(Debug, Clone)]
pub(crate) enum Decision {
    Approve,
    Reject { reason: String },
}

impl Assets {
    /// Up to `limit` items awaiting a decision, oldest first; only those of `purpose` when given.
    pub(crate) async fn pending_reviews(
        &self,
        purpose: Option<Purpose>,
        limit: i64,
    ) -> Result<Vec<AssetRow>, sqlx::Error> {
        rows::pending_reviews(&self.db, purpose.map(Purpose::as_str), limit).await
    }

    /// Applies an operator's decision to a pending asset and records it in the audit trail.
    pub(crate) async fn decide(
        &self,
        actor: &str,
        id: &str,
        decision: Decision,
    ) -> Result<AssetRow, ReviewError> {
        let row = rows::get(&self.db, id)
            .await?
            .ok_or_else(|| ReviewError::NotFound(id.to_string()))?;
        let (approve, reason) = match &decision {
            Decision::Approve => (true, None),
            Decision::Reject { reason } => (false, Some(reason.as_str())),
        };
        if !rows::decide(&self.db, id, approve, actor, reason).await? {
            return Err(ReviewError::NotPending {
                id: id.to_string(),
                status: row.status,
                review: row.review.unwrap_or_else(|| "none".to_string()),
            });
        }
        let noun = match Purpose::parse(&row.purpose) {
            Some(Purpose::RealPerson) => "realperson",
            _ => "asset",
        };
        let action = format!("{noun}.{}", if approve { "approve" } else { "reject" });
        crate::store::audit::record(&self.db, actor, &action, Some(id), reason).await?;
        tracing::info!(asset_id = %id, actor, action, "review decided");
        rows::get(&self.db, id)
            .await?
            .ok_or_else(|| ReviewError::NotFound(id.to_string()))
    }
}
