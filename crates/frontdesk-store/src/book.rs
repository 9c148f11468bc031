//! The book and billing as this desk changes them: appointments booked or moved here (marked
//! pending until the server answers), payments taken here, and the records and invoices read
//! ahead for patients booked soon. Every local change is stored with its outbox entry in one
//! transaction; every answer replaces the pending row in one transaction.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use practice_studio::model::{Appointment, Invoice, MedicalRecord, Payment, PaymentCreated};
use sqlx::{Sqlite, Transaction};

use crate::appointments::release_unclaimed_holds_in;
use crate::error::{query, CacheError};
use crate::outbox::{entity_key, EntityKind, NewOutboxEntry, OutboxEntry};
use crate::Store;

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn encode<T: serde::Serialize>(
    what: &'static str,
    id: &str,
    value: &T,
) -> Result<String, CacheError> {
    serde_json::to_string(value).map_err(|source| CacheError::Encode {
        what,
        id: id.to_owned(),
        source,
    })
}

fn decode<T: serde::de::DeserializeOwned>(
    what: &'static str,
    id: &str,
    body: &str,
) -> Result<T, CacheError> {
    serde_json::from_str(body).map_err(|source| CacheError::Corrupt {
        what,
        id: id.to_owned(),
        source,
    })
}

/// Writes one appointment row (whatever its pending mark) inside a write.
pub(crate) async fn put_appointment_in(
    tx: &mut Transaction<'static, Sqlite>,
    a: &Appointment,
    pending: bool,
) -> Result<(), CacheError> {
    let id = a.id.as_str();
    let body = encode("appointment", id, a)?;
    let (starts, ends, updated) = (stamp(a.start_time), stamp(a.end_time), stamp(a.updated));
    let (patient, provider, location, status) = (
        a.patient_id.as_str(),
        a.provider_id.as_str(),
        a.location.id.as_str(),
        a.status.as_str(),
    );
    sqlx::query!(
        "INSERT INTO appointments (id, patient_id, provider_id, location_id, starts_at, ends_at, \
         status, version, pending, updated, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
         ON CONFLICT (id) DO UPDATE SET patient_id = excluded.patient_id, \
         provider_id = excluded.provider_id, location_id = excluded.location_id, \
         starts_at = excluded.starts_at, ends_at = excluded.ends_at, status = excluded.status, \
         version = excluded.version, pending = excluded.pending, updated = excluded.updated, \
         body = excluded.body",
        id,
        patient,
        provider,
        location,
        starts,
        ends,
        status,
        a.version,
        pending,
        updated,
        body
    )
    .execute(&mut **tx)
    .await
    .map_err(query("store an appointment"))?;
    Ok(())
}

/// After a create made under `local_id` was accepted as `server_id`: the mapping is recorded and
/// every outbox entry naming the local id (as its entity, or among its references) names the
/// server's instead.
pub(crate) async fn map_local_id_in(
    tx: &mut Transaction<'static, Sqlite>,
    kind: EntityKind,
    local_id: &str,
    server_id: &str,
    now: &str,
) -> Result<(), CacheError> {
    const OP: &str = "map a local id to the server's";
    let kind_str = kind.as_str();
    sqlx::query!(
        "INSERT OR REPLACE INTO id_map (entity_kind, local_id, server_id, created)
         VALUES (?1, ?2, ?3, ?4)",
        kind_str,
        local_id,
        server_id,
        now
    )
    .execute(&mut **tx)
    .await
    .map_err(query(OP))?;
    sqlx::query!(
        "UPDATE outbox SET entity_id = ?3 WHERE entity_kind = ?1 AND entity_id = ?2",
        kind_str,
        local_id,
        server_id
    )
    .execute(&mut **tx)
    .await
    .map_err(query(OP))?;
    let old_ref = entity_key(kind, local_id);
    let new_ref = entity_key(kind, server_id);
    let pattern = format!("%{}%", old_ref.replace('%', "\\%").replace('_', "\\_"));
    let referring = sqlx::query!(
        r#"SELECT seq AS "seq!: i64", refs FROM outbox
           WHERE refs LIKE ?1 ESCAPE '\' AND state != 'sent'"#,
        pattern
    )
    .fetch_all(&mut **tx)
    .await
    .map_err(query(OP))?;
    for row in referring {
        let refs: Vec<String> = decode("outbox entry", &row.seq.to_string(), &row.refs)?;
        let refs: Vec<String> = refs
            .into_iter()
            .map(|r| if r == old_ref { new_ref.clone() } else { r })
            .collect();
        let refs = encode("outbox entry", &row.seq.to_string(), &refs)?;
        sqlx::query!("UPDATE outbox SET refs = ?2 WHERE seq = ?1", row.seq, refs)
            .execute(&mut **tx)
            .await
            .map_err(query(OP))?;
    }
    Ok(())
}

