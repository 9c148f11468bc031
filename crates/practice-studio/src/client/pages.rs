//! The walk over every page of a list, shared by the lists' `all` methods: pages of
//! [`PAGE_SIZE`](super::PAGE_SIZE) fetched as the stream is read, ending after a short page or
//! at the list's `total`, whichever comes first.

use std::collections::VecDeque;
use std::future::Future;

use futures_util::stream::{self, Stream};

use super::{Error, PAGE_SIZE};

/// Every item of a list: `fetch(offset)` reads the page at `offset` and returns its items and
/// the list's total. A snapshot-free walk: items added during the walk come at its end (in an
/// append-only order) or not at all; use the change feed for a consistent copy.
pub(crate) fn walk<T, F, Fut>(fetch: F) -> impl Stream<Item = Result<T, Error>> + Send + 'static
where
    T: Send + 'static,
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(Vec<T>, u64), Error>> + Send + 'static,
{
    struct Walk<T, F> {
        fetch: F,
        offset: u64,
        buffered: VecDeque<T>,
        done: bool,
    }
    let start = Walk {
        fetch,
        offset: 0,
        buffered: VecDeque::new(),
        done: false,
    };
    stream::try_unfold(start, |mut walk| async move {
        loop {
            if let Some(item) = walk.buffered.pop_front() {
                return Ok(Some((item, walk)));
            }
            if walk.done {
                return Ok(None);
            }
            let (items, total) = (walk.fetch)(walk.offset).await?;
            let count = items.len() as u64;
            walk.offset += count;
            walk.done = count < u64::from(PAGE_SIZE) || walk.offset >= total;
            walk.buffered.extend(items);
        }
    })
}
