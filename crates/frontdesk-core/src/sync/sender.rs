//! Sends the outbox, oldest first, each entry with its author's credentials, and decides what
//! each answer means:
//!
//! | answer | what happens |
//! |---|---|
//! | 2xx | the pending row becomes the server's (a local id is mapped to the server's) |
//! | no answer, 429, 502, 503, 504, key still in use | retried later with back-off, same key |
//! | 401 (or a refused token refresh) | the author's writes wait until they sign in again |
//! | 403 | conflict list: the author's role may not do this |
//! | 404, 410 | conflict list: deleted elsewhere |
//! | 409 clash or stale version | conflict list, with the server's current patient |
//! | 400, 422 | conflict list, with the server's details |
//! | 2xx that cannot be read | resent at once with the same key (the server replays its answer); conflict list if that keeps failing |
//! | anything else | conflict list, logged with the request id |
//!
//! Where the server offers bulk writes, consecutive entries of one kind and author go in one
//! request and each item's answer means what the table says (`bulk.rs`).
//!
//! An entry blocks the later entries of its entity and the entries referring to it, nothing
//! else. An entry older than the server's key retention is not resent (the server may have
//! forgotten its key and would act twice): it goes to the conflict list for a person to check.

use std::collections::HashSet;
use std::time::Duration;

use chrono::Utc;
use practice_studio::client::{
    Client, Error as ClientError, Priority, Problem, RetryPolicy, SignInError,
};
use practice_studio::model::{
    Appointment, AppointmentId, AppointmentPatch, InvoiceId, NewAppointment, NewPatient, Patient,
    PatientId, PaymentCreated,
};
use serde_json::json;

use frontdesk_store::{entity_key, ConflictKind, EntityKind, OutboxEntry, Refusal};

use super::bulk::Round;
use super::{Collection, SyncEngine, SyncError, SyncEvent};

/// What one pass over the outbox did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DrainReport {
    /// Entries the server accepted.
    pub sent: u32,
    /// Entries moved to the conflict list.
    pub refused: u32,
    /// Entries left pending: backing off, blocked behind another entry, or waiting for their
    /// author to sign in.
    pub waiting: u32,
    /// When the earliest back-off ends, if any entry is backing off.
    pub next_retry_in: Option<Duration>,
}

/// The server's answer to an accepted write, by kind.
pub(super) enum Accepted {
    Patient(Box<Patient>),
    Appointment(Box<Appointment>),
    Payment(Box<PaymentCreated>),
}

/// The stored body of a payment entry: which invoice, and the payment.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PaymentPayload {
    pub(crate) invoice_id: String,
    pub(crate) payment: practice_studio::model::NewPayment,
}

/// Why an ambiguous failure is not resent to a server without idempotency keys.
const AMBIGUOUS: &str =
    "the server may or may not have made this change (no clear answer), and it \
                         cannot recognise a resend; check before sending it again";

/// What the server's answer to one send means for the entry.
pub(super) enum Outcome {
    Accepted(Accepted),
    /// Try this entry again later. `link`: the failure was the network's or the server's as a
    /// whole (no answer, 429, 502–504), not this entry's, so the other entries wait too.
    Retry {
        after: Option<Duration>,
        link: bool,
    },
    SignInNeeded,
    Refused(Refusal),
}

/// One send: an outcome, or a 2xx whose answer could not be read (resent with the same key).
enum Sent {
    Outcome(Outcome),
    Unreadable,
}

/// The request an outbox entry stands for.
pub(super) enum Prepared {
    PatientCreate(Box<NewPatient>),
    PatientUpdate {
        id: PatientId,
        /// The stored JSON Merge Patch, sent as it is.
        patch: serde_json::Value,
        version: i64,
    },
    AppointmentCreate(Box<NewAppointment>),
    AppointmentUpdate {
        id: AppointmentId,
        patch: Box<AppointmentPatch>,
        version: i64,
    },
    Payment(Box<PaymentPayload>),
    /// The entry cannot be sent at all.
    Corrupt(Refusal),
}

