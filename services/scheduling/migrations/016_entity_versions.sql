-- Entities by the rule reporting and shared/regions.py apply (SPEC 3.6 business identity):
-- every registration of a worker, client, pairing or project is kept as a version, keyed
-- by its event; the version in force is the newest not retracted (occurred_at, then
-- recorded_at, then event key). Versions not in force are `superseded`; reads take
-- NOT superseded. So a late registration with an older occurred_at changes nothing, and
-- retracting the one in force falls back to the one before it
-- (services/scheduling/entities.py). What was known before has no dates: it counts as
-- older than anything that arrives from now on.
ALTER TABLE workers ADD COLUMN occurred_at timestamptz NOT NULL DEFAULT '1900-01-01',
    ADD COLUMN recorded_at timestamptz NOT NULL DEFAULT '1900-01-01',
    ADD COLUMN superseded boolean NOT NULL DEFAULT false;
UPDATE workers SET superseded = retracted;
ALTER TABLE workers DROP CONSTRAINT workers_pkey, ADD PRIMARY KEY (agency_id, event_id);
CREATE INDEX workers_key ON workers (agency_id, worker_id);
CREATE INDEX workers_worker ON workers (worker_id);

ALTER TABLE clients ADD COLUMN occurred_at timestamptz NOT NULL DEFAULT '1900-01-01',
    ADD COLUMN recorded_at timestamptz NOT NULL DEFAULT '1900-01-01',
    ADD COLUMN superseded boolean NOT NULL DEFAULT false;
UPDATE clients SET superseded = retracted;
ALTER TABLE clients DROP CONSTRAINT clients_pkey, ADD PRIMARY KEY (agency_id, event_id);
CREATE INDEX clients_key ON clients (agency_id, client_id);

ALTER TABLE pairings ADD COLUMN occurred_at timestamptz NOT NULL DEFAULT '1900-01-01',
    ADD COLUMN recorded_at timestamptz NOT NULL DEFAULT '1900-01-01',
    ADD COLUMN retracted boolean NOT NULL DEFAULT false,
    ADD COLUMN superseded boolean NOT NULL DEFAULT false;
ALTER TABLE pairings DROP CONSTRAINT pairings_pkey, ADD PRIMARY KEY (agency_id, event_id);
CREATE INDEX pairings_key ON pairings (pairing_id);

ALTER TABLE projects ADD COLUMN recorded_at timestamptz,
    ADD COLUMN retracted boolean NOT NULL DEFAULT false,
    ADD COLUMN superseded boolean NOT NULL DEFAULT false;
UPDATE projects SET recorded_at = occurred_at;
ALTER TABLE projects ALTER COLUMN recorded_at SET NOT NULL;
ALTER TABLE projects DROP CONSTRAINT projects_pkey, ADD PRIMARY KEY (event_agency, event_id);
CREATE INDEX projects_key ON projects (project_id);

-- Slots (docs/scheduling.md): `cancelled` when their client's registration is retracted
-- (nothing left in force); `late` when the visit that closed them started after the
-- window; `overdue_event` is scheduling's visit-overdue for the slot that still stands
-- (NULL once retracted: the slot was closed or cancelled), `overdue_count` how many it
-- has emitted (a slot reopened by a retraction is declared overdue again, under a new id).
ALTER TABLE slots DROP CONSTRAINT slots_status_check,
    ADD CONSTRAINT slots_status_check
        CHECK (status IN ('due', 'unassigned', 'done', 'overdue', 'cancelled')),
    ADD COLUMN late boolean NOT NULL DEFAULT false,
    ADD COLUMN overdue_event text,
    ADD COLUMN overdue_count int NOT NULL DEFAULT 0;
UPDATE slots SET overdue_count = 1, overdue_event = 'overdue-' || slot_id
    WHERE overdue_at IS NOT NULL;

-- A cancelled slot no longer holds its worker's time.
DO $$
BEGIN
    ALTER TABLE slots DROP CONSTRAINT IF EXISTS slots_no_double_booking;
    ALTER TABLE slots ADD CONSTRAINT slots_no_double_booking EXCLUDE USING gist (
        agency_id WITH =, worker_id WITH =, tstzrange(window_start, window_end) WITH &&
    ) WHERE (worker_id IS NOT NULL AND status <> 'cancelled');
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'btree_gist unavailable (%); double-booking guarded by locks only', SQLERRM;
END $$;
