-- How many times a table has changed, bumped by triggers so that every writer counts (this
-- server, the admin command, another instance on the same database). A cached page of a list is
-- served only while the counter it was built at is still the current one.
CREATE TABLE change_counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO change_counters (name, value) VALUES ('patients', 0);

CREATE TRIGGER patients_count_insert AFTER INSERT ON patients
BEGIN
    UPDATE change_counters SET value = value + 1 WHERE name = 'patients';
END;

CREATE TRIGGER patients_count_update AFTER UPDATE ON patients
BEGIN
    UPDATE change_counters SET value = value + 1 WHERE name = 'patients';
END;

CREATE TRIGGER patients_count_delete AFTER DELETE ON patients
BEGIN
    UPDATE change_counters SET value = value + 1 WHERE name = 'patients';
END;
