//! # frontdesk-store
//!
//! Everything a desk keeps on its own machine lives under one data directory, owned by this crate:
//! the encrypted SQLite cache, the outbox of pending writes and the audit log join it here. Two desks
//! on one machine (two `--data-dir`s) never share anything, keychain entries included: each data
//! directory has its own [`DataDir::namespace`].
//!
//! The cache ([`Store`]) is SQLCipher: the whole file, its WAL included, is encrypted with a raw
//! 256-bit key the caller supplies. It holds patients (with the search index of [`search`]),
//! the outbox and the conflict list, attachments, and sync state. The audit log of PHI views
//! ([`AuditLog`]) is a second encrypted database that [`Store::wipe`] leaves in place.
//!
//! This crate never talks to the network and never sees a token: keys are handed to it, and it
//! logs no patient's name, date of birth, phone or email.
//! Start reading at [`DataDir::open`], then [`Store::open`] and [`Store::search_patients`].

mod appointments;
mod attachments;
mod audit;
mod billing;
mod book;
mod data_dir;
mod db;
mod duplicates;
mod error;
mod outbox;
mod patients;
pub mod search;
mod search_readers;
mod store;
mod sync;
mod text;

pub use appointments::{BookedAppointment, BookedPatient};
pub use attachments::{Attachment, NewAttachment};
pub use audit::{AuditAction, AuditEntry, AuditFilter, AuditLog, AUDIT_FILE};
pub use data_dir::{DataDir, StoreError};
pub use duplicates::{
    DuplicateField, DuplicateProbe, FieldMatch, Likeness, PossibleDuplicate,
    DEFAULT_DUPLICATE_THRESHOLD,
};
pub use error::CacheError;
pub use outbox::{
    entity_key, Conflict, ConflictKind, EntityKind, NewOutboxEntry, OutboxEntry, OutboxState,
    Refusal,
};
pub use search::{MatchSpan, PatientHit, SearchField};
pub use store::{Store, StoreOptions, CACHE_FILE};
pub use sync::{AppointmentAfter, Checkpoint, ConflictResolution, PatientAfter, Resolution};
