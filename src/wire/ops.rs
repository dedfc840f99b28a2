//! The ops answers (API.md §8): `GET /healthz` and `GET /readyz`. They carry no envelope.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `GET /healthz`: the process is up.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
}

/// `GET /readyz`: whether the database and the object storage answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Readiness {
    /// The database answered.
    pub database: bool,
    /// `ready` or `not_ready`.
    pub status: String,
    /// The object storage answered.
    pub storage: bool,
}
