//! The sync engine: keeps the encrypted cache in step with the Practice Studio API, and sends
//! the desk's own changes through the outbox.
//!
//! - **Connecting** ([`SyncEngine::connect`]): the server's OpenAPI document says which of our
//!   extensions it has (change feed, `updated_since`, idempotency keys); without one the engine
//!   degrades (see `features.rs`).
//! - **First sync** ([`SyncEngine::first_sync`]): the feed's cursor first, the reference
//!   collections, then patients and the appointment window in the server's append-only order
//!   (the v2 cursor lists where offered, else v1 offsets), each page committed with its
//!   checkpoint (the next page read while one is stored), so a desk killed anywhere resumes from
//!   its last committed page.
//! - **Staying fresh** ([`SyncEngine::follow_feed_once`], else [`SyncEngine::poll_once`]): the
//!   change feed with long polls; without it `updated_since` polling (inclusive, with an
//!   overlap, deduplicated by id and version in the store); without that either, the kept
//!   collections read again. Records and invoices of patients booked in the next days are read
//!   ahead ([`SyncEngine::prefetch_upcoming`]).
//! - **Writes**: patients ([`SyncEngine::register_patient`], [`SyncEngine::update_patient`]),
//!   the book ([`crate::book`]) and payments ([`crate::payments`]): validated with the server's
//!   own rules, stored with their outbox entry in one transaction, sent later by
//!   [`SyncEngine::drain_outbox`] with their author's credentials (consecutive entries of one
//!   kind and author in v2 bulk requests where offered); see `sender.rs` for what each answer
//!   does.
//! - **Conflicts** are resolved by a person ([`SyncEngine::discard_change`],
//!   [`SyncEngine::take_theirs`], [`SyncEngine::retry_change`],
//!   [`SyncEngine::retry_other_change`]), never dropped: a resolved one stays on record with who
//!   decided and how.
//!
//! Logs carry ids, counts and kinds, never a patient's details or a token.

mod bulk;
mod collections;
mod features;
mod feed;
mod prefetch;
mod resolve;
mod sender;
mod writes;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use practice_studio::client::{Client, Error as ClientError, RetryPolicy};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, Mutex, Notify, RwLock};
use ts_rs::TS;

use frontdesk_store::{CacheError, Checkpoint, Store};

use crate::clock::Clock;
pub use collections::Collection;
use collections::{Appointments, CursorPage, PageContext, PagedCollection, Patients, PAGE_LIMIT};
pub use features::ServerFeatures;
pub use feed::FeedOutcome;
pub use prefetch::PrefetchReport;
pub use resolve::ResolveError;
pub use sender::DrainReport;
pub(crate) use sender::PaymentPayload;
pub(crate) use writes::{new_entry_of, random_hex};
pub use writes::{PendingWrite, WriteError, LOCAL_PATIENT_PREFIX};

/// How the engine paces itself. The defaults suit a desk; tests shorten the waits.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Items per page (at most the server's 100).
    pub page_size: u32,
    /// Entries per bulk request (at most the server's 100, and what the rate limit's burst
    /// holds).
    pub bulk_size: usize,
    /// How far back each poll re-reads before its cursor: a change committed by the server a
    /// moment after a later one was already read is still seen. Re-read rows cost nothing: the
    /// store skips a version it already has.
    pub poll_overlap: chrono::Duration,
    /// Between two polls (when the server has no change feed), and the longest wait after a
    /// failed pass (those start at `retry_base` and double).
    pub poll_every: Duration,
    /// How long one long poll of the change feed waits for an event (the server allows 30 s).
    pub feed_wait: Duration,
    /// Days before and after today whose appointments the desk keeps (`None`: none, e.g. a
    /// billing desk, or tests about patients alone).
    pub appointment_window: Option<(u32, u32)>,
    /// Reference collections (locations, providers, types) are re-read every this many polls.
    pub reference_every_polls: u32,
    /// The retries of one send inside the SDK; the outbox retries again later on its own.
    pub send_retry: RetryPolicy,
    /// The outbox's own back-off after a retryable failure: the first wait, doubling per attempt
    /// up to `retry_max`. The sync loop's first wait after a failed pass, too.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// How many times a write whose 2xx answer could not be read is resent with the same key
    /// (the server replays its stored answer) before it goes to the conflict list.
    pub unreadable_answer_resends: u32,
    /// How long the server keeps idempotency keys. An entry older than this could be applied
    /// twice if resent, so it goes to the conflict list for a person to check instead.
    pub key_retention: chrono::Duration,
    /// Records and invoices of patients booked from today through this many days ahead are
    /// read ahead, so they can be read offline.
    pub prefetch_days: u32,
    /// How often the background loop reads ahead again.
    pub prefetch_every: Duration,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            page_size: PAGE_LIMIT,
            bulk_size: practice_studio::client::BULK_MAX_ITEMS,
            poll_overlap: chrono::Duration::seconds(5),
            poll_every: Duration::from_secs(30),
            feed_wait: Duration::from_secs(25),
            appointment_window: Some((30, 120)),
            reference_every_polls: 10,
            send_retry: RetryPolicy {
                max_attempts: 3,
                deadline: Duration::from_secs(20),
                ..RetryPolicy::default()
            },
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(120),
            unreadable_answer_resends: 3,
            // The reference server keeps keys 30 days; a day's margin for clocks and queues.
            key_retention: chrono::Duration::days(29),
            prefetch_days: 2,
            prefetch_every: Duration::from_secs(15 * 60),
        }
    }
}

