//! # practice-studio
//!
//! The Practice Studio API as Rust types, shared by both sides of the wire:
//!
//! * [`model`] — the wire model (serde, camelCase as in the API reference);
//! * [`rules`] — domain rules that the server and the desk must apply identically (validation,
//!   appointment clashes, slot arithmetic). Pure functions: no I/O, no clock, no randomness;
//! * [`webhook`] — how webhook deliveries are signed and verified (the scheme, with a worked
//!   example);
//! * `client` (cargo feature `client`) — the async HTTP client the desk and integrators use:
//!   typed routes, OAuth2 and API keys, retries, the rate-limit budget, pagination.
//!
//! This crate never touches the disk: whatever a caller wants kept (tokens, caches) it keeps itself
//! (the one exception is an extra CA file, read once when a client is built, and only if asked).
//! The server links this crate without the `client` feature, so the wire model never drags an HTTP
//! client into it. Start reading at [`model`], then `client::Client`.
//!
//! ## Listing patients
//!
//! ```no_run
//! # #[cfg(feature = "client")]
//! # async fn example() -> Result<(), practice_studio::client::Error> {
//! use futures_util::TryStreamExt as _;
//! use practice_studio::client::{Auth, Client, PatientQuery, Priority};
//! use practice_studio::model::PatientStatus;
//!
//! let client = Client::builder("https://api.practicestudio.example")
//!     .auth(Auth::client_credentials("integration-premium", "demo-secret"))
//!     .build()?;
//!
//! // One page: the first 50 active patients whose name starts with "smi".
//! let page = client
//!     .patients()
//!     .list(&PatientQuery::new().search("smi").status(PatientStatus::Active).limit(50))
//!     .await?;
//! println!("{} of {} patients", page.patients.len(), page.total);
//!
//! // Every patient, 100 a page, as a background crawl within the rate limit.
//! let everyone: Vec<_> = client
//!     .patients()
//!     .all(&PatientQuery::new(), Priority::Background)
//!     .try_collect()
//!     .await?;
//!
//! // Change one, refusing if someone else changed it first.
//! if let Some(patient) = everyone.first() {
//!     let patch = serde_json::json!({ "contactInfo": { "phone": "555-111-3333" } });
//!     client
//!         .patients()
//!         .update(&patient.id, &patch)
//!         .if_match(patient.version)
//!         .await?;
//! }
//! # Ok(())
//! # }
//! ```
//!
//! ## Booking an appointment
//!
//! ```no_run
//! # #[cfg(feature = "client")]
//! # async fn example() -> Result<(), practice_studio::client::Error> {
//! use chrono::NaiveDate;
//! use practice_studio::client::{Auth, Client, Error, SlotQuery};
//! use practice_studio::model::{AppointmentStatus, LocationId, NewAppointment, PatientId, ProviderId};
//!
//! let client = Client::builder("https://api.practicestudio.example")
//!     .auth(Auth::password("frontdesk", "reception@demo.clinic", "demo-password"))
//!     .build()?;
//! let provider = ProviderId("PROV-54321".into());
//! let monday = NaiveDate::from_ymd_opt(2026, 11, 30).expect("a date");
//!
//! // The first free 30-minute slot that week at the Main Clinic (its hours, breaks, time off
//! // and bookings, in the location's time zone).
//! let slots = client
//!     .clinic()
//!     .slots(&provider, &SlotQuery::new(monday, monday + chrono::Duration::days(4))
//!         .minutes(30)
//!         .location(LocationId("LOC-789".into())))
//!     .await?;
//! let Some(slot) = slots.slots.first() else { return Ok(()) };
//! let booked = client
//!     .appointments()
//!     .create(&NewAppointment {
//!         patient_id: PatientId("PAT-12345".into()),
//!         provider_id: provider,
//!         start_time: slot.start_time,
//!         end_time: slot.end_time,
//!         kind: "Follow-up".into(),
//!         reason: Some("Blood pressure check".into()),
//!         notes: None,
//!         location_id: slot.location_id.clone(),
//!     })
//!     .await;
//! match booked {
//!     // Sent with an Idempotency-Key: a retry after a lost answer books once.
//!     Ok(appointment) => {
//!         // Later, when the patient arrives:
//!         client
//!             .appointments()
//!             .set_status(&appointment.id, AppointmentStatus::CheckedIn, None)
//!             .if_match(appointment.version)
//!             .await?;
//!     }
//!     // Someone took the slot first: the error names the clash.
//!     Err(Error::Conflict(clash)) => eprintln!("not booked: {clash:?}"),
//!     Err(other) => return Err(other),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! ## Verifying a webhook
//!
//! ```
//! use practice_studio::webhook;
//!
//! # let (header, body) = (
//! #     "t=1614556800,v1=a7d2a49e8dc62fe1847d645770452df1543a0e0c1a12e3f1b061f687720d7d16",
//! #     br#"{"id":"EVT-1001","event":"patient.created","timestamp":"2021-03-01T00:00:00Z","data":{"id":"PAT-12345"},"requestId":"req-abc-123"}"#,
//! # );
//! # let now = chrono::DateTime::from_timestamp(1614556800, 0).unwrap();
//! // `header` is the X-PracticeStudio-Signature value, `body` the raw request body.
//! match webhook::verify(&["whsec_demo"], header, body, now, webhook::DEFAULT_TOLERANCE) {
//!     Ok(event) => println!("{} {}", event.event, event.data["id"]),
//!     Err(refused) => eprintln!("ignoring a delivery: {refused}"),
//! }
//! ```

pub mod fhir;
pub mod model;
pub mod rules;
pub mod search;
pub mod v2;
pub mod webhook;

#[cfg(feature = "client")]
pub mod client;

#[cfg(feature = "client")]
pub use client::{Client, Error};
