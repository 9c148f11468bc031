//! Bulk sends: where the server offers the v2 bulk writes (and idempotency keys), the outbox is
//! drained in rounds. A round gathers every entry that may go now into groups of one kind and one
//! author, in queue order, each sent as one request of up to 100 items (fewer when the caller's
//! rate-limit burst cannot hold that many: the server counts one request per 10 items).
//!
//! Each item is its entry's single request: the same body bytes, its own `Idempotency-Key` (so a
//! bulk resent after a lost or cut-off answer is replayed item by item, never applied twice, and
//! an item whose key a single send already used replays that answer) and its own `If-Match`.
//! Each item's answer is applied exactly as the single answer would be (see `sender.rs`), except
//! that an item's own 429/5xx backs off that entry alone: the server answered, the link is fine.
//!
//! Parents before dependents: an entry that touches an entity going in the round (a booking of a
//! patient being registered, a second change of one patient, a booking of a patient being
//! changed) waits for the next round, as do the entries touching it; so it is sent after its
//! parent's answer is applied, with the server's id and the version that answer gave, as the
//! single-send path does. Entries that touch nothing in common go in the round whatever their
//! order in the queue (registrations and bookings made alternately still make two requests).
//!
//! The whole request failing (no answer, 429, 502–504, 401, 403) means for each entry what the
//! same failure of its single request would; a server that does not understand the bulk request
//! (404, 400, 405, 413, 415, 422 for the request as a whole) gets each entry by its own request.

use std::collections::{HashMap, HashSet};

use practice_studio::client::{Client, Error as ClientError, Priority, BULK_MAX_ITEMS};
use practice_studio::model::{Appointment, Patient, PaymentCreated};
use practice_studio::v2::{BulkItem, BulkResponse};

use frontdesk_store::{entity_key, ConflictKind, EntityKind, OutboxEntry, Refusal};

use super::sender::{unreadable_again, Accepted, Flow, Outcome, Pass, Prepared};
use super::{SyncEngine, SyncError};

/// Which bulk route an entry goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Patients,
    Appointments,
    Payments,
}

impl Route {
    fn of(kind: EntityKind) -> Self {
        match kind {
            EntityKind::Patient => Route::Patients,
            EntityKind::Appointment => Route::Appointments,
            EntityKind::Payment => Route::Payments,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Route::Patients => "patients",
            Route::Appointments => "appointments",
            Route::Payments => "payments",
        }
    }
}

/// Entries of one kind and author, to be sent together.
pub(super) struct Group {
    client: Client,
    author: String,
    route: Route,
    capacity: usize,
    entries: Vec<OutboxEntry>,
}

impl Group {
    fn new(client: Client, entry: OutboxEntry, most: usize) -> Self {
        let capacity = client
            .bulk_capacity()
            .unwrap_or(BULK_MAX_ITEMS)
            .min(most)
            .max(1);
        Self {
            client,
            author: entry.author.clone(),
            route: Route::of(entry.entity_kind),
            capacity,
            entries: vec![entry],
        }
    }

    /// Whether `entry` may join (same route and author, room left).
    fn takes(&self, entry: &OutboxEntry) -> bool {
        entry.author == self.author
            && Route::of(entry.entity_kind) == self.route
            && self.entries.len() < self.capacity
    }
}

/// The entities an entry touches: its own, those it refers to, and a booking's patient.
fn touched(entry: &OutboxEntry) -> Vec<String> {
    let mut keys = vec![entity_key(entry.entity_kind, &entry.entity_id)];
    keys.extend(entry.refs.iter().cloned());
    if entry.entity_kind == EntityKind::Appointment {
        if let Some(patient) = entry.payload.get("patientId").and_then(|p| p.as_str()) {
            keys.push(entity_key(EntityKind::Patient, patient));
        }
    }
    keys
}

/// The entries going in one round, in groups, and those waiting for it.
#[derive(Default)]
pub(super) struct Round {
    /// In the order they were opened: same-kind groups keep the queue's order.
    pub(super) groups: Vec<Group>,
    /// What the round's entries touch.
    going: HashSet<String>,
    /// What the entries waiting for the next round touch (their dependents wait too).
    waiting: HashSet<String>,
    /// How many entries wait for the next round.
    pub(super) deferred: u32,
}

impl Round {
    /// Whether `entry` must wait for the next round (and if so, notes it).
    pub(super) fn defers(&mut self, entry: &OutboxEntry) -> bool {
        let keys = touched(entry);
        let depends = keys
            .iter()
            .any(|k| self.going.contains(k) || self.waiting.contains(k));
        if depends {
            self.waiting.extend(keys);
            self.deferred += 1;
        }
        depends
    }