/// What the engine tells the UI without being asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SyncEvent {
    /// First sync went forward: `done` of `total` items of a collection are cached.
    #[serde(rename_all = "camelCase")]
    Progress {
        collection: Collection,
        done: u64,
        total: u64,
        /// Seconds left at this run's pace (none before the pace is known).
        eta_seconds: Option<u64>,
    },
    /// These items changed in the cache (the screen showing them should refresh).
    Changed {
        collection: Collection,
        ids: Vec<String>,
    },
    /// Every collection has been read once.
    FirstSyncDone,
    /// The server accepted a queued write. `local_id` is set when a patient registered on this
    /// desk got the server's id.
    #[serde(rename_all = "camelCase")]
    WriteAccepted {
        seq: i64,
        entity_id: String,
        local_id: Option<String>,
    },
    /// The server refused a queued write; it is on the conflict list.
    #[serde(rename_all = "camelCase")]
    WriteRefused { seq: i64, conflict_id: i64 },
    /// The author's credentials were refused: their writes wait until they sign in again.
    SignInNeeded { author: String },
}

/// The link to the API, as the status bar shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Connectivity {
    /// Nothing tried yet.
    Unknown,
    /// The last request was answered.
    Online,
    /// The last request got no answer (no network, server down, timeout).
    Offline,
    /// The API answers, but not well: errors, rate limits, or a refused sign-in.
    Degraded,
}

/// What the UI shows about sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    pub connectivity: Connectivity,
    /// When a first sync or a poll last completed.
    pub last_sync: Option<DateTime<Utc>>,
    pub first_sync_done: bool,
    /// Writes not yet accepted by the server.
    pub pending: i64,
    /// Refused writes waiting for a person.
    pub conflicts: i64,
    /// Authors whose writes wait for them to sign in again.
    pub sign_in_needed: Vec<String>,
}

/// Why a sync step stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("nobody is signed in: sync has no credentials to read with")]
    NotSignedIn,
    #[error("the API could not be used: {0}")]
    Api(#[from] ClientError),
    #[error("the cache failed: {0}")]
    Cache(#[from] CacheError),
    #[error("the stored sync state {key} is unreadable: {source}")]
    State {
        key: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{} is not read whole", .0.as_str())]
    NotReference(Collection),
}

/// Where a collection's first sync stands (stored as JSON under its checkpoint key).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct FirstSyncState {
    /// Items read so far in creation order (the next page's offset).
    pub(crate) offset: u64,
    pub(crate) total: u64,
    pub(crate) done: bool,
    /// The v2 list's `next_cursor` after the last committed page, when read by cursor. (The
    /// offset is kept too: the v1 list in creation order is the same sequence, so a server that
    /// stops offering v2 is read on from there.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cursor: Option<String>,
}

/// The `updated_since` cursor of a collection.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
struct PollCursor {
    /// The most recent change seen; `None` reads from the beginning.
    since: Option<DateTime<Utc>>,
}

/// The sync engine of one desk. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct SyncEngine {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<Store>,
    clock: Arc<dyn Clock>,
    options: SyncOptions,
    /// The signed-in user's client: what sync reads with.
    reader: RwLock<Option<Client>>,
    /// Each author's client: their writes are sent with their own credentials.
    authors: RwLock<HashMap<String, Client>>,
    events: broadcast::Sender<SyncEvent>,
    state: StdMutex<EngineState>,
    /// Wakes the sender when a write is queued or an author signs in.
    outbox_changed: Notify,
    /// One drain at a time: two would send one entry twice (harmless with its key, but the
    /// second answer would find the entry already sent).
    drain_lock: Mutex<()>,
    /// One first sync or poll at a time.
    sync_lock: Mutex<()>,
}

