//! The SQL that differs on SQLite, under the same names as the PostgreSQL module's `dialect`
//! (the shared code in `storage/shared/` uses these).

/// A waitlist entry that names the provider bound between the two parts, or names none (takes
/// anyone).
pub(crate) const WAITLIST_NAMES_PROVIDER: [&str; 2] = [
    "(json_array_length(body, '$.preferences.providerIds') = 0 OR EXISTS \
     (SELECT 1 FROM json_each(body, '$.preferences.providerIds') WHERE value = ",
    "))",
];

/// `[open, between, close]` around a column and a bound value: the column equals the value,
/// ignoring (ASCII) case.
pub(crate) const CASELESS_EQUALS: [&str; 3] = ["", " = ", " COLLATE NOCASE"];

/// The same for `LIKE` (a backslash escapes `%` and `_`).
pub(crate) const CASELESS_LIKE: [&str; 3] = ["", " LIKE ", " ESCAPE '\\'"];

/// A patient's gender, from the stored body.
pub(crate) const PATIENT_GENDER: &str = "json_extract(body, '$.gender')";

/// The digits of a stored phone, as SQL (phones are written `555-123-4567`, `(555) 123 4567`, …).
/// Migration 0012 indexes this very expression: change both together.
pub(crate) const PHONE_DIGITS: &str = "replace(replace(replace(replace(replace(replace(\
     COALESCE(json_extract(body, '$.contactInfo.phone'), ''), '-', ''), ' ', ''), '(', ''), ')', ''), \
     '.', ''), '+', '')";

/// The FROM … WHERE of one row per allergy (`a`) of each patient (`p`): json_each walks each
/// patient's list in order.
pub(crate) const ALLERGY_ROWS: &str =
    " FROM patients AS p, json_each(p.body, '$.allergies') AS a WHERE 1 = 1";
/// Its columns: `patient_id`, `position` (from 0), `allergy` and the whole list `allergies`.
pub(crate) const ALLERGY_COLUMNS: &str = "SELECT p.id AS patient_id, a.key AS position, \
     a.value AS allergy, json_extract(p.body, '$.allergies') AS allergies";
/// Its order: by patient, then the list's.
pub(crate) const ALLERGY_ORDER: &str = " ORDER BY p.seq, a.key";

/// The FROM … WHERE of one row per insurance policy (`i`, primary first) of each patient (`p`):
/// json_each walks the insurance object.
pub(crate) const POLICY_ROWS: &str = " FROM patients AS p, json_each(p.body, '$.insurance') AS i \
     WHERE i.key IN ('primary', 'secondary') AND i.type = 'object'";
/// Its columns: `patient_id`, `rank` (the key) and `policy`.
pub(crate) const POLICY_COLUMNS: &str =
    "SELECT p.id AS patient_id, i.key AS rank, i.value AS policy";

/// A patient's phone number, from the stored body.
pub(crate) const PATIENT_PHONE: &str = "json_extract(body, '$.contactInfo.phone')";

/// Takes the next number of the v2 webhook list's order (in the caller's transaction).
pub(crate) const NEXT_WEBHOOK_SEQ: &str =
    "UPDATE server_meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) \
     WHERE key = 'webhook_seq' RETURNING CAST(value AS INTEGER)";

/// The number of the last event written so far (0 before any), as an SQL expression.
pub(crate) const LAST_EVENT_SEQ: &str = "COALESCE((SELECT MAX(seq) FROM events), \
     (SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0)";

/// A user by e-mail address (the column ignores case: `COLLATE NOCASE`).
pub(crate) const USER_BY_EMAIL: &str = "SELECT * FROM users WHERE email = $1";

/// The patient list's name order, `[last, first]`, ignoring (ASCII) case.
pub(crate) const NAME_ORDER: [&str; 2] = ["last_name COLLATE NOCASE", "first_name COLLATE NOCASE"];
