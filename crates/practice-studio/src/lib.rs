//! # practice-studio
//!
//! The Practice Studio API as Rust types, shared by both sides of the wire:
//!
//! * [`model`] — the wire model (serde, camelCase as in the API reference);
//! * [`rules`] — domain rules that the server and the desk must apply identically (validation,
//!   appointment clashes, slot arithmetic). Pure functions: no I/O, no clock, no randomness;
//! * `client` (cargo feature `client`) — the async HTTP client the desk and integrators use.
//!
//! This crate never touches the disk: whatever a caller wants kept (tokens, caches) it keeps itself.
//! The server links this crate without the `client` feature, so the wire model never drags an HTTP
//! client into it. Start reading at [`model`].

pub mod model;
pub mod rules;

#[cfg(feature = "client")]
pub mod client;

#[cfg(feature = "client")]
pub use client::{Client, ClientError};
