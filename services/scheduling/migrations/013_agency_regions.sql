-- One region per agency at any moment, by the rule every service shares (shared/regions.py):
-- only registrations (and their retractions) place an agency, never the region an ordinary
-- event happened to be published under. They replace `agencies`, where the first region
-- heard of won.
-- agency_registrations and agency_regions are declared by shared/regions.py (SCHEMA) and
-- created before the migrations run; this fills them from what the service knew before.

-- What the old table knew stays until a registration settles the agency again (a rebuild
-- of scheduling's projections from EVENTS gives the rule's answer everywhere).
INSERT INTO agency_regions
    SELECT agency_id, region_code, '', NULL, DATE '1900-01-01', '', '' FROM agencies;
DROP TABLE agencies;

-- Retractions seen, so a registration whose retraction came first never places its agency.
CREATE TABLE retractions_seen (
    agency_id       text NOT NULL,
    target_event_id text NOT NULL,
    PRIMARY KEY (agency_id, target_event_id)
);
