-- Visits pre-aggregated in the same transaction as their facts, so that the summaries
-- asked most (no period: "so far") read a few thousand rows instead of a million:
-- all-time totals per agency and service, and each client's first visit per service.
CREATE TABLE visit_totals (
    agency_id text NOT NULL,
    service   text NOT NULL,
    visits    bigint NOT NULL,
    minutes   bigint NOT NULL,
    last_on   date NOT NULL,   -- newest visit day ever added (not lowered by retractions)
    PRIMARY KEY (agency_id, service)
);

CREATE TABLE client_first_visit (
    agency_id text NOT NULL,
    client_id text NOT NULL,
    service   text NOT NULL,
    first_on  date NOT NULL,
    PRIMARY KEY (agency_id, client_id, service)
);

CREATE INDEX visit_facts_client ON visit_facts (agency_id, client_id, service);

INSERT INTO visit_totals
    SELECT agency_id, service, count(*), sum(duration_min), max(visited_on)
    FROM visit_facts WHERE NOT retracted GROUP BY agency_id, service;
INSERT INTO client_first_visit
    SELECT agency_id, client_id, service, min(visited_on)
    FROM visit_facts WHERE NOT retracted GROUP BY agency_id, client_id, service;