    /// Puts `entry` in the first open group that takes it, or a new one of at most `most`.
    pub(super) fn add(&mut self, client: Client, entry: OutboxEntry, most: usize) {
        self.going.extend(touched(&entry));
        match self.groups.iter_mut().find(|g| g.takes(&entry)) {
            Some(group) => group.entries.push(entry),
            None => self.groups.push(Group::new(client, entry, most)),
        }
    }
}

/// The bulk item of a prepared entry: the single request's body, key and version.
fn bulk_item(prepared: &Prepared, key: &str) -> serde_json::Result<Option<BulkItem>> {
    let item = match prepared {
        Prepared::PatientCreate(patient) => BulkItem::create(patient.as_ref())?,
        Prepared::PatientUpdate { id, patch, version } => {
            BulkItem::update(id.0.clone(), patch)?.if_match(*version)
        }
        Prepared::AppointmentCreate(booking) => BulkItem::create(booking.as_ref())?,
        Prepared::AppointmentUpdate { id, patch, version } => {
            BulkItem::update(id.0.clone(), patch.as_ref())?.if_match(*version)
        }
        Prepared::Payment(payload) => {
            BulkItem::payment(payload.invoice_id.clone(), &payload.payment)?
        }
        Prepared::Corrupt(_) => return Ok(None),
    };
    Ok(Some(item.idempotency_key(key)))
}

/// The bulk request as a whole was not understood: the route is missing, or the server refused
/// its shape. Its entries go one by one instead.
fn not_understood(error: &ClientError) -> bool {
    match error {
        ClientError::NotFound(_) => true,
        ClientError::Api { status, .. } => matches!(status, 400 | 405 | 413 | 415 | 422),
        _ => false,
    }
}

/// The same outcome for another entry of a request that failed as a whole.
fn same_for_another(outcome: &Outcome) -> Option<Outcome> {
    match outcome {
        Outcome::Retry { after, link } => Some(Outcome::Retry {
            after: *after,
            link: *link,
        }),
        Outcome::SignInNeeded => Some(Outcome::SignInNeeded),
        Outcome::Refused(refusal) => Some(Outcome::Refused(refusal.clone())),
        Outcome::Accepted(_) => None,
    }
}

