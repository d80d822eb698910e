-- Reporting's own database: one fact table per event type, filled from EVENTS.
-- processed_events (declared by shared/consumer.py) is what makes a redelivered event
-- change nothing: the fact tables have no unique key of their own, so they can be filled
-- with COPY.
-- Every row keeps its event key (agency_id, event_id) and a `retracted` flag, so an
-- event-retracted drops the target's effect while the history keeps both. Rows that
-- describe an entity (agency, worker, client, pairing, project) are kept per event: the
-- current state is the newest non-retracted row by (occurred_at, event_id), which gives
-- the same answer whatever order the events arrived in. No names, ID numbers or phones.

CREATE TABLE retractions (
    agency_id       text NOT NULL,
    target_event_id text NOT NULL,
    event_id        text NOT NULL,
    reason          text NOT NULL,
    PRIMARY KEY (agency_id, target_event_id, event_id)
);

CREATE TABLE agency_facts (
    agency_id      text NOT NULL,          -- the publisher (event key)
    event_id       text NOT NULL,
    occurred_at    timestamptz NOT NULL,
    retracted      boolean NOT NULL DEFAULT false,
    subject_agency text NOT NULL,          -- the agency registered
    region_code    text NOT NULL,
    role           text NOT NULL,
    registered_on  date NOT NULL,
    incubated_by   text
);
CREATE INDEX agency_facts_event ON agency_facts (agency_id, event_id);

CREATE TABLE pairing_facts (
    agency_id           text NOT NULL,
    event_id            text NOT NULL,
    occurred_at         timestamptz NOT NULL,
    retracted           boolean NOT NULL DEFAULT false,
    pairing_id          text NOT NULL,
    assisting_agency_id text NOT NULL,
    assisted_agency_id  text NOT NULL,
    starts_on           date NOT NULL,
    ends_on             date,
    staff_days_per_year int NOT NULL,
    agencies_to_incubate int NOT NULL,
    projects_to_undertake int NOT NULL
);
CREATE INDEX pairing_facts_event ON pairing_facts (agency_id, event_id);

CREATE TABLE worker_facts (
    agency_id     text NOT NULL,
    event_id      text NOT NULL,
    occurred_at   timestamptz NOT NULL,
    retracted     boolean NOT NULL DEFAULT false,
    worker_id     text NOT NULL,
    worker_agency text NOT NULL,
    role          text NOT NULL,
    licence       text NOT NULL,
    registered_on date NOT NULL
);
CREATE INDEX worker_facts_event ON worker_facts (agency_id, event_id);

CREATE TABLE certification_facts (
    agency_id   text NOT NULL,
    event_id    text NOT NULL,
    occurred_at timestamptz NOT NULL,
    retracted   boolean NOT NULL DEFAULT false,
    worker_id   text NOT NULL,
    licence     text NOT NULL,
    obtained_on date NOT NULL
);
CREATE INDEX certification_facts_event ON certification_facts (agency_id, event_id);

CREATE TABLE project_facts (
    agency_id       text NOT NULL,
    event_id        text NOT NULL,
    occurred_at     timestamptz NOT NULL,
    retracted       boolean NOT NULL DEFAULT false,
    project_id      text NOT NULL,
    project_agency  text NOT NULL,
    pairing_id      text,
    starts_on       date NOT NULL
);
CREATE INDEX project_facts_event ON project_facts (agency_id, event_id);

CREATE TABLE client_facts (
    agency_id     text NOT NULL,
    event_id      text NOT NULL,
    occurred_at   timestamptz NOT NULL,
    retracted     boolean NOT NULL DEFAULT false,
    client_id     text NOT NULL,
    project_id    text,
    in_difficulty boolean NOT NULL,
    registered_on date NOT NULL
);
CREATE INDEX client_facts_event ON client_facts (agency_id, event_id);

CREATE TABLE visit_facts (
    agency_id    text NOT NULL,
    event_id     text NOT NULL,
    retracted    boolean NOT NULL DEFAULT false,
    client_id    text NOT NULL,
    service      text NOT NULL,
    visited_on   date NOT NULL,             -- Asia/Shanghai calendar date
    duration_min int NOT NULL
);
CREATE INDEX visit_facts_event ON visit_facts (agency_id, event_id);
CREATE INDEX visit_facts_agency_day ON visit_facts (agency_id, visited_on);

