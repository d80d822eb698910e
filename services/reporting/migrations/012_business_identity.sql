-- Business identity (SPEC 3.6): one fact per business key. A visit (agency, visit_id), an
-- activity (agency, activity_id), a training (pairing, training_id), a dispatch (pairing,
-- dispatch_id) and a milestone (pairing, milestone) re-sent with other values is a
-- correction: the newest occurred_at (then recorded_at) wins in every figure; the rows of
-- both stay (history). `superseded` marks the rows that do not count: corrected ones,
-- retracted ones, and new ones until the projection has settled their key.
-- Every fact row keeps when it happened and when intake recorded it, for that order.
ALTER TABLE visit_facts ADD COLUMN occurred_at timestamptz, ADD COLUMN recorded_at timestamptz,
    ADD COLUMN visit_id text, ADD COLUMN client_agency text,
    ADD COLUMN superseded boolean NOT NULL DEFAULT false;
UPDATE visit_facts SET occurred_at = visited_on::timestamptz, recorded_at = visited_on::timestamptz,
    visit_id = event_id, client_agency = agency_id, superseded = retracted;
ALTER TABLE visit_facts ALTER COLUMN occurred_at SET NOT NULL,
    ALTER COLUMN recorded_at SET NOT NULL, ALTER COLUMN visit_id SET NOT NULL,
    ALTER COLUMN client_agency SET NOT NULL;
CREATE INDEX visit_facts_key ON visit_facts (agency_id, visit_id);
DROP INDEX visit_facts_client;
CREATE INDEX visit_facts_client ON visit_facts (client_agency, client_id, service);

ALTER TABLE activity_facts ADD COLUMN occurred_at timestamptz, ADD COLUMN recorded_at timestamptz,
    ADD COLUMN activity_id text, ADD COLUMN superseded boolean NOT NULL DEFAULT false;
UPDATE activity_facts SET occurred_at = held_on::timestamptz, recorded_at = held_on::timestamptz,
    activity_id = event_id, superseded = retracted;
ALTER TABLE activity_facts ALTER COLUMN occurred_at SET NOT NULL,
    ALTER COLUMN recorded_at SET NOT NULL, ALTER COLUMN activity_id SET NOT NULL;
CREATE INDEX activity_facts_key ON activity_facts (agency_id, activity_id);

ALTER TABLE training_facts ADD COLUMN occurred_at timestamptz, ADD COLUMN recorded_at timestamptz,
    ADD COLUMN training_id text, ADD COLUMN superseded boolean NOT NULL DEFAULT false;
UPDATE training_facts SET occurred_at = held_on::timestamptz, recorded_at = held_on::timestamptz,
    training_id = event_id, superseded = retracted;
ALTER TABLE training_facts ALTER COLUMN occurred_at SET NOT NULL,
    ALTER COLUMN recorded_at SET NOT NULL, ALTER COLUMN training_id SET NOT NULL;
CREATE INDEX training_facts_key ON training_facts (pairing_id, training_id);

ALTER TABLE dispatch_facts ADD COLUMN occurred_at timestamptz, ADD COLUMN recorded_at timestamptz,
    ADD COLUMN dispatch_id text, ADD COLUMN superseded boolean NOT NULL DEFAULT false;
UPDATE dispatch_facts SET occurred_at = from_date::timestamptz, recorded_at = from_date::timestamptz,
    dispatch_id = event_id, superseded = retracted;
ALTER TABLE dispatch_facts ALTER COLUMN occurred_at SET NOT NULL,
    ALTER COLUMN recorded_at SET NOT NULL, ALTER COLUMN dispatch_id SET NOT NULL;
CREATE INDEX dispatch_facts_key ON dispatch_facts (pairing_id, dispatch_id);

ALTER TABLE milestone_facts ADD COLUMN occurred_at timestamptz, ADD COLUMN recorded_at timestamptz,
    ADD COLUMN superseded boolean NOT NULL DEFAULT false;
UPDATE milestone_facts SET occurred_at = reached_on::timestamptz,
    recorded_at = reached_on::timestamptz, superseded = retracted;
ALTER TABLE milestone_facts ALTER COLUMN occurred_at SET NOT NULL,
    ALTER COLUMN recorded_at SET NOT NULL;
