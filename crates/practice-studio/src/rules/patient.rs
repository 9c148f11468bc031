//! What makes a patient's details acceptable. The server refuses what fails here with 400 and
//! every problem listed; the desk checks the same before queueing a registration offline.

use chrono::NaiveDate;

use crate::model::detail_code as code;
use crate::model::{
    Address, Allergy, ContactInfo, EmergencyContact, ErrorDetail, Gender, Insurance,
    InsurancePolicy, NewPatient, PatientStatus, Pharmacy,
};

/// Every problem found, each naming its field by dotted path (`contactInfo.email`).
pub type Problems = Vec<ErrorDetail>;

/// A patient's details that passed every rule, with dates and codes parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidPatient {
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: NaiveDate,
    pub gender: Gender,
    pub status: PatientStatus,
    pub contact_info: ContactInfo,
    pub insurance: Option<Insurance>,
    pub emergency_contact: Option<EmergencyContact>,
    pub preferred_language: Option<String>,
    pub preferred_pharmacy: Option<Pharmacy>,
    pub allergies: Vec<Allergy>,
}

const MAX_NAME: usize = 100;
const MAX_TEXT: usize = 200;

/// US states, the District of Columbia, territories and military "states" (USPS codes).
const US_STATES: [&str; 62] = [
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
    "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY",
    "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV",
    "WI", "WY", "DC", "PR", "GU", "VI", "AS", "MP", "UM", "AA", "AE", "AP", "FM", "MH",
];

struct Check {
    problems: Problems,
}

impl Check {
    fn problem(&mut self, code: &str, field: &str, issue: &str) {
        self.problems.push(ErrorDetail::new(code, field, issue));
    }

    /// A required, trimmed, bounded text field.
    fn required(&mut self, field: &str, value: &str, max: usize) -> String {
        let value = value.trim();
        if value.is_empty() {
            self.problem(code::REQUIRED, field, "is required");
        } else if value.chars().count() > max {
            self.problem(
                code::TOO_LONG,
                field,
                &format!("must be at most {max} characters"),
            );
        }
        value.to_owned()
    }

    fn optional(&mut self, field: &str, value: &Option<String>, max: usize) -> Option<String> {
        let value = value.as_deref().map(str::trim).filter(|v| !v.is_empty())?;
        if value.chars().count() > max {
            self.problem(
                code::TOO_LONG,
                field,
                &format!("must be at most {max} characters"),
            );
        }
        Some(value.to_owned())
    }

    fn phone(&mut self, field: &str, value: &str) -> String {
        let value = value.trim();
        if !is_phone(value) {
            self.problem(
                code::INVALID_PHONE,
                field,
                "must be a valid phone number (10 digits, e.g. 555-123-4567)",
            );
        }
        value.to_owned()
    }

    fn address(&mut self, field: &str, address: &Address) -> Address {
        let path = |name: &str| format!("{field}.{name}");
        let state = address.state.trim().to_ascii_uppercase();
        if !US_STATES.contains(&state.as_str()) {
            self.problem(
                code::INVALID_STATE,
                &path("state"),
                "must be a two-letter US state code",
            );
        }
        let postal_code = address.postal_code.trim().to_owned();
        if !is_postal_code(&postal_code) {
            self.problem(
                code::INVALID_POSTAL_CODE,
                &path("postalCode"),
                "must be a US ZIP code (12345 or 12345-6789)",
            );
        }
        Address {
            line1: self.required(&path("line1"), &address.line1, MAX_TEXT),
            line2: self.optional(&path("line2"), &address.line2, MAX_TEXT),
            city: self.required(&path("city"), &address.city, MAX_NAME),
            state,
            postal_code,
            country: self.optional(&path("country"), &address.country, 56),
        }
    }

    fn policy(&mut self, field: &str, policy: &InsurancePolicy) -> InsurancePolicy {
        let path = |name: &str| format!("{field}.{name}");
        let member_id = self.required(&path("memberId"), &policy.member_id, 64);
        if !member_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            self.problem(
                code::INVALID_FORMAT,
                &path("memberId"),
                "must contain only letters, digits and '-'",
            );
        }
        let group_number = policy.group_number.trim().to_owned();
        if group_number.chars().count() > 64 {
            self.problem(
                code::TOO_LONG,
                &path("groupNumber"),
                "must be at most 64 characters",
            );
        }
        InsurancePolicy {
            provider: self.required(&path("provider"), &policy.provider, MAX_NAME),
            member_id,
            group_number,
        }
    }
}

