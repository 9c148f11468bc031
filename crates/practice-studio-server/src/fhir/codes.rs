//! How the API's codes map onto the FHIR R4 value sets, as explicit tables: each pair is one
//! mapping, read in both directions (rendering a resource, and turning a searched code back into
//! the API's values). Every FHIR code written here is in its R4 value set; `tests` check the
//! tables against those value sets, and the R4 validator in `make test` checks the resources.

use practice_studio::model::{AppointmentStatus, Gender, InvoiceStatus};

/// `Patient.gender` (required binding: http://hl7.org/fhir/ValueSet/administrative-gender).
pub const GENDER_SYSTEM: &str = "http://hl7.org/fhir/administrative-gender";
pub const GENDERS: [(Gender, &str); 4] = [
    (Gender::M, "male"),
    (Gender::F, "female"),
    (Gender::O, "other"),
    (Gender::U, "unknown"),
];

/// `Appointment.status` (required binding: http://hl7.org/fhir/ValueSet/appointmentstatus).
/// The desk's `checked_in` is the patient waiting after the desk's check-in (`arrived`); `in_room`
/// is the encounter under way, all administrative work done (`checked-in`).
pub const APPOINTMENT_STATUS_SYSTEM: &str = "http://hl7.org/fhir/appointmentstatus";
pub const APPOINTMENT_STATUSES: [(AppointmentStatus, &str); 6] = [
    (AppointmentStatus::Scheduled, "booked"),
    (AppointmentStatus::CheckedIn, "arrived"),
    (AppointmentStatus::InRoom, "checked-in"),
    (AppointmentStatus::Completed, "fulfilled"),
    (AppointmentStatus::Cancelled, "cancelled"),
    (AppointmentStatus::NoShow, "noshow"),
];

/// `Appointment.participant.status` (required binding: participationstatus). Everyone booked on
/// an appointment has accepted it; once it is cancelled, none of them will take part.
pub fn participant_status(status: AppointmentStatus) -> &'static str {
    match status {
        AppointmentStatus::Cancelled => "declined",
        _ => "accepted",
    }
}

/// `Invoice.status` (required binding: http://hl7.org/fhir/ValueSet/invoice-status). An open or
/// overdue invoice has been issued and is still owed; a paid one is `balanced`.
pub const INVOICE_STATUS_SYSTEM: &str = "http://hl7.org/fhir/invoice-status";
pub const INVOICE_STATUSES: [(InvoiceStatus, &str); 3] = [
    (InvoiceStatus::Open, "issued"),
    (InvoiceStatus::Overdue, "issued"),
    (InvoiceStatus::Paid, "balanced"),
];

/// A recorded allergy severity, as its criticality (required binding:
/// allergy-intolerance-criticality) and its reaction's severity (required binding:
/// reaction-event-severity). A severity we do not know is `unable-to-assess`, without a reaction
/// severity.
pub const ALLERGY_SEVERITIES: [(&str, &str, &str); 3] = [
    ("Mild", "low", "mild"),
    ("Moderate", "low", "moderate"),
    ("Severe", "high", "severe"),
];
pub const UNKNOWN_CRITICALITY: &str = "unable-to-assess";

/// `AllergyIntolerance.clinicalStatus` and `verificationStatus` code systems.
pub const ALLERGY_CLINICAL_SYSTEM: &str =
    "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical";
pub const ALLERGY_VERIFICATION_SYSTEM: &str =
    "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification";

/// Record types as LOINC document types (`DocumentReference.type`, preferred binding); a type not
/// listed is sent as text only.
pub const LOINC_SYSTEM: &str = "http://loinc.org";
pub const RECORD_TYPES: [(&str, &str, &str); 4] = [
    ("Progress Note", "11506-3", "Progress note"),
    ("Lab Result", "11502-2", "Laboratory report"),
    ("Consultation", "11488-4", "Consult note"),
    ("Referral", "57133-1", "Referral note"),
];

/// Identifier systems.
pub const MRN_SYSTEM: &str = "https://api.practicestudio.com/fhir/sid/mrn";
pub const NPI_SYSTEM: &str = "http://hl7.org/fhir/sid/us-npi";
pub const IDENTIFIER_TYPE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v2-0203";
/// Invoice line items are CPT codes.
pub const CPT_SYSTEM: &str = "http://www.ama-assn.org/go/cpt";

pub fn gender(gender: Gender) -> &'static str {
    GENDERS
        .iter()
        .find(|(g, _)| *g == gender)
        .map_or("unknown", |(_, code)| *code)
}