/// How a drain pass goes on after an answer.
pub(super) enum Flow {
    Go,
    /// A registration got its server id: the later entries were renamed, read them again.
    Renamed,
    /// The API is out of reach: nothing more this pass.
    Stop,
}

/// One pass over the outbox: what it did so far and what blocks the rest.
pub(super) struct Pass<'r> {
    pub(super) report: &'r mut DrainReport,
    /// Entity keys (and references) whose later entries must wait.
    pub(super) blocked: HashSet<String>,
}

/// A 2xx answer unreadable after every resend.
pub(super) fn unreadable_again() -> Refusal {
    Refusal {
        kind: ConflictKind::Other,
        message: "the server's answer to this change could not be read, again and again".to_owned(),
        server_status: None,
        server_body: None,
    }
}

fn problem_body(problem: &Problem) -> serde_json::Value {
    json!({
        "code": problem.code,
        "message": problem.message,
        "details": problem.details,
        "requestId": problem.request_id,
    })
}

fn refusal(kind: ConflictKind, message: &str, problem: Option<&Problem>) -> Refusal {
    Refusal {
        kind,
        message: message.to_owned(),
        server_status: problem.map(|p| p.status),
        server_body: problem.map(problem_body),
    }
}

impl SyncEngine {
    /// Sends every entry that may go now, in order. Returns when each entry was sent, refused,
    /// or has to wait; [`DrainReport::next_retry_in`] says when to try again. Where the server
    /// offers bulk writes, entries of one kind and author go together in rounds, parents before
    /// dependents (see `bulk.rs`).
    pub async fn drain_outbox(&self) -> Result<DrainReport, SyncError> {
        let _one_at_a_time = self.inner.drain_lock.lock().await;
        // A desk started offline goes by what an earlier run read of the server.
        self.known_features().await?;
        let bulk = self.server_features().bulk_sends();
        let store = self.inner.store.clone();
        let mut report = DrainReport::default();
        // Again after a registration got its server id (the entries after it were renamed), and
        // after a round of bulk sends whose dependents waited for it.
        'pass: loop {
            report.waiting = 0;
            let entries = store.pending_writes(1000).await?;
            let link_wait = self
                .state()
                .link_retry_at
                .map(|at| at - Utc::now())
                .and_then(|left| left.to_std().ok())
                .filter(|left| !left.is_zero());
            if let Some(wait) = link_wait {
                report.waiting = entries.len() as u32;
                report.next_retry_in = Some(wait);
                return Ok(report);
            }
            let mut pass = Pass {
                report: &mut report,
                blocked: store.entities_in_conflict().await?,
            };
            let mut round = Round::default();
            for entry in entries {
                let key = entity_key(entry.entity_kind, &entry.entity_id);
                if pass.blocked.contains(&key)
                    || entry.refs.iter().any(|r| pass.blocked.contains(r))
                {
                    pass.blocked.insert(key);
                    pass.report.waiting += 1;
                    continue;
                }
                // An entry that depends on one going in this round (its server id, its
                // version) waits for the next round, as it would wait behind a single send.
                if bulk && round.defers(&entry) {
                    continue;
                }
                let now = Utc::now();
                let backing_off = self.state().retry_at.get(&entry.seq).copied();
                if let Some(at) = backing_off.filter(|at| *at > now) {
                    let wait = (at - now).to_std().unwrap_or_default();
                    pass.report.next_retry_in = Some(
                        pass.report
                            .next_retry_in
                            .map_or(wait, |w: Duration| w.min(wait)),
                    );
                    pass.blocked.insert(key);
                    pass.report.waiting += 1;
                    continue;
                }
                let Some(client) = self.author_client(&entry.author).await else {
                    pass.blocked.insert(key);
                    pass.report.waiting += 1;
                    continue;
                };
                // Measured on the machine's clock, as the store stamps entries.
                if now - entry.created > self.inner.options.key_retention {
                    let refusal = Refusal {
                        kind: ConflictKind::Other,
                        message: "this change waited longer than the server remembers a request; \
                                  check whether it was already applied before sending it again"
                            .to_owned(),
                        server_status: None,
                        server_body: None,
                    };
                    self.refuse(&entry, &refusal).await?;
                    pass.report.refused += 1;
                    pass.blocked.insert(key);
                    continue;
                }
                if bulk {
                    round.add(client, entry, self.inner.options.bulk_size);
                    continue;
                }
                match self.send_alone(&client, &entry, &mut pass).await? {
                    Flow::Go => {}
                    Flow::Renamed => continue 'pass,
                    Flow::Stop => return Ok(report),
                }
            }
            let settled = pass.report.sent + pass.report.refused;
            let mut renamed = false;
            for group in round.groups {
                match self.send_group(group, &mut pass).await? {
                    Flow::Go => {}
                    Flow::Renamed => renamed = true,
                    Flow::Stop => return Ok(report),
                }
            }
            let progressed = pass.report.sent + pass.report.refused > settled;
            if renamed || (round.deferred > 0 && progressed) {
                continue 'pass;
            }
            // Their parents could not go: the dependents wait with them.
            pass.report.waiting += round.deferred;
            return Ok(report);
        }
    }

    /// Sends one entry by its single request (resending at once, with its key, an answer that
    /// could not be read) and applies the answer.
    pub(super) async fn send_alone(
        &self,
        client: &Client,
        entry: &OutboxEntry,
        pass: &mut Pass<'_>,
    ) -> Result<Flow, SyncError> {
        let idempotent = self.server_features().idempotency;
        let mut unreadable = 0;
        let outcome = loop {
            match self.send(client, entry).await? {
                Sent::Unreadable if !idempotent => {
                    break Outcome::Refused(Refusal {
                        kind: ConflictKind::Other,
                        message: AMBIGUOUS.to_owned(),
                        server_status: None,
                        server_body: None,
                    })
                }
                Sent::Unreadable if unreadable < self.inner.options.unreadable_answer_resends => {
                    unreadable += 1;
                    tracing::info!(seq = entry.seq, "answer unreadable; resending");
                }
                Sent::Unreadable => break Outcome::Refused(unreadable_again()),
                Sent::Outcome(outcome) => break outcome,
            }
        };
        if !matches!(outcome, Outcome::Retry { link: true, .. }) {
            self.link_answered();
        }
        self.apply_outcome(entry, outcome, pass).await
    }

    /// After a patient's or an appointment's write was accepted and recorded: the entry's
    /// retry forgotten, the pass counted, and the UI told (under both ids when the server gave
    /// the entity its own).
    fn accepted(
        &self,
        entry: &OutboxEntry,
        server_id: &str,
        collection: Collection,
        pass: &mut Pass<'_>,
    ) -> Flow {
        let renamed = server_id != entry.entity_id;
        self.state().retry_at.remove(&entry.seq);
        pass.report.sent += 1;
        tracing::info!(seq = entry.seq, ?collection, "write accepted");
        self.emit(SyncEvent::WriteAccepted {
            seq: entry.seq,
            entity_id: server_id.to_owned(),
            local_id: renamed.then(|| entry.entity_id.clone()),
        });
        let mut ids = vec![server_id.to_owned()];
        if renamed {
            ids.push(entry.entity_id.clone());
        }
        self.emit(SyncEvent::Changed { collection, ids });
        if renamed {
            Flow::Renamed
        } else {
            Flow::Go
        }
    }

    /// What the answer to one entry does: see the module's table.
    pub(super) async fn apply_outcome(
        &self,
        entry: &OutboxEntry,
        outcome: Outcome,
        pass: &mut Pass<'_>,
    ) -> Result<Flow, SyncError> {
        let store = &self.inner.store;
        let key = entity_key(entry.entity_kind, &entry.entity_id);
        match outcome {
            Outcome::Accepted(Accepted::Appointment(answer)) => {
                store.complete_appointment_write(entry.seq, &answer).await?;
                Ok(self.accepted(entry, answer.id.as_str(), Collection::Appointments, pass))
            }
            Outcome::Accepted(Accepted::Payment(answer)) => {
                store.complete_payment_write(entry.seq, &answer).await?;
                self.state().retry_at.remove(&entry.seq);
                pass.report.sent += 1;
                tracing::info!(seq = entry.seq, "payment accepted");
                self.emit(SyncEvent::WriteAccepted {
                    seq: entry.seq,
                    entity_id: answer.payment.id.to_string(),
                    local_id: Some(entry.entity_id.clone()),
                });
                Ok(Flow::Go)
            }
            Outcome::Accepted(Accepted::Patient(answer)) => {
                store.complete_patient_write(entry.seq, &answer).await?;
                Ok(self.accepted(entry, answer.id.as_str(), Collection::Patients, pass))
            }
            Outcome::Retry { after, link: true } => {
                // No point trying the others now: they would meet the same network.
                store.record_attempt(entry.seq).await?;
                let wait = {
                    let mut state = self.state();
                    state.link_failures = state.link_failures.saturating_add(1);
                    let wait = self.backoff_of(i64::from(state.link_failures), after);
                    state.link_retry_at = Some(Utc::now() + chrono_of(wait));
                    wait
                };
                pass.report.next_retry_in = Some(
                    pass.report
                        .next_retry_in
                        .map_or(wait, |w: Duration| w.min(wait)),
                );
                // Whatever is still queued waits for the link.
                pass.report.waiting =
                    u32::try_from(store.pending_count().await?).unwrap_or(u32::MAX);
                tracing::info!(
                    seq = entry.seq,
                    wait_ms = wait.as_millis() as u64,
                    "the API is out of reach; the outbox waits"
                );
                Ok(Flow::Stop)
            }
            Outcome::Retry { after, link: false } => {
                self.link_answered();
                store.record_attempt(entry.seq).await?;
                let wait = self.backoff_of(entry.attempts + 1, after);
                self.state()
                    .retry_at
                    .insert(entry.seq, Utc::now() + chrono_of(wait));
                pass.report.next_retry_in = Some(
                    pass.report
                        .next_retry_in
                        .map_or(wait, |w: Duration| w.min(wait)),
                );
                pass.report.waiting += 1;
                pass.blocked.insert(key);
                tracing::info!(
                    seq = entry.seq,
                    wait_ms = wait.as_millis() as u64,
                    "write will be retried"
                );
                Ok(Flow::Go)
            }
            Outcome::SignInNeeded => {
                self.pause_author(&entry.author);
                pass.report.waiting += 1;
                pass.blocked.insert(key);
                Ok(Flow::Go)
            }
            Outcome::Refused(refusal) => {
                self.refuse(entry, &refusal).await?;
                pass.report.refused += 1;
                pass.blocked.insert(key);
                Ok(Flow::Go)
            }
        }
    }

    /// The author's client, unless their credentials were refused or they are not signed in
    /// (then they are asked to sign in, once).
    async fn author_client(&self, author: &str) -> Option<Client> {
        if self.state().paused.contains(author) {
            return None;
        }
        let client = self.inner.authors.read().await.get(author).cloned();
        if client.is_none() {
            self.pause_author(author);
        }
        client
    }

    fn pause_author(&self, author: &str) {
        let newly = self.state().paused.insert(author.to_owned());
        if newly {
            tracing::info!("an author's writes wait for them to sign in");
            self.emit(SyncEvent::SignInNeeded {
                author: author.to_owned(),
            });
        }
    }

    async fn refuse(&self, entry: &OutboxEntry, refusal: &Refusal) -> Result<(), SyncError> {
        let conflict_id = self
            .inner
            .store
            .move_to_conflicts(entry.seq, refusal)
            .await?;
        self.state().retry_at.remove(&entry.seq);
        self.emit(SyncEvent::WriteRefused {
            seq: entry.seq,
            conflict_id,
        });
        Ok(())
    }

    /// The API answered: the link is fine again.
    pub(super) fn link_answered(&self) {
        let mut state = self.state();
        state.link_failures = 0;
        state.link_retry_at = None;
    }

    /// Exponential back-off from the number of failures, with jitter so desks that failed
    /// together do not retry together; never sooner than the server's `Retry-After`.
    fn backoff_of(&self, attempts: i64, retry_after: Option<Duration>) -> Duration {
        let options = &self.inner.options;
        let failures = u32::try_from(attempts.clamp(1, 16)).unwrap_or(1);
        let ceiling = super::retry_wait(options.retry_base, options.retry_max, failures);
        super::jittered(ceiling).max(retry_after.unwrap_or_default())
    }

    /// The request an entry stands for, read from its stored payload (a booking's local patient
    /// id mapped to the server's, an update's `If-Match` from the entry or the one before it), or
    /// the refusal of an entry that cannot be sent.
    pub(super) async fn prepare(&self, entry: &OutboxEntry) -> Result<Prepared, SyncError> {
        let corrupt = |what: &str| {
            Prepared::Corrupt(Refusal {
                kind: ConflictKind::Other,
                message: format!("this change cannot be sent: {what}"),
                server_status: None,
                server_body: None,
            })
        };
        let version = || async {
            match entry.base_version {
                Some(version) => Ok(Some(version)),
                None => {
                    self.inner
                        .store
                        .chained_version(entry.entity_kind, &entry.entity_id, entry.seq)
                        .await
                }
            }
        };
        Ok(match (entry.entity_kind, entry.operation.as_str()) {
            (EntityKind::Patient, "create") => {
                match serde_json::from_value::<NewPatient>(entry.payload.clone()) {
                    Ok(patient) => Prepared::PatientCreate(Box::new(patient)),
                    Err(_) => corrupt("its stored details are unreadable"),
                }
            }
            (EntityKind::Patient, "update") => match version().await? {
                Some(version) => Prepared::PatientUpdate {
                    id: PatientId(entry.entity_id.clone()),
                    patch: entry.payload.clone(),
                    version,
                },
                None => corrupt("no version of the patient to base it on"),
            },
            (EntityKind::Appointment, "create") => {
                let Ok(mut booking) =
                    serde_json::from_value::<NewAppointment>(entry.payload.clone())
                else {
                    return Ok(corrupt("its stored details are unreadable"));
                };
                // A patient registered on this desk has the server's id by now (the booking
                // waited for the registration).
                if let Some(server_id) = self
                    .inner
                    .store
                    .mapped_id(EntityKind::Patient, booking.patient_id.as_str())
                    .await?
                {
                    booking.patient_id = PatientId(server_id);
                }
                Prepared::AppointmentCreate(Box::new(booking))
            }
            (EntityKind::Appointment, _) => {
                let Ok(patch) = serde_json::from_value::<AppointmentPatch>(entry.payload.clone())
                else {
                    return Ok(corrupt("its stored details are unreadable"));
                };
                match version().await? {
                    Some(version) => Prepared::AppointmentUpdate {
                        id: AppointmentId(entry.entity_id.clone()),
                        patch: Box::new(patch),
                        version,
                    },
                    None => corrupt("no version of the appointment to base it on"),
                }
            }
            (EntityKind::Payment, "create") => {
                match serde_json::from_value::<PaymentPayload>(entry.payload.clone()) {
                    Ok(payload) => Prepared::Payment(Box::new(payload)),
                    Err(_) => corrupt("its stored details are unreadable"),
                }
            }
            _ => corrupt("the desk does not know this kind of change"),
        })
    }

    /// Sends one entry once (the SDK may retry within [`super::SyncOptions::send_retry`]).
    async fn send(&self, client: &Client, entry: &OutboxEntry) -> Result<Sent, SyncError> {
        let idempotent = self.server_features().idempotency;
        let policy = if idempotent {
            self.inner.options.send_retry.clone()
        } else {
            // A resend could act twice: one try, and a person decides about the rest.
            RetryPolicy {
                max_attempts: 1,
                ..self.inner.options.send_retry.clone()
            }
        };
        let client = client.clone().with_retry(policy);
        let key = entry.idempotency_key.clone();
        let request_id = entry.request_id.clone();
        let result: Result<Accepted, ClientError> = match self.prepare(entry).await? {
            Prepared::Corrupt(refusal) => return Ok(Sent::Outcome(Outcome::Refused(refusal))),
            Prepared::PatientCreate(patient) => client
                .patients()
                .create(&patient)
                .idempotency_key(key)
                .request_id(request_id)
                .priority(Priority::Interactive)
                .await
                .map(|p| Accepted::Patient(Box::new(p))),
            Prepared::PatientUpdate { id, patch, version } => client
                .patients()
                .update(&id, &patch)
                .if_match(version)
                .idempotency_key(key)
                .request_id(request_id)
                .priority(Priority::Interactive)
                .await
                .map(|p| Accepted::Patient(Box::new(p))),
            Prepared::AppointmentCreate(booking) => client
                .appointments()
                .create(&booking)
                .idempotency_key(key)
                .request_id(request_id)
                .priority(Priority::Interactive)
                .await
                .map(|a| Accepted::Appointment(Box::new(a))),
            Prepared::AppointmentUpdate { id, patch, version } => client
                .appointments()
                .update(&id, &patch)
                .if_match(version)
                .idempotency_key(key)
                .request_id(request_id)
                .priority(Priority::Interactive)
                .await
                .map(|a| Accepted::Appointment(Box::new(a))),
            Prepared::Payment(payload) => client
                .billing()
                .pay(&InvoiceId(payload.invoice_id.clone()), &payload.payment)
                .idempotency_key(key)
                .request_id(request_id)
                .priority(Priority::Interactive)
                .await
                .map(|p| Accepted::Payment(Box::new(p))),
        };
        self.observe(&result);
        Ok(match result {
            Ok(accepted) => Sent::Outcome(Outcome::Accepted(accepted)),
            Err(ClientError::Decode { status, .. }) if (200..300).contains(&status) => {
                Sent::Unreadable
            }
            Err(error) => Sent::Outcome(self.classify(&client, entry, error).await),
        })
    }

    pub(super) async fn classify(
        &self,
        client: &Client,
        entry: &OutboxEntry,
        error: ClientError,
    ) -> Outcome {
        if !self.server_features().idempotency {
            // The request may have reached the server, which could not recognise a resend.
            let ambiguous = match &error {
                ClientError::Network(e) => !e.is_connect(),
                ClientError::Timeout { .. } => true,
                ClientError::Api { status, .. } => matches!(status, 502 | 504),
                _ => false,
            };
            if ambiguous {
                tracing::warn!(
                    seq = entry.seq,
                    request_id = %entry.request_id,
                    "no clear answer from a server without idempotency keys; not resent"
                );
                return Outcome::Refused(Refusal {
                    kind: ConflictKind::Other,
                    message: AMBIGUOUS.to_owned(),
                    server_status: error.status(),
                    server_body: None,
                });
            }
        }
        match error {
            ClientError::RateLimited { retry_after } => Outcome::Retry {
                after: retry_after,
                link: true,
            },
            ClientError::IdempotencyInProgress { retry_after, .. } => Outcome::Retry {
                after: retry_after,
                link: false,
            },
            ClientError::Network(_) | ClientError::Timeout { .. } => Outcome::Retry {
                after: None,
                link: true,
            },
            ClientError::Api {
                status: 502..=504, ..
            } => Outcome::Retry {
                after: None,
                link: true,
            },
            ClientError::SignIn(SignInError::TimedOut(_) | SignInError::Listener(_)) => {
                Outcome::Retry {
                    after: None,
                    link: false,
                }
            }
            ClientError::Unauthorized(_) | ClientError::SignIn(_) => Outcome::SignInNeeded,
            ClientError::Forbidden(problem) => Outcome::Refused(refusal(
                ConflictKind::Forbidden,
                "your role can't do this",
                Some(&problem),
            )),
            ClientError::NotFound(problem) | ClientError::Gone(problem) => Outcome::Refused(
                refusal(ConflictKind::Gone, "deleted elsewhere", Some(&problem)),
            ),
            ClientError::Conflict(problem) | ClientError::VersionMismatch(problem) => {
                // A clash in the book: another desk took the time first (or the provider's
                // hours changed); otherwise the entity changed since this change was made.
                let message = if entry.entity_kind == EntityKind::Appointment
                    && problem.code != "version_mismatch"
                    && problem.details.iter().any(|d| d.field == "startTime")
                {
                    "the time was taken elsewhere first (or is no longer in the provider's hours)"
                } else {
                    "changed elsewhere since this change was made"
                };
                let mut refused = refusal(ConflictKind::Clash, message, Some(&problem));
                // Theirs beside ours: the entity as the server has it now, when it can be read.
                if let Some(current) = self.current_of(client, entry).await {
                    if let Some(serde_json::Value::Object(body)) = refused.server_body.as_mut() {
                        body.insert("current".to_owned(), current);
                    }
                }
                Outcome::Refused(refused)
            }
            ClientError::IdempotencyMismatch(problem) => Outcome::Refused(refusal(
                ConflictKind::Invalid,
                "the server refused this change's details",
                Some(&problem),
            )),
            ClientError::Api {
                status,
                code,
                message,
                details,
                request_id,
            } => {
                let problem = Problem {
                    status,
                    code,
                    message,
                    details,
                    request_id,
                };
                if matches!(status, 400 | 422) {
                    Outcome::Refused(refusal(
                        ConflictKind::Invalid,
                        "the server refused this change's details",
                        Some(&problem),
                    ))
                } else {
                    tracing::warn!(
                        seq = entry.seq,
                        status,
                        request_id = %entry.request_id,
                        server_request_id = %problem.request_id,
                        "write refused with an unexpected status"
                    );
                    Outcome::Refused(refusal(
                        ConflictKind::Other,
                        "the server answered this change with an error",
                        Some(&problem),
                    ))
                }
            }
            other => {
                tracing::warn!(
                    seq = entry.seq,
                    status = other.status(),
                    request_id = %entry.request_id,
                    "write failed in an unexpected way"
                );
                Outcome::Refused(Refusal {
                    kind: ConflictKind::Other,
                    message: "the change could not be sent".to_owned(),
                    server_status: other.status(),
                    server_body: None,
                })
            }
        }
    }

    /// The server's current version of the entry's patient or appointment, as JSON (none when
    /// unreadable, or for a create or a payment).
    async fn current_of(&self, client: &Client, entry: &OutboxEntry) -> Option<serde_json::Value> {
        if entry.operation == "create" {
            return None;
        }
        match entry.entity_kind {
            EntityKind::Patient => {
                let current = client
                    .patients()
                    .get(&PatientId(entry.entity_id.clone()))
                    .priority(Priority::Interactive)
                    .await
                    .ok()?;
                serde_json::to_value(current).ok()
            }
            EntityKind::Appointment => {
                let current = client
                    .appointments()
                    .get(&AppointmentId(entry.entity_id.clone()))
                    .priority(Priority::Interactive)
                    .await
                    .ok()?;
                serde_json::to_value(current).ok()
            }
            EntityKind::Payment => None,
        }
    }
}

fn chrono_of(wait: Duration) -> chrono::Duration {
    chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX)
}
