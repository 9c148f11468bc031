//! The collections the desk keeps, and how each is read from the server.
//!
//! Two shapes: a **reference** collection (locations, providers, the appointment-type catalogue)
//! is small and read whole (by the v2 cursor lists where the server offers them, else through
//! v1), then replaces the cached copy in one transaction; a **paged**
//! collection (patients, the appointment window) is read in the server's append-only order
//! with a checkpoint committed with every page — by the v2 cursor lists where the server offers
//! them, else by v1 offsets (`sort=created`) — then kept fresh by `updated_since` polling. A new collection is one more [`PagedCollection`] impl and one more
//! arm in [`Collection`].

use chrono::{DateTime, NaiveDate, Utc};
use practice_studio::client::{
    AppointmentCursorQuery, AppointmentQuery, AppointmentSort, Client, Error as ClientError,
    PatientCursorQuery, PatientQuery, PatientSort, Priority, ProviderQuery, SortOrder,
};
use practice_studio::model::{Appointment, AppointmentType, Location, Patient, Provider};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use frontdesk_store::{CacheError, Checkpoint, Store};

/// A collection of the cache that sync fills and keeps fresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Collection {
    Locations,
    Providers,
    AppointmentTypes,
    Patients,
    Appointments,
}

impl Collection {
    /// First sync reads them in this order: what the book needs before whom it books.
    pub const ALL: [Collection; 5] = [
        Collection::Locations,
        Collection::Providers,
        Collection::AppointmentTypes,
        Collection::Patients,
        Collection::Appointments,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Collection::Locations => "locations",
            Collection::Providers => "providers",
            Collection::AppointmentTypes => "appointment_types",
            Collection::Patients => "patients",
            Collection::Appointments => "appointments",
        }
    }

    /// The sync-state key of this collection's first-sync checkpoint.
    pub(crate) fn checkpoint_key(self) -> String {
        format!("first_sync:{}", self.as_str())
    }

    /// The sync-state key of this collection's `updated_since` cursor.
    pub(crate) fn cursor_key(self) -> String {
        format!("poll:{}", self.as_str())
    }
}

/// Items per page when paging (the server's maximum).
pub(crate) const PAGE_LIMIT: u32 = 100;

/// One page as the server answered it.
pub(crate) struct Page<T> {
    pub items: Vec<T>,
    /// What the server counts for the whole query now (it grows while others insert).
    pub total: u64,
}

/// One page of a v2 cursor list.
pub(crate) struct CursorPage<T> {
    pub items: Vec<T>,
    /// Where the list goes on (kept in the first-sync checkpoint).
    pub next_cursor: String,
    pub has_more: bool,
}

/// What a paged read is limited to: appointments are kept for a window of days around today.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageContext {
    /// First and last day kept (calendar days at the appointment's location).
    pub window: (NaiveDate, NaiveDate),
}

/// A collection read page by page in creation order, and polled by `updated_since`.
pub(crate) trait PagedCollection {
    type Item: Send + Sync;
    const COLLECTION: Collection;

    /// A page in the append-only order (`sort=created`, ties by id), at background priority.
    async fn created_page(
        client: &Client,
        context: PageContext,
        offset: u64,
        limit: u32,
    ) -> Result<Page<Self::Item>, ClientError>;

    /// A page of the v2 cursor list in the same append-only order after `cursor` (from the start
    /// without one), full items, at background priority.
    async fn cursor_page(
        client: &Client,
        context: PageContext,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<CursorPage<Self::Item>, ClientError>;

    /// A page of what changed at or after `since` (inclusive), oldest change first, ties by id.
    async fn changed_page(
        client: &Client,
        context: PageContext,
        since: Option<DateTime<Utc>>,
        offset: u64,
        limit: u32,
    ) -> Result<Page<Self::Item>, ClientError>;

    /// The most recent change the server holds (the polling cursor recorded before first sync),
    /// and how many items the collection has now (the cursor lists do not count them).
    async fn newest_change(
        client: &Client,
        context: PageContext,
    ) -> Result<(Option<DateTime<Utc>>, u64), ClientError> {
        let page = Self::changed_page_desc(client, context).await?;
        Ok((page.items.first().map(Self::updated), page.total))
    }

    /// One item of what the desk keeps, most recently changed first.
    async fn changed_page_desc(
        client: &Client,
        context: PageContext,
    ) -> Result<Page<Self::Item>, ClientError>;

    fn updated(item: &Self::Item) -> DateTime<Utc>;

    /// Stores the items not already cached at their version, with the checkpoint, in one
    /// transaction; the ids applied.
    async fn apply(
        store: &Store,
        items: &[Self::Item],
        checkpoint: Checkpoint<'_>,
    ) -> Result<Vec<String>, CacheError>;
}

pub(crate) struct Patients;

fn patient_query(limit: u32, offset: u64) -> PatientQuery {
    PatientQuery::new().full().limit(limit).offset(offset)
}

impl PagedCollection for Patients {
    type Item = Patient;
    const COLLECTION: Collection = Collection::Patients;

