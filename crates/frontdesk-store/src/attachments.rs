//! Attachment bytes (PDFs, scans) inside the encrypted cache, capped in total size.

use crate::error::{query, CacheError};
use crate::Store;

/// An attachment to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttachment {
    pub id: String,
    pub patient_id: Option<String>,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A cached attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub id: String,
    pub patient_id: Option<String>,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl Store {
    /// Keeps an attachment, then evicts the least recently used others until the total fits
    /// the cap. One larger than the whole cap is refused rather than evicting everything.
    /// Returns the ids evicted.
    pub async fn put_attachment(
        &self,
        attachment: &NewAttachment,
    ) -> Result<Vec<String>, CacheError> {
        let cap = self.options.attachment_cap_bytes;
        let size = attachment.bytes.len() as u64;
        if size > cap {
            return Err(CacheError::AttachmentTooLarge {
                id: attachment.id.clone(),
                size,
                cap,
            });
        }
        let size = i64::try_from(size).unwrap_or(i64::MAX);
        let mut tx = self.begin_write("store an attachment").await?;
        sqlx::query!(
            "INSERT INTO attachments (id, patient_id, content_type, size, last_used, bytes)
             VALUES (?1, ?2, ?3, ?4, (SELECT coalesce(max(last_used), 0) + 1 FROM attachments), ?5)
             ON CONFLICT (id) DO UPDATE SET patient_id = excluded.patient_id,
                 content_type = excluded.content_type, size = excluded.size,
                 last_used = excluded.last_used, bytes = excluded.bytes",
            attachment.id,
            attachment.patient_id,
            attachment.content_type,
            size,
            attachment.bytes
        )
        .execute(&mut *tx)
        .await
        .map_err(query("store an attachment"))?;
        // Oldest use first; the running total says which ones must go.
        let others = sqlx::query!(
            r#"SELECT id AS "id!: String", size FROM attachments WHERE id <> ?1
               ORDER BY last_used"#,
            attachment.id
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(query("store an attachment"))?;
        let mut total: i64 = size + others.iter().map(|o| o.size).sum::<i64>();
        let cap = i64::try_from(cap).unwrap_or(i64::MAX);
        let mut evicted = Vec::new();
        for other in others {
            if total <= cap {
                break;
            }
            sqlx::query!("DELETE FROM attachments WHERE id = ?1", other.id)
                .execute(&mut *tx)
                .await
                .map_err(query("evict an attachment"))?;
            total -= other.size;
            evicted.push(other.id);
        }
        tx.commit().await.map_err(query("store an attachment"))?;
        if !evicted.is_empty() {
            tracing::debug!(count = evicted.len(), "attachments evicted");
        }
        Ok(evicted)
    }

    /// The attachment with this id, if cached; reading it makes it the most recently used.
    pub async fn attachment(&self, id: &str) -> Result<Option<Attachment>, CacheError> {
        let mut tx = self.begin_write("read an attachment").await?;
        let row = sqlx::query!(
            r#"UPDATE attachments
               SET last_used = (SELECT coalesce(max(last_used), 0) + 1 FROM attachments)
               WHERE id = ?1
               RETURNING id AS "id!: String", patient_id, content_type AS "content_type!: String",
                   bytes AS "bytes!: Vec<u8>""#,
            id
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(query("read an attachment"))?;
        tx.commit().await.map_err(query("read an attachment"))?;
        Ok(row.map(|r| Attachment {
            id: r.id,
            patient_id: r.patient_id,
            content_type: r.content_type,
            bytes: r.bytes,
        }))
    }

    /// Total bytes of cached attachments.
    pub async fn attachment_bytes(&self) -> Result<i64, CacheError> {
        sqlx::query_scalar!(r#"SELECT coalesce(sum(size), 0) AS "n!: i64" FROM attachments"#)
            .fetch_one(&self.readers)
            .await
            .map_err(query("sum attachment sizes"))
    }
}
