-- FHIR Patient search by `identifier` compares the MRN without regard to case; the UNIQUE index
-- on mrn is binary and cannot serve that, so every search read the whole table.
CREATE INDEX patients_mrn_nocase ON patients (mrn COLLATE NOCASE);
