//! What the signed-in user is offered, decided once here from the scopes their token carries
//! (which the server derives from their role), so the UI shows only what the desk will do, and
//! says why where someone would look for the rest. The use cases check the same scopes again
//! ([`crate::chart`], [`crate::registration`], …): hiding a button is not the protection.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Reading records needs this scope (clinicians).
pub const READ_RECORDS: &str = "read:records";
/// Reading invoices needs this scope.
pub const READ_INVOICES: &str = "read:invoices";
/// Reading appointments needs this scope.
pub const READ_APPOINTMENTS: &str = "read:appointments";
/// Registering and editing patients needs this scope.
pub const WRITE_PATIENTS: &str = "write:patients";
/// Booking and changing appointments needs this scope.
pub const WRITE_APPOINTMENTS: &str = "write:appointments";
/// Taking payments needs this scope.
pub const WRITE_INVOICES: &str = "write:invoices";

/// What the user may be offered. Each `false` comes with a sentence in [`Offers::why_not`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Offers {
    pub register_patients: bool,
    pub edit_patients: bool,
    pub read_appointments: bool,
    pub book_appointments: bool,
    pub read_records: bool,
    pub read_invoices: bool,
    pub take_payments: bool,
    /// The administrator's tools: the audit log, removing this device's data.
    pub administer: bool,
}

/// What a person may look for and not find.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum Offer {
    RegisterPatients,
    EditPatients,
    ReadAppointments,
    BookAppointments,
    ReadRecords,
    ReadInvoices,
    TakePayments,
    Administer,
}

fn role_name(role: &str) -> &str {
    match role {
        "reception" => "Reception",
        "clinician" => "Clinician",
        "billing" => "Billing",
        "admin" => "Administrator",
        other => other,
    }
}

impl Offers {
    /// The offers of a user with these scopes and role.
    pub fn of(role: &str, scopes: &[String]) -> Self {
        let has = |scope: &str| scopes.iter().any(|s| s == scope);
        Self {
            register_patients: has(WRITE_PATIENTS),
            edit_patients: has(WRITE_PATIENTS),
            read_appointments: has(READ_APPOINTMENTS),
            book_appointments: has(WRITE_APPOINTMENTS),
            read_records: has(READ_RECORDS),
            read_invoices: has(READ_INVOICES),
            take_payments: has(WRITE_INVOICES),
            administer: role == "admin",
        }
    }

    /// The sentence shown where the offer would be, for a user of `role` without it.
    pub fn why_not(offer: Offer, role: &str) -> String {
        let role = role_name(role);
        match offer {
            Offer::RegisterPatients | Offer::EditPatients => format!(
                "Your role ({role}) does not change patients' details; reception or a clinician can."
            ),
            Offer::ReadAppointments => {
                format!("Your role ({role}) does not include the appointment book.")
            }
            Offer::BookAppointments => {
                format!("Your role ({role}) can see appointments but not book or change them.")
            }
            Offer::ReadRecords => format!(
                "Medical records are shown to clinicians only; your role ({role}) does not include them."
            ),
            Offer::ReadInvoices => format!("Your role ({role}) does not include invoices."),
            Offer::TakePayments => {
                format!("Your role ({role}) does not take payments; reception and billing can.")
            }
            Offer::Administer => {
                format!("Only an administrator can do this; your role is {role}.")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn offers_follow_the_scopes_and_only_an_admin_administers() {
        let billing = Offers::of(
            "billing",
            &scopes(&["read:patients", "read:invoices", "write:invoices"]),
        );
        assert!(!billing.register_patients && !billing.read_records && !billing.administer);
        assert!(billing.read_invoices && billing.take_payments);
        let admin_without_scopes = Offers::of("admin", &[]);
        assert!(admin_without_scopes.administer && !admin_without_scopes.read_records);
        assert!(Offers::why_not(Offer::ReadRecords, "reception").contains("(Reception)"));
    }
}
