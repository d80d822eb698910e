-- One region per agency at any moment, by the rule every service shares (shared/regions.py):
-- the registrations as they arrive, and the one in force. `current_agencies` now reads the
-- one in force, so reporting, intake and scheduling place an agency alike, retractions
-- included.
CREATE TABLE agency_registrations (
    agency_id     text NOT NULL,
    event_agency  text NOT NULL,
    event_id      text NOT NULL,
    region_code   text NOT NULL,
    role          text NOT NULL,
    incubated_by  text,
    registered_on date NOT NULL,
    occurred_at   timestamptz NOT NULL,
    recorded_at   timestamptz NOT NULL,
    retracted     boolean NOT NULL DEFAULT false,
    PRIMARY KEY (event_agency, event_id)
);
CREATE INDEX agency_registrations_agency ON agency_registrations (agency_id);

CREATE TABLE agency_regions (
    agency_id     text PRIMARY KEY,
    region_code   text NOT NULL,
    role          text NOT NULL,
    incubated_by  text,
    registered_on date NOT NULL,
    event_agency  text NOT NULL,
    event_id      text NOT NULL
);
CREATE INDEX agency_regions_region ON agency_regions (region_code text_pattern_ops);
CREATE INDEX agency_regions_incubated ON agency_regions (incubated_by);

INSERT INTO agency_registrations
    SELECT subject_agency, agency_id, event_id, region_code, role, incubated_by, registered_on,
           occurred_at, coalesce(recorded_at, occurred_at), retracted
    FROM agency_facts;
INSERT INTO agency_regions
    SELECT DISTINCT ON (agency_id) agency_id, region_code, role, incubated_by, registered_on,
           event_agency, event_id
    FROM agency_registrations WHERE NOT retracted
    ORDER BY agency_id, occurred_at DESC, recorded_at DESC, event_agency DESC, event_id DESC;

DROP VIEW current_agencies;
CREATE VIEW current_agencies AS
    SELECT agency_id, region_code, role, registered_on, incubated_by FROM agency_regions;

-- Every agency id events came from, by type: those with no registration in force are the
-- unassigned ones (GET /v1/reports/unassigned, and a gauge), visible instead of silent.
CREATE TABLE agency_sightings (
    agency_id  text NOT NULL,
    type       text NOT NULL,
    events     bigint NOT NULL,
    first_seen timestamptz NOT NULL,         -- intake's recorded_at of the first and last
    last_seen  timestamptz NOT NULL,
    PRIMARY KEY (agency_id, type)
);
