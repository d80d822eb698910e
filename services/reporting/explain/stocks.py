"""The rows behind the stock figures (agencies, pairings, workers, clients): each is the
registration event in force for one entity the summary counts (services/reporting/summary.py),
worth 1.

Every query returns the explain row's columns (ROW in rows.py) and takes the summary's
parameters: $1 agencies (or NULL for all), $2 start, $3 end, $4 pairing, $5 project, $6 the
pairing's projects. The entity in force is chosen by the order of the current_* views
(migration 012): newest occurred_at, then recorded_at, then event key.
"""

from __future__ import annotations

from services.reporting.summary import _OF_PROJECTS, _agency_filter

_AGENCY_IN_FORCE = """
SELECT DISTINCT ON (subject_agency) subject_agency, agency_id, event_id, occurred_at,
       recorded_at, role, registered_on, incubated_by
FROM agency_facts WHERE NOT retracted
ORDER BY subject_agency, occurred_at DESC, recorded_at DESC, agency_id DESC, event_id DESC
"""

# An agency counts once per cell: an incubated agency is also assisted (or assisting).
AGENCIES = f"""
WITH a AS ({_AGENCY_IN_FORCE})
SELECT c.cell, a.agency_id, a.event_id, 'agency-registered' AS type, a.occurred_at,
       a.recorded_at, 1::numeric AS value, 'agency ' || a.subject_agency AS counts,
       'agency_facts' AS history, a.subject_agency AS ka, NULL::text AS kb
FROM a CROSS JOIN LATERAL (VALUES
    (CASE WHEN a.role IN ('assisting', 'assisted') THEN a.role END),
    (CASE WHEN a.incubated_by IS NOT NULL AND ($4::text IS NULL OR a.incubated_by = $4)
               AND EXISTS (SELECT 1 FROM current_pairings p WHERE p.pairing_id = a.incubated_by
                           AND p.starts_on <= $3)
          THEN 'incubated' END)) AS c(cell)
WHERE c.cell IS NOT NULL AND {_agency_filter("a.subject_agency")} AND a.registered_on <= $3
"""

_PAIRING_IN_FORCE = """
SELECT DISTINCT ON (pairing_id) * FROM pairing_facts WHERE NOT retracted
ORDER BY pairing_id, occurred_at DESC, recorded_at DESC, agency_id DESC, event_id DESC
"""

# Also the rows of staff_days_target: each active pairing, worth its share of the target.
# For pairings_active an open period ("so far") starts on its last day (explain passes it).
PAIRINGS = f"""
WITH p AS ({_PAIRING_IN_FORCE})
SELECT '' AS cell, agency_id, event_id, 'pairing-established' AS type, occurred_at,
       recorded_at, 1::numeric AS value, 'pairing ' || pairing_id AS counts,
       'pairing_facts' AS history, pairing_id AS ka, NULL::text AS kb
FROM p
WHERE ({_agency_filter("assisting_agency_id")} OR {_agency_filter("assisted_agency_id")})
  AND ($4::text IS NULL OR pairing_id = $4) AND starts_on <= $3
  AND (ends_on IS NULL OR ends_on >= $2)
"""

# registered_on is the first live registration's (as in current_workers).
_WORKER_IN_FORCE = """
SELECT DISTINCT ON (worker_agency, worker_id) agency_id, event_id, occurred_at, recorded_at,
       worker_id, worker_agency, licence,
       min(registered_on) OVER (PARTITION BY worker_agency, worker_id) AS registered_on
FROM worker_facts WHERE NOT retracted
ORDER BY worker_agency, worker_id, occurred_at DESC, recorded_at DESC, agency_id DESC,
         event_id DESC
"""

_WORKERS_IN_SCOPE = f"""
{_agency_filter("w.worker_agency")} AND w.registered_on <= $3
  AND ($4::text IS NULL OR w.worker_agency IN (SELECT agency_id FROM current_agencies
                                               WHERE incubated_by = $4))
"""

WORKERS = f"""
WITH w AS ({_WORKER_IN_FORCE})
SELECT '' AS cell, w.agency_id, w.event_id, 'worker-registered' AS type, w.occurred_at,
       w.recorded_at, 1::numeric AS value,
       'worker ' || w.worker_agency || '/' || w.worker_id AS counts,
       'worker_facts' AS history, w.worker_agency AS ka, w.worker_id AS kb
FROM w WHERE {_WORKERS_IN_SCOPE}
"""

# A licensed worker's event is what licenses it: its registration in force when that names
# a licence, else its first live certification by the period's end.
WORKERS_LICENSED = f"""
WITH w AS ({_WORKER_IN_FORCE})
SELECT '' AS cell,
       CASE WHEN w.licence <> 'none' THEN w.agency_id ELSE c.agency_id END AS agency_id,
       CASE WHEN w.licence <> 'none' THEN w.event_id ELSE c.event_id END AS event_id,
       CASE WHEN w.licence <> 'none' THEN 'worker-registered'
            ELSE 'certification-obtained' END AS type,
       CASE WHEN w.licence <> 'none' THEN w.occurred_at ELSE c.occurred_at END AS occurred_at,
       CASE WHEN w.licence <> 'none' THEN w.recorded_at ELSE c.recorded_at END AS recorded_at,
       1::numeric AS value, 'worker ' || w.worker_agency || '/' || w.worker_id AS counts,
       CASE WHEN w.licence <> 'none' THEN 'worker_facts' END AS history,
       w.worker_agency AS ka, w.worker_id AS kb
FROM w LEFT JOIN LATERAL (
    SELECT c.agency_id, c.event_id, c.occurred_at, c.recorded_at FROM certification_facts c
    WHERE c.agency_id = w.worker_agency AND c.worker_id = w.worker_id AND NOT c.retracted
      AND c.licence <> 'none' AND c.obtained_on <= $3
    ORDER BY c.obtained_on, c.occurred_at, c.event_id LIMIT 1) c ON true
WHERE {_WORKERS_IN_SCOPE} AND (w.licence <> 'none' OR c.event_id IS NOT NULL)
"""

_CLIENT_IN_FORCE = """
SELECT DISTINCT ON (agency_id, client_id) agency_id, event_id, occurred_at, recorded_at,
       client_id, project_id, in_difficulty,
       min(registered_on) OVER (PARTITION BY agency_id, client_id) AS registered_on
FROM client_facts WHERE NOT retracted
ORDER BY agency_id, client_id, occurred_at DESC, recorded_at DESC, event_id DESC
"""


def clients(in_difficulty: bool) -> str:
    """Clients in force in scope (of them, those in difficulty)."""
    return f"""
WITH c AS ({_CLIENT_IN_FORCE})
SELECT '' AS cell, agency_id, event_id, 'client-registered' AS type, occurred_at,
       recorded_at, 1::numeric AS value, 'client ' || agency_id || '/' || client_id AS counts,
       'client_facts' AS history, agency_id AS ka, client_id AS kb
FROM c
WHERE {_agency_filter()} AND registered_on <= $3 AND ($5::text IS NULL OR project_id = $5)
  AND {_OF_PROJECTS.format(col="project_id")} {"AND in_difficulty" if in_difficulty else ""}
"""