/// Checks a new patient (or an updated one, after the update was merged into it).
pub fn validate_new_patient(
    input: &NewPatient,
    today: NaiveDate,
) -> Result<ValidPatient, Problems> {
    let mut check = Check {
        problems: Vec::new(),
    };
    let first_name = check.required("firstName", &input.first_name, MAX_NAME);
    let last_name = check.required("lastName", &input.last_name, MAX_NAME);
    let date_of_birth = match NaiveDate::parse_from_str(input.date_of_birth.trim(), "%Y-%m-%d") {
        Ok(date) if date < today && date >= earliest_birth_date() => Some(date),
        Ok(date) => {
            // Today or later is a birth that has not happened; the rest are implausibly old.
            let kind = if date >= today {
                code::DATE_IN_FUTURE
            } else {
                code::OUT_OF_RANGE
            };
            check.problem(kind, "dateOfBirth", "must be a valid date in the past");
            None
        }
        Err(_) => {
            check.problem(
                code::INVALID_DATE,
                "dateOfBirth",
                "must be a valid date in the past",
            );
            None
        }
    };
    let gender = match input.gender.trim() {
        "M" => Some(Gender::M),
        "F" => Some(Gender::F),
        "O" => Some(Gender::O),
        "U" => Some(Gender::U),
        _ => {
            check.problem(code::NOT_ONE_OF, "gender", "must be one of M, F, O, U");
            None
        }
    };
    let contact = &input.contact_info;
    let email = check.optional("contactInfo.email", &contact.email, 254);
    if let Some(email) = &email {
        if !is_email(email) {
            check.problem(
                code::INVALID_EMAIL,
                "contactInfo.email",
                "must be a valid email address",
            );
        }
    }
    let phone = contact
        .phone
        .as_deref()
        .filter(|p| !p.trim().is_empty())
        .map(|p| check.phone("contactInfo.phone", p));
    let address = contact
        .address
        .as_ref()
        .map(|a| check.address("contactInfo.address", a));
    let insurance = input.insurance.as_ref().map(|insurance| Insurance {
        primary: insurance
            .primary
            .as_ref()
            .map(|p| check.policy("insurance.primary", p)),
        secondary: insurance
            .secondary
            .as_ref()
            .map(|p| check.policy("insurance.secondary", p)),
    });
    let emergency_contact = input.emergency_contact.as_ref().map(|c| EmergencyContact {
        name: check.required("emergencyContact.name", &c.name, MAX_NAME),
        relationship: check.required("emergencyContact.relationship", &c.relationship, MAX_NAME),
        phone: check.phone("emergencyContact.phone", &c.phone),
    });
    let preferred_pharmacy = input.preferred_pharmacy.as_ref().map(|p| Pharmacy {
        id: p.id.trim().to_owned(),
        name: check.required("preferredPharmacy.name", &p.name, MAX_NAME),
        phone: check.phone("preferredPharmacy.phone", &p.phone),
    });
    let allergies = input
        .allergies
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, a)| Allergy {
            allergen: check.required(&format!("allergies[{i}].allergen"), &a.allergen, MAX_NAME),
            reaction: a.reaction.trim().to_owned(),
            severity: check.required(&format!("allergies[{i}].severity"), &a.severity, 40),
            noted: a.noted,
        })
        .collect();
    let preferred_language = check.optional("preferredLanguage", &input.preferred_language, 60);
    match (date_of_birth, gender, check.problems.is_empty()) {
        (Some(date_of_birth), Some(gender), true) => Ok(ValidPatient {
            first_name,
            last_name,
            date_of_birth,
            gender,
            status: input.status.unwrap_or_default(),
            contact_info: ContactInfo {
                email,
                phone,
                address,
            },
            insurance,
            emergency_contact,
            preferred_language,
            preferred_pharmacy,
            allergies,
        }),
        _ => Err(check.problems),
    }
}

fn earliest_birth_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN)
}

