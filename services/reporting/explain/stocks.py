"""The rows behind the stock figures (agencies, pairings, workers, clients): each is the
registration (or certification) in force on the period's end for one entity the summary
counts (services/reporting/summary.py), worth 1.

Every query returns the explain row's columns and takes the summary's parameters
(summary._PARAMS: $1 the agencies in scope on the end, $2 start, $3 end, $4 pairing,
$5 project, $6 the pairing's projects, $7-$10 placement); `{name}` is a relation of
basis.py, live or as of a moment, the same the summary counts over.
"""

from __future__ import annotations

from services.reporting.summary import _OF_PROJECTS, _agency_filter

AGENCIES = f"""
SELECT c.cell, g.event_agency AS agency_id, g.event_id, 'agency-registered' AS type,
       g.occurred_at, g.recorded_at, 1::numeric AS value, 'agency ' || g.agency_id AS counts,
       'agency_facts' AS history, g.agency_id AS ka, NULL::text AS kb
FROM {{agency_periods}} g CROSS JOIN LATERAL (VALUES
    (CASE WHEN g.role IN ('assisting', 'assisted') THEN g.role END),
    (CASE WHEN g.incubated_by IS NOT NULL AND ($4::text IS NULL OR g.incubated_by = $4)
               AND EXISTS (SELECT 1 FROM {{current_pairings}} p
                           WHERE p.pairing_id = g.incubated_by AND p.starts_on <= $3)
          THEN 'incubated' END)) AS c(cell)
WHERE c.cell IS NOT NULL AND {_agency_filter("g.agency_id")}
  AND $3 BETWEEN g.valid_from AND g.valid_to AND g.registered_on <= $3
"""

# Also the rows of staff_days_target: each active pairing, worth its share of the target.
# (pairings_active "so far" is read with the period's last day as its start: bases.py.)
# {pairings_in_force} is basis._current over pairing_facts: current_pairings with its event.
PAIRINGS = f"""
SELECT '' AS cell, agency_id, event_id, 'pairing-established' AS type, occurred_at,
       recorded_at, 1::numeric AS value, 'pairing ' || pairing_id AS counts,
       'pairing_facts' AS history, pairing_id AS ka, NULL::text AS kb
FROM {{pairings_in_force}} p
WHERE ({_agency_filter("assisting_agency_id")} OR {_agency_filter("assisted_agency_id")})
  AND ($4::text IS NULL OR pairing_id = $4) AND starts_on <= $3
  AND (ends_on IS NULL OR ends_on >= $2)
"""

_WORKERS_IN_SCOPE = f"""
{_agency_filter("w.worker_agency")} AND w.first_on <= $3
  AND ($4::text IS NULL OR w.worker_agency IN (SELECT agency_id FROM {{current_agencies}} g
                                               WHERE incubated_by = $4))
"""

# A worker's row is its registration in force on the end: the newest by then.
WORKERS = f"""
SELECT '' AS cell, r.agency_id, r.event_id, 'worker-registered' AS type, r.occurred_at,
       r.recorded_at, 1::numeric AS value,
       'worker ' || w.worker_agency || '/' || w.worker_id AS counts,
       'worker_facts' AS history, w.worker_agency AS ka, w.worker_id AS kb
FROM {{worker_licences}} w CROSS JOIN LATERAL (
    SELECT * FROM {{worker_rows}} x
    WHERE x.worker_agency = w.worker_agency AND x.worker_id = w.worker_id
      AND x.registered_on <= $3
    ORDER BY x.registered_on DESC, x.occurred_at DESC, x.recorded_at DESC, x.agency_id DESC,
             x.event_id DESC LIMIT 1) r
WHERE {_WORKERS_IN_SCOPE}
"""

# A licensed worker's row is what licenses it on the end: the statement in force then (its
# registration or a certification), as basis.worker_licences decides.
WORKERS_LICENSED = f"""
SELECT '' AS cell, w.event_agency AS agency_id, w.event_id, w.type, w.occurred_at,
       w.recorded_at, 1::numeric AS value,
       'worker ' || w.worker_agency || '/' || w.worker_id AS counts,
       CASE WHEN w.type = 'worker-registered' THEN 'worker_facts' END AS history,
       w.worker_agency AS ka, w.worker_id AS kb
FROM {{worker_licences}} w
WHERE {_WORKERS_IN_SCOPE} AND w.licensed
"""


def clients(in_difficulty: bool) -> str:
    """Clients in scope on the end, as they stood then (of them, those in difficulty)."""
    return f"""
SELECT '' AS cell, agency_id, event_id, 'client-registered' AS type, occurred_at,
       recorded_at, 1::numeric AS value, 'client ' || agency_id || '/' || client_id AS counts,
       'client_facts' AS history, agency_id AS ka, client_id AS kb
FROM {{client_periods}} c
WHERE {_agency_filter()} AND $3 BETWEEN valid_from AND valid_to AND first_on <= $3
  AND ($5::text IS NULL OR project_id = $5) AND {_OF_PROJECTS.format(col="project_id")}
  {"AND in_difficulty" if in_difficulty else ""}
"""
