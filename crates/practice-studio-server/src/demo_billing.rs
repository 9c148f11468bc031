//! Demo invoices: 0–3 per patient over the 400 days before "today", items from a CPT catalogue,
//! every status — paid (by insurance and card, some with an insurance adjustment or a small
//! write-off), open (some part-paid), and overdue (unpaid or part-paid past the due date).
//! Deterministic: the same seed, patients and day give the same invoices.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use practice_studio::model::{AdjustmentKind, InvoiceItem};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;

use crate::storage::{DemoInvoice, Storage, StorageError};

/// Days between an invoice and its due date.
pub const TERMS_DAYS: i64 = 30;

/// (CPT code, description, unit price in cents, usual quantity range)
const SERVICES: [(&str, &str, i64, u32); 12] = [
    ("99213", "Office visit, established patient", 12_000, 1),
    (
        "99214",
        "Office visit, established patient, moderate",
        16_500,
        1,
    ),
    ("99203", "Office visit, new patient", 15_000, 1),
    ("85025", "Complete CBC", 3_000, 1),
    ("80053", "Comprehensive metabolic panel", 4_250, 1),
    ("80061", "Lipid panel", 3_875, 1),
    ("36415", "Routine venipuncture", 1_200, 1),
    ("90686", "Influenza vaccine", 2_499, 1),
    ("90471", "Immunization administration", 1_950, 1),
    ("93000", "Electrocardiogram, complete", 5_500, 1),
    ("11300", "Shave removal of skin lesion", 13_500, 1),
    ("97110", "Therapeutic exercises, each 15 minutes", 4_500, 4),
];

fn cents(value: i64) -> Decimal {
    Decimal::new(value, 2)
}

fn items(rng: &mut ChaCha8Rng) -> Vec<InvoiceItem> {
    // A visit, then zero to three other services.
    let visit = rng.random_range(0..3);
    let mut chosen = vec![visit];
    for _ in 0..rng.random_range(0..=3) {
        let extra = rng.random_range(3..SERVICES.len());
        if !chosen.contains(&extra) {
            chosen.push(extra);
        }
    }
    chosen
        .into_iter()
        .map(|i| {
            let (code, description, price, most) = SERVICES[i];
            let quantity = rng.random_range(1..=most);
            let unit_price = cents(price);
            InvoiceItem {
                code: code.into(),
                description: description.into(),
                unit_price,
                quantity,
                total: unit_price * Decimal::from(quantity),
            }
        })
        .collect()
}

fn day_between(rng: &mut ChaCha8Rng, first: NaiveDate, last: NaiveDate) -> NaiveDate {
    let span = (last - first).num_days().max(0);
    first + Duration::days(rng.random_range(0..=span))
}