/// How many entries of this entity still wait (pending, or refused and not yet resolved).
pub(crate) async fn waiting_in(
    tx: &mut Transaction<'static, Sqlite>,
    kind: EntityKind,
    id: &str,
) -> Result<i64, CacheError> {
    let kind = kind.as_str();
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!: i64" FROM outbox
           WHERE entity_kind = ?1 AND entity_id = ?2 AND (state = 'pending'
               OR seq IN (SELECT outbox_seq FROM conflicts WHERE resolved IS NULL))"#,
        kind,
        id
    )
    .fetch_one(&mut **tx)
    .await
    .map_err(query("count an entity's waiting changes"))
}

/// Marks a pending entry sent with the answer's id and version; its entity kind and id.
async fn mark_answered_in(
    tx: &mut Transaction<'static, Sqlite>,
    seq: i64,
    answer_id: &str,
    answer_version: Option<i64>,
    now: &str,
) -> Result<(String, String), CacheError> {
    let row = sqlx::query!(
        "UPDATE outbox SET state = 'sent', answer_id = ?2, answer_version = ?3, updated = ?4
         WHERE seq = ?1 AND state = 'pending' RETURNING entity_kind, entity_id",
        seq,
        answer_id,
        answer_version,
        now
    )
    .fetch_optional(&mut **tx)
    .await
    .map_err(query("record a write's answer"))?
    .ok_or(CacheError::NotPending { seq })?;
    Ok((row.entity_kind, row.entity_id))
}

impl Store {
    /// One cached appointment.
    pub async fn appointment(&self, id: &str) -> Result<Option<Appointment>, CacheError> {
        let row = sqlx::query!("SELECT id, body FROM appointments WHERE id = ?1", id)
            .fetch_optional(&self.readers)
            .await
            .map_err(query("read an appointment"))?;
        row.map(|r| decode("appointment", &r.id, &r.body))
            .transpose()
    }

    /// The cached appointment under `id`, or under the server's id when `id` is the local id of
    /// a booking the server has since accepted (a screen may still hold it). Read in that order
    /// on purpose: accepting re-keys the row and records the mapping in one transaction, so a
    /// miss under the local id means the mapping is there; the other order can miss both.
    pub async fn appointment_by_any_id(&self, id: &str) -> Result<Option<Appointment>, CacheError> {
        if let Some(found) = self.appointment(id).await? {
            return Ok(Some(found));
        }
        match self.mapped_id(EntityKind::Appointment, id).await? {
            Some(server_id) => self.appointment(&server_id).await,
            None => Ok(None),
        }
    }

    /// Whether the cached appointment shows a change not yet accepted by the server.
    pub async fn appointment_pending(&self, id: &str) -> Result<Option<bool>, CacheError> {
        sqlx::query_scalar!(
            r#"SELECT pending AS "pending!: bool" FROM appointments WHERE id = ?1"#,
            id
        )
        .fetch_optional(&self.readers)
        .await
        .map_err(query("read an appointment's pending flag"))
    }

