//! waitlist: written once for both engines; see [`super`] for how the sharing works.

/// The waitlist storage of one engine: `$Store` the storage type, `$Db` its `sqlx::Database`,
/// `$Row` its row and `$Conn` its connection.
macro_rules! waitlist_storage {
    ($Store:ident, $Db:ty, $Row:ty, $Conn:ty) => {
        use async_trait::async_trait;
        use chrono::{DateTime, Utc};
        use practice_studio::model::WaitlistEntry;

        use super::{append_event, corrupt, ts, $Store};
        use crate::error::ApiError;
        use crate::storage::{
            IdempotencyClaim, Result, StoredResponse, WaitlistChange, WaitlistOutcome, WaitlistQuery,
            WaitlistStorage,
        };

        /// Who may see the waitlist's events: whoever may read appointments.
        const SCOPE: &str = "read:appointments";
        /// Entry numbers start here, so ids have five digits like the reference's.
        const FIRST_NUMBER: i64 = 10_000;

        fn parse(body: &str) -> Result<WaitlistEntry> {
            serde_json::from_str(body).map_err(corrupt("waitlist entry"))
        }

        fn stored_response(entry: &WaitlistEntry, created: bool) -> Result<StoredResponse> {
            Ok(StoredResponse {
                status: if created { 201 } else { 200 },
                location: created.then(|| format!("/api/v1/waitlist/{}", entry.id)),
                etag: Some(format!("\"{}\"", entry.version)),
                body: serde_json::to_string(entry).map_err(corrupt("waitlist entry"))?,
            })
        }

        #[async_trait]
        impl WaitlistStorage for $Store {
            async fn create_waitlist_entry(
                &self,
                draft: &WaitlistEntry,
                idempotency: Option<&IdempotencyClaim>,
            ) -> Result<WaitlistEntry> {
                let mut tx = self.write().await?;
                let seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM waitlist")
                    .fetch_one(&mut *tx)
                    .await?;
                let mut entry = draft.clone();
                entry.id = format!("WL-{}", FIRST_NUMBER + seq);
                let body = serde_json::to_string(&entry).map_err(corrupt("waitlist entry"))?;
                sqlx::query(
                    "INSERT INTO waitlist (seq, id, patient_id, status, version, created, updated, body) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(seq)
                .bind(&entry.id)
                .bind(entry.patient_id.as_str())
                .bind(entry.status.as_str())
                .bind(entry.version)
                .bind(ts(entry.created))
                .bind(ts(entry.updated))
                .bind(&body)
                .execute(&mut *tx)
                .await?;
                append_event(&mut tx, "waitlist.created", SCOPE, &entry, entry.created).await?;
                if let Some(claim) = idempotency {
                    Self::store_response_in(&mut tx, claim, &stored_response(&entry, true)?).await?;
                }
                tx.commit().await?;
                self.events_committed();
                Ok(entry)
            }

            async fn waitlist_entry(&self, id: &str) -> Result<Option<WaitlistEntry>> {
                sqlx::query_scalar::<_, String>("SELECT body FROM waitlist WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.readers)
                    .await?
                    .as_deref()
                    .map(parse)
                    .transpose()
            }

            async fn waitlist(&self, query: &WaitlistQuery) -> Result<(u64, Vec<WaitlistEntry>)> {
                let [names, after] = super::dialect::WAITLIST_NAMES_PROVIDER;
                let names_provider = format!("{names}?{after}");
                let mut filters: Vec<&str> = Vec::new();
                let mut binds: Vec<String> = Vec::new();
                if let Some(status) = query.status {
                    filters.push("status = ?");
                    binds.push(status.as_str().to_owned());
                }
                if let Some(patient) = &query.patient_id {
                    filters.push("patient_id = ?");
                    binds.push(patient.clone());
                }
                if let Some(provider) = &query.provider_id {
                    // Entries that name the provider, and those that take anyone.
                    filters.push(&names_provider);
                    binds.push(provider.clone());
                }
                if let Some(since) = query.updated_since {
                    filters.push("updated >= ?");
                    binds.push(ts(since));
                }
                let where_clause = if filters.is_empty() {
                    String::new()
                } else {
                    format!("WHERE {}", filters.join(" AND "))
                };
                let count_sql = super::numbered(&format!("SELECT COUNT(*) FROM waitlist {where_clause}"));
                let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
                for bind in &binds {
                    count = count.bind(bind);
                }
                let total = count.fetch_one(&self.readers).await?;
                let page_sql = super::numbered(&format!(
                    "SELECT body FROM waitlist {where_clause} ORDER BY seq LIMIT ? OFFSET ?"
                ));
                let mut page = sqlx::query_scalar::<_, String>(&page_sql);
                for bind in &binds {
                    page = page.bind(bind);
                }
                let bodies = page
                    .bind(i64::from(query.limit))
                    .bind(i64::try_from(query.offset).unwrap_or(i64::MAX))
                    .fetch_all(&self.readers)
                    .await?;
                let entries = bodies
                    .iter()
                    .map(|b| parse(b))
                    .collect::<Result<Vec<_>>>()?;
                Ok((u64::try_from(total).unwrap_or(0), entries))
            }

            async fn update_waitlist_entry(
                &self,
                id: &str,
                expected_version: Option<i64>,
                change: WaitlistChange<'_>,
                now: DateTime<Utc>,
                idempotency: Option<&IdempotencyClaim>,
            ) -> Result<std::result::Result<WaitlistOutcome, ApiError>> {
                let mut tx = self.write().await?;
                let Some(body) = sqlx::query_scalar::<_, String>("SELECT body FROM waitlist WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?
                else {
                    return Ok(Ok(WaitlistOutcome::NotFound));
                };
                let current = parse(&body)?;
                if expected_version.is_some_and(|v| v != current.version) {
                    return Ok(Ok(WaitlistOutcome::VersionMismatch {
                        current: current.version,
                    }));
                }
                let mut changed = match change(&current) {
                    Ok(changed) => changed,
                    Err(refusal) => return Ok(Err(refusal)),
                };
                changed.id = current.id.clone();
                changed.created = current.created;
                changed.version = current.version + 1;
                changed.updated = now;
                let body = serde_json::to_string(&changed).map_err(corrupt("waitlist entry"))?;
                sqlx::query(
                    "UPDATE waitlist SET status = $1, version = $2, updated = $3, body = $4 WHERE id = $5",
                )
                .bind(changed.status.as_str())
                .bind(changed.version)
                .bind(ts(changed.updated))
                .bind(&body)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                append_event(&mut tx, "waitlist.updated", SCOPE, &changed, now).await?;
                if let Some(claim) = idempotency {
                    Self::store_response_in(&mut tx, claim, &stored_response(&changed, false)?).await?;
                }
                tx.commit().await?;
                self.events_committed();
                Ok(Ok(WaitlistOutcome::Saved(Box::new(changed))))
            }
        }
    };
}
pub(crate) use waitlist_storage;
