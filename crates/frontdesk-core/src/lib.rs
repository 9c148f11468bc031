//! # frontdesk-core
//!
//! What the front desk does, independent of how it is shown: configuration, the clock, the
//! connection to the Practice Studio API, the sync engine ([`SyncEngine`]: first sync, polling,
//! writes through the outbox, the conflict list), and (as they arrive) lookup, booking, records
//! and invoices, over `frontdesk-store` and the `practice-studio` SDK.
//!
//! It must never depend on Tauri or any UI: the desktop shell and the browser mode both call the
//! same [`Desk`] methods, and its tests run in a plain `#[tokio::test]`. Start reading at [`Desk`],
//! then [`SyncEngine`].

pub mod account;
pub mod appointment_book;
pub mod audit_log;
pub mod billing;
pub mod book;
pub mod chart;
pub mod clock;
pub mod config;
pub mod conflicts;
mod desk;
pub mod documents;
pub mod editing;
pub mod keychain;
pub mod lock;
pub mod lookup;
pub mod notices;
pub mod payments;
pub mod registration;
pub mod roles;
pub mod session;
pub mod sync;
pub mod updates;
pub mod waitlist;

/// The commit this build was made from (12 hex digits), or "unknown" (see `build.rs`).
pub const BUILD_COMMIT: &str = env!("FRONTDESK_COMMIT");

pub use clock::{Clock, PinnedDayClock, SystemClock};
pub use config::{Config, ConfigError, ConfigKey, ConfigLayers};
pub use desk::{ApiProblem, ApiState, AppStatus, CoreError, Desk, DeskEvent, DeskOptions, Surface};
pub use sync::{
    Collection, Connectivity, DrainReport, FeedOutcome, PendingWrite, ResolveError, ServerFeatures,
    SyncEngine, SyncError, SyncEvent, SyncOptions, SyncStatus, SyncTasks, WriteError,
};