/// The API genders a FHIR code stands for.
pub fn genders_of(code: &str) -> Vec<Gender> {
    GENDERS
        .iter()
        .filter(|(_, c)| *c == code)
        .map(|(g, _)| *g)
        .collect()
}

pub fn appointment_status(status: AppointmentStatus) -> &'static str {
    APPOINTMENT_STATUSES
        .iter()
        .find(|(s, _)| *s == status)
        .map_or("booked", |(_, code)| *code)
}

pub fn appointment_statuses_of(code: &str) -> Vec<AppointmentStatus> {
    APPOINTMENT_STATUSES
        .iter()
        .filter(|(_, c)| *c == code)
        .map(|(s, _)| *s)
        .collect()
}

pub fn invoice_status(status: InvoiceStatus) -> &'static str {
    INVOICE_STATUSES
        .iter()
        .find(|(s, _)| *s == status)
        .map_or("issued", |(_, code)| *code)
}

/// `(criticality, reaction severity)` of a recorded severity.
pub fn allergy_severity(severity: &str) -> (&'static str, Option<&'static str>) {
    ALLERGY_SEVERITIES
        .iter()
        .find(|(s, _, _)| s.eq_ignore_ascii_case(severity.trim()))
        .map_or((UNKNOWN_CRITICALITY, None), |(_, c, r)| (*c, Some(*r)))
}

/// `(LOINC code, display)` of a record type.
pub fn record_type(kind: &str) -> Option<(&'static str, &'static str)> {
    RECORD_TYPES
        .iter()
        .find(|(t, _, _)| t.eq_ignore_ascii_case(kind))
        .map(|(_, code, display)| (*code, *display))
}

/// The record type a LOINC code stands for.
pub fn record_type_of_loinc(code: &str) -> Option<&'static str> {
    RECORD_TYPES
        .iter()
        .find(|(_, c, _)| *c == code)
        .map(|(t, _, _)| *t)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The R4 value sets these tables must stay inside (copied from the specification).
    const ADMINISTRATIVE_GENDER: [&str; 4] = ["male", "female", "other", "unknown"];
    const APPOINTMENT_STATUS: [&str; 10] = [
        "proposed",
        "pending",
        "booked",
        "arrived",
        "fulfilled",
        "cancelled",
        "noshow",
        "entered-in-error",
        "checked-in",
        "waitlist",
    ];
    const INVOICE_STATUS: [&str; 5] = [
        "draft",
        "issued",
        "balanced",
        "cancelled",
        "entered-in-error",
    ];
    const CRITICALITY: [&str; 3] = ["low", "high", "unable-to-assess"];
    const REACTION_SEVERITY: [&str; 3] = ["mild", "moderate", "severe"];
    const PARTICIPATION_STATUS: [&str; 4] = ["accepted", "declined", "tentative", "needs-action"];

    #[test]
    fn every_api_code_maps_into_its_r4_value_set() {
        for gender in [Gender::M, Gender::F, Gender::O, Gender::U] {
            assert!(ADMINISTRATIVE_GENDER.contains(&super::gender(gender)));
            assert_eq!(genders_of(super::gender(gender)), vec![gender]);
        }
        for status in AppointmentStatus::ALL {
            let code = appointment_status(status);
            assert!(APPOINTMENT_STATUS.contains(&code), "{status}");
            assert_eq!(appointment_statuses_of(code), vec![status]);
            assert!(PARTICIPATION_STATUS.contains(&participant_status(status)));
        }
        for status in [
            InvoiceStatus::Open,
            InvoiceStatus::Overdue,
            InvoiceStatus::Paid,
        ] {
            assert!(INVOICE_STATUS.contains(&invoice_status(status)));
        }
        for severity in ["Mild", "moderate", "SEVERE", "Life-threatening", ""] {
            let (criticality, reaction) = allergy_severity(severity);
            assert!(CRITICALITY.contains(&criticality));
            assert!(reaction.is_none_or(|r| REACTION_SEVERITY.contains(&r)));
        }
        assert_eq!(allergy_severity("Severe"), ("high", Some("severe")));
        assert_eq!(allergy_severity("unheard of"), ("unable-to-assess", None));
    }

    #[test]
    fn record_types_and_loinc_codes_map_both_ways() {
        for (kind, code, _) in RECORD_TYPES {
            assert_eq!(record_type(kind).map(|(c, _)| c), Some(code));
            assert_eq!(record_type_of_loinc(code), Some(kind));
        }
        assert_eq!(
            record_type("progress note").map(|(c, _)| c),
            Some("11506-3")
        );
        assert_eq!(record_type("Imaging"), None);
    }
}
