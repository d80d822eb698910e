-- Scheduling's own database: what it learned from EVENTS (agencies, workers, clients,
-- logged visits, pairings, dispatches), the care plans and their visit slots, and the
-- outbox of the events it emits (visit-scheduled, visit-overdue). The outbox and
-- processed_events tables are declared by shared/outbox.py and shared/consumer.py.

CREATE TABLE agencies (
    agency_id   text PRIMARY KEY,
    region_code text NOT NULL
);

-- `event_id` is the event that made the row, so a retraction can find it.
CREATE TABLE workers (
    agency_id text NOT NULL,
    worker_id text NOT NULL,
    role      text NOT NULL,
    languages text[] NOT NULL,
    event_id  text NOT NULL,
    retracted boolean NOT NULL DEFAULT false,
    PRIMARY KEY (agency_id, worker_id)
);

CREATE TABLE clients (
    agency_id     text NOT NULL,
    client_id     text NOT NULL,
    ethnicity     text NOT NULL,
    in_difficulty boolean NOT NULL,
    event_id      text NOT NULL,
    retracted     boolean NOT NULL DEFAULT false,
    PRIMARY KEY (agency_id, client_id)
);

CREATE TABLE care_plans (
    plan_id             text PRIMARY KEY,
    agency_id           text NOT NULL,
    client_id           text NOT NULL,
    service             text NOT NULL,
    recurrence          jsonb NOT NULL,
    window_opens        time NOT NULL,
    window_closes       time NOT NULL,
    preferred_worker_id text,
    required_language   text,
    request_hash        bytea NOT NULL,        -- a repeated POST is answered, not redone
    scheduled_through   date NOT NULL,         -- slots exist for every visit date up to here
    finished            boolean NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX care_plans_open ON care_plans (scheduled_through) WHERE NOT finished;

-- status: due (assigned, open) | unassigned (open, nobody could take it) | done | overdue.
CREATE TABLE slots (
    slot_id      text PRIMARY KEY,
    plan_id      text NOT NULL REFERENCES care_plans (plan_id),
    seq          int NOT NULL,
    agency_id    text NOT NULL,
    client_id    text NOT NULL,
    service      text NOT NULL,
    worker_id    text,
    window_start timestamptz NOT NULL,
    window_end   timestamptz NOT NULL,
    status       text NOT NULL CHECK (status IN ('due', 'unassigned', 'done', 'overdue')),
    conflict     text,                         -- why it is unassigned
    visit_agency text,                         -- the visit-logged event that closed it
    visit_event  text,
    visit_id     text,
    done_at      timestamptz,
    overdue_at   timestamptz,                  -- set once, never cleared
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (window_start < window_end),
    UNIQUE (plan_id, seq)
);
CREATE INDEX slots_sweep ON slots (window_end) WHERE status IN ('due', 'unassigned');
CREATE INDEX slots_client ON slots (agency_id, client_id, service, window_start);
CREATE INDEX slots_worker ON slots (agency_id, worker_id, window_start);
CREATE INDEX slots_status ON slots (status, window_start);

-- A second guard against double-booking, beside the per-agency lock the code takes: where
-- btree_gist is available, the database itself refuses overlapping slots of one worker.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS btree_gist;
    ALTER TABLE slots ADD CONSTRAINT slots_no_double_booking EXCLUDE USING gist (
        agency_id WITH =, worker_id WITH =, tstzrange(window_start, window_end) WITH &&
    ) WHERE (worker_id IS NOT NULL);
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'btree_gist unavailable (%); double-booking guarded by locks only', SQLERRM;
END $$;

CREATE TABLE visits_logged (
    agency_id    text NOT NULL,
    event_id     text NOT NULL,
    visit_id     text NOT NULL,
    client_id    text NOT NULL,
    worker_id    text NOT NULL,
    service      text NOT NULL,
    started_at   timestamptz NOT NULL,
    duration_min int NOT NULL,
    plan_id      text,
    PRIMARY KEY (agency_id, event_id)
);
CREATE INDEX visits_logged_client ON visits_logged (agency_id, client_id, service, started_at);

CREATE TABLE pairings (
    pairing_id          text PRIMARY KEY,
    assisting_agency_id text NOT NULL,
    assisted_agency_id  text NOT NULL,
    starts_on           date NOT NULL,
    ends_on             date,
    staff_days_per_year int NOT NULL,
    agency_id           text NOT NULL,         -- publisher of the pairing-established
    event_id            text NOT NULL
);

CREATE TABLE staff_dispatches (
    agency_id   text NOT NULL,
    event_id    text NOT NULL,
    dispatch_id text NOT NULL,
    pairing_id  text NOT NULL,
    worker_id   text NOT NULL,
    from_date   date NOT NULL,
    to_date     date NOT NULL,
    PRIMARY KEY (agency_id, event_id)
);
CREATE INDEX staff_dispatches_pairing ON staff_dispatches (pairing_id);
