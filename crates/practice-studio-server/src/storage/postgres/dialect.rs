//! The SQL that differs on PostgreSQL, under the same names as the SQLite module's `dialect`
//! (the shared code in `storage/shared/` uses these).

/// A waitlist entry that names the provider bound between the two parts, or names none (takes
/// anyone).
pub(crate) const WAITLIST_NAMES_PROVIDER: [&str; 2] = [
    "(jsonb_array_length(body::jsonb #> '{preferences,providerIds}') = 0 OR \
     (body::jsonb #> '{preferences,providerIds}') @> jsonb_build_array(",
    "::text))",
];

/// `[open, between, close]` around a column and a bound value: the column equals the value,
/// ignoring (ASCII) case (`lower()` in the "C" collation folds ASCII only, as SQLite's NOCASE).
pub(crate) const CASELESS_EQUALS: [&str; 3] = ["lower(", ") = lower(", ")"];

/// The same for `LIKE` (a backslash escapes `%` and `_`).
pub(crate) const CASELESS_LIKE: [&str; 3] = ["lower(", ") LIKE lower(", ") ESCAPE '\\'"];

/// A patient's gender, from the stored body.
pub(crate) const PATIENT_GENDER: &str = "(body::jsonb #>> '{gender}')";

/// The digits of a stored phone, as SQL (phones are written `555-123-4567`, `(555) 123 4567`, …).
/// migrations-pg/0001 indexes this very expression: change both together.
pub(crate) const PHONE_DIGITS: &str = "replace(replace(replace(replace(replace(replace(\
     COALESCE(body::jsonb #>> '{contactInfo,phone}', ''), '-', ''), ' ', ''), '(', ''), ')', ''), \
     '.', ''), '+', '')";

/// The FROM … WHERE of one row per allergy (`a`) of each patient (`p`): jsonb_array_elements
/// walks each patient's list in order (a patient without a list has no rows, as on SQLite).
pub(crate) const ALLERGY_ROWS: &str = " FROM patients AS p, jsonb_array_elements(CASE WHEN \
     jsonb_typeof(p.body::jsonb -> 'allergies') = 'array' \
     THEN p.body::jsonb -> 'allergies' END) WITH ORDINALITY AS a(value, ord) \
     WHERE TRUE";
/// Its columns: `patient_id`, `position` (from 0), `allergy` and the whole list `allergies`.
pub(crate) const ALLERGY_COLUMNS: &str = "SELECT p.id AS patient_id, a.ord - 1 AS position, \
     a.value::text AS allergy, (p.body::jsonb -> 'allergies')::text AS allergies";
/// Its order: by patient, then the list's.
pub(crate) const ALLERGY_ORDER: &str = " ORDER BY p.seq, a.ord";

/// The FROM … WHERE of one row per insurance policy (`i`, primary first) of each patient (`p`):
/// jsonb_each walks the insurance object.
pub(crate) const POLICY_ROWS: &str = " FROM patients AS p, jsonb_each(CASE WHEN \
     jsonb_typeof(p.body::jsonb -> 'insurance') = 'object' \
     THEN p.body::jsonb -> 'insurance' END) AS i(key, value) \
     WHERE i.key IN ('primary', 'secondary') AND jsonb_typeof(i.value) = 'object'";
/// Its columns: `patient_id`, `rank` (the key) and `policy`.
pub(crate) const POLICY_COLUMNS: &str =
    "SELECT p.id AS patient_id, i.key AS rank, i.value::text AS policy";

/// A patient's phone number, from the stored body.
pub(crate) const PATIENT_PHONE: &str = "body::jsonb #>> '{contactInfo,phone}'";

/// Takes the next number of the v2 webhook list's order (in the caller's transaction).
pub(crate) const NEXT_WEBHOOK_SEQ: &str =
    "UPDATE server_meta SET value = (CAST(value AS BIGINT) + 1)::text \
     WHERE key = 'webhook_seq' RETURNING CAST(value AS BIGINT)";

/// The number of the last event written so far (0 before any), as an SQL expression.
pub(crate) const LAST_EVENT_SEQ: &str = "(SELECT value FROM counters WHERE name = 'events')";

/// A user by e-mail address, ignoring case.
pub(crate) const USER_BY_EMAIL: &str = "SELECT * FROM users WHERE lower(email) = lower($1)";

/// The patient list's name order, `[last, first]`, ignoring (ASCII) case.
pub(crate) const NAME_ORDER: [&str; 2] = ["lower(last_name)", "lower(first_name)"];
