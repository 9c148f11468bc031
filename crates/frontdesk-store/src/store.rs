//! The encrypted cache: one writer connection, a pool of readers, WAL.

use std::path::{Path, PathBuf};

use chrono::Utc;
use sqlx::sqlite::SqlitePool;
use sqlx::{Sqlite, Transaction};

use crate::db;
use crate::error::{query, CacheError};
use crate::search_readers::SearchReaders;
use crate::DataDir;

/// The cache's file name inside the data directory.
pub const CACHE_FILE: &str = "cache.db";

static CACHE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/cache");

/// How the cache is set up.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// The most attachment bytes kept; the least recently used are evicted beyond it.
    pub attachment_cap_bytes: u64,
    /// Read connections (searches run on these, never waiting on a write). Each keeps its own
    /// cache of decrypted pages, so a few warm readers beat many cold ones; desks have 2–4 cores.
    pub readers: u32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            attachment_cap_bytes: 512 * 1024 * 1024,
            readers: 2,
        }
    }
}

/// A desk's encrypted local cache (SQLCipher). Every write goes through one connection in a
/// `BEGIN IMMEDIATE` transaction; reads use a separate pool and never wait for a writer (WAL).
#[derive(Debug)]
pub struct Store {
    pub(crate) writer: SqlitePool,
    pub(crate) readers: SqlitePool,
    /// Patient search's own read connections (see `search_readers`).
    pub(crate) search_readers: SearchReaders,
    path: PathBuf,
    pub(crate) options: StoreOptions,
    /// Held until every connection above is closed (see [`db::FileClaim`]).
    claim: Option<db::FileClaim>,
}

impl Drop for Store {
    fn drop(&mut self) {
        db::close_then_release(
            self.search_readers.take(),
            vec![self.readers.clone(), self.writer.clone()],
            self.claim.take(),
        );
    }
}

impl Store {
    /// Opens (creating if needed) the cache in `dir`, encrypted with `key`. The key is the
    /// caller's to keep (the app holds it in the OS keychain); it is never written anywhere.
    /// A key other than the one the cache was created with fails with [`CacheError::WrongKey`].
    pub async fn open(dir: &DataDir, key: [u8; 32]) -> Result<Self, CacheError> {
        Self::open_with(dir, key, StoreOptions::default()).await
    }

    /// [`Store::open`] with explicit options.
    pub async fn open_with(
        dir: &DataDir,
        key: [u8; 32],
        options: StoreOptions,
    ) -> Result<Self, CacheError> {
        let path = dir.path().join(CACHE_FILE);
        let claim = db::claim(&path).await?;
        let writer = db::open_writer(&path, &key, &CACHE_MIGRATIONS).await?;
        let readers = db::open_readers(&path, &key, options.readers.max(1)).await?;
        let search_readers = SearchReaders::open(&path, &key, options.readers.max(1))?;
        tracing::debug!("cache opened");
        Ok(Self {
            writer,
            readers,
            search_readers,
            path,
            options,
            claim: Some(claim),
        })
    }

    /// The database file's path (its `-wal` and `-shm` files sit beside it).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes the cache and deletes it with its WAL and shared-memory files ("remove this
    /// device's data"). The audit log, a separate database, is left alone.
    pub async fn wipe(mut self) -> Result<(), CacheError> {
        drop(self.search_readers.take());
        self.readers.close().await;
        self.writer.close().await;
        drop(self.claim.take());
        db::remove_database(&self.path).await?;
        tracing::info!("cache wiped");
        Ok(())
    }

    /// Removes the cache in `dir` that no key at hand opens (its key was lost with the
    /// keychain), once every handle of this process on it has closed. Its pending writes are as
    /// lost as the key; the audit log, a separate file, is left alone.
    pub async fn remove_unreadable(dir: &DataDir) -> Result<(), CacheError> {
        let path = dir.path().join(CACHE_FILE);
        db::remove_database(&path).await?;
        tracing::warn!("removed a cache that the keychain's key does not open");
        Ok(())
    }

    /// After a first sync: the writer's page cache, sized for the sync's bulk inserts (see
    /// `db::open_writer`), goes back to a desk's everyday size and hands its memory back. A
    /// desk runs all day beside a browser engine on modest PCs; keeping a whole cache's worth
    /// of decrypted pages for the odd feed update costs more than re-reading them.
    pub async fn settle_after_first_sync(&self) -> Result<(), CacheError> {
        let mut writer = self
            .writer
            .acquire()
            .await
            .map_err(query("settle the cache's memory"))?;
        sqlx::query(db::EVERYDAY_WRITER_CACHE)
            .execute(&mut *writer)
            .await
            .map_err(query("settle the cache's memory"))?;
        sqlx::query("PRAGMA shrink_memory")
            .execute(&mut *writer)
            .await
            .map_err(query("settle the cache's memory"))?;
        Ok(())
    }

    /// Starts a write. `BEGIN IMMEDIATE` takes the write lock up front, so a transaction never
    /// fails half-way on a lock it could not upgrade.
    pub(crate) async fn begin_write(
        &self,
        operation: &'static str,
    ) -> Result<Transaction<'static, Sqlite>, CacheError> {
        self.writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(query(operation))
    }

    /// The value last stored under `key` (a change-feed cursor, a first-sync checkpoint…).
    pub async fn sync_state(&self, key: &str) -> Result<Option<String>, CacheError> {
        let row = sqlx::query!("SELECT value FROM sync_state WHERE key = ?1", key)
            .fetch_optional(&self.readers)
            .await
            .map_err(query("read sync state"))?;
        Ok(row.map(|r| r.value))
    }

    /// Stores `value` under `key`, replacing what was there.
    pub async fn set_sync_state(&self, key: &str, value: &str) -> Result<(), CacheError> {
        let mut tx = self.begin_write("store sync state").await?;
        Self::set_sync_state_in(&mut tx, key, value).await?;
        tx.commit().await.map_err(query("store sync state"))
    }

    /// Stores sync state inside a larger write (an applied event and its cursor commit together).
    pub(crate) async fn set_sync_state_in(
        tx: &mut Transaction<'static, Sqlite>,
        key: &str,
        value: &str,
    ) -> Result<(), CacheError> {
        let now = Utc::now().to_rfc3339();
        sqlx::query!(
            "INSERT INTO sync_state (key, value, updated) VALUES (?1, ?2, ?3)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated = excluded.updated",
            key,
            value,
            now
        )
        .execute(&mut **tx)
        .await
        .map_err(query("store sync state"))?;
        Ok(())
    }
}
