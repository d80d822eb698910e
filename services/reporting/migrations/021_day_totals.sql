-- Staff-days, activities and trainings kept by day (services/reporting/day_totals.py).
-- Staff-days: a live summary sums the workers per (pairing, day, reporting agencies)
-- instead of expanding every dispatch into its days (generate_series over every dispatch,
-- a hash aggregate that spilled: ~440 ms for all time at 1,000,000 events, ten times that
-- at 10,000,000).

-- Each (pairing, worker, day, reporting agency) covered by counted dispatches, and by how
-- many (a retraction or correction takes one away; the row goes at 0).
CREATE TABLE dispatch_days (
    pairing_id text NOT NULL,
    worker_id  text NOT NULL,
    day        date NOT NULL,
    agency_id  text NOT NULL,      -- the agency that reported the dispatches
    dispatches int NOT NULL CHECK (dispatches > 0),
    PRIMARY KEY (pairing_id, worker_id, day, agency_id)
);

-- Per (pairing, day) the workers covered that day whose reporting agencies are exactly
-- `reporters` (sorted): where a staff-day counts (summary._of_pairing) depends on nothing
-- else, so each (pairing, worker, day) is in one row and counted once.
CREATE TABLE staff_day_counts (
    pairing_id text NOT NULL,
    reporters  text[] NOT NULL,
    day        date NOT NULL,
    workers    int NOT NULL,   -- a row at 0 is deleted in the same transaction
    PRIMARY KEY (pairing_id, day, reporters)
);
CREATE INDEX staff_day_counts_day ON staff_day_counts (day);

INSERT INTO dispatch_days
    SELECT pairing_id, worker_id, day::date, agency_id, count(*)
    FROM dispatch_facts, generate_series(from_date, to_date, interval '1 day') AS day
    WHERE NOT superseded
    GROUP BY pairing_id, worker_id, day::date, agency_id;

INSERT INTO staff_day_counts
    SELECT pairing_id, reporters, day, count(*)
    FROM (SELECT pairing_id, worker_id, day, array_agg(agency_id ORDER BY agency_id COLLATE "C") AS reporters
          FROM dispatch_days GROUP BY pairing_id, worker_id, day) x
    GROUP BY pairing_id, reporters, day;

-- Activities and trainings that count, added up per (reporting agency, pairing: '' for
-- activities, kind) by day and by month (its first day): a period's summary reads its
-- whole months from fact_months and only its edge days from fact_days, instead of every
-- fact of the period. A training keeps its pairing: its sides' regions place it.
CREATE TABLE fact_days (
    fact       text NOT NULL,      -- 'activity_facts' or 'training_facts'
    day        date NOT NULL,
    agency_id  text NOT NULL,
    pairing_id text NOT NULL,
    kind       text NOT NULL,
    n          bigint NOT NULL,    -- held
    a          numeric NOT NULL,   -- attendees / attendances
    b          numeric NOT NULL,   -- training hours
    PRIMARY KEY (fact, day, agency_id, pairing_id, kind)
);
CREATE TABLE fact_months (
    fact       text NOT NULL,
    month      date NOT NULL,      -- the month's first day
    agency_id  text NOT NULL,
    pairing_id text NOT NULL,
    kind       text NOT NULL,
    n          bigint NOT NULL,
    a          numeric NOT NULL,
    b          numeric NOT NULL,
    PRIMARY KEY (fact, month, agency_id, pairing_id, kind)
);

INSERT INTO fact_days
    SELECT 'activity_facts', held_on, agency_id, '', kind, count(*), sum(attendees), 0
    FROM activity_facts WHERE NOT superseded GROUP BY held_on, agency_id, kind;
INSERT INTO fact_days
    SELECT 'training_facts', held_on, agency_id, pairing_id, kind, count(*), sum(attendances),
           sum(hours)
    FROM training_facts WHERE NOT superseded GROUP BY held_on, agency_id, pairing_id, kind;
INSERT INTO fact_months
    SELECT fact, date_trunc('month', day)::date, agency_id, pairing_id, kind, sum(n), sum(a),
           sum(b)
    FROM fact_days GROUP BY 1, 2, 3, 4, 5;
