//! Staying fresh from the change feed (`GET /api/v2/events`): the feed's cursor is recorded
//! before the first sync pages anything, then followed with long polls; each batch's patients are
//! applied with the advanced cursor in one transaction. A server without the feed is polled with
//! `updated_since` instead; a 410 (another database, or a cursor past the retention) starts a
//! full resync and leaves the outbox alone.

use std::time::Duration;

use practice_studio::client::{Client, Error as ClientError, Priority};
use practice_studio::model::{Appointment, Patient};
use serde::{Deserialize, Serialize};

use super::collections::{self, Collection};
use super::{encode, FirstSyncState, SyncEngine, SyncError, SyncEvent};
use frontdesk_store::Checkpoint;

/// The sync-state key of the feed's cursor.
const FEED_KEY: &str = "feed:cursor";
/// Events per page of the feed.
const FEED_PAGE: u32 = 1_000;

/// Where the desk stands in the change feed.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
struct FeedCursor {
    /// `None`: not recorded yet.
    cursor: Option<String>,
}

/// What one look at the feed found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedOutcome {
    /// This many cached items changed.
    Applied(usize),
    /// The server has no change feed: poll with `updated_since`.
    NoFeed,
    /// The feed said to start over; the first sync runs again.
    Resync,
}

impl SyncEngine {
    /// Records the feed's current end unless a cursor is kept already; `false` when the server
    /// has no feed.
    pub(crate) async fn record_feed_start(&self, client: &Client) -> Result<bool, SyncError> {
        let kept: Option<FeedCursor> = self.read_state(FEED_KEY).await?;
        if kept.is_some_and(|k| k.cursor.is_some()) {
            return Ok(true);
        }
        let start = client
            .events()
            .page(None, 1, Duration::ZERO)
            .priority(Priority::Background)
            .await;
        self.observe(&start);
        let start = match start {
            Ok(page) => page,
            Err(ClientError::NotFound(_)) => return Ok(false),
            Err(error) => return Err(error.into()),
        };
        let value = encode(
            FEED_KEY,
            &FeedCursor {
                cursor: Some(start.cursor),
            },
        )?;
        self.inner.store.set_sync_state(FEED_KEY, &value).await?;
        Ok(true)
    }

    /// One long poll of the change feed (up to `wait`), applied. Call after the first sync.
    pub async fn follow_feed_once(&self, wait: Duration) -> Result<FeedOutcome, SyncError> {
        if !self.server_features().change_feed {
            return Ok(FeedOutcome::NoFeed);
        }
        let client = self.reader().await?;
        let kept: Option<FeedCursor> = self.read_state(FEED_KEY).await?;
        let Some(cursor) = kept.and_then(|k| k.cursor) else {
            // A cache synced before the feed was followed: record the end, then catch up once
            // by polling so nothing between the last poll and that end is missed.
            if !self.record_feed_start(&client).await? {
                return Ok(FeedOutcome::NoFeed);
            }
            return self.poll_once().await.map(FeedOutcome::Applied);
        };
        // The long poll's own deadline: the server holds the answer up to `wait`.
        let poller = client.clone().with_timeout(wait + Duration::from_secs(15));
        let page = poller
            .events()
            .page(Some(&cursor), FEED_PAGE, wait)
            .priority(Priority::Background)
            .await;
        self.observe(&page);
        let page = match page {
            Ok(page) => page,
            Err(ClientError::NotFound(_)) => return Ok(FeedOutcome::NoFeed),
            Err(ClientError::Gone(_)) => {
                self.start_over().await?;
                return Ok(FeedOutcome::Resync);
            }
            Err(error) => return Err(error.into()),
        };
        let mut patients: Vec<Patient> = Vec::new();
        let mut patient_requests: Vec<Option<String>> = Vec::new();
        let mut appointments: Vec<(Appointment, Option<String>)> = Vec::new();
        let mut references: Vec<Collection> = Vec::new();
        for event in &page.events {
            match event.event.as_str() {
                "patient.created" | "patient.updated" => {
                    match serde_json::from_value::<Patient>(event.data.clone()) {
                        Ok(patient) => {
                            patients.push(patient);
                            patient_requests.push(event.request_id.clone());
                        }
                        // An event the desk cannot read is caught by the next poll's overlap.
                        Err(error) => tracing::warn!(%error, "a patient event could not be read"),
                    }
                }
                kind if kind.starts_with("appointment.")
                    && self.inner.options.appointment_window.is_some() =>
                {
                    match serde_json::from_value::<Appointment>(event.data.clone()) {
                        Ok(appointment) => {
                            appointments.push((appointment, event.request_id.clone()))
                        }
                        Err(error) => {
                            tracing::warn!(%error, "an appointment event could not be read")
                        }
                    }
                }
                "provider.updated" | "schedule.updated" => references.push(Collection::Providers),
                "location.updated" => references.push(Collection::Locations),
                _ => {}
            }
        }
        let value = encode(
            FEED_KEY,
            &FeedCursor {
                cursor: Some(page.cursor.clone()),
            },
        )?;
        // Appointments first, without the cursor; the patients' transaction carries the cursor,
        // so a desk stopped between the two reads the batch again (applying a version twice
        // changes nothing).
        let mut changed = 0;
        if !appointments.is_empty() {
            let applied = self
                .inner
                .store
                .apply_feed_appointments(&appointments)
                .await?;
            changed += applied.len();
            if !applied.is_empty() {
                self.emit(SyncEvent::Changed {
                    collection: Collection::Appointments,
                    ids: applied.into_iter().map(|id| id.0).collect(),
                });
            }
        }
        // The batch and the cursor after it commit together: a desk stopped anywhere resumes
        // from the last batch it stored.
        let applied: Vec<String> = self
            .inner
            .store
            .apply_feed_patients(
                &patients,
                &patient_requests,
                Checkpoint {
                    key: FEED_KEY,
                    value: &value,
                },
            )
            .await?
            .into_iter()
            .map(|id| id.0)
            .collect();
        changed += applied.len();
        if !applied.is_empty() {
            self.emit(SyncEvent::Changed {
                collection: Collection::Patients,
                ids: applied,
            });
        }
        references.dedup();
        let v2 = self.reference_pages();
        for collection in references {
            let outcome =
                collections::refresh_reference(collection, &client, &self.inner.store, false, v2)
                    .await;
            self.observe_sync(&outcome);
            let outcome = outcome?;
            if !outcome.changed.is_empty() {
                changed += outcome.changed.len();
                self.emit(SyncEvent::Changed {
                    collection,
                    ids: outcome.changed,
                });
            }
        }
        self.state().last_sync = Some(self.inner.clock.now());
        Ok(FeedOutcome::Applied(changed))
    }

    /// After a 410: forget the feed's cursor and every collection's first-sync progress, so the
    /// first sync reads everything again. Pending writes and conflicts are untouched.
    async fn start_over(&self) -> Result<(), SyncError> {
        tracing::warn!("the server asked for a full resync (410)");
        let fresh = encode(FEED_KEY, &FeedCursor::default())?;
        self.inner.store.set_sync_state(FEED_KEY, &fresh).await?;
        for collection in Collection::ALL {
            let key = collection.checkpoint_key();
            let state = encode(&key, &FirstSyncState::default())?;
            self.inner.store.set_sync_state(&key, &state).await?;
        }
        self.state().first_sync_done = false;
        Ok(())
    }
}
