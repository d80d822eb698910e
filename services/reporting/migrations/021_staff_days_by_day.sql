-- Staff-days kept by day (services/reporting/day_totals.py): a live summary sums the
-- workers per (pairing, day, reporting agencies) instead of expanding every dispatch into
-- its days (generate_series over every dispatch, a hash aggregate that spilled: ~440 ms
-- for all time at 1,000,000 events, ten times that at 10,000,000).

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
