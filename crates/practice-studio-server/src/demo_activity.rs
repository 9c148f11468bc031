//! `--demo-activity`: a clinic day played out on the demo data, one step every few seconds, so
//! the desk's live refresh and every webhook and feed event can be watched. Each step goes
//! through the same storage writes as the API (with the same status rules), so it makes the
//! same events: patients arrive and are checked in, roomed and seen (each visit noted, invoiced and
//! often paid for at the desk), and new patients register.

use std::time::Duration;

use chrono::{DateTime, Utc};
use practice_studio::model::{Appointment, AppointmentStatus};
use practice_studio::rules::appointments::check_transition;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::app::AppState;
use crate::storage::{AppointmentOutcome, AppointmentQuery, AppointmentSort, SingleJob};

/// Plays the day until the server stops. Several instances on one PostgreSQL database play it
/// once between them: a step is taken only by the instance that has the job's turn (see
/// [`crate::storage::InstanceStorage::turn`]); another takes the turn over if that one stops.
pub(crate) async fn run(app: AppState, every: Duration, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xac71_0000);
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut turn = app.storage.turn(SingleJob::DemoActivity).await;
    let mut playing = None;
    loop {
        ticker.tick().await;
        let held = turn.held().await;
        if playing != Some(held) {
            playing = Some(held);
            if held {
                tracing::info!("this instance plays the demo activity");
            } else {
                tracing::info!("another instance plays the demo activity");
            }
        }
        if !held {
            continue;
        }
        match step(&app, &mut rng, seed).await {
            Ok(Some(what)) => tracing::info!(what, "demo activity"),
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "demo activity step failed"),
        }
    }
}

/// The next move of today's book, if any is due: whichever appointment is most overdue for it.
fn next_move(
    book: &[Appointment],
    now: DateTime<Utc>,
) -> Option<(&Appointment, AppointmentStatus)> {
    use AppointmentStatus::*;
    let minutes = chrono::Duration::minutes;
    book.iter().find_map(|a| match a.status {
        InRoom if a.end_time <= now => Some((a, Completed)),
        CheckedIn if a.start_time <= now => Some((a, InRoom)),
        Scheduled if a.start_time <= now + minutes(10) && a.start_time >= now - minutes(30) => {
            Some((a, CheckedIn))
        }
        Scheduled if a.start_time < now - minutes(30) => Some((a, NoShow)),
        _ => None,
    })
}

async fn step(
    app: &AppState,
    rng: &mut ChaCha8Rng,
    seed: u64,
) -> Result<Option<&'static str>, String> {
    let now = app.clock.now();
    let today = app.clock.today();
    let query = AppointmentQuery {
        start_date: Some(today),
        end_date: Some(today),
        provider_id: None,
        patient_id: None,
        status: None,
        updated_since: None,
        sort: AppointmentSort::Start,
        descending: false,
        limit: 100,
        offset: 0,
    };
    let (_, joined) = app
        .storage
        .list_appointments(&query)
        .await
        .map_err(|e| e.to_string())?;
    let book: Vec<Appointment> =
        serde_json::from_str(&format!("[{joined}]")).map_err(|e| e.to_string())?;
    if let Some((appointment, to)) = next_move(&book, now) {
        let change = |current: &Appointment| {
            let at = check_transition(current.status, to, None, None, now)
                .map_err(|e| crate::error::ApiError::internal(e.to_string()))?;
            let mut next = current.clone();
            next.status = to;
            match to {
                AppointmentStatus::CheckedIn => next.checked_in_at = Some(at),
                AppointmentStatus::InRoom => next.roomed_at = Some(at),
                AppointmentStatus::Completed => next.completed_at = Some(at),
                AppointmentStatus::NoShow => next.no_show_at = Some(at),
                _ => {}
            }
            Ok(next)
        };
        // No move here takes a new time, so the clash guard never runs.
        let guard = |_: &Appointment, _: &[practice_studio::rules::TimeSpan]| Ok(());
        let outcome = app
            .storage
            .update_appointment(
                appointment.id.as_str(),
                Some(appointment.version),
                &change,
                &guard,
                now,
                None,
            )
            .await
            .map_err(|e| e.to_string())?;
        return Ok(match outcome {
            AppointmentOutcome::Saved(done) if to == AppointmentStatus::Completed => {
                // A completed visit gets its note and its invoice, and the patient often pays a
                // copay on the way out.
                write_visit_note(app, &done, now).await?;
                let invoice = issue_visit_invoice(app, &done, today, now).await?;
                if rng.random_bool(0.6) {
                    take_copay(app, &invoice, today, now).await?;
                    Some("a visit was completed, noted, invoiced and a copay paid")
                } else {
                    Some("a visit was completed, noted and invoiced")
                }
            }
            AppointmentOutcome::Saved(_) => Some(match to {
                AppointmentStatus::CheckedIn => "a patient checked in",
                AppointmentStatus::InRoom => "a patient went into a room",
                _ => "a patient did not come",
            }),
            // Someone at a desk changed it first: fine, the day goes on.
            _ => None,
        });
    }
    if rng.random_bool(0.3) {
        let patient = crate::demo::patient(&mut newcomer_draw(app, seed).await?, today);
        app.storage
            .create_patient(&patient, now, None)
            .await
            .map_err(|e| e.to_string())?;
        return Ok(Some("a new patient registered"));
    }
    Ok(None)
}