/// Ten digits (or eleven with a leading 1), written with any of `+ - . ( )` and spaces.
fn is_phone(value: &str) -> bool {
    if !value
        .chars()
        .all(|c| c.is_ascii_digit() || " +-.()".contains(c))
    {
        return false;
    }
    let digits: Vec<char> = value.chars().filter(char::is_ascii_digit).collect();
    digits.len() == 10 || (digits.len() == 11 && digits[0] == '1')
}

fn is_postal_code(value: &str) -> bool {
    let bytes = value.as_bytes();
    let five = |b: &[u8]| b.len() == 5 && b.iter().all(u8::is_ascii_digit);
    match bytes.len() {
        5 => five(bytes),
        10 => five(&bytes[..5]) && bytes[5] == b'-' && bytes[6..].iter().all(u8::is_ascii_digit),
        _ => false,
    }
}

/// A deliberately plain check (one `@`, a dotted domain, no spaces): the only real test of an
/// address is mail reaching it, and a stricter pattern refuses real addresses.
fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && !value.chars().any(char::is_whitespace)
        && domain.split('.').count() >= 2
        && domain.split('.').all(|label| !label.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).expect("date")
    }

    fn reference_example() -> NewPatient {
        // The Create Patient request example of the API reference, verbatim.
        serde_json::from_str(
            r#"{
              "firstName": "Jane", "lastName": "Smith", "dateOfBirth": "1975-08-22", "gender": "F",
              "contactInfo": {
                "email": "jane.smith@example.com", "phone": "555-987-6543",
                "address": { "line1": "456 Oak Ave", "city": "Springfield", "state": "IL",
                             "postalCode": "62702", "country": "USA" }
              },
              "insurance": { "primary": { "provider": "Aetna", "memberId": "AET123456789",
                                          "groupNumber": "GRP987654" } }
            }"#,
        )
        .expect("the reference example parses")
    }

    #[test]
    fn the_reference_request_example_is_accepted() {
        let valid = validate_new_patient(&reference_example(), today()).expect("valid");
        assert_eq!(valid.gender, Gender::F);
        assert_eq!(valid.contact_info.phone.as_deref(), Some("555-987-6543"));
    }

    #[test]
    fn every_problem_is_listed_at_once_with_dotted_paths() {
        let mut input = reference_example();
        input.first_name = "  ".into();
        input.date_of_birth = "2030-01-01".into();
        input.gender = "X".into();
        input.contact_info.email = Some("not-an-email".into());
        input.contact_info.phone = Some("12345".into());
        if let Some(address) = input.contact_info.address.as_mut() {
            address.state = "ZZ".into();
            address.postal_code = "6270".into();
        }
        let problems = validate_new_patient(&input, today()).expect_err("invalid");
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        for field in [
            "firstName",
            "dateOfBirth",
            "gender",
            "contactInfo.email",
            "contactInfo.phone",
            "contactInfo.address.state",
            "contactInfo.address.postalCode",
        ] {
            assert!(fields.contains(&field), "{field} missing from {fields:?}");
        }
        let dob = problems
            .iter()
            .find(|p| p.field == "dateOfBirth")
            .expect("dob");
        assert_eq!(dob.issue, "must be a valid date in the past");
        let email = problems
            .iter()
            .find(|p| p.field == "contactInfo.email")
            .expect("email");
        assert_eq!(email.issue, "must be a valid email address");
    }

    #[test]
    fn impossible_and_future_birth_dates_are_refused() {
        for dob in ["1975-02-30", "2026-11-23", "1899-12-31", "22/08/1975", ""] {
            let mut input = reference_example();
            input.date_of_birth = dob.into();
            assert!(validate_new_patient(&input, today()).is_err(), "{dob}");
        }
    }

    #[test]
    fn phones_in_common_shapes_are_accepted() {
        for phone in [
            "555-123-4567",
            "(555) 123-4567",
            "+1 555 123 4567",
            "5551234567",
            "555.123.4567",
        ] {
            assert!(is_phone(phone), "{phone}");
        }
        for phone in ["555-1234", "555-123-45678", "call me", "2-555-123-4567"] {
            assert!(!is_phone(phone), "{phone}");
        }
    }
}