CREATE INDEX milestone_facts_key ON milestone_facts (pairing_id, milestone);

-- Entities and slots keep recorded_at too: a registration with the same occurred_at as an
-- earlier one replaces it (shared/regions.py).
ALTER TABLE agency_facts ADD COLUMN recorded_at timestamptz;
ALTER TABLE pairing_facts ADD COLUMN recorded_at timestamptz;
ALTER TABLE worker_facts ADD COLUMN recorded_at timestamptz;
ALTER TABLE certification_facts ADD COLUMN recorded_at timestamptz;
ALTER TABLE project_facts ADD COLUMN recorded_at timestamptz;
ALTER TABLE client_facts ADD COLUMN recorded_at timestamptz;
ALTER TABLE slot_facts ADD COLUMN occurred_at timestamptz, ADD COLUMN recorded_at timestamptz;
UPDATE agency_facts SET recorded_at = occurred_at;
UPDATE pairing_facts SET recorded_at = occurred_at;
UPDATE worker_facts SET recorded_at = occurred_at;
UPDATE certification_facts SET recorded_at = occurred_at;
UPDATE project_facts SET recorded_at = occurred_at;
UPDATE client_facts SET recorded_at = occurred_at;
UPDATE slot_facts SET occurred_at = slot_on::timestamptz, recorded_at = slot_on::timestamptz;

-- Clients are (client's agency, client_id): a visit by another agency's worker to a client
-- is that client's, never a second one.
ALTER TABLE client_first_visit ADD COLUMN client_agency text;
UPDATE client_first_visit SET client_agency = agency_id;
ALTER TABLE client_first_visit ALTER COLUMN client_agency SET NOT NULL,
    DROP CONSTRAINT client_first_visit_pkey,
    ADD PRIMARY KEY (agency_id, client_agency, client_id, service);

-- Staff-days count each (pairing, worker, day) once, however dispatches overlap: a sum of
-- dispatch lengths cannot say that, so they are no longer totalled.
DELETE FROM fact_totals WHERE fact = 'dispatch_facts';

-- An entity's state is its newest registration by occurred_at, then recorded_at (the same
-- occurred_at again replaces a registration: a clerk's correction from the start), then
-- event key: the order every service uses (shared/regions.py).
CREATE OR REPLACE VIEW current_agencies AS
    SELECT DISTINCT ON (subject_agency) subject_agency AS agency_id, region_code, role,
           registered_on, incubated_by
    FROM agency_facts WHERE NOT retracted
    ORDER BY subject_agency, occurred_at DESC, recorded_at DESC, agency_id DESC, event_id DESC;

CREATE OR REPLACE VIEW current_pairings AS
    SELECT DISTINCT ON (pairing_id) pairing_id, assisting_agency_id, assisted_agency_id,
           starts_on, ends_on, staff_days_per_year, agencies_to_incubate, projects_to_undertake
    FROM pairing_facts WHERE NOT retracted
    ORDER BY pairing_id, occurred_at DESC, recorded_at DESC, agency_id DESC, event_id DESC;

CREATE OR REPLACE VIEW current_workers AS
    SELECT DISTINCT ON (worker_agency, worker_id) worker_id, worker_agency AS agency_id, role,
           licence, min(registered_on) OVER (PARTITION BY worker_agency, worker_id) AS registered_on
    FROM worker_facts WHERE NOT retracted
    ORDER BY worker_agency, worker_id, occurred_at DESC, recorded_at DESC, agency_id DESC,
             event_id DESC;

CREATE OR REPLACE VIEW current_projects AS
    SELECT DISTINCT ON (project_id) project_id, project_agency AS agency_id, pairing_id, starts_on
    FROM project_facts WHERE NOT retracted
    ORDER BY project_id, occurred_at DESC, recorded_at DESC, agency_id DESC, event_id DESC;

CREATE OR REPLACE VIEW current_clients AS
    SELECT DISTINCT ON (agency_id, client_id) agency_id, client_id, project_id, in_difficulty,
           min(registered_on) OVER (PARTITION BY agency_id, client_id) AS registered_on
    FROM client_facts WHERE NOT retracted
    ORDER BY agency_id, client_id, occurred_at DESC, recorded_at DESC, event_id DESC;
