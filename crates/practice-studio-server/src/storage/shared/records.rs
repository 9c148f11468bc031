//! records: written once for both engines; see [`super`] for how the sharing works.

/// The records storage of one engine: `$Store` the storage type, `$Db` its `sqlx::Database`,
/// `$Row` its row and `$Conn` its connection.
macro_rules! records_storage {
    ($Store:ident, $Db:ty, $Row:ty, $Conn:ty) => {
        use std::collections::HashMap;

        use chrono::{DateTime, Utc};
        use practice_studio::model::{AttachmentId, PatientId, ProviderId, RecordId};
        use sqlx::{QueryBuilder, Row};

        use super::{corrupt, parse_ts, ts, $Store, FIRST_NUMBER};
        use crate::storage::{
            AttachmentKind, DemoRecord, IdempotencyClaim, RecordQuery, RecordResponder, RecordStorage,
            Result, StorageError, StoredAttachment, StoredRecord, ValidRecord,
        };

        /// Rows per multi-row INSERT of the demo generators (well under SQLite's 32,766 variables).
        const ROWS_PER_INSERT: usize = 200;

        const RECORD_COLUMNS: &str =
            "seq, id, patient_id, provider_id, type, date, title, content, template";

        fn record_from_row(row: &$Row) -> Result<StoredRecord> {
            let content = match row.try_get::<Option<String>, _>("content")? {
                Some(json) => serde_json::from_str(&json).map_err(corrupt("record content"))?,
                None => {
                    let template: Option<i64> = row.try_get("template")?;
                    template
                        .and_then(crate::demo_records::note)
                        .ok_or_else(|| StorageError::Corrupt(format!("record template {template:?}")))?
                }
            };
            Ok(StoredRecord {
                id: RecordId(row.try_get("id")?),
                patient_id: PatientId(row.try_get("patient_id")?),
                provider_id: ProviderId(row.try_get("provider_id")?),
                record_type: row.try_get("type")?,
                date: parse_ts(&row.try_get::<String, _>("date")?)?,
                title: row.try_get("title")?,
                content,
                attachments: Vec::new(),
            })
        }

        fn attachment_from_row(row: &$Row) -> Result<(String, StoredAttachment)> {
            let kind: String = row.try_get("kind")?;
            Ok((
                row.try_get("record_id")?,
                StoredAttachment {
                    id: AttachmentId(row.try_get("id")?),
                    kind: AttachmentKind::parse(&kind)
                        .ok_or_else(|| StorageError::Corrupt(format!("attachment kind {kind:?}")))?,
                    filename: row.try_get("filename")?,
                    content_type: row.try_get("content_type")?,
                    uploaded_at: parse_ts(&row.try_get::<String, _>("uploaded_at")?)?,
                },
            ))
        }

        impl $Store {
            /// Fills in the attachments of `records` with one query.
            async fn with_attachments(&self, mut records: Vec<StoredRecord>) -> Result<Vec<StoredRecord>> {
                if records.is_empty() {
                    return Ok(records);
                }
                let mut query: QueryBuilder<$Db> = QueryBuilder::new(
                    "SELECT id, record_id, kind, filename, content_type, uploaded_at FROM attachments \
                     WHERE record_id IN (",
                );
                let mut ids = query.separated(", ");
                for record in &records {
                    ids.push_bind(record.id.as_str().to_owned());
                }
                query.push(") ORDER BY seq");
                let rows = query.build().fetch_all(&self.readers).await?;
                let mut by_record: HashMap<String, Vec<StoredAttachment>> = HashMap::new();
                for row in &rows {
                    let (record_id, attachment) = attachment_from_row(row)?;
                    by_record.entry(record_id).or_default().push(attachment);
                }
                for record in &mut records {
                    if let Some(attachments) = by_record.remove(record.id.as_str()) {
                        record.attachments = attachments;
                    }
                }
                Ok(records)
            }
        }

        #[async_trait::async_trait]
        impl RecordStorage for $Store {
            async fn list_records(&self, query: &RecordQuery) -> Result<(u64, Vec<StoredRecord>)> {
                let filters = |builder: &mut QueryBuilder<$Db>| {
                    builder.push(" WHERE patient_id = ");
                    builder.push_bind(query.patient_id.clone());
                    if let Some(kind) = &query.record_type {
                        builder.push(" AND ");
                        let [open, equals, close] = super::dialect::CASELESS_EQUALS;
                        builder.push(format!("{open}type{equals}"));
                        builder.push_bind(kind.clone());
                        builder.push(close);
                    }
                    if let Some(from) = query.from {
                        builder.push(" AND date >= ");
                        builder.push_bind(ts(from));
                    }
                    if let Some(until) = query.until {
                        builder.push(" AND date < ");
                        builder.push_bind(ts(until));
                    }
                    if let Some(since) = query.updated_since {
                        builder.push(" AND created >= ");
                        builder.push_bind(ts(since));
                    }
                };
                let mut count: QueryBuilder<$Db> = QueryBuilder::new("SELECT COUNT(*) FROM records");
                filters(&mut count);
                let total: i64 = count.build_query_scalar().fetch_one(&self.readers).await?;
                let mut page: QueryBuilder<$Db> =
                    QueryBuilder::new(format!("SELECT {RECORD_COLUMNS} FROM records"));
                filters(&mut page);
                page.push(" ORDER BY date DESC, seq DESC LIMIT ");
                page.push_bind(query.limit as i64);
                page.push(" OFFSET ");
                page.push_bind(i64::try_from(query.offset).unwrap_or(i64::MAX));
                let rows = page.build().fetch_all(&self.readers).await?;
                let records = rows.iter().map(record_from_row).collect::<Result<_>>()?;
                Ok((total as u64, self.with_attachments(records).await?))
            }

            async fn record(&self, id: &str) -> Result<Option<StoredRecord>> {
                let row = sqlx::query(&format!(
                    "SELECT {RECORD_COLUMNS} FROM records WHERE id = $1"
                ))
                .bind(id)
                .fetch_optional(&self.readers)
                .await?;
                let Some(row) = row else { return Ok(None) };
                let record = record_from_row(&row)?;
                Ok(self.with_attachments(vec![record]).await?.pop())
            }

            async fn attachment(&self, id: &str) -> Result<Option<(StoredAttachment, StoredRecord)>> {
                let record_id: Option<String> =
                    sqlx::query_scalar("SELECT record_id FROM attachments WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&self.readers)
                        .await?;
                let Some(record_id) = record_id else {
                    return Ok(None);
                };
                let record = self
                    .record(&record_id)
                    .await?
                    .ok_or_else(|| StorageError::Corrupt(format!("attachment {id} without its record")))?;
                let attachment = record
                    .attachments
                    .iter()
                    .find(|a| a.id.as_str() == id)
                    .cloned()
                    .ok_or_else(|| StorageError::Corrupt(format!("attachment {id} vanished")))?;
                Ok(Some((attachment, record)))
            }

            async fn create_record(
                &self,
                patient_id: &str,
                record: &ValidRecord,
                now: DateTime<Utc>,
                idempotency: Option<(&IdempotencyClaim, RecordResponder<'_>)>,
            ) -> Result<Option<StoredRecord>> {
                let mut tx = self.write().await?;
                let exists: Option<i64> = sqlx::query_scalar("SELECT seq FROM patients WHERE id = $1")
                    .bind(patient_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                if exists.is_none() {
                    return Ok(None);
                }
                let next: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM records")
                    .fetch_one(&mut *tx)
                    .await?;
                let stored = StoredRecord {
                    id: RecordId(format!("REC-{}", FIRST_NUMBER + next)),
                    patient_id: PatientId(patient_id.to_owned()),
                    provider_id: record.provider_id.clone(),
                    record_type: record.record_type.clone(),
                    date: record.date,
                    title: record.title.clone(),
                    content: record.content.clone(),
                    attachments: Vec::new(),
                };
                sqlx::query(
                    "INSERT INTO records (seq, id, patient_id, provider_id, type, date, title, content, \
                     template, created) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9)",
                )
                .bind(next)
                .bind(stored.id.as_str())
                .bind(patient_id)
                .bind(stored.provider_id.as_str())
                .bind(&stored.record_type)
                .bind(ts(stored.date))
                .bind(&stored.title)
                .bind(serde_json::to_string(&stored.content).map_err(corrupt("record content"))?)
                .bind(ts(now))
                .execute(&mut *tx)
                .await?;
                super::append_event(
                    &mut tx,
                    "record.created",
                    "read:records",
                    &crate::records::to_wire(&stored),
                    now,
                )
                .await?;
                if let Some((claim, respond)) = idempotency {
                    Self::store_response_in(&mut tx, claim, &respond(&stored)?).await?;
                }
                tx.commit().await?;
                self.events_committed();
                Ok(Some(stored))
            }

            async fn bulk_insert_records(&self, records: &[DemoRecord], now: DateTime<Utc>) -> Result<u64> {
                let mut tx = self.write().await?;
                let first: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM records")
                    .fetch_one(&mut *tx)
                    .await?;
                let first_attachment: i64 =
                    sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM attachments")
                        .fetch_one(&mut *tx)
                        .await?;
                let created = ts(now);
                let numbered: Vec<(i64, &DemoRecord)> = records
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (first + i as i64, r))
                    .collect();
                for chunk in numbered.chunks(ROWS_PER_INSERT) {
                    let mut insert: QueryBuilder<$Db> = QueryBuilder::new(
                        "INSERT INTO records (seq, id, patient_id, provider_id, type, date, title, \
                         content, template, created) ",
                    );
                    insert.push_values(chunk, |mut row, (seq, record)| {
                        row.push_bind(*seq)
                            .push_bind(format!("REC-{}", FIRST_NUMBER + seq))
                            .push_bind(record.patient_id.clone())
                            .push_bind(record.provider_id.clone())
                            .push_bind(record.record_type)
                            .push_bind(ts(record.date))
                            .push_bind(record.title)
                            .push_bind(None::<String>)
                            .push_bind(record.template)
                            .push_bind(created.clone());
                    });
                    insert.build().execute(&mut *tx).await?;
                }
                let attachments: Vec<(i64, i64, &(AttachmentKind, &'static str, DateTime<Utc>))> = numbered
                    .iter()
                    .flat_map(|(seq, record)| record.attachments.iter().map(move |a| (*seq, a)))
                    .enumerate()
                    .map(|(i, (seq, a))| (first_attachment + i as i64, seq, a))
                    .collect();
                for chunk in attachments.chunks(ROWS_PER_INSERT) {
                    let mut insert: QueryBuilder<$Db> = QueryBuilder::new(
                        "INSERT INTO attachments (seq, id, record_id, kind, filename, content_type, \
                         uploaded_at) ",
                    );
                    insert.push_values(chunk, |mut row, (seq, record_seq, (kind, filename, at))| {
                        row.push_bind(*seq)
                            .push_bind(format!("ATT-{}", FIRST_NUMBER + seq))
                            .push_bind(format!("REC-{}", FIRST_NUMBER + record_seq))
                            .push_bind(kind.as_str())
                            .push_bind(*filename)
                            .push_bind("application/pdf")
                            .push_bind(ts(*at));
                    });
                    insert.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(records.len() as u64)
            }

            async fn patients_after(
                &self,
                after_seq: i64,
                limit: u32,
            ) -> Result<Vec<(i64, String, DateTime<Utc>)>> {
                let rows = sqlx::query(
                    "SELECT seq, id, created FROM patients WHERE seq > $1 ORDER BY seq LIMIT $2",
                )
                .bind(after_seq)
                .bind(limit as i64)
                .fetch_all(&self.readers)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok((
                            row.try_get("seq")?,
                            row.try_get("id")?,
                            parse_ts(&row.try_get::<String, _>("created")?)?,
                        ))
                    })
                    .collect()
            }
        }
    };
}
pub(crate) use records_storage;
