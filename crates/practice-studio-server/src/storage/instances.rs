//! What several server instances on one database must agree on beyond single writes: which one
//! of them does a job that must run once per database (the demo's clinic day).

use async_trait::async_trait;

/// A job that runs on one instance per database at a time (see [`InstanceStorage::turn`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SingleJob {
    /// `--demo-activity`: the clinic day, played once whatever the number of instances.
    DemoActivity,
}

/// One instance's claim on a [`SingleJob`]. Dropping it gives the turn up.
#[async_trait]
pub trait Turn: Send {
    /// Whether this instance has the job now: it keeps it while it lives, and takes it when no
    /// other instance has it (the holder stopped or lost its connection). Never fails: a
    /// database that cannot be reached means "not now".
    async fn held(&mut self) -> bool;
}

#[async_trait]
pub trait InstanceStorage: Send + Sync {
    /// This instance's claim on `job`, to be asked again before each run of it.
    async fn turn(&self, job: SingleJob) -> Box<dyn Turn>;
}

/// The turn of a database only one process uses (a SQLite file): always held.
pub(crate) struct AlwaysHeld;

#[async_trait]
impl Turn for AlwaysHeld {
    async fn held(&mut self) -> bool {
        true
    }
}