    async fn created_page(
        client: &Client,
        _: PageContext,
        offset: u64,
        limit: u32,
    ) -> Result<Page<Patient>, ClientError> {
        let query = patient_query(limit, offset)
            .sort(PatientSort::Created)
            .order(SortOrder::Asc);
        let list = client
            .patients()
            .list(&query)
            .priority(Priority::Background)
            .await?;
        Ok(Page {
            items: list.patients,
            total: list.total,
        })
    }

    async fn cursor_page(
        client: &Client,
        _: PageContext,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<CursorPage<Patient>, ClientError> {
        let page = client
            .v2()
            .patient_page(&PatientCursorQuery::new(limit).full().after(cursor))
            .priority(Priority::Background)
            .await?;
        Ok(CursorPage {
            items: page.patients,
            next_cursor: page.next_cursor,
            has_more: page.has_more,
        })
    }

    async fn changed_page(
        client: &Client,
        _: PageContext,
        since: Option<DateTime<Utc>>,
        offset: u64,
        limit: u32,
    ) -> Result<Page<Patient>, ClientError> {
        let mut query = patient_query(limit, offset)
            .sort(PatientSort::Updated)
            .order(SortOrder::Asc);
        if let Some(since) = since {
            query = query.updated_since(since);
        }
        let list = client
            .patients()
            .list(&query)
            .priority(Priority::Background)
            .await?;
        Ok(Page {
            items: list.patients,
            total: list.total,
        })
    }

    async fn changed_page_desc(
        client: &Client,
        _: PageContext,
    ) -> Result<Page<Patient>, ClientError> {
        let query = PatientQuery::new()
            .limit(1)
            .sort(PatientSort::Updated)
            .order(SortOrder::Desc);
        let list = client
            .patients()
            .list(&query)
            .priority(Priority::Background)
            .await?;
        Ok(Page {
            items: list.patients,
            total: list.total,
        })
    }

    fn updated(item: &Patient) -> DateTime<Utc> {
        item.updated
    }

    async fn apply(
        store: &Store,
        items: &[Patient],
        checkpoint: Checkpoint<'_>,
    ) -> Result<Vec<String>, CacheError> {
        let applied = store.apply_remote_patients(items, Some(checkpoint)).await?;
        Ok(applied.into_iter().map(|id| id.0).collect())
    }
}

pub(crate) struct Appointments;

impl PagedCollection for Appointments {
    type Item = Appointment;
    const COLLECTION: Collection = Collection::Appointments;

    async fn created_page(
        client: &Client,
        context: PageContext,
        offset: u64,
        limit: u32,
    ) -> Result<Page<Appointment>, ClientError> {
        let (from, to) = context.window;
        let query = AppointmentQuery::new()
            .dates(from, to)
            .sort(AppointmentSort::Created)
            .order(SortOrder::Asc)
            .limit(limit)
            .offset(offset);
        let list = client
            .appointments()
            .list(&query)
            .priority(Priority::Background)
            .await?;
        Ok(Page {
            items: list.appointments,
            total: list.total,
        })
    }

