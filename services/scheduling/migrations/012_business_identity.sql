-- Business identity (SPEC 3.6): a visit is (agency, visit_id) and a dispatch (pairing,
-- dispatch_id); re-sent with other values it is a correction, and only the newest row (by
-- occurred_at, then recorded_at) counts: one visit closes one slot, one dispatch counts
-- its days once. Rows that do not count are `superseded` (history keeps them).
-- A visit names its client's agency (client_agency_id, default the sender's): assisting
-- staff visiting the assisted side's elders close that side's slots.
ALTER TABLE visits_logged ADD COLUMN client_agency text, ADD COLUMN occurred_at timestamptz,
    ADD COLUMN recorded_at timestamptz, ADD COLUMN superseded boolean NOT NULL DEFAULT false;
UPDATE visits_logged SET client_agency = agency_id, occurred_at = started_at,
    recorded_at = started_at;
ALTER TABLE visits_logged ALTER COLUMN client_agency SET NOT NULL,
    ALTER COLUMN occurred_at SET NOT NULL, ALTER COLUMN recorded_at SET NOT NULL;
DROP INDEX visits_logged_client;
CREATE INDEX visits_logged_client ON visits_logged (client_agency, client_id, service, started_at);
CREATE INDEX visits_logged_key ON visits_logged (agency_id, visit_id);

ALTER TABLE staff_dispatches ADD COLUMN occurred_at timestamptz,
    ADD COLUMN recorded_at timestamptz, ADD COLUMN superseded boolean NOT NULL DEFAULT false;
UPDATE staff_dispatches SET occurred_at = from_date::timestamptz,
    recorded_at = from_date::timestamptz;
ALTER TABLE staff_dispatches ALTER COLUMN occurred_at SET NOT NULL,
    ALTER COLUMN recorded_at SET NOT NULL;
CREATE INDEX staff_dispatches_key ON staff_dispatches (pairing_id, dispatch_id);