#[derive(Default)]
struct EngineState {
    connectivity: Option<Connectivity>,
    last_sync: Option<DateTime<Utc>>,
    first_sync_done: bool,
    /// Authors whose credentials the server refused (401) since they last signed in.
    paused: HashSet<String>,
    /// Entries backing off after a retryable failure of their own: not before this instant.
    retry_at: HashMap<i64, DateTime<Utc>>,
    /// The API out of reach (no answer, 429, 502–504): no entry is sent before this instant.
    link_retry_at: Option<DateTime<Utc>>,
    /// Such failures in a row (the link's back-off grows with them).
    link_failures: u32,
    polls: u32,
    /// What the server offers beyond the reference API (`None`: not read yet).
    features: Option<ServerFeatures>,
}

impl SyncEngine {
    pub fn new(store: Arc<Store>, clock: Arc<dyn Clock>, options: SyncOptions) -> Self {
        let (events, _) = broadcast::channel(1024);
        Self {
            inner: Arc::new(Inner {
                store,
                clock,
                options,
                reader: RwLock::new(None),
                authors: RwLock::new(HashMap::new()),
                events,
                state: StdMutex::new(EngineState::default()),
                outbox_changed: Notify::new(),
                drain_lock: Mutex::new(()),
                sync_lock: Mutex::new(()),
            }),
        }
    }

