//! [`V2Storage`] on SQLite: each list in `seq` order after the cursor, on the tables' primary key.

use practice_studio::model::{InvoiceStatus, PatientStatus};
use sqlx::{QueryBuilder, Row, Sqlite};

use super::{ts, SqliteStorage};
use crate::storage::{
    AppointmentCursorQuery, CursorPage, InvoiceCursorQuery, PatientCursorQuery, RecordCursorQuery,
    Result, V2Storage,
};

fn start(select: &str, page: &CursorPage, changed: &str) -> QueryBuilder<'static, Sqlite> {
    let mut builder = QueryBuilder::new(select);
    builder.push(" WHERE seq > ");
    builder.push_bind(page.after_seq);
    if let Some(since) = page.updated_since {
        builder.push(format!(" AND {changed} >= "));
        builder.push_bind(ts(since));
    }
    builder
}

fn finish(builder: &mut QueryBuilder<'static, Sqlite>, page: &CursorPage) {
    builder.push(" ORDER BY seq LIMIT ");
    builder.push_bind(i64::from(page.limit));
}

async fn pairs(
    storage: &SqliteStorage,
    mut builder: QueryBuilder<'static, Sqlite>,
) -> Result<Vec<(i64, String)>> {
    let rows = builder.build().fetch_all(&storage.readers).await?;
    rows.iter()
        .map(|row| Ok((row.try_get::<i64, _>(0)?, row.try_get::<String, _>(1)?)))
        .collect()
}

#[async_trait::async_trait]
impl V2Storage for SqliteStorage {
    async fn v2_patients(&self, query: &PatientCursorQuery) -> Result<Vec<(i64, String)>> {
        let mut builder = start("SELECT seq, summary FROM patients", &query.page, "updated");
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
            builder.push(" AND type = ");
            builder.push_bind(kind.clone());
            builder.push(" COLLATE NOCASE");
        }
        finish(&mut builder, &query.page);
        pairs(self, builder).await
    }
}
