//! # frontdesk-store
//!
//! Everything a desk keeps on its own machine lives under one data directory, owned by this crate:
//! the encrypted SQLite cache, the outbox of pending writes and the audit log join it here. Two desks
//! on one machine (two `--data-dir`s) never share anything, keychain entries included: each data
//! directory has its own [`DataDir::namespace`].
//!
//! This crate never talks to the network and never sees a token: keys are handed to it.
//! Start reading at [`DataDir::open`].

mod data_dir;

pub use data_dir::{DataDir, StoreError};
