-- The pairing scope of SPEC 3.6 for visit slots: a pairing's side reads the slots of the
-- clients of projects started under the pairing (and of the agencies it incubated, already
-- in agency_regions.incubated_by). Projects are keyed by their business id; the newest
-- occurred_at wins, as for the other entities here.
CREATE TABLE projects (
    project_id   text PRIMARY KEY,
    agency_id    text NOT NULL,
    pairing_id   text,
    event_agency text NOT NULL,
    event_id     text NOT NULL,
    occurred_at  timestamptz NOT NULL
);
CREATE INDEX projects_pairing ON projects (pairing_id);

-- The project a client was registered under (client-registered's project_id), if any.
ALTER TABLE clients ADD COLUMN project_id text;
CREATE INDEX clients_project ON clients (project_id);
CREATE INDEX agency_regions_incubated_by ON agency_regions (incubated_by);
