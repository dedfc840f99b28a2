//! The create-time check of `asset://` references (API.md §2, MODELS.md): each must be an asset
//! of the caller's account, `Active`, of the kind its field takes and, on models that take only
//! audited assets (`assets_audited`), an approved audit asset or real-person record.

use reelay_catalog::{MediaKind as FieldKind, ValidatedRequest};

use super::{Purpose, ACTIVE};
use crate::store::assets::{self as rows, AssetRow};
use crate::store::Db;

/// One unusable reference: the field (`images[0]`) and a sentence naming field and asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefProblem {
    pub field: String,
    pub message: String,
}

/// Why a reference cannot be used, or a database failure.
#[derive(Debug, thiserror::Error)]
pub enum RefError {
    #[error("{}", .0.message)]
    Unusable(RefProblem),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

fn field_kind(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Image => "image",
        FieldKind::Video => "video",
        FieldKind::Audio => "audio",
    }
}

/// Checks every `asset://` of `request` for `account_id`.
pub async fn check(
    db: &Db,
    account_id: &str,
    request: &ValidatedRequest,
    audited_only: bool,
) -> Result<(), RefError> {
    for (field, kind, id) in request.asset_refs() {
        let row = rows::get_for_account(db, account_id, id).await?;
        if let Some(message) = problem(&field, kind, id, row.as_ref(), audited_only, &request.model)
        {
            return Err(RefError::Unusable(RefProblem { field, message }));
        }
    }
    Ok(())
}

/// The sentence for an unusable reference, or `None` when it is fine.
fn problem(
    field: &str,
    kind: FieldKind,
    id: &str,
    row: Option<&AssetRow>,
    audited_only: bool,
    model: &str,
) -> Option<String> {
    let Some(row) = row else {
        return Some(format!(
            "{field}: asset://{id} is not a known asset of this account"
        ));
    };
    let wanted = field_kind(kind);
    if row.kind != wanted {
        return Some(format!(
            "{field}: asset://{id} is {} asset but {field} takes {} asset",
            with_article(&row.kind),
            with_article(wanted)
        ));
    }
    if row.status != ACTIVE {
        let why = match (row.status.as_str(), row.review.as_deref(), &row.reason) {
            (_, Some("pending"), _) => "awaiting an operator's review".to_string(),
            ("Failed", _, Some(reason)) => format!("Failed ({reason})"),
            (status, _, _) => status.to_string(),
        };
        return Some(format!(
            "{field}: asset://{id} is {why}; only Active assets can be used"
        ));
    }
    let audited = Purpose::parse(&row.purpose).is_some_and(Purpose::is_audited)
        && row.review.as_deref() == Some("approved");
    if audited_only && !audited {
        return Some(format!(
            "{field}: asset://{id} has not passed audit; model {model} accepts only audited assets (upload it with POST /seedance/assets/audit)"
        ));
    }
    None
}

fn with_article(kind: &str) -> &'static str {
    match kind {
        "image" => "an image",
        "video" => "a video",
        "audio" => "an audio",
        _ => "an unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(purpose: &str, kind: &str, status: &str, review: Option<&str>) -> AssetRow {
        AssetRow {
            id: "asset_x".into(),
            account_id: "acct_a".into(),
            purpose: purpose.into(),
            kind: kind.into(),
            name: String::new(),
            source_url: None,
            status: status.into(),
            reason: None,
            review: review.map(str::to_string),
            reviewed_by: None,
            reviewed_at: None,
            object_key: None,
            format: None,
            width: None,
            height: None,
            duration_ms: None,
            size_bytes: 0,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn check(row: Option<&AssetRow>, kind: FieldKind, audited_only: bool) -> Option<String> {
        problem(
            "images[0]",
            kind,
            "asset_x",
            row,
            audited_only,
            "sd2_mx_720p",
        )
    }

    #[test]
    fn usable_assets_pass() {
        let library = row("library", "image", "Active", None);
        assert_eq!(check(Some(&library), FieldKind::Image, false), None);
        let audited = row("audit", "image", "Active", Some("approved"));
        assert_eq!(check(Some(&audited), FieldKind::Image, true), None);
        let person = row("realperson", "image", "Active", Some("approved"));
        assert_eq!(check(Some(&person), FieldKind::Image, true), None);
    }

    #[test]
    fn each_problem_names_the_field_and_the_asset() {
        let cases = [
            (None, FieldKind::Image, false, "not a known asset"),
            (
                Some(row("library", "audio", "Active", None)),
                FieldKind::Image,
                false,
                "is an audio asset but images[0] takes an image",
            ),
            (
                Some(row("library", "image", "Processing", None)),
                FieldKind::Image,
                false,
                "is Processing",
            ),
            (
                Some(row("audit", "image", "Processing", Some("pending"))),
                FieldKind::Image,
                true,
                "awaiting an operator's review",
            ),
            (
                Some(row("library", "image", "Active", None)),
                FieldKind::Image,
                true,
                "has not passed audit",
            ),
        ];
        for (asset, kind, audited_only, expected) in cases {
            let message = check(asset.as_ref(), kind, audited_only).expect("a problem");
            assert!(
                message.starts_with("images[0]: asset://asset_x"),
                "{message}"
            );
            assert!(message.contains(expected), "{message}");
        }
    }
}
