-- Locations, providers and the appointment-type catalogue. Small tables read whole: the body is
-- the resource as the API returns it.
CREATE TABLE locations (
    id TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    body TEXT NOT NULL
);

CREATE TABLE providers (
    id TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    body TEXT NOT NULL
);

CREATE TABLE appointment_types (
    name TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    body TEXT NOT NULL
);
