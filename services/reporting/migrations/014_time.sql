-- Figures as they stood (SPEC 3.6 "Time", 3.7 as_of).
-- A retraction keeps when intake recorded it: as of a moment before that, its target still
-- counts. Retractions applied before this column existed count as recorded long ago (a
-- rebuild gives them their real time).
ALTER TABLE retractions ADD COLUMN recorded_at timestamptz NOT NULL DEFAULT '-infinity';

-- certification-revoked: from revoked_on the worker no longer holds that licence.
CREATE TABLE revocation_facts (
    agency_id   text NOT NULL,             -- the worker's agency (the event's key)
    event_id    text NOT NULL,
    retracted   boolean NOT NULL DEFAULT false,
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL,
    worker_id   text NOT NULL,
    licence     text NOT NULL,
    revoked_on  date NOT NULL
);
CREATE INDEX revocation_facts_event ON revocation_facts (agency_id, event_id);
CREATE INDEX revocation_facts_worker ON revocation_facts (agency_id, worker_id);
CREATE INDEX certification_facts_worker ON certification_facts (agency_id, worker_id);
