-- One region per agency at any moment, by the rule every service shares (shared/regions.py):
-- the agency's registrations, and the one in force. They replace `agencies`, where the
-- first registration won and a request answered `conflict` could still move an agency.
-- agency_registrations and agency_regions are declared by shared/regions.py (SCHEMA) and
-- created before the migrations run; this fills them from what the service knew before.

INSERT INTO agency_registrations
    SELECT canonical->'payload'->>'agency_id', agency_id, event_id,
           canonical->'payload'->>'region_code', canonical->'payload'->>'role',
           canonical->'payload'->>'incubated_by_pairing_id',
           (canonical->'payload'->>'registered_on')::date, occurred_at, recorded_at, false
    FROM event_log WHERE type = 'agency-registered';
UPDATE agency_registrations g SET retracted = true FROM event_log l
    WHERE l.type = 'event-retracted' AND l.agency_id = g.event_agency
      AND l.canonical->'payload'->>'target_event_id' = g.event_id;
INSERT INTO agency_regions
    SELECT DISTINCT ON (agency_id) agency_id, region_code, role, incubated_by, registered_on,
           event_agency, event_id
    FROM agency_registrations WHERE NOT retracted
    ORDER BY agency_id, occurred_at DESC, recorded_at DESC, event_agency DESC, event_id DESC;
DROP TABLE agencies;

-- Business identity (SPEC 3.6): the event in force for each business key, so a re-sent
-- fact or entity with identical content is answered `duplicate` naming the event it
-- repeats. `content` is a keyed hash of the payload (it may hold personal data).
CREATE TABLE business_keys (
    kind         text NOT NULL,             -- visit, client, training, ...
    key          text NOT NULL,             -- e.g. 'lanxing/v-17' or 'p1/tr-3'
    event_agency text NOT NULL,
    event_id     text NOT NULL,
    occurred_at  timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL,
    content      bytea NOT NULL,
    retracted    boolean NOT NULL DEFAULT false,
    PRIMARY KEY (event_agency, event_id)
);
CREATE INDEX business_keys_key ON business_keys (kind, key);
