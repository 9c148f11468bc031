//! The stable machine codes of an error detail (`details[].code`): what kind of problem a field
//! has, so a client can react without reading the `issue` sentence, which may be reworded.
//! Codes are only ever added, never renamed; [`ALL`] lists each with its meaning (the server's
//! `/api/v2/errors/{code}` pages show them).

/// A required field is missing or empty.
pub const REQUIRED: &str = "required";
/// Longer than the field allows.
pub const TOO_LONG: &str = "too_long";
/// Not in the field's format (a code, an id, a header value).
pub const INVALID_FORMAT: &str = "invalid_format";
/// Not a 10-digit phone number.
pub const INVALID_PHONE: &str = "invalid_phone";
/// Not an email address.
pub const INVALID_EMAIL: &str = "invalid_email";
/// Not a US ZIP code.
pub const INVALID_POSTAL_CODE: &str = "invalid_postal_code";
/// Not a two-letter US state code.
pub const INVALID_STATE: &str = "invalid_state";
/// Not a calendar date (`YYYY-MM-DD`).
pub const INVALID_DATE: &str = "invalid_date";
/// Not an RFC 3339 instant (or, where allowed, a date).
pub const INVALID_INSTANT: &str = "invalid_instant";
/// Not a time of day (`HH:MM`).
pub const INVALID_TIME: &str = "invalid_time";
/// Not an IANA time zone.
pub const INVALID_TIME_ZONE: &str = "invalid_time_zone";
/// A date or time that must be in the past (a birth, a status change already made) is not.
pub const DATE_IN_FUTURE: &str = "date_in_future";
/// A number (or a date) outside its allowed range.
pub const OUT_OF_RANGE: &str = "out_of_range";
/// Not one of the values the field takes.
pub const NOT_ONE_OF: &str = "not_one_of";
/// The wrong JSON type (an object, a boolean, …).
pub const INVALID_TYPE: &str = "invalid_type";
/// The end of a range is not after (or is before) its start.
pub const END_BEFORE_START: &str = "end_before_start";
/// A range longer than allowed.
pub const RANGE_TOO_LONG: &str = "range_too_long";
/// A query parameter the route does not take.
pub const UNKNOWN_PARAMETER: &str = "unknown_parameter";
/// A field the resource does not have.
pub const UNKNOWN_FIELD: &str = "unknown_field";
/// A field only the server sets.
pub const READ_ONLY: &str = "read_only";
/// A field that may be changed but not removed.
pub const CANNOT_BE_CLEARED: &str = "cannot_be_cleared";
/// The same value named twice.
pub const DUPLICATE: &str = "duplicate";
/// A list or text that must not be empty is.
pub const EMPTY: &str = "empty";
/// `If-Match` names a version other than the current one.
pub const VERSION_MISMATCH: &str = "version_mismatch";
/// Names a patient, provider, location or appointment that does not exist.
pub const UNKNOWN_REFERENCE: &str = "unknown_reference";
/// The body names another resource than the path.
pub const PATH_MISMATCH: &str = "path_mismatch";
/// The patient is inactive or deceased.
pub const PATIENT_NOT_ACTIVE: &str = "patient_not_active";
/// The time overlaps another appointment, a break or time off, or is outside the hours.
pub const TIME_TAKEN: &str = "time_taken";
/// A status change the flow does not allow.
pub const TRANSITION_NOT_ALLOWED: &str = "transition_not_allowed";
/// The `Idempotency-Key` was used for another request (or is still in use).
pub const IDEMPOTENCY_KEY_REUSED: &str = "idempotency_key_reused";
/// Not a cursor this list returned.
pub const INVALID_CURSOR: &str = "invalid_cursor";
/// An amount of money that is not acceptable (zero, negative, fractions of cents).
pub const INVALID_AMOUNT: &str = "invalid_amount";
/// More than the invoice's balance.
pub const OVER_BALANCE: &str = "over_balance";
/// A URL the server will not call (scheme, credentials, private network).
pub const UNSAFE_URL: &str = "unsafe_url";
/// Any other problem with the value; the `issue` says which.
pub const INVALID_VALUE: &str = "invalid_value";

/// Every code with its meaning.
pub const ALL: &[(&str, &str)] = &[
    (REQUIRED, "A required field is missing or empty."),
    (TOO_LONG, "Longer than the field allows."),
    (INVALID_FORMAT, "Not in the field's format (a code, an id, a header value)."),
    (INVALID_PHONE, "Not a 10-digit phone number."),
    (INVALID_EMAIL, "Not an email address."),
    (INVALID_POSTAL_CODE, "Not a US ZIP code (12345 or 12345-6789)."),
    (INVALID_STATE, "Not a two-letter US state code."),
    (INVALID_DATE, "Not a calendar date (YYYY-MM-DD)."),
    (INVALID_INSTANT, "Not an RFC 3339 instant (or, where allowed, a date)."),
    (INVALID_TIME, "Not a time of day (HH:MM)."),
    (INVALID_TIME_ZONE, "Not an IANA time zone."),
    (DATE_IN_FUTURE, "A date or time that must be in the past (a birth, a status change already made) is not."),
    (OUT_OF_RANGE, "A number (or a date) outside its allowed range."),
    (NOT_ONE_OF, "Not one of the values the field takes."),
    (INVALID_TYPE, "The wrong JSON type (an object, a boolean, ...)."),
    (END_BEFORE_START, "The end of a range is not after (or is before) its start."),
    (RANGE_TOO_LONG, "A range longer than allowed."),
    (UNKNOWN_PARAMETER, "A query parameter the route does not take."),
    (UNKNOWN_FIELD, "A field the resource does not have."),
    (READ_ONLY, "A field only the server sets."),
    (CANNOT_BE_CLEARED, "A field that may be changed but not removed."),
    (DUPLICATE, "The same value named twice."),
    (EMPTY, "A list or text that must not be empty is."),
    (VERSION_MISMATCH, "If-Match names a version other than the current one: read the resource again and reapply."),
    (UNKNOWN_REFERENCE, "Names a patient, provider, location or appointment that does not exist."),
    (PATH_MISMATCH, "The body names another resource than the path."),
    (PATIENT_NOT_ACTIVE, "The patient is inactive or deceased."),
    (TIME_TAKEN, "The time overlaps another appointment, a break or time off, or is outside the provider's hours."),
    (TRANSITION_NOT_ALLOWED, "A status change the flow does not allow."),
    (IDEMPOTENCY_KEY_REUSED, "The Idempotency-Key was used for another request, or is still in use."),
    (INVALID_CURSOR, "Not a cursor this list returned."),
    (INVALID_AMOUNT, "An amount of money that is not acceptable (zero, negative, fractions of cents, too large)."),
    (OVER_BALANCE, "More than the invoice's balance."),
    (UNSAFE_URL, "A URL the server will not call (scheme, credentials, private network)."),
    (INVALID_VALUE, "Any other problem with the value; the issue says which."),
];

#[cfg(test)]
mod tests {
    use super::ALL;

    #[test]
    fn every_code_is_listed_with_its_meaning() {
        let source = include_str!("detail_code.rs");
        let declared: Vec<&str> = source
            .lines()
            .filter_map(|line| line.strip_prefix("pub const "))
            .filter(|rest| !rest.starts_with("ALL"))
            .filter_map(|rest| rest.split('"').nth(1))
            .collect();
        assert!(declared.len() > 30, "{declared:?}");
        for code in &declared {
            assert!(ALL.iter().any(|(c, _)| c == code), "{code} is not in ALL");
        }
        assert_eq!(declared.len(), ALL.len(), "ALL lists only declared codes");
    }
}