/// Who registers next is drawn from the seed and how many patients the clinic already has, not
/// from the player's own sequence. That sequence starts again whenever an instance starts playing
/// (a restart on the same database, or another instance taking the turn over), and drawing
/// newcomers from it would register the previous player's "new" patients a second time.
async fn newcomer_draw(app: &AppState, seed: u64) -> Result<ChaCha8Rng, String> {
    let registered = app
        .storage
        .count_patients()
        .await
        .map_err(|e| e.to_string())?;
    Ok(ChaCha8Rng::seed_from_u64(
        seed ^ 0x9a71_e700_0000_0000 ^ registered.wrapping_mul(0x9e37_79b9_7f4a_7c15),
    ))
}

/// The clinician's note of a completed visit.
async fn write_visit_note(
    app: &AppState,
    visit: &Appointment,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let note = crate::storage::ValidRecord {
        provider_id: visit.provider_id.clone(),
        record_type: "Progress Note".into(),
        date: now,
        title: format!("{} visit", visit.kind),
        content: practice_studio::model::RecordContent {
            subjective: "Patient reports feeling well; no new complaints.".into(),
            objective: "BP 122/78, pulse 70, temperature 98.4F.".into(),
            assessment: "Stable.".into(),
            plan: "Continue current plan; follow up as scheduled.".into(),
        },
    };
    app.storage
        .create_record(visit.patient_id.as_str(), &note, now, None)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A $25 copay by card against the visit's invoice.
async fn take_copay(
    app: &AppState,
    invoice: &practice_studio::model::Invoice,
    today: chrono::NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let copay = crate::storage::ValidPayment {
        method: "Credit Card".into(),
        amount: rust_decimal::Decimal::new(2_500, 2),
        reference: Some(format!("CC-DEMO-{}", now.timestamp())),
        date: today,
    };
    app.storage
        .add_payment(invoice.id.as_str(), &copay, today, now, None)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The invoice of a completed visit: an established-patient office visit (CPT 99213).
async fn issue_visit_invoice(
    app: &AppState,
    visit: &Appointment,
    today: chrono::NaiveDate,
    now: DateTime<Utc>,
) -> Result<practice_studio::model::Invoice, String> {
    let price = rust_decimal::Decimal::new(12_000, 2);
    let invoice = crate::storage::DemoInvoice {
        patient_id: visit.patient_id.0.clone(),
        date: today,
        due_date: today + chrono::Duration::days(30),
        items: vec![practice_studio::model::InvoiceItem {
            code: "99213".into(),
            description: "Office visit, established patient".into(),
            unit_price: price,
            quantity: 1,
            total: price,
        }],
        payments: Vec::new(),
        adjustments: Vec::new(),
    };
    app.storage
        .issue_invoice(&invoice, today, now)
        .await
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn appointment(status: AppointmentStatus, start: &str, minutes: i64) -> Appointment {
        let start: DateTime<Utc> = start.parse().expect("time");
        serde_json::from_value(serde_json::json!({
            "id": "APPT-1", "patientId": "PAT-1", "providerId": "PROV-1",
            "startTime": start, "endTime": start + chrono::Duration::minutes(minutes),
            "type": "Follow-up", "status": status,
            "location": {"id": "LOC-1", "name": "Main", "address": {"line1": "1", "city": "c", "state": "IL", "postalCode": "1"}},
            "version": 1, "created": start, "updated": start,
            "_links": {"self": {"href": "/a"}, "patient": {"href": "/p"}, "provider": {"href": "/v"}}
        }))
        .expect("an appointment")
    }

    #[test]
    fn the_day_moves_forward_as_time_passes() {
        let now: DateTime<Utc> = "2026-11-23T16:00:00Z".parse().expect("time");
        use AppointmentStatus::*;
        let due = |a: Appointment| next_move(std::slice::from_ref(&a), now).map(|(_, to)| to);
        assert_eq!(
            due(appointment(Scheduled, "2026-11-23T16:05:00Z", 30)),
            Some(CheckedIn)
        );
        assert_eq!(
            due(appointment(Scheduled, "2026-11-23T17:00:00Z", 30)),
            None
        );
        assert_eq!(
            due(appointment(Scheduled, "2026-11-23T15:00:00Z", 30)),
            Some(NoShow)
        );
        assert_eq!(
            due(appointment(CheckedIn, "2026-11-23T15:55:00Z", 30)),
            Some(InRoom)
        );
        assert_eq!(
            due(appointment(InRoom, "2026-11-23T15:00:00Z", 30)),
            Some(Completed)
        );
        assert_eq!(due(appointment(InRoom, "2026-11-23T15:50:00Z", 30)), None);
        assert_eq!(
            due(appointment(Completed, "2026-11-23T15:00:00Z", 30)),
            None
        );
    }
}
