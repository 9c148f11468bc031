//! Domain rules shared by the server and the desk, so both give the same verdict offline and online.
//!
//! Pure functions only: no I/O, no clock (callers pass "today"), no randomness.

pub mod appointments;
mod patient;
pub mod slots;
mod time;
pub mod waitlist;

pub use patient::{validate_new_patient, Problems, ValidPatient};
pub use time::{TimeSpan, TimeSpanError};