    async fn cursor_page(
        client: &Client,
        context: PageContext,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<CursorPage<Appointment>, ClientError> {
        let (from, to) = context.window;
        let page = client
            .v2()
            .appointment_page(
                &AppointmentCursorQuery::new(limit)
                    .dates(from, to)
                    .after(cursor),
            )
            .priority(Priority::Background)
            .await?;
        Ok(CursorPage {
            items: page.appointments,
            next_cursor: page.next_cursor,
            has_more: page.has_more,
        })
    }

    async fn changed_page(
        client: &Client,
        context: PageContext,
        since: Option<DateTime<Utc>>,
        offset: u64,
        limit: u32,
    ) -> Result<Page<Appointment>, ClientError> {
        let (from, to) = context.window;
        let mut query = AppointmentQuery::new()
            .dates(from, to)
            .sort(AppointmentSort::Updated)
            .order(SortOrder::Asc)
            .limit(limit)
            .offset(offset);
        if let Some(since) = since {
            query = query.updated_since(since);
        }
        let list = client
            .appointments()
            .list(&query)
            .priority(Priority::Background)
            .await?;
        Ok(Page {
            items: list.appointments,
            total: list.total,
        })
    }

    async fn changed_page_desc(
        client: &Client,
        context: PageContext,
    ) -> Result<Page<Appointment>, ClientError> {
        // The window's: its total is what first sync will read.
        let (from, to) = context.window;
        let query = AppointmentQuery::new()
            .dates(from, to)
            .limit(1)
            .sort(AppointmentSort::Updated)
            .order(SortOrder::Desc);
        let list = client
            .appointments()
            .list(&query)
            .priority(Priority::Background)
            .await?;
        Ok(Page {
            items: list.appointments,
            total: list.total,
        })
    }

    fn updated(item: &Appointment) -> DateTime<Utc> {
        item.updated
    }

    async fn apply(
        store: &Store,
        items: &[Appointment],
        checkpoint: Checkpoint<'_>,
    ) -> Result<Vec<String>, CacheError> {
        let applied = store
            .apply_remote_appointments(items, Some(checkpoint))
            .await?;
        Ok(applied.into_iter().map(|id| id.0).collect())
    }
}

/// A reference collection as read from the server.
enum Fetched {
    Locations(Vec<Location>),
    Providers(Vec<Provider>),
    AppointmentTypes(Vec<AppointmentType>),
}

/// Reads a reference collection whole by its v2 cursor list, a page of `limit` after another
/// until the server says no more follow.
async fn fetch_reference_v2(
    collection: Collection,
    client: &Client,
    limit: u32,
) -> Result<Fetched, super::SyncError> {
    let v2 = client.v2();
    let mut cursor: Option<String> = None;
    let mut fetched = match collection {
        Collection::Locations => Fetched::Locations(Vec::new()),
        Collection::Providers => Fetched::Providers(Vec::new()),
        Collection::AppointmentTypes => Fetched::AppointmentTypes(Vec::new()),
        Collection::Patients | Collection::Appointments => {
            return Err(super::SyncError::NotReference(collection))
        }
    };
    loop {
        let after = cursor.as_deref();
        let (next, more) = match &mut fetched {
            Fetched::Locations(all) => {
                let page = v2
                    .locations(after, limit)
                    .priority(Priority::Background)
                    .await?;
                all.extend(page.locations);
                (page.next_cursor, page.has_more)
            }
            Fetched::Providers(all) => {
                let page = v2
                    .providers(after, limit)
                    .priority(Priority::Background)
                    .await?;
                all.extend(page.providers);
                (page.next_cursor, page.has_more)
            }
            Fetched::AppointmentTypes(all) => {
                let page = v2
                    .appointment_types(after, limit)
                    .priority(Priority::Background)
                    .await?;
                all.extend(page.appointment_types);
                (page.next_cursor, page.has_more)
            }
        };
        // A server that says more follow without moving on would page forever.
        if !more || cursor.as_deref() == Some(next.as_str()) {
            return Ok(fetched);
        }
        cursor = Some(next);
    }
}

/// Reads a reference collection whole and makes the cache equal to it; the ids changed. With
/// `first_sync`, the collection's first-sync checkpoint is marked done in the same transaction.
/// With `v2_pages` (the server offers the reference cursor lists) it pages them, that many items
/// a page, else it reads v1.
pub(crate) async fn refresh_reference(
    collection: Collection,
    client: &Client,
    store: &Store,
    first_sync: bool,
    v2_pages: Option<u32>,
) -> Result<RefreshOutcome, super::SyncError> {
    let fetched = match v2_pages {
        Some(limit) => fetch_reference_v2(collection, client, limit.clamp(1, PAGE_LIMIT)).await?,
        None => fetch_reference_v1(collection, client).await?,
    };
    store_reference(collection, store, first_sync, fetched).await
}

/// Reads a reference collection whole through v1.
async fn fetch_reference_v1(
    collection: Collection,
    client: &Client,
) -> Result<Fetched, super::SyncError> {
    let fetched = match collection {
        Collection::Locations => {
            let list = client
                .clinic()
                .locations()
                .priority(Priority::Background)
                .await?;
            Fetched::Locations(list.locations)
        }
        Collection::Providers => {
            let mut providers = Vec::new();
            loop {
                let page = client
                    .clinic()
                    .providers(
                        &ProviderQuery::new()
                            .limit(PAGE_LIMIT)
                            .offset(providers.len() as u64),
                    )
                    .priority(Priority::Background)
                    .await?;
                let count = page.providers.len();
                providers.extend(page.providers);
                if count < PAGE_LIMIT as usize || providers.len() as u64 >= page.total {
                    break;
                }
            }
            Fetched::Providers(providers)
        }
        Collection::AppointmentTypes => {
            let list = client
                .clinic()
                .appointment_types()
                .priority(Priority::Background)
                .await?;
            Fetched::AppointmentTypes(list.appointment_types)
        }
        Collection::Patients | Collection::Appointments => {
            return Err(super::SyncError::NotReference(collection))
        }
    };
    Ok(fetched)
}

async fn store_reference(
    collection: Collection,
    store: &Store,
    first_sync: bool,
    fetched: Fetched,
) -> Result<RefreshOutcome, super::SyncError> {
    let count = match &fetched {
        Fetched::Locations(list) => list.len(),
        Fetched::Providers(list) => list.len(),
        Fetched::AppointmentTypes(list) => list.len(),
    } as u64;
    let key = collection.checkpoint_key();
    let value = if first_sync {
        let done = super::FirstSyncState {
            offset: count,
            total: count,
            done: true,
            cursor: None,
        };
        Some(super::encode(&key, &done)?)
    } else {
        None
    };
    let checkpoint = value
        .as_deref()
        .map(|value| Checkpoint { key: &key, value });
    let changed = match &fetched {
        Fetched::Locations(list) => store.replace_locations(list, checkpoint).await?,
        Fetched::Providers(list) => store.replace_providers(list, checkpoint).await?,
        Fetched::AppointmentTypes(list) => {
            store.replace_appointment_types(list, checkpoint).await?
        }
    };
    Ok(RefreshOutcome { count, changed })
}

pub(crate) struct RefreshOutcome {
    pub count: u64,
    pub changed: Vec<String>,
}
