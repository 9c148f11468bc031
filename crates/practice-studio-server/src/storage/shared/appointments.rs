//! appointments: written once for both engines; see [`super`] for how the sharing works.

/// The appointments storage of one engine: `$Store` the storage type, `$Db` its `sqlx::Database`,
/// `$Row` its row and `$Conn` its connection.
macro_rules! appointments_storage {
    ($Store:ident, $Db:ty, $Row:ty, $Conn:ty) => {
        use std::collections::HashMap;

        use chrono::{DateTime, Duration, NaiveDate, Utc};
        use chrono_tz::Tz;
        use practice_studio::model::{
            Appointment, AppointmentId, AppointmentLinks, AppointmentStatus, Location, PatientId,
        };
        use practice_studio::rules::TimeSpan;
        use sqlx::Row;

        use super::{append_event, corrupt, parse_ts, ts, $Store, FIRST_NUMBER};
        use crate::storage::{
            AppointmentOutcome, AppointmentQuery, AppointmentSort, AppointmentStorage, BookingGuard,
            IdempotencyClaim, Result, StorageError, StoredResponse,
        };

        /// How far around an appointment the clash check looks for other bookings: no appointment is
        /// longer than a day.
        const CLASH_WINDOW: Duration = Duration::hours(24);

        /// What a receiver must be allowed to read to see appointment events.
        const SCOPE: &str = "read:appointments";

        /// The one event a change makes: a cancellation is only `appointment.canceled` (the
        /// reference's spelling), a completion only `appointment.completed`, anything else
        /// `appointment.updated`.
        fn change_event(from: AppointmentStatus, to: AppointmentStatus) -> &'static str {
            match (from == to, to) {
                (false, AppointmentStatus::Cancelled) => "appointment.canceled",
                (false, AppointmentStatus::Completed) => "appointment.completed",
                _ => "appointment.updated",
            }
        }

        /// The response an idempotent create or change stores with its effect.
        fn stored_response(appointment: &Appointment, created: bool) -> Result<StoredResponse> {
            Ok(StoredResponse {
                status: if created { 201 } else { 200 },
                location: created.then(|| appointment.links.self_.href.clone()),
                etag: Some(format!("\"{}\"", appointment.version)),
                body: serde_json::to_string(appointment).map_err(corrupt("appointment"))?,
            })
        }

        /// The zone of each location, for the local calendar date of a start.
        async fn zones(conn: &mut $Conn) -> Result<HashMap<String, Tz>> {
            let bodies = sqlx::query_scalar::<_, String>("SELECT body FROM locations")
                .fetch_all(conn)
                .await?;
            let mut zones = HashMap::new();
            for body in bodies {
                let location: Location = serde_json::from_str(&body).map_err(corrupt("location"))?;
                let zone: Tz = location.time_zone.parse().map_err(|_| {
                    StorageError::Corrupt(format!("location {} has an unknown time zone", location.id))
                })?;
                zones.insert(location.id.0, zone);
            }
            Ok(zones)
        }

        fn local_date(zones: &HashMap<String, Tz>, appointment: &Appointment) -> Result<NaiveDate> {
            let zone = zones
                .get(appointment.location.id.as_str())
                .ok_or_else(|| StorageError::Corrupt(format!("no location {}", appointment.location.id)))?;
            Ok(appointment.start_time.with_timezone(zone).date_naive())
        }

        /// The provider's non-cancelled bookings near `around`, other than `except`.
        async fn bookings_near(
            conn: &mut $Conn,
            provider_id: &str,
            around: &Appointment,
            except: Option<&str>,
        ) -> Result<Vec<TimeSpan>> {
            let rows = sqlx::query(
                "SELECT start_time, end_time FROM appointments WHERE provider_id = $1 AND status != 'cancelled' \
                 AND start_time < $2 AND end_time > $3 AND id != $4",
            )
            .bind(provider_id)
            .bind(ts(around.end_time + CLASH_WINDOW))
            .bind(ts(around.start_time - CLASH_WINDOW))
            .bind(except.unwrap_or(""))
            .fetch_all(conn)
            .await?;
            spans(&rows)
        }

        fn spans(rows: &[$Row]) -> Result<Vec<TimeSpan>> {
            rows.iter()
                .map(|row| {
                    let start = parse_ts(&row.try_get::<String, _>("start_time")?)?;
                    let end = parse_ts(&row.try_get::<String, _>("end_time")?)?;
                    TimeSpan::new(start, end).map_err(corrupt("appointment time"))
                })
                .collect()
        }

        async fn insert_row(
            conn: &mut $Conn,
            seq: i64,
            appointment: &Appointment,
            local_date: NaiveDate,
        ) -> Result<()> {
            sqlx::query(
                "INSERT INTO appointments (seq, id, patient_id, provider_id, location_id, start_time, \
                 end_time, local_date, status, version, created, updated, body) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(seq)
            .bind(appointment.id.as_str())
            .bind(appointment.patient_id.as_str())
            .bind(appointment.provider_id.as_str())
            .bind(appointment.location.id.as_str())
            .bind(ts(appointment.start_time))
            .bind(ts(appointment.end_time))
            .bind(local_date.to_string())
            .bind(appointment.status.as_str())
            .bind(appointment.version)
            .bind(ts(appointment.created))
            .bind(ts(appointment.updated))
            .bind(serde_json::to_string(appointment).map_err(corrupt("appointment"))?)
            .execute(conn)
            .await?;
            Ok(())
        }

        fn numbered(draft: &Appointment, seq: i64) -> Appointment {
            let id = AppointmentId(format!("APPT-{}", FIRST_NUMBER + seq));
            let mut appointment = draft.clone();
            appointment.links = AppointmentLinks::new(&id, &draft.patient_id, &draft.provider_id);
            appointment.id = id;
            appointment
        }

        fn parse_body(body: &str) -> Result<Appointment> {
            serde_json::from_str(body).map_err(corrupt("appointment"))
        }

        #[async_trait::async_trait]
        impl AppointmentStorage for $Store {
            async fn list_appointments(&self, query: &AppointmentQuery) -> Result<(u64, String)> {
                let mut conditions: Vec<&str> = Vec::new();
                let mut binds: Vec<String> = Vec::new();
                if let Some(from) = query.start_date {
                    conditions.push("local_date >= ?");
                    binds.push(from.to_string());
                }
                if let Some(to) = query.end_date {
                    conditions.push("local_date <= ?");
                    binds.push(to.to_string());
                }
                if let Some(provider) = &query.provider_id {
                    conditions.push("provider_id = ?");
                    binds.push(provider.clone());
                }
                if let Some(patient) = &query.patient_id {
                    conditions.push("patient_id = ?");
                    binds.push(patient.clone());
                }
                if let Some(status) = query.status {
                    conditions.push("status = ?");
                    binds.push(status.as_str().to_owned());
                }
                if let Some(since) = query.updated_since {
                    // Inclusive: a client polling with the last `updated` it saw misses nothing.
                    conditions.push("updated >= ?");
                    binds.push(ts(since));
                }
                let where_clause = if conditions.is_empty() {
                    String::new()
                } else {
                    format!("WHERE {}", conditions.join(" AND "))
                };
                let dir = if query.descending { "DESC" } else { "ASC" };
                let order = match query.sort {
                    AppointmentSort::Start => format!("start_time {dir}, id {dir}"),
                    AppointmentSort::Created => format!("seq {dir}"),
                    AppointmentSort::Updated => format!("updated {dir}, id {dir}"),
                };
                let count_sql =
                    super::numbered(&format!("SELECT COUNT(*) FROM appointments {where_clause}"));
                let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
                for bind in &binds {
                    count = count.bind(bind);
                }
                let total = count.fetch_one(&self.readers).await? as u64;
                // `string_agg` is SQLite's `group_concat` too (since 3.44).
                let page_sql = super::numbered(&format!(
                    "SELECT COALESCE(string_agg(body, ',' ORDER BY {order}), '') FROM \
                     (SELECT body, start_time, id, seq, updated FROM appointments {where_clause} \
                      ORDER BY {order} LIMIT ? OFFSET ?) AS page"
                ));
                let mut page = sqlx::query_scalar::<_, String>(&page_sql);
                for bind in &binds {
                    page = page.bind(bind);
                }
                let items = page
                    .bind(query.limit as i64)
                    .bind(i64::try_from(query.offset).unwrap_or(i64::MAX))
                    .fetch_one(&self.readers)
                    .await?;
                Ok((total, items))
            }

            async fn appointment(&self, id: &str) -> Result<Option<Appointment>> {
                let body = sqlx::query_scalar::<_, String>("SELECT body FROM appointments WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.readers)
                    .await?;
                body.as_deref().map(parse_body).transpose()
            }

            async fn create_appointment(
                &self,
                draft: &Appointment,
                guard: BookingGuard<'_>,
                idempotency: Option<&IdempotencyClaim>,
            ) -> Result<AppointmentOutcome> {
                let mut tx = self.write().await?;
                let booked = bookings_near(&mut tx, draft.provider_id.as_str(), draft, None).await?;
                if let Err(refusal) = guard(draft, &booked) {
                    return Ok(AppointmentOutcome::Refused(refusal));
                }
                let zones = zones(&mut tx).await?;
                let seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM appointments")
                    .fetch_one(&mut *tx)
                    .await?;
                let appointment = numbered(draft, seq);
                insert_row(
                    &mut tx,
                    seq,
                    &appointment,
                    local_date(&zones, &appointment)?,
                )
                .await?;
                append_event(
                    &mut tx,
                    "appointment.created",
                    SCOPE,
                    &appointment,
                    appointment.created,
                )
                .await?;
                if let Some(claim) = idempotency {
                    Self::store_response_in(&mut tx, claim, &stored_response(&appointment, true)?).await?;
                }
                tx.commit().await?;
                self.events_committed();
                Ok(AppointmentOutcome::Saved(Box::new(appointment)))
            }

            async fn update_appointment(
                &self,
                id: &str,
                expected_version: Option<i64>,
                change: super::super::AppointmentChange<'_>,
                guard: BookingGuard<'_>,
                now: DateTime<Utc>,
                idempotency: Option<&IdempotencyClaim>,
            ) -> Result<AppointmentOutcome> {
                let mut tx = self.write().await?;
                let Some(body) =
                    sqlx::query_scalar::<_, String>("SELECT body FROM appointments WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?
                else {
                    return Ok(AppointmentOutcome::NotFound);
                };
                let current = parse_body(&body)?;
                if expected_version.is_some_and(|expected| expected != current.version) {
                    return Ok(AppointmentOutcome::VersionMismatch {
                        current: current.version,
                    });
                }
                let mut changed = match change(&current) {
                    Ok(changed) => changed,
                    Err(refusal) => return Ok(AppointmentOutcome::Refused(refusal)),
                };
                let takes_new_time = changed.status.holds_time()
                    && (!current.status.holds_time()
                        || changed.start_time != current.start_time
                        || changed.end_time != current.end_time
                        || changed.provider_id != current.provider_id
                        || changed.location.id != current.location.id);
                if takes_new_time {
                    let booked =
                        bookings_near(&mut tx, changed.provider_id.as_str(), &changed, Some(id)).await?;
                    if let Err(refusal) = guard(&changed, &booked) {
                        return Ok(AppointmentOutcome::Refused(refusal));
                    }
                }
                changed.id = current.id.clone();
                changed.links =
                    AppointmentLinks::new(&current.id, &changed.patient_id, &changed.provider_id);
                changed.version = current.version + 1;
                changed.created = current.created;
                // `updated` never goes backwards, even if the clock does.
                changed.updated = now.max(current.updated);
                let zones = zones(&mut tx).await?;
                sqlx::query(
                    "UPDATE appointments SET patient_id = $1, provider_id = $2, location_id = $3, start_time = $4, \
                     end_time = $5, local_date = $6, status = $7, version = $8, updated = $9, body = $10 WHERE id = $11",
                )
                .bind(changed.patient_id.as_str())
                .bind(changed.provider_id.as_str())
                .bind(changed.location.id.as_str())
                .bind(ts(changed.start_time))
                .bind(ts(changed.end_time))
                .bind(local_date(&zones, &changed)?.to_string())
                .bind(changed.status.as_str())
                .bind(changed.version)
                .bind(ts(changed.updated))
                .bind(serde_json::to_string(&changed).map_err(corrupt("appointment"))?)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                append_event(
                    &mut tx,
                    change_event(current.status, changed.status),
                    SCOPE,
                    &changed,
                    changed.updated,
                )
                .await?;
                if let Some(claim) = idempotency {
                    Self::store_response_in(&mut tx, claim, &stored_response(&changed, false)?).await?;
                }
                tx.commit().await?;
                self.events_committed();
                Ok(AppointmentOutcome::Saved(Box::new(changed)))
            }

            async fn provider_bookings(
                &self,
                provider_id: &str,
                from: DateTime<Utc>,
                to: DateTime<Utc>,
            ) -> Result<Vec<TimeSpan>> {
                let rows = sqlx::query(
                    "SELECT start_time, end_time FROM appointments WHERE provider_id = $1 \
                     AND status != 'cancelled' AND start_time < $2 AND end_time > $3 ORDER BY start_time",
                )
                .bind(provider_id)
                .bind(ts(to))
                .bind(ts(from))
                .fetch_all(&self.readers)
                .await?;
                spans(&rows)
            }

            async fn bulk_insert_appointments(&self, drafts: &[Appointment]) -> Result<u64> {
                let mut tx = self.write().await?;
                let zones = zones(&mut tx).await?;
                let mut seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM appointments")
                    .fetch_one(&mut *tx)
                    .await?;
                for draft in drafts {
                    let appointment = numbered(draft, seq);
                    insert_row(
                        &mut tx,
                        seq,
                        &appointment,
                        local_date(&zones, &appointment)?,
                    )
                    .await?;
                    seq += 1;
                }
                tx.commit().await?;
                Ok(drafts.len() as u64)
            }

            async fn active_patient_ids(&self, limit: u32) -> Result<Vec<PatientId>> {
                let ids = sqlx::query_scalar::<_, String>(
                    "SELECT id FROM patients WHERE status = 'active' ORDER BY seq LIMIT $1",
                )
                .bind(limit as i64)
                .fetch_all(&self.readers)
                .await?;
                Ok(ids.into_iter().map(PatientId).collect())
            }
        }
    };
}
pub(crate) use appointments_storage;
