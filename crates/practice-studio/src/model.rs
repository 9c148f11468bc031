//! Wire types of the Practice Studio API. Field names follow the reference (camelCase).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Answer of `GET /health`: whether the service is up and which build answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// `"ok"` while the service can serve requests.
    pub status: HealthStatus,
    /// The server's version (its crate version).
    pub version: String,
    /// True when the server runs on generated demo data (`--demo`).
    pub demo: bool,
    /// The date the server treats as today (`YYYY-MM-DD`); differs from the calendar in demos
    /// started with `--demo-today`.
    pub today: chrono::NaiveDate,
}

/// Whether the service can serve requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    Ok,
    Degraded,
}
