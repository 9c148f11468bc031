//! Appointments in the cache: what the book shows offline. Rows from the server replace older
//! versions (never a row with a change of ours still waiting); reads are by time span (the book)
//! and by patient (the chart).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use practice_studio::model::{Appointment, AppointmentId};

use sqlx::{Sqlite, Transaction};

use crate::book::put_appointment_in;
use crate::error::{query, CacheError};
use crate::search_readers::read;
use crate::sync::Checkpoint;
use crate::Store;

/// A cached appointment as the book shows it ([`Store::book_entries_between`]): `T` is what is
/// read of its stored body (the whole [`Appointment`], or only what a view shows).
#[derive(Debug, Clone, PartialEq)]
pub struct BookedAppointment<T = Appointment> {
    pub appointment: T,
    /// A change of this desk's to it waits in the outbox.
    pub pending: bool,
    /// Its patient, when cached.
    pub patient: Option<BookedPatient>,
}

/// What the book shows of an appointment's patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookedPatient {
    pub first_name: String,
    pub last_name: String,
    pub phone: Option<String>,
}

fn decode<T: serde::de::DeserializeOwned>(id: &str, body: &str) -> Result<T, CacheError> {
    serde_json::from_str(body).map_err(|source| CacheError::Corrupt {
        what: "appointment",
        id: id.to_owned(),
        source,
    })
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Keeps the server's copy of an appointment aside (a newer one than held), not shown.
async fn hold_in(tx: &mut Transaction<'static, Sqlite>, a: &Appointment) -> Result<(), CacheError> {
    let id = a.id.as_str();
    let body = serde_json::to_string(a).map_err(|source| CacheError::Encode {
        what: "appointment",
        id: id.to_owned(),
        source,
    })?;
    sqlx::query!(
        "INSERT INTO held_appointments (id, version, body) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET version = excluded.version, body = excluded.body
         WHERE excluded.version > held_appointments.version",
        id,
        a.version,
        body
    )
    .execute(&mut **tx)
    .await
    .map_err(query("hold an appointment"))?;
    Ok(())
}

/// Shows the server's copies held for bookings of ours in flight (see
/// [`Store::apply_feed_appointments`]) that no answer took, once no appointment entry is pending:
/// an entry refused after its request made them (it cannot normally happen) must not hide them.
pub(crate) async fn release_unclaimed_holds_in(
    tx: &mut Transaction<'static, Sqlite>,
) -> Result<(), CacheError> {
    const OP: &str = "show held appointments no answer took";
    let unclaimed = sqlx::query!(
        "SELECT h.id, h.body FROM held_appointments h
         WHERE NOT EXISTS (SELECT 1 FROM appointments a WHERE a.id = h.id)
           AND NOT EXISTS (SELECT 1 FROM outbox o
                           WHERE o.entity_kind = 'appointment' AND o.state = 'pending')"
    )
    .fetch_all(&mut **tx)
    .await
    .map_err(query(OP))?;
    for row in unclaimed {
        put_appointment_in(tx, &decode(&row.id, &row.body)?, false).await?;
        sqlx::query!("DELETE FROM held_appointments WHERE id = ?1", row.id)
            .execute(&mut **tx)
            .await
            .map_err(query(OP))?;
    }
    Ok(())
}

impl Store {
    /// Stores the appointments not cached at their version (and not waiting on a change of
    /// ours), with the checkpoint, in one transaction; the ids stored. The server's copy of a
    /// booking of ours still in flight (a pending create of the same provider, patient and
    /// start) is held aside as the change feed's is (see [`Store::apply_feed_appointments`]),
    /// so a poll landing before the answer does not show the booking twice.
    pub async fn apply_remote_appointments(
        &self,
        appointments: &[Appointment],
        checkpoint: Option<Checkpoint<'_>>,
    ) -> Result<Vec<AppointmentId>, CacheError> {
        let items: Vec<_> = appointments.iter().map(|a| (a, None)).collect();
        self.apply_appointments(&items, checkpoint).await
    }

    /// [`Store::apply_remote_appointments`] for the change feed, whose events name the request
    /// (`X-Request-ID`) that caused them. A booking of this desk's whose answer is still on its
    /// way is cached under its local id; its event can arrive first, and stored as is it would
    /// show the booking twice until the answer is recorded. So the server's copy of an
    /// appointment not yet cached, caused by a request of an appointment entry still pending,
    /// is held aside ([`Store::complete_appointment_write`] takes it when the answer comes, and
    /// [`Store::move_to_conflicts`] lets it out if the entry is refused instead).
    pub async fn apply_feed_appointments(
        &self,
        events: &[(Appointment, Option<String>)],
    ) -> Result<Vec<AppointmentId>, CacheError> {
        let items: Vec<_> = events.iter().map(|(a, r)| (a, r.as_deref())).collect();
        self.apply_appointments(&items, None).await
    }

    async fn apply_appointments(
        &self,
        appointments: &[(&Appointment, Option<&str>)],
        checkpoint: Option<Checkpoint<'_>>,
    ) -> Result<Vec<AppointmentId>, CacheError> {
        const OP: &str = "apply appointments from the server";
        let mut tx = self.begin_write(OP).await?;
        // The newest of several copies in one batch.
        let mut newest: HashMap<&str, &Appointment> = HashMap::new();
        for (a, _) in appointments {
            if newest
                .get(a.id.as_str())
                .is_none_or(|seen| seen.version < a.version)
            {
                newest.insert(a.id.as_str(), a);
            }
        }
        // A poll's copy names no request. A booking of ours in flight is recognised by what it
        // books instead: the provider, the patient and the start of a create still pending.
        let creates_in_flight: HashSet<(String, String, String)> =
            if appointments.iter().any(|(_, request)| request.is_none()) {
                sqlx::query!(
                    "SELECT l.provider_id, l.patient_id, l.starts_at
                     FROM outbox o JOIN appointments l ON l.id = o.entity_id
                     WHERE o.entity_kind = 'appointment' AND o.operation = 'create'
                       AND o.state = 'pending'"
                )
                .fetch_all(&mut *tx)
                .await
                .map_err(query("read the bookings in flight"))?
                .into_iter()
                .map(|r| (r.provider_id, r.patient_id, r.starts_at))
                .collect()
            } else {
                HashSet::new()
            };
        let mut applied = Vec::new();
        for &(a, request) in appointments {
            if !newest
                .get(a.id.as_str())
                .is_some_and(|n| std::ptr::eq(*n, a))
            {
                continue;
            }
            let id = a.id.as_str();
            let known = sqlx::query!(
                r#"SELECT version, pending AS "pending!: bool" FROM appointments WHERE id = ?1"#,
                id
            )
            .fetch_optional(&mut *tx)
            .await
            .map_err(query("read a cached appointment"))?;
            let ours_in_flight = match (&known, request) {
                (None, Some(request)) => sqlx::query_scalar!(
                    r#"SELECT count(*) AS "n!: i64" FROM outbox
                       WHERE request_id = ?1 AND entity_kind = 'appointment' AND state = 'pending'"#,
                    request
                )
                .fetch_one(&mut *tx)
                .await
                .map_err(query("match an event to a pending write"))?
                    > 0,
                (None, None) => creates_in_flight.contains(&(
                    a.provider_id.to_string(),
                    a.patient_id.to_string(),
                    stamp(a.start_time),
                )),
                _ => false,
            };
            match known {
                Some(k) if k.pending && a.version <= k.version => continue,
                // A change of ours waits: the newer copy is kept aside, not lost.
                Some(k) if k.pending => hold_in(&mut tx, a).await?,
                None if ours_in_flight => hold_in(&mut tx, a).await?,
                Some(k) if k.version >= a.version => {}
                _ => {
                    put_appointment_in(&mut tx, a, false).await?;
                    applied.push(a.id.clone());
                }
            }
        }
        if let Some(checkpoint) = checkpoint {
            Self::set_sync_state_in(&mut tx, checkpoint.key, checkpoint.value).await?;
        }
        tx.commit().await.map_err(query(OP))?;
        Ok(applied)
    }

    /// The cached appointments overlapping `[from, to)`, in start order (ties by id).
    pub async fn appointments_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Appointment>, CacheError> {
        let (from, to) = (stamp(from), stamp(to));
        let rows = sqlx::query!(
            "SELECT id, body FROM appointments WHERE starts_at < ?2 AND ends_at > ?1 ORDER BY starts_at, id",
            from,
            to
        )
        .fetch_all(&self.readers)
        .await
        .map_err(query("read the book"))?;
        rows.iter().map(|r| decode(&r.id, &r.body)).collect()
    }

    /// The cached appointments overlapping `[from, to)` as the book shows them, in start order
    /// (ties by id): each with this desk's pending mark and its patient's name and phone from the
    /// cache (`None` when the patient is not cached), in one statement; only those of
    /// `providers` unless it is empty. The book used to read the patient and the mark with two
    /// statements per appointment, most of a week view's time.
    ///
    /// Read on the caller's thread through the rusqlite readers (see `search_readers`): a week
    /// of a full clinic is several hundred rows, and sqlx hands each one between threads.
    ///
    /// Each body is read as `T`: a type with only the fields a view shows (serde skips the rest)
    /// allocates and copies far less for a week than the whole appointment.
    pub async fn book_entries_between<T: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        providers: &[&str],
    ) -> Result<Vec<BookedAppointment<T>>, CacheError> {
        // An appointment lasts less than a day (the server refuses longer ones): one that reaches
        // into the span starts after this, which bounds the index range from below.
        let earliest = stamp(from - chrono::Duration::days(1));
        let (from, to) = (stamp(from), stamp(to));
        // The chosen providers as a JSON array, so one cached statement serves any number.
        let chosen = serde_json::Value::from(providers.to_vec()).to_string();
        let all = providers.is_empty();
        self.search_readers
            .run(|conn| {
                let operation = "read the book with its patients";
                let mut statement = conn
                    .prepare_cached(
                        "SELECT a.id, a.body, a.pending, p.first_name, p.last_name, p.phone
                         FROM appointments a LEFT JOIN patients p ON p.id = a.patient_id
                         WHERE a.starts_at < ?2 AND a.ends_at > ?1 AND a.starts_at > ?3
                           AND (?4 OR a.provider_id IN (SELECT value FROM json_each(?5)))
                         ORDER BY a.starts_at, a.id",
                    )
                    .map_err(read(operation))?;
                let rows = statement
                    .query_map(rusqlite::params![from, to, earliest, all, chosen], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, bool>(2)?,
                            r.get::<_, Option<String>>(3)?,
                            r.get::<_, Option<String>>(4)?,
                            r.get::<_, Option<String>>(5)?,
                        ))
                    })
                    .map_err(read(operation))?;
                let mut entries = Vec::new();
                for row in rows {
                    let (id, body, pending, first_name, last_name, phone) =
                        row.map_err(read(operation))?;
                    entries.push(BookedAppointment {
                        appointment: decode(&id, &body)?,
                        pending,
                        patient: match (first_name, last_name) {
                            (Some(first_name), Some(last_name)) => Some(BookedPatient {
                                first_name,
                                last_name,
                                phone,
                            }),
                            _ => None,
                        },
                    });
                }
                Ok(entries)
            })
            .await
    }

    /// The time each provider's cached appointments overlapping `[from, to)` hold (every status
    /// but cancelled), as `(provider id, start, end)`, without reading the appointments whole:
    /// the slot finder reads two months of a clinic's book for every search. Read from the
    /// `appointments_busy` index alone, on the caller's thread (see `search_readers`): through
    /// sqlx, the hand-offs of the statement and its few thousand rows between threads cost more
    /// than the search itself, most of all on a busy machine.
    pub async fn busy_spans_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(String, DateTime<Utc>, DateTime<Utc>)>, CacheError> {
        // An appointment lasts less than a day (the server refuses longer ones, and none crosses
        // its location's midnight): one that reaches into the span starts after this.
        let earliest = stamp(from - chrono::Duration::days(1));
        let (from, to) = (stamp(from), stamp(to));
        self.search_readers
            .run(|conn| {
                let operation = "read the book's busy times";
                // Named, as SQLite might otherwise walk another index and read every row.
                let mut statement = conn
                    .prepare_cached(
                        "SELECT provider_id,
                                CAST(round(unixepoch(starts_at, 'subsec') * 1000) AS INTEGER),
                                CAST(round(unixepoch(ends_at, 'subsec') * 1000) AS INTEGER)
                         FROM appointments INDEXED BY appointments_busy
                         WHERE starts_at < ?2 AND ends_at > ?1 AND starts_at > ?3
                           AND status <> 'cancelled'",
                    )
                    .map_err(read(operation))?;
                let rows = statement
                    .query_map(rusqlite::params![from, to, earliest], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, Option<i64>>(1)?,
                            r.get::<_, Option<i64>>(2)?,
                        ))
                    })
                    .map_err(read(operation))?;
                let mut spans = Vec::new();
                for row in rows {
                    let (provider, start, end) = row.map_err(read(operation))?;
                    let instant =
                        |ms: Option<i64>| ms.and_then(DateTime::<Utc>::from_timestamp_millis);
                    match (instant(start), instant(end)) {
                        (Some(start), Some(end)) => spans.push((provider, start, end)),
                        _ => {
                            return Err(CacheError::CorruptField {
                                what: "appointment",
                                id: provider,
                                field: "starts_at/ends_at",
                                value: format!("{start:?}/{end:?}"),
                            })
                        }
                    }
                }
                Ok(spans)
            })
            .await
    }

    /// One patient's cached appointments, most recent first.
    pub async fn patient_appointments(
        &self,
        patient_id: &str,
    ) -> Result<Vec<Appointment>, CacheError> {
        let rows = sqlx::query!(
            "SELECT id, body FROM appointments WHERE patient_id = ?1 ORDER BY starts_at DESC, id",
            patient_id
        )
        .fetch_all(&self.readers)
        .await
        .map_err(query("read a patient's appointments"))?;
        rows.iter().map(|r| decode(&r.id, &r.body)).collect()
    }
}