    /// Events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<SyncEvent> {
        self.inner.events.subscribe()
    }

    /// The cache the engine fills.
    pub fn store(&self) -> &Arc<Store> {
        &self.inner.store
    }

    /// The signed-in user: sync reads with this client (it fetches only what they may read).
    pub async fn set_reader(&self, client: Option<Client>) {
        *self.inner.reader.write().await = client;
    }

    /// `author` signed in with `client`: their queued writes are sent with it, and a pause
    /// after a refused sign-in ends.
    pub async fn sign_in_author(&self, author: &str, client: Client) {
        self.inner
            .authors
            .write()
            .await
            .insert(author.to_owned(), client);
        self.state().paused.remove(author);
        self.inner.outbox_changed.notify_one();
    }

    /// Whether `author`'s queued writes have a client to be sent with.
    pub async fn has_author(&self, author: &str) -> bool {
        self.inner.authors.read().await.contains_key(author)
    }

    /// `author` signed out: their writes wait (they stay queued) until they sign in again.
    pub async fn sign_out_author(&self, author: &str) {
        self.inner.authors.write().await.remove(author);
    }

    /// What the status bar shows.
    pub async fn status(&self) -> Result<SyncStatus, SyncError> {
        let pending = self.inner.store.pending_count().await?;
        let conflicts = self.inner.store.conflict_count().await?;
        let first_sync_done = self.first_sync_done().await?;
        let state = self.state();
        let mut sign_in_needed: Vec<String> = state.paused.iter().cloned().collect();
        sign_in_needed.sort();
        Ok(SyncStatus {
            connectivity: state.connectivity.unwrap_or(Connectivity::Unknown),
            last_sync: state.last_sync,
            first_sync_done,
            pending,
            conflicts,
            sign_in_needed,
        })
    }

    /// The engine's clock (what "now" and "today" are for the desk's checks).
    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// A change was queued: the background sender looks at the outbox.
    pub(crate) fn queued(&self) {
        self.inner.outbox_changed.notify_one();
    }

    /// Tells the UI an item changed.
    pub(crate) fn changed(&self, collection: Collection, ids: Vec<String>) {
        self.emit(SyncEvent::Changed { collection, ids });
    }

    fn state(&self) -> std::sync::MutexGuard<'_, EngineState> {
        // A panic while holding this lock leaves plain data behind; keep using it.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn emit(&self, event: SyncEvent) {
        // Nobody listening is fine: the UI asks for the state when it subscribes.
        let _ = self.inner.events.send(event);
    }

    /// Notes how the last request went, for [`SyncStatus::connectivity`].
    fn observe<T>(&self, result: &Result<T, ClientError>) {
        self.note_contact(result.as_ref().err());
    }

    fn observe_sync<T>(&self, result: &Result<T, SyncError>) {
        match result {
            Ok(_) => self.note_contact(None),
            Err(SyncError::Api(error)) => self.note_contact(Some(error)),
            Err(_) => {}
        }
    }

    fn note_contact(&self, error: Option<&ClientError>) {
        let connectivity = match error {
            None => Connectivity::Online,
            Some(ClientError::Network(_) | ClientError::Timeout { .. }) => Connectivity::Offline,
            // The API answered, and the answer was about the request (forbidden, not found,
            // a clash, invalid details): the link itself is fine.
            Some(
                ClientError::Forbidden(_)
                | ClientError::NotFound(_)
                | ClientError::Gone(_)
                | ClientError::Conflict(_)
                | ClientError::VersionMismatch(_)
                | ClientError::IdempotencyMismatch(_),
            ) => Connectivity::Online,
            Some(ClientError::Api {
                status: 400 | 422, ..
            }) => Connectivity::Online,
            // Server errors, rate limits, refused credentials, unreadable answers.
            Some(_) => Connectivity::Degraded,
        };
        self.state().connectivity = Some(connectivity);
    }

    async fn reader(&self) -> Result<Client, SyncError> {
        self.inner
            .reader
            .read()
            .await
            .clone()
            .ok_or(SyncError::NotSignedIn)
    }

    /// The collections this desk keeps, in first-sync order.
    fn collections(&self) -> Vec<Collection> {
        Collection::ALL
            .into_iter()
            .filter(|c| {
                *c != Collection::Appointments || self.inner.options.appointment_window.is_some()
            })
            .collect()
    }

    /// The appointment window around today, for paged reads.
    fn page_context(&self) -> PageContext {
        let today = self.inner.clock.today();
        let (back, ahead) = self.inner.options.appointment_window.unwrap_or((0, 0));
        PageContext {
            window: (
                today - chrono::Duration::days(i64::from(back)),
                today + chrono::Duration::days(i64::from(ahead)),
            ),
        }
    }

    async fn read_state<T: serde::de::DeserializeOwned + Default>(
        &self,
        key: &str,
    ) -> Result<Option<T>, SyncError> {
        match self.inner.store.sync_state(key).await? {
            None => Ok(None),
            Some(text) => {
                serde_json::from_str(&text)
                    .map(Some)
                    .map_err(|source| SyncError::State {
                        key: key.to_owned(),
                        source,
                    })
            }
        }
    }

    pub(crate) async fn first_sync_done(&self) -> Result<bool, SyncError> {
        if self.state().first_sync_done {
            return Ok(true);
        }
        for collection in self.collections() {
            let state: Option<FirstSyncState> =
                self.read_state(&collection.checkpoint_key()).await?;
            if !state.is_some_and(|s| s.done) {
                return Ok(false);
            }
        }
        self.state().first_sync_done = true;
        Ok(true)
    }

    /// Reads every collection not read yet, resuming each from its last committed page. Returns
    /// when all are cached; an error leaves what was committed for the next try.
    pub async fn first_sync(&self) -> Result<(), SyncError> {
        let _one_at_a_time = self.inner.sync_lock.lock().await;
        let client = self.reader().await?;
        // The feed's end first: whatever changes while the pages are read is replayed from it.
        if self.server_features().change_feed {
            self.record_feed_start(&client).await?;
        }
        for collection in self.collections() {
            match collection {
                Collection::Patients => self.first_sync_paged::<Patients>(&client).await?,
                Collection::Appointments => self.first_sync_paged::<Appointments>(&client).await?,
                reference => self.first_sync_reference(reference, &client).await?,
            }
        }
        self.state().first_sync_done = true;
        self.state().last_sync = Some(self.inner.clock.now());
        self.emit(SyncEvent::FirstSyncDone);
        tracing::info!("first sync complete");
        if let Err(error) = self.store().settle_after_first_sync().await {
            tracing::warn!(%error, "the cache kept its first sync's memory");
        }
        give_back_freed_memory();
        Ok(())
    }

    /// How the reference collections are read: by the v2 cursor lists in pages of the
    /// engine's page size where the server offers them, else (`None`) through v1.
    pub(crate) fn reference_pages(&self) -> Option<u32> {
        self.server_features()
            .v2_reference_lists
            .then_some(self.inner.options.page_size)
    }

    async fn first_sync_reference(
        &self,
        collection: Collection,
        client: &Client,
    ) -> Result<(), SyncError> {
        let key = collection.checkpoint_key();
        let state: Option<FirstSyncState> = self.read_state(&key).await?;
        if state.is_some_and(|s| s.done) {
            return Ok(());
        }
        // Read whole; the checkpoint is marked done in the transaction that stores it.
        let result = collections::refresh_reference(
            collection,
            client,
            &self.inner.store,
            true,
            self.reference_pages(),
        )
        .await;
        self.observe_sync(&result);
        let count = result?.count;
        self.emit(SyncEvent::Progress {
            collection,
            done: count,
            total: count,
            eta_seconds: Some(0),
        });
        tracing::debug!(
            collection = collection.as_str(),
            count,
            "reference data read"
        );
        Ok(())
    }

    async fn first_sync_paged<C: PagedCollection>(&self, client: &Client) -> Result<(), SyncError> {
        let collection = C::COLLECTION;
        let key = collection.checkpoint_key();
        let cursor_key = collection.cursor_key();
        let mut state: FirstSyncState = self.read_state(&key).await?.unwrap_or_default();
        if state.done {
            return Ok(());
        }
        if self.read_state::<PollCursor>(&cursor_key).await?.is_none() {
            // Before the first page: everything changed from here on is polled afterwards,
            // rows already paged included.
            let newest = C::newest_change(client, self.page_context()).await;
            self.observe(&newest);
            let (since, total) = newest?;
            let cursor = PollCursor { since };
            self.inner
                .store
                .set_sync_state(&cursor_key, &encode(&cursor_key, &cursor)?)
                .await?;
            // The cursor lists do not count: progress goes by this count.
            state.total = state.total.max(total);
        }
        // A first sync begun by offset goes on by offset (an offset cannot become a cursor);
        // one begun by cursor goes on from its cursor, or by its offset if v2 has gone.
        let by_cursor =
            self.server_features().v2_lists && (state.cursor.is_some() || state.offset == 0);
        if by_cursor {
            self.first_sync_by_cursor::<C>(client, state).await
        } else {
            self.first_sync_by_offset::<C>(client, state).await
        }
    }

    /// First sync of a collection by v1 offsets in creation order.
    async fn first_sync_by_offset<C: PagedCollection>(
        &self,
        client: &Client,
        mut state: FirstSyncState,
    ) -> Result<(), SyncError> {
        // The offset goes on where a cursor stopped: a later run by cursor would start over.
        state.cursor = None;
        let limit = self.inner.options.page_size.clamp(1, PAGE_LIMIT);
        let progress = Progress::new(&state);
        let context = self.page_context();
        let mut next = Some(C::created_page(client, context, state.offset, limit).await);
        loop {
            let Some(page) = next.take() else {
                return Ok(());
            };
            self.observe(&page);
            let page = page?;
            let count = page.items.len() as u64;
            state.offset += count;
            state.total = page.total.max(state.offset);
            // A short page is the end: the order is append-only, so nothing can appear before it.
            state.done = count < u64::from(limit);
            let apply = self.commit_first_sync_page::<C>(&page.items, &state, &progress);
            // The next page is read while this one is stored (its offset is known: this page
            // was full). Its checkpoint is committed only with it, so a desk stopped meanwhile
            // resumes from this page's.
            if state.done {
                apply.await?;
                return Ok(());
            }
            let (applied, fetched) =
                tokio::join!(apply, C::created_page(client, context, state.offset, limit));
            next = Some(fetched);
            applied?;
        }
    }

    /// First sync of a collection by the v2 cursor list: the same order, the checkpoint keeps
    /// the cursor, and the list says when it is done (no count, no empty last page).
    async fn first_sync_by_cursor<C: PagedCollection>(
        &self,
        client: &Client,
        mut state: FirstSyncState,
    ) -> Result<(), SyncError> {
        let limit = self.inner.options.page_size.clamp(1, PAGE_LIMIT);
        let progress = Progress::new(&state);
        let context = self.page_context();
        let mut next = Some(C::cursor_page(client, context, state.cursor.as_deref(), limit).await);
        loop {
            let Some(page) = next.take() else {
                return Ok(());
            };
            self.observe(&page);
            let CursorPage {
                items,
                next_cursor,
                has_more,
            } = page?;
            state.offset += items.len() as u64;
            state.total = state.total.max(state.offset);
            // An empty page that claims more would loop for ever: take it as the end.
            state.done = !has_more || items.is_empty();
            state.cursor = Some(next_cursor);
            let apply = self.commit_first_sync_page::<C>(&items, &state, &progress);
            if state.done {
                apply.await?;
                return Ok(());
            }
            let (applied, fetched) = tokio::join!(
                apply,
                C::cursor_page(client, context, state.cursor.as_deref(), limit)
            );
            next = Some(fetched);
            applied?;
        }
    }

    /// Stores a first-sync page with its checkpoint in one transaction, then tells the UI.
    async fn commit_first_sync_page<C: PagedCollection>(
        &self,
        items: &[C::Item],
        state: &FirstSyncState,
        progress: &Progress,
    ) -> Result<(), SyncError> {
        let collection = C::COLLECTION;
        let key = collection.checkpoint_key();
        let value = encode(&key, state)?;
        let applied = C::apply(
            &self.inner.store,
            items,
            Checkpoint {
                key: &key,
                value: &value,
            },
        )
        .await?;
        tracing::debug!(
            collection = collection.as_str(),
            offset = state.offset,
            applied = applied.len(),
            "first sync page committed"
        );
        if !applied.is_empty() {
            self.emit(SyncEvent::Changed {
                collection,
                ids: applied,
            });
        }
        self.emit(SyncEvent::Progress {
            collection,
            done: state.offset,
            total: state.total,
            eta_seconds: progress.eta_seconds(state),
        });
        Ok(())
    }

    /// One round of `updated_since` polling: every change since the cursor (less the overlap),
    /// each page applied with the advanced cursor in one transaction; reference collections
    /// every [`SyncOptions::reference_every_polls`] rounds. Returns how many items changed.
    pub async fn poll_once(&self) -> Result<usize, SyncError> {
        let _one_at_a_time = self.inner.sync_lock.lock().await;
        let client = self.reader().await?;
        let refresh_references = {
            let mut state = self.state();
            state.polls = state.polls.wrapping_add(1);
            state
                .polls
                .is_multiple_of(self.inner.options.reference_every_polls.max(1))
        };
        let mut changed = 0;
        if self.server_features().updated_since {
            changed += self.poll_paged::<Patients>(&client).await?;
            if self.inner.options.appointment_window.is_some() {
                changed += self.poll_paged::<Appointments>(&client).await?;
            }
        } else {
            // No `updated_since`: read again what the desk keeps. The book's window every time;
            // the (much longer) patient list with the reference collections.
            if self.inner.options.appointment_window.is_some() {
                changed += self.refresh_paged::<Appointments>(&client).await?;
            }
            if refresh_references {
                changed += self.refresh_paged::<Patients>(&client).await?;
            }
        }
        if refresh_references {
            let v2 = self.reference_pages();
            for collection in [
                Collection::Locations,
                Collection::Providers,
                Collection::AppointmentTypes,
            ] {
                let outcome = collections::refresh_reference(
                    collection,
                    &client,
                    &self.inner.store,
                    false,
                    v2,
                )
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
        }
        self.state().last_sync = Some(self.inner.clock.now());
        Ok(changed)
    }

    async fn poll_paged<C: PagedCollection>(&self, client: &Client) -> Result<usize, SyncError> {
        let collection = C::COLLECTION;
        let cursor_key = collection.cursor_key();
        let cursor: PollCursor = self.read_state(&cursor_key).await?.unwrap_or_default();
        let limit = self.inner.options.page_size.clamp(1, PAGE_LIMIT);
        let mut newest = cursor.since;
        // Keyset paging over (updated, id): each page starts at the last page's newest change,
        // skipping the items already read at exactly that instant. An item changed while paging
        // moves past the pages still to read, so it is read again, never skipped.
        let mut since = cursor.since.map(|s| s - self.inner.options.poll_overlap);
        let mut skip: u64 = 0;
        let mut changed = 0;
        loop {
            let page = C::changed_page(client, self.page_context(), since, skip, limit).await;
            self.observe(&page);
            let page = page?;
            let count = page.items.len();
            if let Some(last) = page.items.iter().map(C::updated).max() {
                let at_last = page.items.iter().filter(|i| C::updated(i) == last).count() as u64;
                if since == Some(last) {
                    skip += at_last;
                } else {
                    since = Some(last);
                    skip = at_last;
                }
                newest = newest.max(Some(last));
            }
            let value = encode(&cursor_key, &PollCursor { since: newest })?;
            let applied = C::apply(
                &self.inner.store,
                &page.items,
                Checkpoint {
                    key: &cursor_key,
                    value: &value,
                },
            )
            .await?;
            if !applied.is_empty() {
                changed += applied.len();
                tracing::debug!(
                    collection = collection.as_str(),
                    applied = applied.len(),
                    "changes applied"
                );
                self.emit(SyncEvent::Changed {
                    collection,
                    ids: applied,
                });
            }
            if count < limit as usize {
                return Ok(changed);
            }
        }
    }

    /// Reads a whole paged collection again in creation order (for a server without
    /// `updated_since`); the store keeps only what is newer than the cache. Returns how many
    /// items changed.
    async fn refresh_paged<C: PagedCollection>(&self, client: &Client) -> Result<usize, SyncError> {
        let collection = C::COLLECTION;
        let key = format!("refresh:{}", collection.as_str());
        let limit = self.inner.options.page_size.clamp(1, PAGE_LIMIT);
        let mut offset: u64 = 0;
        let mut changed = 0;
        loop {
            let page = C::created_page(client, self.page_context(), offset, limit).await;
            self.observe(&page);
            let page = page?;
            let count = page.items.len();
            offset += count as u64;
            let value = encode(&key, &offset)?;
            let applied = C::apply(
                &self.inner.store,
                &page.items,
                Checkpoint {
                    key: &key,
                    value: &value,
                },
            )
            .await?;
            if !applied.is_empty() {
                changed += applied.len();
                self.emit(SyncEvent::Changed {
                    collection,
                    ids: applied,
                });
            }
            if count < limit as usize {
                return Ok(changed);
            }
        }
    }

    /// Runs sync and the outbox in the background until the returned handle is dropped: first
    /// sync (retried until it completes), then a poll every [`SyncOptions::poll_every`]; the
    /// outbox is drained whenever a write is queued, an author signs in, or a back-off ends.
    pub fn start(&self) -> SyncTasks {
        let sync = {
            let engine = self.clone();
            tokio::spawn(async move { engine.sync_loop().await })
        };
        let outbox = {
            let engine = self.clone();
            tokio::spawn(async move { engine.outbox_loop().await })
        };
        SyncTasks {
            tasks: vec![sync, outbox],
        }
    }

    async fn sync_loop(&self) {
        let every = self.inner.options.poll_every;
        // After a failed pass the loop tries again soon, then less and less often, never less
        // often than a poll: one dropped long poll must not leave the book stale for a whole
        // poll interval while the server is there again.
        let mut failures: u32 = 0;
        let mut connected = false;
        let mut prefetched: Option<std::time::Instant> = None;
        loop {
            // What the server offers decides how to stay fresh: read it once per start; while
            // it cannot be read, go by what an earlier run read.
            if !connected {
                match self.connect().await {
                    Ok(_) => connected = true,
                    Err(error) => {
                        tracing::info!(%error, "the server's features could not be read yet");
                        if !matches!(self.known_features().await, Ok(Some(_))) {
                            failures = failures.saturating_add(1);
                            let wait = jittered(retry_wait(
                                self.inner.options.retry_base,
                                every,
                                failures,
                            ));
                            tokio::time::sleep(wait).await;
                            continue;
                        }
                    }
                }
            }
            // `true`: look again at once (a long poll waits on the server).
            let result = match self.first_sync_done().await {
                Ok(false) => self.first_sync().await.map(|()| true),
                Ok(true) => match self.follow_feed_once(self.inner.options.feed_wait).await {
                    Ok(FeedOutcome::NoFeed) => self.poll_once().await.map(|_| false),
                    Ok(FeedOutcome::Applied(_) | FeedOutcome::Resync) => Ok(true),
                    Err(error) => Err(error),
                },
                Err(error) => Err(error),
            };
            // Read ahead once the book is cached, then now and then.
            let due = prefetched.is_none_or(|at| at.elapsed() >= self.inner.options.prefetch_every);
            if result.is_ok() && due && matches!(self.first_sync_done().await, Ok(true)) {
                match self.prefetch_upcoming().await {
                    Ok(_) => prefetched = Some(std::time::Instant::now()),
                    Err(error) => {
                        tracing::info!(%error, "reading ahead failed; trying again later")
                    }
                }
            }
            match result {
                Ok(true) => failures = 0,
                Ok(false) => {
                    failures = 0;
                    tokio::time::sleep(every).await
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    let wait = jittered(retry_wait(self.inner.options.retry_base, every, failures));
                    tracing::info!(
                        %error,
                        retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                        "sync paused; trying again soon"
                    );
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    async fn outbox_loop(&self) {
        loop {
            let wait = match self.drain_outbox().await {
                Ok(report) => report.next_retry_in,
                Err(error) => {
                    tracing::warn!(%error, "the outbox could not be drained");
                    Some(self.inner.options.retry_max)
                }
            };
            match wait {
                Some(wait) => {
                    let _ = tokio::time::timeout(wait, self.inner.outbox_changed.notified()).await;
                }
                None => self.inner.outbox_changed.notified().await,
            }
        }
    }
}

/// The longest wait after the `failures`-th failure in a row: `base` doubled each time, at most
/// `cap`. The outbox's back-off and the sync loop's both use it.
pub(super) fn retry_wait(base: Duration, cap: Duration, failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    base.saturating_mul(1 << doublings).min(cap)
}

/// Somewhere between half of `ceiling` and all of it, so desks that failed together (a server
/// restart) do not all try again at the same moment.
pub(super) fn jittered(ceiling: Duration) -> Duration {
    ceiling.mul_f64(0.5 + rand::random::<f64>() / 2.0)
}

/// Returns the memory a first sync used and freed (pages, JSON, the cache's page cache) to the
/// system. glibc keeps freed memory in each thread's arena for reuse; after a one-off burst that
/// is tens of MiB a desk holds all day for nothing.
fn give_back_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` takes no pointers; it only releases free memory of glibc's arenas,
    // which any thread may do at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The engine's background tasks; dropping this stops them.
pub struct SyncTasks {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for SyncTasks {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// This run's pace through a first-sync collection, for the ETA.
struct Progress {
    started: std::time::Instant,
    resumed_at: u64,
}

impl Progress {
    fn new(state: &FirstSyncState) -> Self {
        Self {
            started: std::time::Instant::now(),
            resumed_at: state.offset,
        }
    }

    /// Seconds left at this run's pace (none before the pace is known).
    fn eta_seconds(&self, state: &FirstSyncState) -> Option<u64> {
        let read = state.offset.saturating_sub(self.resumed_at);
        (read > 0).then(|| {
            let per_item = self.started.elapsed().as_secs_f64() / read as f64;
            (state.total.saturating_sub(state.offset) as f64 * per_item).ceil() as u64
        })
    }
}

pub(crate) fn encode<T: Serialize>(key: &str, value: &T) -> Result<String, SyncError> {
    serde_json::to_string(value).map_err(|source| SyncError::State {
        key: key.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::retry_wait;
    use std::time::Duration;

    #[test]
    fn the_loops_wait_after_failures_doubles_from_the_base_up_to_the_poll_interval() {
        let base = Duration::from_secs(1);
        let cap = Duration::from_secs(30);
        let waits: Vec<u64> = (1..=8)
            .map(|n| retry_wait(base, cap, n).as_secs())
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(retry_wait(base, cap, u32::MAX), cap);
    }
}
