//! v2: written once for both engines; see [`super`] for how the sharing works.

/// The v2 storage of one engine: `$Store` the storage type, `$Db` its `sqlx::Database`,
/// `$Row` its row and `$Conn` its connection.
macro_rules! v2_storage {
    ($Store:ident, $Db:ty, $Row:ty, $Conn:ty) => {
        use chrono::{DateTime, Utc};
        use practice_studio::model::{InvoiceStatus, PatientStatus};
        use sqlx::{QueryBuilder, Row};

        use super::webhooks::{delivery_from_row, webhook_from_row};
        use super::{ts, $Store};
        use crate::storage::{
            AppointmentCursorQuery, ClinicList, CursorPage, DeliveryRecord, InvoiceCursorQuery,
            PatientCursorQuery, PatientSearchRow, RecordCursorQuery, Result, V2Storage,
            WaitlistCursorQuery, WebhookRecord,
        };

        fn start(select: &str, page: &CursorPage, changed: &str) -> QueryBuilder<'static, $Db> {
            let mut builder = QueryBuilder::new(select);
            builder.push(" WHERE seq > ");
            builder.push_bind(page.after_seq);
            if let Some(since) = page.updated_since {
                builder.push(format!(" AND {changed} >= "));
                builder.push_bind(ts(since));
            }
            builder
        }

        fn finish(builder: &mut QueryBuilder<'static, $Db>, page: &CursorPage) {
            builder.push(" ORDER BY seq LIMIT ");
            builder.push_bind(i64::from(page.limit));
        }

        async fn pairs(
            storage: &$Store,
            mut builder: QueryBuilder<'static, $Db>,
        ) -> Result<Vec<(i64, String)>> {
            let rows = builder.build().fetch_all(&storage.readers).await?;
            rows.iter()
                .map(|row| Ok((row.try_get::<i64, _>(0)?, row.try_get::<String, _>(1)?)))
                .collect()
        }

        #[async_trait::async_trait]
        impl V2Storage for $Store {
            async fn v2_patients(&self, query: &PatientCursorQuery) -> Result<Vec<(i64, String)>> {
                let select = if query.full {
                    "SELECT seq, body FROM patients"
                } else {
                    "SELECT seq, summary FROM patients"
                };
                let mut builder = start(select, &query.page, "updated");
                if let Some(status) = query.status {
                    builder.push(" AND status = ");
                    builder.push_bind(match status {
                        PatientStatus::Active => "active",
                        PatientStatus::Inactive => "inactive",
                        PatientStatus::Deceased => "deceased",
                    });
                }
                finish(&mut builder, &query.page);
                pairs(self, builder).await
            }

            async fn v2_appointments(&self, query: &AppointmentCursorQuery) -> Result<Vec<(i64, String)>> {
                let mut builder = start("SELECT seq, body FROM appointments", &query.page, "updated");
                if let Some(patient) = &query.patient_id {
                    builder.push(" AND patient_id = ");
                    builder.push_bind(patient.clone());
                }
                if let Some(provider) = &query.provider_id {
                    builder.push(" AND provider_id = ");
                    builder.push_bind(provider.clone());
                }
                if let Some(status) = query.status {
                    builder.push(" AND status = ");
                    builder.push_bind(status.as_str());
                }
                if let Some(from) = query.start_date {
                    builder.push(" AND local_date >= ");
                    builder.push_bind(from.to_string());
                }
                if let Some(to) = query.end_date {
                    builder.push(" AND local_date <= ");
                    builder.push_bind(to.to_string());
                }
                finish(&mut builder, &query.page);
                pairs(self, builder).await
            }

            async fn v2_invoice_ids(&self, query: &InvoiceCursorQuery) -> Result<Vec<(i64, String)>> {
                let mut builder = start(
                    "SELECT seq, id FROM invoices",
                    &query.page,
                    "COALESCE(updated, created)",
                );
                if let Some(patient) = &query.patient_id {
                    builder.push(" AND patient_id = ");
                    builder.push_bind(patient.clone());
                }
                match query.status {
                    None => {}
                    Some(InvoiceStatus::Paid) => {
                        builder.push(" AND paid_cents + adjusted_cents >= amount_cents");
                    }
                    Some(InvoiceStatus::Overdue) => {
                        builder.push(" AND paid_cents + adjusted_cents < amount_cents AND due_date < ");
                        builder.push_bind(query.today.to_string());
                    }
                    Some(InvoiceStatus::Open) => {
                        builder.push(" AND paid_cents + adjusted_cents < amount_cents AND due_date >= ");
                        builder.push_bind(query.today.to_string());
                    }
                }
                finish(&mut builder, &query.page);
                pairs(self, builder).await
            }

            async fn v2_record_ids(&self, query: &RecordCursorQuery) -> Result<Vec<(i64, String)>> {
                // A record never changes once written: its creation is its last change.
                let mut builder = start("SELECT seq, id FROM records", &query.page, "created");
                builder.push(" AND patient_id = ");
                builder.push_bind(query.patient_id.clone());
                if let Some(kind) = &query.record_type {
                    builder.push(" AND ");
                    let [open, equals, close] = super::dialect::CASELESS_EQUALS;
                    builder.push(format!("{open}type{equals}"));
                    builder.push_bind(kind.clone());
                    builder.push(close);
                }
                finish(&mut builder, &query.page);
                pairs(self, builder).await
            }

            async fn v2_clinic(
                &self,
                list: ClinicList,
                after_position: i64,
                updated_since: Option<DateTime<Utc>>,
            ) -> Result<Vec<(i64, String)>> {
                let (table, has_updated) = match list {
                    ClinicList::Providers => ("providers", true),
                    ClinicList::Locations => ("locations", true),
                    ClinicList::AppointmentTypes => ("appointment_types", false),
                };
                let mut builder = QueryBuilder::new(format!(
                    "SELECT position, body FROM {table} WHERE position > "
                ));
                builder.push_bind(after_position);
                if let Some(since) = updated_since.filter(|_| has_updated) {
                    builder.push(" AND updated >= ");
                    builder.push_bind(ts(since));
                }
                builder.push(" ORDER BY position");
                pairs(self, builder).await
            }

            async fn v2_search_rows(&self, since: Option<DateTime<Utc>>) -> Result<Vec<PatientSearchRow>> {
                let mut builder = QueryBuilder::new(format!(
                    "SELECT seq, id, mrn, first_name, last_name, date_of_birth, status, updated, {} \
                     FROM patients",
                    super::dialect::PATIENT_PHONE
                ));
                if let Some(since) = since {
                    builder.push(" WHERE updated >= ");
                    builder.push_bind(ts(since));
                }
                let rows = builder.build().fetch_all(&self.readers).await?;
                rows.iter()
                    .map(|row| {
                        Ok(PatientSearchRow {
                            seq: row.try_get(0)?,
                            id: row.try_get(1)?,
                            mrn: row.try_get(2)?,
                            first_name: row.try_get(3)?,
                            last_name: row.try_get(4)?,
                            date_of_birth: row.try_get(5)?,
                            status: row.try_get(6)?,
                            updated: row.try_get(7)?,
                            phone: row.try_get(8)?,
                        })
                    })
                    .collect()
            }

            async fn v2_patient_summaries(&self, seqs: &[i64]) -> Result<Vec<(i64, String)>> {
                if seqs.is_empty() {
                    return Ok(Vec::new());
                }
                let mut builder = QueryBuilder::new("SELECT seq, summary FROM patients WHERE seq IN (");
                let mut list = builder.separated(", ");
                for seq in seqs {
                    list.push_bind(*seq);
                }
                builder.push(")");
                pairs(self, builder).await
            }

            async fn v2_patients_seen_by(&self, provider_id: &str) -> Result<Vec<String>> {
                Ok(sqlx::query_scalar::<_, String>(
                    "SELECT DISTINCT patient_id FROM appointments WHERE provider_id = $1 \
                     AND status IN ('checked_in', 'in_room', 'completed')",
                )
                .bind(provider_id)
                .fetch_all(&self.readers)
                .await?)
            }

            async fn v2_waitlist(&self, query: &WaitlistCursorQuery) -> Result<Vec<(i64, String)>> {
                let mut builder = start("SELECT seq, body FROM waitlist", &query.page, "updated");
                if let Some(status) = &query.status {
                    builder.push(" AND status = ");
                    builder.push_bind(status.clone());
                }
                if let Some(patient) = &query.patient_id {
                    builder.push(" AND patient_id = ");
                    builder.push_bind(patient.clone());
                }
                if let Some(provider) = &query.provider_id {
                    // As v1's list: entries that name the provider, and those that take anyone.
                    let [names, after] = super::dialect::WAITLIST_NAMES_PROVIDER;
                    builder.push(" AND ");
                    builder.push(names);
                    builder.push_bind(provider.clone());
                    builder.push(after);
                }
                finish(&mut builder, &query.page);
                pairs(self, builder).await
            }

            async fn v2_webhooks(
                &self,
                owner: &str,
                after_seq: i64,
                limit: u32,
            ) -> Result<Vec<(i64, WebhookRecord)>> {
                let rows = sqlx::query(
                    "SELECT * FROM webhooks WHERE owner = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                )
                .bind(owner)
                .bind(after_seq)
                .bind(i64::from(limit))
                .fetch_all(&self.readers)
                .await?;
                rows.iter()
                    .map(|row| Ok((row.try_get::<i64, _>("seq")?, webhook_from_row(row)?)))
                    .collect()
            }

            async fn v2_deliveries(
                &self,
                webhook_id: &str,
                after_seq: i64,
                limit: u32,
            ) -> Result<Vec<DeliveryRecord>> {
                let rows = sqlx::query(
                    "SELECT * FROM webhook_deliveries WHERE webhook_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                )
                .bind(webhook_id)
                .bind(after_seq)
                .bind(i64::from(limit))
                .fetch_all(&self.readers)
                .await?;
                rows.iter().map(delivery_from_row).collect()
            }
        }
    };
}
pub(crate) use v2_storage;
