-- One region per agency at any moment, by the rule every service shares (shared/regions.py):
-- only registrations (and their retractions) place an agency, never the region an ordinary
-- event happened to be published under. They replace `agencies`, where the first region
-- heard of won.
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
