//! Recently served pages of a list, kept while the table they came from is unchanged.
//!
//! A receptionist's desk and an integration both ask for the same first pages again and again;
//! building one (a count and a hundred rows joined in SQLite) costs more than everything else a
//! request does. A page is stored with the table's change counter at the moment it was asked for
//! ([`crate::storage::RequestStorage::generation`], bumped by triggers on every write, from any
//! writer) and is served only while that counter has not moved. Reading the counter first and
//! building the page after means a page is never older than the counter it is filed under: a
//! write in between only costs a rebuild. The cache holds patient data, so it stays in the
//! process's memory, bounded by bytes, and is never written anywhere.

use std::sync::Arc;

use bytes::Bytes;
use quick_cache::sync::Cache;
use quick_cache::Weighter;

/// At most this many bytes of page bodies (about 250 pages of 100 patients).
const CAPACITY_BYTES: u64 = 16 * 1024 * 1024;
const ESTIMATED_PAGES: usize = 256;

/// The patients' change counter as authentication read it (with the bearer token, in one
/// statement); handlers of cached lists use it instead of reading the counter again. It was read
/// before the handler builds anything, which is all the cache's rule needs.
#[derive(Debug, Clone, Copy)]
pub struct PatientsGeneration(pub i64);

#[derive(Debug)]
struct Page {
    generation: i64,
    body: Bytes,
}

#[derive(Clone)]
struct BodyBytes;

impl Weighter<String, Arc<Page>> for BodyBytes {
    fn weight(&self, key: &String, page: &Arc<Page>) -> u64 {
        (key.len() + page.body.len()) as u64
    }
}

pub struct PageCache {
    pages: Cache<String, Arc<Page>, BodyBytes>,
}

impl Default for PageCache {
    fn default() -> Self {
        Self {
            pages: Cache::with_weighter(ESTIMATED_PAGES, CAPACITY_BYTES, BodyBytes),
        }
    }
}

impl std::fmt::Debug for PageCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageCache")
            .field("pages", &self.pages.len())
            .finish()
    }
}

impl PageCache {
    /// The body stored under `key` if it was built at `generation`.
    pub fn get(&self, key: &str, generation: i64) -> Option<Bytes> {
        self.pages
            .get(key)
            .filter(|page| page.generation == generation)
            .map(|page| page.body.clone())
    }

    /// Files `body`, built after the counter read `generation`.
    pub fn put(&self, key: String, generation: i64, body: Bytes) {
        self.pages.insert(key, Arc::new(Page { generation, body }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_served_only_at_the_generation_it_was_built() {
        let cache = PageCache::default();
        cache.put("q".into(), 7, Bytes::from_static(b"page"));
        assert_eq!(cache.get("q", 7).as_deref(), Some(&b"page"[..]));
        assert_eq!(cache.get("q", 8), None, "the table changed since");
        assert_eq!(cache.get("other", 7), None);
        cache.put("q".into(), 8, Bytes::from_static(b"newer"));
        assert_eq!(cache.get("q", 8).as_deref(), Some(&b"newer"[..]));
        assert_eq!(cache.get("q", 7), None);
    }

    #[test]
    fn the_cache_is_bounded_by_bytes() {
        let cache = PageCache::default();
        let body = Bytes::from(vec![b'x'; 1024 * 1024]);
        for i in 0..64 {
            cache.put(format!("q{i}"), 1, body.clone());
        }
        let kept = (0..64)
            .filter(|i| cache.get(&format!("q{i}"), 1).is_some())
            .count();
        assert!(kept <= 16, "{kept} MiB kept");
        assert!(kept > 0);
    }
}