CREATE TABLE activity_facts (
    agency_id   text NOT NULL,
    event_id    text NOT NULL,
    retracted   boolean NOT NULL DEFAULT false,
    project_id  text,
    kind        text NOT NULL,
    held_on     date NOT NULL,
    attendees   int NOT NULL
);
CREATE INDEX activity_facts_event ON activity_facts (agency_id, event_id);

CREATE TABLE training_facts (
    agency_id   text NOT NULL,
    event_id    text NOT NULL,
    retracted   boolean NOT NULL DEFAULT false,
    pairing_id  text NOT NULL,
    kind        text NOT NULL,
    held_on     date NOT NULL,
    hours       numeric(8, 2) NOT NULL,
    attendances int NOT NULL
);
CREATE INDEX training_facts_event ON training_facts (agency_id, event_id);

CREATE TABLE dispatch_facts (
    agency_id   text NOT NULL,
    event_id    text NOT NULL,
    retracted   boolean NOT NULL DEFAULT false,
    pairing_id  text NOT NULL,
    worker_id   text NOT NULL,
    from_date   date NOT NULL,
    to_date     date NOT NULL
);
CREATE INDEX dispatch_facts_event ON dispatch_facts (agency_id, event_id);

CREATE TABLE milestone_facts (
    agency_id   text NOT NULL,
    event_id    text NOT NULL,
    retracted   boolean NOT NULL DEFAULT false,
    pairing_id  text NOT NULL,
    milestone   text NOT NULL,
    reached_on  date NOT NULL
);
CREATE INDEX milestone_facts_event ON milestone_facts (agency_id, event_id);

CREATE TABLE slot_facts (                    -- visit-scheduled and visit-overdue
    agency_id   text NOT NULL,              -- the sender: the scheduling service
    client_agency text NOT NULL,            -- the agency whose client the slot is for
    event_id    text NOT NULL,
    retracted   boolean NOT NULL DEFAULT false,
    kind        text NOT NULL,              -- 'scheduled' or 'overdue'
    slot_id     text NOT NULL,
    client_id   text NOT NULL,
    service     text NOT NULL,
    slot_on     date NOT NULL
);
CREATE INDEX slot_facts_event ON slot_facts (agency_id, event_id);

-- The newest event reflected (the report's as_of).
CREATE TABLE watermark (
    id          boolean PRIMARY KEY DEFAULT true CHECK (id),
    recorded_at timestamptz NOT NULL,
    events      bigint NOT NULL DEFAULT 0
);

-- The current state of each entity: its newest non-retracted registration.
CREATE VIEW current_agencies AS
    SELECT DISTINCT ON (subject_agency) subject_agency AS agency_id, region_code, role,
           registered_on, incubated_by
    FROM agency_facts WHERE NOT retracted
    ORDER BY subject_agency, occurred_at DESC, event_id DESC;

CREATE VIEW current_pairings AS
    SELECT DISTINCT ON (pairing_id) pairing_id, assisting_agency_id, assisted_agency_id,
           starts_on, ends_on, staff_days_per_year, agencies_to_incubate, projects_to_undertake
    FROM pairing_facts WHERE NOT retracted
    ORDER BY pairing_id, occurred_at DESC, event_id DESC;

-- registered_on is the first registration's: an update later does not move an entity
-- out of the periods it already counted in.
CREATE VIEW current_workers AS
    SELECT DISTINCT ON (worker_agency, worker_id) worker_id, worker_agency AS agency_id, role,
           licence, min(registered_on) OVER (PARTITION BY worker_agency, worker_id) AS registered_on
    FROM worker_facts WHERE NOT retracted
    ORDER BY worker_agency, worker_id, occurred_at DESC, event_id DESC;

CREATE VIEW current_projects AS
    SELECT DISTINCT ON (project_id) project_id, project_agency AS agency_id, pairing_id, starts_on
    FROM project_facts WHERE NOT retracted
    ORDER BY project_id, occurred_at DESC, event_id DESC;

-- Client ids are pseudonyms chosen by each agency: a client is (agency_id, client_id).
CREATE VIEW current_clients AS
    SELECT DISTINCT ON (agency_id, client_id) agency_id, client_id, project_id, in_difficulty,
           min(registered_on) OVER (PARTITION BY agency_id, client_id) AS registered_on
    FROM client_facts WHERE NOT retracted
    ORDER BY agency_id, client_id, occurred_at DESC, event_id DESC;