    /// One provider's cached appointments overlapping `[from, to)`, in start order: what a clash
    /// check compares a booking with.
    pub async fn provider_appointments_between(
        &self,
        provider_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Appointment>, CacheError> {
        let (from, to) = (stamp(from), stamp(to));
        let rows = sqlx::query!(
            "SELECT id, body FROM appointments
             WHERE provider_id = ?1 AND starts_at < ?3 AND ends_at > ?2 ORDER BY starts_at, id",
            provider_id,
            from,
            to
        )
        .fetch_all(&self.readers)
        .await
        .map_err(query("read a provider's book"))?;
        rows.iter()
            .map(|r| decode("appointment", &r.id, &r.body))
            .collect()
    }

    /// Every cached appointment's id and version, by id (to compare a cache with the server).
    pub async fn appointment_versions(&self) -> Result<Vec<(String, i64)>, CacheError> {
        let rows = sqlx::query!("SELECT id, version FROM appointments ORDER BY id")
            .fetch_all(&self.readers)
            .await
            .map_err(query("list appointment versions"))?;
        Ok(rows.into_iter().map(|r| (r.id, r.version)).collect())
    }

    /// A local change of an appointment (a booking, a move, a status change): the appointment as
    /// it now looks on this desk (marked pending) and the outbox entry that sends the change, in
    /// one transaction.
    pub async fn enqueue_appointment_change(
        &self,
        entry: &NewOutboxEntry,
        appointment: &Appointment,
    ) -> Result<OutboxEntry, CacheError> {
        let mut tx = self.begin_write("queue an appointment change").await?;
        put_appointment_in(&mut tx, appointment, true).await?;
        let stored = Self::enqueue_in(&mut tx, entry).await?;
        tx.commit()
            .await
            .map_err(query("queue an appointment change"))?;
        Ok(stored)
    }

    /// The server accepted appointment entry `seq` and answered `answer`. In one transaction:
    /// the entry is marked sent; a booking made under a local id is mapped to the server's id
    /// wherever the outbox names it; the cached appointment becomes the server's answer (or the
    /// newer copy sync read meanwhile) — or, while later changes of it still wait, keeps showing
    /// them on top of the server's identity and version.
    pub async fn complete_appointment_write(
        &self,
        seq: i64,
        answer: &Appointment,
    ) -> Result<(), CacheError> {
        const OP: &str = "record an appointment write's answer";
        let mut tx = self.begin_write(OP).await?;
        let now = Utc::now().to_rfc3339();
        let server_id = answer.id.as_str();
        let (_, local_id) =
            mark_answered_in(&mut tx, seq, server_id, Some(answer.version), &now).await?;
        if local_id != server_id {
            map_local_id_in(&mut tx, EntityKind::Appointment, &local_id, server_id, &now).await?;
        }
        let later = waiting_in(&mut tx, EntityKind::Appointment, server_id).await?;
        let local_body =
            sqlx::query_scalar!("SELECT body FROM appointments WHERE id = ?1", local_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(query(OP))?;
        let shown = match local_body {
            Some(body) if later > 0 => {
                let mut local: Appointment = decode("appointment", &local_id, &body)?;
                local.id = answer.id.clone();
                local.version = answer.version;
                local.created = answer.created;
                local.links = answer.links.clone();
                local
            }
            _ => {
                let held = sqlx::query!(
                    r#"SELECT version AS "version!: i64", body FROM held_appointments WHERE id = ?1"#,
                    server_id
                )
                .fetch_optional(&mut *tx)
                .await
                .map_err(query(OP))?;
                match held {
                    Some(held) if held.version > answer.version => {
                        decode("appointment", server_id, &held.body)?
                    }
                    _ => answer.clone(),
                }
            }
        };
        if later == 0 {
            sqlx::query!("DELETE FROM held_appointments WHERE id = ?1", server_id)
                .execute(&mut *tx)
                .await
                .map_err(query(OP))?;
        }
        if local_id != server_id {
            sqlx::query!("DELETE FROM appointments WHERE id = ?1", local_id)
                .execute(&mut *tx)
                .await
                .map_err(query(OP))?;
        }
        let cached_version = sqlx::query_scalar!(
            r#"SELECT version AS "version!: i64" FROM appointments WHERE id = ?1"#,
            server_id
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(query(OP))?;
        if later > 0 || cached_version.is_none_or(|v| v <= shown.version) {
            put_appointment_in(&mut tx, &shown, later > 0).await?;
        } else {
            sqlx::query!(
                "UPDATE appointments SET pending = 0 WHERE id = ?1",
                server_id
            )
            .execute(&mut *tx)
            .await
            .map_err(query(OP))?;
        }
        release_unclaimed_holds_in(&mut tx).await?;
        tx.commit().await.map_err(query(OP))?;
        Ok(())
    }

    /// The server's newest copy of an appointment whose local change still waits, when sync has
    /// read one newer than the cached row.
    pub async fn held_server_appointment(
        &self,
        id: &str,
    ) -> Result<Option<Appointment>, CacheError> {
        let row = sqlx::query_scalar!("SELECT body FROM held_appointments WHERE id = ?1", id)
            .fetch_optional(&self.readers)
            .await
            .map_err(query("read a held appointment"))?;
        row.map(|body| decode("appointment", id, &body)).transpose()
    }

    /// Stores invoices read from the server (replacing older copies); the ids stored. `asked`
    /// is when the caller asked the server for them: an invoice this desk changed since (the
    /// server's answer to a payment, recorded while the read was on its way) is newer than what
    /// the read brought, and is kept. Invoices carry no version to compare instead.
    pub async fn apply_remote_invoices(
        &self,
        invoices: &[Invoice],
        asked: DateTime<Utc>,
    ) -> Result<Vec<String>, CacheError> {
        const OP: &str = "store invoices";
        let mut tx = self.begin_write(OP).await?;
        let now = Utc::now().to_rfc3339();
        let mut applied = Vec::new();
        for invoice in invoices {
            let id = invoice.id.as_str();
            let body = encode("invoice", id, invoice)?;
            let (patient, status) = (invoice.patient_id.as_str(), invoice.status.as_str());
            let known = sqlx::query!("SELECT body, updated FROM invoices WHERE id = ?1", id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(query(OP))?;
            if let Some(known) = &known {
                let changed_since = DateTime::parse_from_rfc3339(&known.updated)
                    .is_ok_and(|updated| updated.with_timezone(&Utc) > asked);
                if known.body == body || changed_since {
                    continue;
                }
            }
            sqlx::query!(
                "INSERT INTO invoices (id, patient_id, status, updated, body, fetched)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?4)
                 ON CONFLICT (id) DO UPDATE SET patient_id = excluded.patient_id,
                     status = excluded.status, updated = excluded.updated, body = excluded.body,
                     fetched = excluded.fetched",
                id,
                patient,
                status,
                now,
                body
            )
            .execute(&mut *tx)
            .await
            .map_err(query(OP))?;
            applied.push(id.to_owned());
        }
        tx.commit().await.map_err(query(OP))?;
        Ok(applied)
    }

    /// Stores medical records read from the server; the ids stored or changed.
    pub async fn apply_remote_records(
        &self,
        records: &[MedicalRecord],
    ) -> Result<Vec<String>, CacheError> {
        const OP: &str = "store records";
        let mut tx = self.begin_write(OP).await?;
        let now = Utc::now().to_rfc3339();
        let mut applied = Vec::new();
        for record in records {
            let id = record.id.as_str();
            let body = encode("record", id, record)?;
            let known = sqlx::query_scalar!("SELECT body FROM records WHERE id = ?1", id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(query(OP))?;
            if known.as_deref() == Some(body.as_str()) {
                continue;
            }
            let (patient, kind, recorded) = (
                record.patient_id.as_str(),
                record.record_type.as_str(),
                stamp(record.date),
            );
            sqlx::query!(
                "INSERT INTO records (id, patient_id, kind, recorded, updated, body, fetched)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?5)
                 ON CONFLICT (id) DO UPDATE SET patient_id = excluded.patient_id,
                     kind = excluded.kind, recorded = excluded.recorded,
                     updated = excluded.updated, body = excluded.body, fetched = excluded.fetched",
                id,
                patient,
                kind,
                recorded,
                now,
                body
            )
            .execute(&mut *tx)
            .await
            .map_err(query(OP))?;
            applied.push(id.to_owned());
        }
        tx.commit().await.map_err(query(OP))?;
        Ok(applied)
    }

    /// One patient's cached records, most recent first.
    pub async fn patient_records(
        &self,
        patient_id: &str,
    ) -> Result<Vec<MedicalRecord>, CacheError> {
        let rows = sqlx::query!(
            "SELECT id, body FROM records WHERE patient_id = ?1 ORDER BY recorded DESC, id",
            patient_id
        )
        .fetch_all(&self.readers)
        .await
        .map_err(query("read a patient's records"))?;
        rows.iter()
            .map(|r| decode("record", &r.id, &r.body))
            .collect()
    }

    /// One cached invoice, with the payments taken on this desk and not yet accepted counted in
    /// (listed among its payments, off its balance).
    pub async fn invoice(&self, id: &str) -> Result<Option<Invoice>, CacheError> {
        let row = sqlx::query!("SELECT id, body FROM invoices WHERE id = ?1", id)
            .fetch_optional(&self.readers)
            .await
            .map_err(query("read an invoice"))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let invoice: Invoice = decode("invoice", &row.id, &row.body)?;
        Ok(Some(self.with_pending_payments(invoice).await?))
    }

    /// One patient's cached invoices (pending payments counted in), newest first.
    pub async fn patient_invoices(&self, patient_id: &str) -> Result<Vec<Invoice>, CacheError> {
        let rows = sqlx::query!(
            "SELECT id, body FROM invoices WHERE patient_id = ?1 ORDER BY id DESC",
            patient_id
        )
        .fetch_all(&self.readers)
        .await
        .map_err(query("read a patient's invoices"))?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let invoice: Invoice = decode("invoice", &r.id, &r.body)?;
            out.push(self.with_pending_payments(invoice).await?);
        }
        Ok(out)
    }

    /// Payments taken on this desk for an invoice, not yet accepted by the server.
    pub async fn pending_payments(&self, invoice_id: &str) -> Result<Vec<Payment>, CacheError> {
        let rows = sqlx::query!(
            "SELECT id, body FROM payments WHERE invoice_id = ?1 AND pending = 1 ORDER BY updated, id",
            invoice_id
        )
        .fetch_all(&self.readers)
        .await
        .map_err(query("read pending payments"))?;
        rows.iter()
            .map(|r| decode("payment", &r.id, &r.body))
            .collect()
    }

    /// The invoice with the payments taken here and not yet accepted: each is listed, and counts
    /// against the balance unless the server refused it (then it waits on the conflict list and
    /// the money is not the clinic's until someone retries it).
    async fn with_pending_payments(&self, mut invoice: Invoice) -> Result<Invoice, CacheError> {
        let pending = self.pending_payments(invoice.id.as_str()).await?;
        if pending.is_empty() {
            return Ok(invoice);
        }
        let refused: HashSet<String> = sqlx::query_scalar!(
            r#"SELECT entity_id AS "id!: String" FROM outbox
               WHERE entity_kind = 'payment' AND state = 'conflict'"#
        )
        .fetch_all(&self.readers)
        .await
        .map_err(query("read refused payments"))?
        .into_iter()
        .collect();
        for payment in pending {
            if !refused.contains(payment.id.as_str()) {
                invoice.paid_amount += payment.amount;
                invoice.balance -= payment.amount;
            }
            invoice.payments.push(payment);
        }
        Ok(invoice)
    }

    /// A payment taken on this desk: stored as pending against its invoice, with the outbox
    /// entry that sends it, in one transaction.
    pub async fn enqueue_payment(
        &self,
        entry: &NewOutboxEntry,
        invoice_id: &str,
        payment: &Payment,
    ) -> Result<OutboxEntry, CacheError> {
        const OP: &str = "queue a payment";
        let mut tx = self.begin_write(OP).await?;
        let id = payment.id.as_str();
        let body = encode("payment", id, payment)?;
        let now = stamp(Utc::now());
        sqlx::query!(
            "INSERT INTO payments (id, invoice_id, pending, updated, body) VALUES (?1, ?2, 1, ?3, ?4)",
            id,
            invoice_id,
            now,
            body
        )
        .execute(&mut *tx)
        .await
        .map_err(query(OP))?;
        let stored = Self::enqueue_in(&mut tx, entry).await?;
        tx.commit().await.map_err(query(OP))?;
        Ok(stored)
    }

    /// The server accepted payment entry `seq`: the entry is marked sent, the local payment
    /// becomes the server's, and the cached invoice becomes the invoice as the server answered
    /// it, in one transaction.
    pub async fn complete_payment_write(
        &self,
        seq: i64,
        answer: &PaymentCreated,
    ) -> Result<(), CacheError> {
        const OP: &str = "record a payment's answer";
        let mut tx = self.begin_write(OP).await?;
        let now = Utc::now().to_rfc3339();
        let server_id = answer.payment.id.as_str();
        let (_, local_id) = mark_answered_in(&mut tx, seq, server_id, None, &now).await?;
        if local_id != server_id {
            map_local_id_in(&mut tx, EntityKind::Payment, &local_id, server_id, &now).await?;
        }
        sqlx::query!("DELETE FROM payments WHERE id = ?1", local_id)
            .execute(&mut *tx)
            .await
            .map_err(query(OP))?;
        let invoice_id = answer.invoice.id.as_str();
        let body = encode("payment", server_id, &answer.payment)?;
        let stamped = stamp(Utc::now());
        sqlx::query!(
            "INSERT INTO payments (id, invoice_id, pending, updated, body) VALUES (?1, ?2, 0, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET pending = 0, updated = excluded.updated,
                 body = excluded.body",
            server_id,
            invoice_id,
            stamped,
            body
        )
        .execute(&mut *tx)
        .await
        .map_err(query(OP))?;
        let invoice_body = encode("invoice", invoice_id, &answer.invoice)?;
        let (patient, status) = (
            answer.invoice.patient_id.as_str(),
            answer.invoice.status.as_str(),
        );
        sqlx::query!(
            "INSERT INTO invoices (id, patient_id, status, updated, body) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, updated = excluded.updated,
                 body = excluded.body",
            invoice_id,
            patient,
            status,
            now,
            invoice_body
        )
        .execute(&mut *tx)
        .await
        .map_err(query(OP))?;
        tx.commit().await.map_err(query(OP))?;
        Ok(())
    }

    /// Patients with a cached appointment (not cancelled) starting in `[from, to)`.
    pub async fn patients_booked_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<String>, CacheError> {
        let (from, to) = (stamp(from), stamp(to));
        sqlx::query_scalar!(
            "SELECT DISTINCT patient_id FROM appointments
             WHERE starts_at >= ?1 AND starts_at < ?2 AND status != 'cancelled'
             ORDER BY patient_id",
            from,
            to
        )
        .fetch_all(&self.readers)
        .await
        .map_err(query("list patients booked soon"))
    }
}
