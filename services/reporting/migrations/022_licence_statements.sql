-- A worker's licence on a day is the newest statement made by then: its registration or a
-- certification (basis.py `worker_licences`). Every summary of a region asks it for each
-- worker in scope; with only (agency_id, worker_id) indexes it sorted every statement of
-- every worker (150,000 certifications at 10,000,000 events: an external sort, 232 of a
-- province summary's 327 ms, docs/performance.md). In this order each worker's newest
-- statement by a day is the first row of an index range.
CREATE INDEX worker_facts_newest ON worker_facts
    (worker_agency, worker_id, registered_on DESC, occurred_at DESC, recorded_at DESC,
     agency_id DESC, event_id DESC)
    WHERE NOT retracted;
CREATE INDEX certification_facts_newest ON certification_facts
    (agency_id, worker_id, obtained_on DESC, occurred_at DESC, recorded_at DESC,
     event_id DESC)
    WHERE NOT retracted;
