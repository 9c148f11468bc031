-- FHIR Patient search: `given` (and `name`, first or last name) by a prefix of the first name,
-- and `phone` by its digits, without reading every patient. The expression must stay the same
-- as PHONE_DIGITS in src/storage/sqlite/fhir.rs for SQLite to use the index.
CREATE INDEX patients_given ON patients (first_name COLLATE NOCASE, id);
CREATE INDEX patients_phone_digits ON patients (
    replace(replace(replace(replace(replace(replace(
        COALESCE(json_extract(body, '$.contactInfo.phone'), ''), '-', ''), ' ', ''), '(', ''), ')', ''),
        '.', ''), '+', '')
);
