-- Visits pre-aggregated for periods (a year, a quarter, a custom range, each line of a
-- breakdown), kept in the consumer's transaction by rollups.py like those of 002, so that a
-- period's visit figures are a few index ranges instead of every visit of the period.
--
-- Counts and minutes per agency (the visiting one), month and service, and per day: a
-- period sums its whole months, and the days of the months it holds only in part.
CREATE TABLE visit_months (
    agency_id text NOT NULL,
    month     date NOT NULL,     -- its first day
    service   text NOT NULL,
    visits    bigint NOT NULL,   -- 0 once every visit of the month was taken out
    minutes   bigint NOT NULL,
    PRIMARY KEY (agency_id, month, service)
);
CREATE TABLE visit_days (
    agency_id text NOT NULL,
    day       date NOT NULL,
    service   text NOT NULL,
    visits    bigint NOT NULL,
    minutes   bigint NOT NULL,
    PRIMARY KEY (agency_id, day, service)
);
-- A scope of every agency (no region) reads by time alone.
CREATE INDEX visit_months_month ON visit_months (month);
CREATE INDEX visit_days_day ON visit_days (day);

-- Distinct clients served cannot be summed over days: per (visiting agency, year, client),
-- the days of that year with a visit that counts, for each service: bit
-- (service's place in shared.events.SERVICES) * 366 + (day of year - 1), the services in
-- the order of the array below (rollups.SERVICES_IN_BITMAPS; a new service needs a
-- migration). A period reads the rows of its years and masks its days; rows are bounded by
-- clients x years, not by visits. A row goes when its last visit of the year stops
-- counting (rollups.take_out makes the bitmap again from the facts).
CREATE TABLE client_visit_years (
    agency_id     text NOT NULL,
    year          int NOT NULL,
    client_agency text NOT NULL,
    client_id     text NOT NULL,
    days          bit(2562) NOT NULL,   -- 7 services x 366 days
    PRIMARY KEY (agency_id, year, client_agency, client_id)
);
CREATE INDEX client_visit_years_year ON client_visit_years (year);

INSERT INTO visit_months
    SELECT agency_id, date_trunc('month', visited_on)::date, service, count(*), sum(duration_min)
    FROM visit_facts WHERE NOT retracted AND NOT superseded
    GROUP BY 1, 2, 3;
INSERT INTO visit_days
    SELECT agency_id, visited_on, service, count(*), sum(duration_min)
    FROM visit_facts WHERE NOT retracted AND NOT superseded
    GROUP BY 1, 2, 3;
INSERT INTO client_visit_years
    SELECT agency_id, extract(year FROM visited_on)::int, client_agency, client_id,
           bit_or(set_bit(0::bit(2562),
                          (array_position(ARRAY['home-medication', 'psychological-comfort',
                                                'proxy-shopping', 'crisis-support', 'home-care',
                                                'health-check', 'other'], service) - 1) * 366
                          + extract(doy FROM visited_on)::int - 1, 1))
    FROM visit_facts WHERE NOT retracted AND NOT superseded
    GROUP BY 1, 2, 3, 4;