impl SyncEngine {
    /// Sends a group: one entry by its own request, more in one bulk request; applies every
    /// answer.
    pub(super) async fn send_group(
        &self,
        group: Group,
        pass: &mut Pass<'_>,
    ) -> Result<Flow, SyncError> {
        let Group {
            client,
            route,
            entries,
            ..
        } = group;
        if entries.len() == 1 {
            return self.send_alone(&client, &entries[0], pass).await;
        }
        let client = client.with_retry(self.inner.options.send_retry.clone());
        let mut items = Vec::with_capacity(entries.len());
        let mut sent = Vec::with_capacity(entries.len());
        for entry in entries {
            let prepared = self.prepare(&entry).await?;
            match bulk_item(&prepared, &entry.idempotency_key) {
                Ok(Some(item)) => {
                    items.push(item);
                    sent.push(entry);
                }
                Ok(None) => {
                    if let Prepared::Corrupt(refusal) = prepared {
                        self.apply_outcome(&entry, Outcome::Refused(refusal), pass)
                            .await?;
                    }
                }
                Err(_) => {
                    let refusal = Refusal {
                        kind: ConflictKind::Other,
                        message: "this change cannot be sent: its details cannot be encoded"
                            .to_owned(),
                        server_status: None,
                        server_body: None,
                    };
                    self.apply_outcome(&entry, Outcome::Refused(refusal), pass)
                        .await?;
                }
            }
        }
        match sent.len() {
            0 => return Ok(Flow::Go),
            1 => return self.send_alone(&client, &sent[0], pass).await,
            _ => {}
        }
        let mut unreadable = 0;
        let answer: BulkResponse = loop {
            let v2 = client.v2();
            let call = match route {
                Route::Patients => v2.bulk_patients(&items),
                Route::Appointments => v2.bulk_appointments(&items),
                Route::Payments => v2.bulk_payments(&items),
            };
            let result = call.priority(Priority::Interactive).await;
            self.observe(&result);
            match result {
                Ok(answer) => break answer,
                Err(ClientError::Decode { status, .. }) if (200..300).contains(&status) => {
                    // The server acted; its answer was lost on the way. The same items with the
                    // same keys are answered by replays.
                    if unreadable < self.inner.options.unreadable_answer_resends {
                        unreadable += 1;
                        tracing::info!(
                            route = route.as_str(),
                            items = sent.len(),
                            "bulk answer unreadable; resending"
                        );
                        continue;
                    }
                    self.link_answered();
                    for entry in &sent {
                        self.apply_outcome(entry, Outcome::Refused(unreadable_again()), pass)
                            .await?;
                    }
                    return Ok(Flow::Go);
                }
                Err(error) if not_understood(&error) => {
                    tracing::warn!(
                        route = route.as_str(),
                        status = error.status(),
                        "the server did not take a bulk request; sending its entries one by one"
                    );
                    self.link_answered();
                    return self.send_each(&client, &sent, pass).await;
                }
                Err(error) => {
                    let outcome = self.classify(&client, &sent[0], error).await;
                    return self.apply_to_all(&sent, outcome, pass).await;
                }
            }
        };
        self.link_answered();
        tracing::info!(
            route = route.as_str(),
            items = sent.len(),
            succeeded = answer.succeeded,
            failed = answer.failed,
            "bulk answered"
        );
        let mut results: HashMap<usize, _> = answer
            .results
            .into_iter()
            .map(|result| (result.index, result))
            .collect();
        let mut flow = Flow::Go;
        let mut resend = Vec::new();
        for (index, entry) in sent.iter().enumerate() {
            let Some(result) = results.remove(&index) else {
                // No word about this item: it is tried again later with its key.
                let outcome = Outcome::Retry {
                    after: None,
                    link: false,
                };
                self.apply_outcome(entry, outcome, pass).await?;
                continue;
            };
            let accepted = match route {
                Route::Patients => result
                    .into_result::<Patient>()
                    .map(|p| Accepted::Patient(Box::new(p))),
                Route::Appointments => result
                    .into_result::<Appointment>()
                    .map(|a| Accepted::Appointment(Box::new(a))),
                Route::Payments => result
                    .into_result::<PaymentCreated>()
                    .map(|p| Accepted::Payment(Box::new(p))),
            };
            let outcome = match accepted {
                Ok(accepted) => Outcome::Accepted(accepted),
                Err(ClientError::Decode { status, .. }) if (200..300).contains(&status) => {
                    // Accepted, but its resource does not read: its single request, with the
                    // same key, is answered by a replay.
                    resend.push(entry);
                    continue;
                }
                Err(error) => match self.classify(&client, entry, error).await {
                    // The server answered the request: this item alone waits.
                    Outcome::Retry { after, .. } => Outcome::Retry { after, link: false },
                    other => other,
                },
            };
            if let Flow::Renamed = self.apply_outcome(entry, outcome, pass).await? {
                flow = Flow::Renamed;
            }
        }
        for entry in resend {
            match self.send_alone(&client, entry, pass).await? {
                Flow::Go => {}
                Flow::Renamed => flow = Flow::Renamed,
                Flow::Stop => return Ok(Flow::Stop),
            }
        }
        Ok(flow)
    }

    /// The group's entries one by one (none depends on another).
    async fn send_each(
        &self,
        client: &Client,
        entries: &[OutboxEntry],
        pass: &mut Pass<'_>,
    ) -> Result<Flow, SyncError> {
        let mut flow = Flow::Go;
        for entry in entries {
            match self.send_alone(client, entry, pass).await? {
                Flow::Go => {}
                Flow::Renamed => flow = Flow::Renamed,
                Flow::Stop => return Ok(Flow::Stop),
            }
        }
        Ok(flow)
    }

    /// A failure of the whole request, for each of its entries.
    async fn apply_to_all(
        &self,
        entries: &[OutboxEntry],
        outcome: Outcome,
        pass: &mut Pass<'_>,
    ) -> Result<Flow, SyncError> {
        let Some((first, rest)) = entries.split_first() else {
            return Ok(Flow::Go);
        };
        if let Outcome::Retry { link: true, .. } = outcome {
            // Every entry was tried; the first's back-off stops the pass and counts the rest.
            for entry in rest {
                self.inner.store.record_attempt(entry.seq).await?;
            }
            return self.apply_outcome(first, outcome, pass).await;
        }
        self.link_answered();
        let others: Vec<Option<Outcome>> =
            rest.iter().map(|_| same_for_another(&outcome)).collect();
        let mut flow = self.apply_outcome(first, outcome, pass).await?;
        for (entry, same) in rest.iter().zip(others) {
            if let Some(same) = same {
                if let Flow::Renamed = self.apply_outcome(entry, same, pass).await? {
                    flow = Flow::Renamed;
                }
            }
        }
        Ok(flow)
    }
}