/// One generated invoice for `patient_id`, dated on or after `earliest`.
pub fn invoice(
    rng: &mut ChaCha8Rng,
    patient_id: &str,
    earliest: NaiveDate,
    today: NaiveDate,
) -> DemoInvoice {
    // A third are from the last five weeks (the month being billed now), the rest from the
    // 400 days before.
    let window = if rng.random_bool(0.3) { 35 } else { 400 };
    let first = (today - Duration::days(window)).max(earliest).min(today);
    let date = day_between(rng, first, today);
    let due_date = date + Duration::days(TERMS_DAYS);
    let items = items(rng);
    let amount: Decimal = items.iter().map(|item| item.total).sum();
    let last_payment_day = due_date.min(today);
    let mut payments = Vec::new();
    let mut adjustments = Vec::new();
    let insured = rng.random_bool(0.85);
    let auth = |rng: &mut ChaCha8Rng, prefix: &str| {
        Some(format!("{prefix}-{}", rng.random_range(100_000..999_999)))
    };
    // 0: paid in full; 1: paid with an adjustment; 2: part-paid; 3: nothing paid yet.
    let outcome = match rng.random_range(0..100) {
        0..=54 => 0,
        55..=69 => 1,
        70..=84 => 2,
        _ => 3,
    };
    match outcome {
        0 | 1 => {
            let mut owed = amount;
            if outcome == 1 {
                let (kind, share, reason) = if insured && rng.random_bool(0.7) {
                    (
                        AdjustmentKind::Insurance,
                        Decimal::new(15, 2),
                        "Contractual allowance",
                    )
                } else {
                    (
                        AdjustmentKind::WriteOff,
                        Decimal::new(10, 2),
                        "Courtesy discount",
                    )
                };
                let adjusted = (amount * share).round_dp(2);
                adjustments.push((
                    day_between(rng, date, last_payment_day),
                    kind,
                    adjusted,
                    reason,
                ));
                owed -= adjusted;
            }
            if insured {
                let by_insurer = (owed * Decimal::new(80, 2)).round_dp(2);
                payments.push((
                    day_between(rng, date, last_payment_day),
                    "Insurance",
                    by_insurer,
                    auth(rng, "INS-REF"),
                ));
                owed -= by_insurer;
            }
            if owed > Decimal::ZERO {
                let method = ["Credit Card", "Debit Card", "Cash", "Check"][rng.random_range(0..4)];
                let reference = match method {
                    "Credit Card" | "Debit Card" => auth(rng, "CC-AUTH"),
                    "Check" => Some(format!("CHK-{}", rng.random_range(1000..9999))),
                    _ => None,
                };
                payments.push((
                    day_between(rng, date, last_payment_day),
                    method,
                    owed,
                    reference,
                ));
            }
        }
        2 => {
            // Some insurers have settled their part (a payment and a contractual allowance) and
            // the patient's share is still owed.
            if insured && rng.random_bool(0.4) {
                adjustments.push((
                    day_between(rng, date, last_payment_day),
                    AdjustmentKind::Insurance,
                    (amount * Decimal::new(15, 2)).round_dp(2),
                    "Contractual allowance",
                ));
            }
            let part = (amount * Decimal::new(rng.random_range(20..70), 2)).round_dp(2);
            let method = if insured { "Insurance" } else { "Credit Card" };
            payments.push((
                day_between(rng, date, last_payment_day),
                method,
                part,
                auth(rng, if insured { "INS-REF" } else { "CC-AUTH" }),
            ));
        }
        _ => {}
    }
    payments.sort_by_key(|p| p.0);
    DemoInvoice {
        patient_id: patient_id.to_owned(),
        date,
        due_date,
        items,
        payments,
        adjustments,
    }
}

/// Generates invoices for every patient, in batches (one transaction each).
pub async fn seed(
    storage: &dyn Storage,
    seed: u64,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<u64, StorageError> {
    const PATIENTS_PER_BATCH: u32 = 2_000;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x494e_564f_4943_4553);
    let started = std::time::Instant::now();
    let mut after = 0;
    let mut total = 0;
    loop {
        let patients = storage.patients_after(after, PATIENTS_PER_BATCH).await?;
        let Some(last) = patients.last() else { break };
        after = last.0;
        let mut batch = Vec::new();
        for (_, id, registered) in &patients {
            for _ in 0..rng.random_range(0..=3) {
                batch.push(invoice(&mut rng, id, registered.date_naive(), today));
            }
        }
        batch.sort_by_key(|i| i.date);
        total += storage.bulk_insert_invoices(&batch, now).await?;
    }
    tracing::debug!(
        invoices = total,
        seconds = started.elapsed().as_secs_f64(),
        "demo invoices generated"
    );
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use practice_studio::model::InvoiceStatus;

    #[test]
    fn generated_invoices_add_up_and_cover_every_status() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).expect("date");
        let earliest = NaiveDate::from_ymd_opt(2018, 1, 1).expect("date");
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut seen = std::collections::HashSet::new();
        for i in 0..500 {
            let invoice = invoice(&mut rng, &format!("PAT-{i}"), earliest, today);
            let amount: Decimal = invoice.items.iter().map(|item| item.total).sum();
            for item in &invoice.items {
                assert_eq!(item.total, item.unit_price * Decimal::from(item.quantity));
            }
            let covered: Decimal = invoice.payments.iter().map(|p| p.2).sum::<Decimal>()
                + invoice.adjustments.iter().map(|a| a.2).sum::<Decimal>();
            assert!(covered <= amount, "never over-paid");
            assert!(invoice
                .payments
                .iter()
                .all(|p| p.0 >= invoice.date && p.0 <= today));
            seen.insert(InvoiceStatus::derive(
                amount,
                covered,
                invoice.due_date,
                today,
            ));
        }
        assert_eq!(seen.len(), 3, "{seen:?}");
    }
}
