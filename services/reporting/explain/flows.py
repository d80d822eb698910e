"""The rows behind the flow figures (visits, activities, trainings, staff-days, milestones,
slots): the fact events the summary counts (services/reporting/summary.py), each with the
value it adds. Same columns, parameters and relations as stocks.py; the conditions are
the summary's own (its visit selection verbatim, the others built from its helpers).
"""

from __future__ import annotations

from services.reporting.summary import (
    _OF_PROJECTS,
    _VISITS_IN_SCOPE,
    _of_pairing,
    _on_the_day,
    _with_pairing,
)

# A pairing's trainings, dispatches and milestones are placed as the summary places them
# (_of_pairing: by either side of their pairing on the fact's day), joined to it as `pp`.


def visits(value: str, cell: str = "service") -> str:
    """Every counted visit (the summary's own selection), worth `value`."""
    return f"""
SELECT {cell} AS cell, agency_id, event_id, 'visit-logged' AS type, occurred_at, recorded_at,
       ({value})::numeric AS value, 'visit ' || agency_id || '/' || visit_id AS counts,
       'visit_facts' AS history, agency_id AS ka, visit_id AS kb
{_VISITS_IN_SCOPE}
"""


def clients_served(by_service: bool) -> str:
    """Each distinct client (client's agency, client_id) among the counted visits, once (per
    service): the row is the client's first counted visit, worth 1."""
    per = "service, " if by_service else ""
    return f"""
SELECT DISTINCT ON ({per}client_agency, client_id) {"service" if by_service else "''"} AS cell,
       agency_id, event_id, 'visit-logged' AS type, occurred_at, recorded_at,
       1::numeric AS value, 'client ' || client_agency || '/' || client_id AS counts,
       'visit_facts' AS history, agency_id AS ka, visit_id AS kb
{_VISITS_IN_SCOPE}
ORDER BY {per}client_agency, client_id, visited_on, agency_id, event_id
"""


def activities(value: str) -> str:
    return f"""
SELECT kind AS cell, agency_id, event_id, 'activity-held' AS type, occurred_at, recorded_at,
       ({value})::numeric AS value, 'activity ' || agency_id || '/' || activity_id AS counts,
       'activity_facts' AS history, agency_id AS ka, activity_id AS kb
FROM {{activities}} a
WHERE {_on_the_day("agency_id", "held_on")} AND held_on BETWEEN $2 AND $3
  AND ($5::text IS NULL OR project_id = $5) AND {_OF_PROJECTS.format(col="project_id")}
"""


def trainings(value: str, cell: str = "kind") -> str:
    return f"""
SELECT {cell} AS cell, t.agency_id, t.event_id, 'training-completed' AS type, t.occurred_at,
       t.recorded_at, ({value})::numeric AS value,
       'training ' || t.pairing_id || '/' || t.training_id AS counts,
       'training_facts' AS history, t.pairing_id AS ka, t.training_id AS kb
FROM {_with_pairing("{trainings}", "t")}
WHERE {_of_pairing("t", "t.held_on")} AND t.held_on BETWEEN $2 AND $3
"""


# Each (pairing, worker, day) once: a day in scope goes to the first dispatch covering it
# (by from_date, then event key), so a dispatch is worth the days no earlier one covered.
STAFF_DAYS = f"""
WITH days AS (SELECT d.agency_id, d.event_id, d.pairing_id, d.worker_id, d.from_date, day
              FROM {_with_pairing("{dispatches}", "d")},
                   generate_series(greatest(d.from_date, $2), least(d.to_date, $3),
                                   interval '1 day') AS day
              WHERE {_of_pairing("d", "day::date")} AND d.from_date <= $3 AND d.to_date >= $2),
firsts AS (SELECT DISTINCT ON (pairing_id, worker_id, day) agency_id, event_id FROM days
           ORDER BY pairing_id, worker_id, day, from_date, agency_id, event_id),
worth AS (SELECT agency_id, event_id, count(*) AS days FROM firsts GROUP BY 1, 2)
SELECT '' AS cell, d.agency_id, d.event_id, 'staff-dispatched' AS type, d.occurred_at,
       d.recorded_at, coalesce(worth.days, 0)::numeric AS value,
       'dispatch ' || d.pairing_id || '/' || d.dispatch_id AS counts,
       'dispatch_facts' AS history, d.pairing_id AS ka, d.dispatch_id AS kb
FROM {{dispatches}} d
JOIN (SELECT DISTINCT agency_id, event_id FROM days) x USING (agency_id, event_id)
LEFT JOIN worth USING (agency_id, event_id)
"""

MILESTONES = f"""
SELECT '' AS cell, m.agency_id, m.event_id, 'milestone-reached' AS type, m.occurred_at,
       m.recorded_at, 1::numeric AS value,
       'milestone ' || m.pairing_id || '/' || m.milestone AS counts,
       'milestone_facts' AS history, m.pairing_id AS ka, m.milestone AS kb
FROM {_with_pairing("{milestones}", "m")}
WHERE {_of_pairing("m", "m.reached_on")} AND m.reached_on BETWEEN $2 AND $3
"""


def slots(kind: str) -> str:
    """Each distinct slot id scheduled (or overdue) in the period, once: its first event."""
    assert kind in ("scheduled", "overdue")
    return f"""
SELECT DISTINCT ON (slot_id) '' AS cell, agency_id, event_id, 'visit-{kind}' AS type,
       occurred_at, recorded_at, 1::numeric AS value, 'slot ' || slot_id AS counts,
       NULL::text AS history, NULL::text AS ka, NULL::text AS kb
FROM {{slots}} s
WHERE kind = '{kind}' AND {_on_the_day("client_agency", "slot_on")}
  AND slot_on BETWEEN $2 AND $3
  AND {{slot_in_projects}}
ORDER BY slot_id, slot_on, agency_id, event_id
"""
