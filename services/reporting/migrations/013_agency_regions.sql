-- One region per agency at any moment, by the rule every service shares (shared/regions.py):
-- the registrations as they arrive, and the one in force. `current_agencies` now reads the
-- one in force, so reporting, intake and scheduling place an agency alike, retractions
-- included.
-- agency_registrations and agency_regions are declared by shared/regions.py (SCHEMA) and
-- created before the migrations run; this fills them from what the service knew before.
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
