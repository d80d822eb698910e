-- All-time totals of activities (per kind), trainings (per kind) and staff dispatches, per
-- agency, kept in the consumer's transaction like the visit rollups: a "so far" summary
-- reads a few hundred rows instead of scanning these fact tables.
CREATE TABLE fact_totals (
    fact      text NOT NULL,        -- the fact table totalled
    agency_id text NOT NULL,
    key       text NOT NULL,        -- the kind ('' for dispatches)
    n         bigint NOT NULL,      -- activities or trainings held; staff-days dispatched
    a         numeric NOT NULL,     -- attendees / attendances
    b         numeric NOT NULL,     -- training hours
    last_on   date NOT NULL,        -- newest day ever added (not lowered by retractions)
    PRIMARY KEY (fact, agency_id, key)
);

INSERT INTO fact_totals
    SELECT 'activity_facts', agency_id, kind, count(*), sum(attendees), 0, max(held_on)
    FROM activity_facts WHERE NOT retracted GROUP BY agency_id, kind;
INSERT INTO fact_totals
    SELECT 'training_facts', agency_id, kind, count(*), sum(attendances), sum(hours), max(held_on)
    FROM training_facts WHERE NOT retracted GROUP BY agency_id, kind;
INSERT INTO fact_totals
    SELECT 'dispatch_facts', agency_id, '', sum(to_date - from_date + 1), 0, 0, max(to_date)
    FROM dispatch_facts WHERE NOT retracted GROUP BY agency_id;
