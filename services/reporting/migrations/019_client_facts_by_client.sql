-- A client's registrations by (agency, client). A project's or a pairing's summary asks,
-- for each visit and slot, which project the visit's client was in on the visit's day
-- (summary.py `_client_of_projects`, over basis.py's client_periods); with only the
-- (agency_id, event_id) index each of those probes read every registration of the
-- client's agency (~330 rows at 20,000 clients). A project's all-time summary at
-- 1,000,000 events went from 4.7 s to 0.73 s with this index (docs/performance.md).
CREATE INDEX client_facts_client ON client_facts (agency_id, client_id);
