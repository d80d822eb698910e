-- Visits pre-aggregated for periods (a year, a quarter, a custom range, each line of a
-- breakdown), kept in the consumer's transaction by rollups.py like those of 002, so that a
-- period's visit figures are a few index ranges instead of every visit of the period.
--
-- Counts and minutes per agency (the visiting one), day and service: summed over the
-- period's days.
CREATE TABLE visit_days (
    agency_id text NOT NULL,
    day       date NOT NULL,
    service   text NOT NULL,
    visits    bigint NOT NULL,   -- 0 once every visit of the day was taken out
    minutes   bigint NOT NULL,
    PRIMARY KEY (agency_id, day, service)
);
-- A scope of every agency (no region) reads by day alone.
CREATE INDEX visit_days_day ON visit_days (day);

-- Distinct clients served cannot be summed over days: per (visiting agency, year, client,
-- service), the days of that year with a visit that counts, bit (day of year - 1) set. A
-- period reads the rows of its years whose days meet its own; rows are bounded by clients
-- x services x years, not by visits. A row goes when its last visit of the year stops
-- counting (rollups.take_out recomputes the bitmap from the facts).
CREATE TABLE client_visit_years (
    agency_id     text NOT NULL,
    year          int NOT NULL,
    client_agency text NOT NULL,
    client_id     text NOT NULL,
    service       text NOT NULL,
    days          bit(366) NOT NULL,
    PRIMARY KEY (agency_id, year, client_agency, client_id, service)
);
CREATE INDEX client_visit_years_year ON client_visit_years (year);

INSERT INTO visit_days
    SELECT agency_id, visited_on, service, count(*), sum(duration_min)
    FROM visit_facts WHERE NOT retracted AND NOT superseded
    GROUP BY agency_id, visited_on, service;
INSERT INTO client_visit_years
    SELECT agency_id, extract(year FROM visited_on)::int, client_agency, client_id, service,
           bit_or(set_bit(0::bit(366), extract(doy FROM visited_on)::int - 1, 1))
    FROM visit_facts WHERE NOT retracted AND NOT superseded
    GROUP BY 1, 2, 3, 4, 5;
