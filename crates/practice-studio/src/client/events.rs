//! The change feed (`GET /api/v2/events`, v2 beta): pages of events after a cursor, and a stream
//! that long-polls for more.

use std::time::Duration;

use futures_util::stream::{self, Stream};
use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::{Call, Client, Error, Priority};
use crate::webhook::WebhookEvent;

/// Longest wait the server allows for one long poll.
pub const MAX_WAIT: Duration = Duration::from_secs(30);

/// One answer of the feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventPage {
    /// In commit order.
    pub events: Vec<WebhookEvent>,
    /// Where to read on from; save it with what the events changed, in one transaction.
    pub cursor: String,
    /// More events are already waiting past `cursor`.
    pub has_more: bool,
}

/// The feed; from [`Client::events`].
#[derive(Debug, Clone)]
pub struct Events<'a> {
    pub(crate) client: &'a Client,
}

impl<'a> Events<'a> {
    /// One page: events after `after` (or, without a cursor, no events and the current end of
    /// the log to start from). With a `wait` the server holds an empty answer until an event
    /// commits or the wait (at most 30 s) passes. [`Error::Gone`] means the cursor is from
    /// another database or past the retention: resynchronise.
    pub fn page(&self, after: Option<&str>, limit: u32, wait: Duration) -> Call<'a, EventPage> {
        let mut query = vec![("limit", limit.to_string())];
        if let Some(after) = after {
            query.push(("after", after.to_owned()));
        }
        let wait = wait.min(MAX_WAIT);
        if !wait.is_zero() {
            query.push(("wait", wait.as_secs().to_string()));
        }
        Call::new(
            self.client,
            Method::GET,
            "/api/v2/events",
            "/api/v2/events".into(),
        )
        .query(query)
    }

    /// Follows the feed from `after` (or from its current end) for ever: each item is a non-empty
    /// batch of events with the cursor after it. Long polls wait up to `wait` each; their
    /// deadline is the poll's, not the client's default. Saves nothing: the caller stores each
    /// batch's cursor with its effects. Ends with [`Error::Gone`] when the server says to
    /// resynchronise, or with the first error that retries could not overcome.
    pub fn follow(
        &self,
        after: Option<String>,
        wait: Duration,
        priority: Priority,
    ) -> impl Stream<Item = Result<EventPage, Error>> + Send + 'static {
        let wait = wait.min(MAX_WAIT);
        // Room for the server's wait plus an answer.
        let client = self
            .client
            .clone()
            .with_timeout(wait + Duration::from_secs(15));
        stream::try_unfold((client, after), move |(client, mut cursor)| async move {
            loop {
                let page = client
                    .events()
                    .page(
                        cursor.as_deref(),
                        1_000,
                        if cursor.is_some() {
                            wait
                        } else {
                            Duration::ZERO
                        },
                    )
                    .priority(priority)
                    .await?;
                cursor = Some(page.cursor.clone());
                if !page.events.is_empty() {
                    return Ok(Some((page, (client, cursor))));
                }
            }
        })
    }
}
