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
enum Accepted {
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
enum Outcome {
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
    /// or has to wait; [`DrainReport::next_retry_in`] says when to try again.
    pub async fn drain_outbox(&self) -> Result<DrainReport, SyncError> {
        let _one_at_a_time = self.inner.drain_lock.lock().await;
        // A desk started offline goes by what an earlier run read of the server.
        self.known_features().await?;
        let idempotent = self.server_features().idempotency;
        let store = self.inner.store.clone();
        let mut report = DrainReport::default();
        // Restarted after a registration got its server id: the entries after it were renamed.
        'pass: loop {
            report.waiting = 0;
            let entries = store.pending_writes(1000).await?;
            let pending_seqs: Vec<i64> = entries.iter().map(|e| e.seq).collect();
            let link_wait = self
                .state()
                .link_retry_at
                .map(|at| at - Utc::now())
                .and_then(|left| left.to_std().ok())
                .filter(|left| !left.is_zero());
            if let Some(wait) = link_wait {
                report.waiting = pending_seqs.len() as u32;
                report.next_retry_in = Some(wait);
                return Ok(report);
            }
            let mut blocked: HashSet<String> = store.entities_in_conflict().await?;
            for entry in entries {
                let key = entity_key(entry.entity_kind, &entry.entity_id);
                if blocked.contains(&key) || entry.refs.iter().any(|r| blocked.contains(r)) {
                    blocked.insert(key);
                    report.waiting += 1;
                    continue;
                }
                let now = Utc::now();
                let backing_off = self.state().retry_at.get(&entry.seq).copied();
                if let Some(at) = backing_off.filter(|at| *at > now) {
                    let wait = (at - now).to_std().unwrap_or_default();
                    report.next_retry_in =
                        Some(report.next_retry_in.map_or(wait, |w: Duration| w.min(wait)));
                    blocked.insert(key);
                    report.waiting += 1;
                    continue;
                }
                let Some(client) = self.author_client(&entry.author).await else {
                    blocked.insert(key);
                    report.waiting += 1;
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
                    report.refused += 1;
                    blocked.insert(key);
                    continue;
                }
                let mut unreadable = 0;
                let outcome = loop {
                    match self.send(&client, &entry).await? {
                        Sent::Unreadable if !idempotent => {
                            break Outcome::Refused(Refusal {
                                kind: ConflictKind::Other,
                                message: AMBIGUOUS.to_owned(),
                                server_status: None,
                                server_body: None,
                            })
                        }
                        Sent::Unreadable
                            if unreadable < self.inner.options.unreadable_answer_resends =>
                        {
                            unreadable += 1;
                            tracing::info!(seq = entry.seq, "answer unreadable; resending");
                        }
                        Sent::Unreadable => {
                            break Outcome::Refused(Refusal {
                                kind: ConflictKind::Other,
                                message: "the server's answer to this change could not be read, \
                                          again and again"
                                    .to_owned(),
                                server_status: None,
                                server_body: None,
                            })
                        }
                        Sent::Outcome(outcome) => break outcome,
                    }
                };
                if !matches!(outcome, Outcome::Retry { link: true, .. }) {
                    self.link_answered();
                }
                match outcome {
                    Outcome::Accepted(Accepted::Appointment(answer)) => {
                        let renamed = answer.id.as_str() != entry.entity_id;
                        store.complete_appointment_write(entry.seq, &answer).await?;
                        self.state().retry_at.remove(&entry.seq);
                        report.sent += 1;
                        tracing::info!(seq = entry.seq, "appointment change accepted");
                        self.emit(SyncEvent::WriteAccepted {
                            seq: entry.seq,
                            entity_id: answer.id.to_string(),
                            local_id: renamed.then(|| entry.entity_id.clone()),
                        });
                        let mut ids = vec![answer.id.to_string()];
                        if renamed {
                            ids.push(entry.entity_id.clone());
                        }
                        self.emit(SyncEvent::Changed {
                            collection: Collection::Appointments,
                            ids,
                        });
                        if renamed {
                            continue 'pass;
                        }
                    }
                    Outcome::Accepted(Accepted::Payment(answer)) => {
                        store.complete_payment_write(entry.seq, &answer).await?;
                        self.state().retry_at.remove(&entry.seq);
                        report.sent += 1;
                        tracing::info!(seq = entry.seq, "payment accepted");
                        self.emit(SyncEvent::WriteAccepted {
                            seq: entry.seq,
                            entity_id: answer.payment.id.to_string(),
                            local_id: Some(entry.entity_id.clone()),
                        });
                    }
                    Outcome::Accepted(Accepted::Patient(answer)) => {
                        let renamed = answer.id.as_str() != entry.entity_id;
                        store.complete_patient_write(entry.seq, &answer).await?;
                        self.state().retry_at.remove(&entry.seq);
                        report.sent += 1;
                        tracing::info!(seq = entry.seq, "write accepted");
                        self.emit(SyncEvent::WriteAccepted {
                            seq: entry.seq,
                            entity_id: answer.id.to_string(),
                            local_id: renamed.then(|| entry.entity_id.clone()),
                        });
                        let mut ids = vec![answer.id.to_string()];
                        if renamed {
                            ids.push(entry.entity_id.clone());
                        }
                        self.emit(SyncEvent::Changed {
                            collection: Collection::Patients,
                            ids,
                        });
                        if renamed {
                            continue 'pass;
                        }
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
                        report.next_retry_in =
                            Some(report.next_retry_in.map_or(wait, |w: Duration| w.min(wait)));
                        report.waiting += 1 + remaining_after(entry.seq, &pending_seqs);
                        tracing::info!(
                            seq = entry.seq,
                            wait_ms = wait.as_millis() as u64,
                            "the API is out of reach; the outbox waits"
                        );
                        return Ok(report);
                    }
                    Outcome::Retry { after, link: false } => {
                        self.link_answered();
                        store.record_attempt(entry.seq).await?;
                        let wait = self.backoff_of(entry.attempts + 1, after);
                        self.state()
                            .retry_at
                            .insert(entry.seq, Utc::now() + chrono_of(wait));
                        report.next_retry_in =
                            Some(report.next_retry_in.map_or(wait, |w: Duration| w.min(wait)));
                        report.waiting += 1;
                        blocked.insert(key);
                        tracing::info!(
                            seq = entry.seq,
                            wait_ms = wait.as_millis() as u64,
                            "write will be retried"
                        );
                    }
                    Outcome::SignInNeeded => {
                        self.pause_author(&entry.author);
                        report.waiting += 1;
                        blocked.insert(key);
                    }
                    Outcome::Refused(refusal) => {
                        self.refuse(&entry, &refusal).await?;
                        report.refused += 1;
                        blocked.insert(key);
                    }
                }
            }
            return Ok(report);
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
    fn link_answered(&self) {
        let mut state = self.state();
        state.link_failures = 0;
        state.link_retry_at = None;
    }

    /// Exponential back-off from the number of failures, with jitter so desks that failed
    /// together do not retry together; never sooner than the server's `Retry-After`.
    fn backoff_of(&self, attempts: i64, retry_after: Option<Duration>) -> Duration {
        let options = &self.inner.options;
        let exponent = u32::try_from(attempts.clamp(1, 16) - 1).unwrap_or(0);
        let ceiling = options
            .retry_base
            .saturating_mul(2u32.saturating_pow(exponent))
            .min(options.retry_max);
        let jittered = ceiling.mul_f64(0.5 + rand::random::<f64>() / 2.0);
        jittered.max(retry_after.unwrap_or_default())
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
        let corrupt = |what: &str| {
            Sent::Outcome(Outcome::Refused(Refusal {
                kind: ConflictKind::Other,
                message: format!("this change cannot be sent: {what}"),
                server_status: None,
                server_body: None,
            }))
        };
        let result: Result<Accepted, ClientError> =
            match (entry.entity_kind, entry.operation.as_str()) {
                (EntityKind::Patient, "create") => {
                    let Ok(patient) = serde_json::from_value::<NewPatient>(entry.payload.clone())
                    else {
                        return Ok(corrupt("its stored details are unreadable"));
                    };
                    client
                        .patients()
                        .create(&patient)
                        .idempotency_key(entry.idempotency_key.clone())
                        .request_id(entry.request_id.clone())
                        .priority(Priority::Interactive)
                        .await
                        .map(|p| Accepted::Patient(Box::new(p)))
                }
                (EntityKind::Patient, "update") => {
                    let version = match entry.base_version {
                        Some(version) => Some(version),
                        None => {
                            self.inner
                                .store
                                .chained_version(entry.entity_kind, &entry.entity_id, entry.seq)
                                .await?
                        }
                    };
                    let Some(version) = version else {
                        return Ok(corrupt("no version of the patient to base it on"));
                    };
                    client
                        .patients()
                        .update(&PatientId(entry.entity_id.clone()), &entry.payload)
                        .if_match(version)
                        .idempotency_key(entry.idempotency_key.clone())
                        .request_id(entry.request_id.clone())
                        .priority(Priority::Interactive)
                        .await
                        .map(|p| Accepted::Patient(Box::new(p)))
                }
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
                    client
                        .appointments()
                        .create(&booking)
                        .idempotency_key(entry.idempotency_key.clone())
                        .request_id(entry.request_id.clone())
                        .priority(Priority::Interactive)
                        .await
                        .map(|a| Accepted::Appointment(Box::new(a)))
                }
                (EntityKind::Appointment, _) => {
                    let Ok(patch) =
                        serde_json::from_value::<AppointmentPatch>(entry.payload.clone())
                    else {
                        return Ok(corrupt("its stored details are unreadable"));
                    };
                    let version = match entry.base_version {
                        Some(version) => Some(version),
                        None => {
                            self.inner
                                .store
                                .chained_version(entry.entity_kind, &entry.entity_id, entry.seq)
                                .await?
                        }
                    };
                    let Some(version) = version else {
                        return Ok(corrupt("no version of the appointment to base it on"));
                    };
                    client
                        .appointments()
                        .update(&AppointmentId(entry.entity_id.clone()), &patch)
                        .if_match(version)
                        .idempotency_key(entry.idempotency_key.clone())
                        .request_id(entry.request_id.clone())
                        .priority(Priority::Interactive)
                        .await
                        .map(|a| Accepted::Appointment(Box::new(a)))
                }
                (EntityKind::Payment, "create") => {
                    let Ok(payload) =
                        serde_json::from_value::<PaymentPayload>(entry.payload.clone())
                    else {
                        return Ok(corrupt("its stored details are unreadable"));
                    };
                    client
                        .billing()
                        .pay(&InvoiceId(payload.invoice_id), &payload.payment)
                        .idempotency_key(entry.idempotency_key.clone())
                        .request_id(entry.request_id.clone())
                        .priority(Priority::Interactive)
                        .await
                        .map(|p| Accepted::Payment(Box::new(p)))
                }
                _ => return Ok(corrupt("the desk does not know this kind of change")),
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

    async fn classify(&self, client: &Client, entry: &OutboxEntry, error: ClientError) -> Outcome {
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

/// How many of the pass's entries come after `seq` (left unsent when the pass stops early).
fn remaining_after(seq: i64, pending: &[i64]) -> u32 {
    pending.iter().filter(|s| **s > seq).count() as u32
}

fn chrono_of(wait: Duration) -> chrono::Duration {
    chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX)
}
