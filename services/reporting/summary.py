"""The KPI summary (SPEC 3.5) for a scope: plain SQL over the fact tables.

Stock figures (agencies, workers, clients) count what was registered by the end of the
period; flow figures (visits, activities, trainings, staff-days, milestones, slots) count
what happened inside it. Rates are ratios of sums at the requested level.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import asyncpg

from services.reporting import kpis
from shared.clock import SystemClock, today_in_china
from shared.events import SERVICES
from shared.programme import target_between

FAR_PAST = date(1900, 1, 1)


@dataclass(frozen=True)
class Scope:
    """What a report covers. `agencies` is resolved from region/agency/pairing (None = all)."""

    region: str | None = None
    agency: str | None = None
    pairing: str | None = None
    project: str | None = None
    start: date | None = None
    end: date | None = None
    today: date | None = None  # an open end runs to this day (reporting's clock)

    def bounds(self) -> tuple[date, date]:
        return self.start or FAR_PAST, self.end or self.today or today_in_china(SystemClock())


async def scoped_agencies(conn: asyncpg.Connection, scope: Scope) -> list[str] | None:
    """The agencies a scope covers, or None when it covers every agency."""
    chosen: set[str] | None = None
    if scope.region:
        rows = await conn.fetch(
            "SELECT agency_id FROM current_agencies WHERE region_code LIKE $1", scope.region + "%"
        )
        chosen = {r["agency_id"] for r in rows}
    if scope.agency:
        chosen = {scope.agency} if chosen is None else chosen & {scope.agency}
    if scope.pairing:
        members = await pairing_members(conn, scope.pairing)
        chosen = members if chosen is None else chosen & members
    if scope.project:
        owner = await conn.fetchval(
            "SELECT agency_id FROM current_projects WHERE project_id = $1", scope.project
        )
        found = {owner} if owner else set()
        chosen = found if chosen is None else chosen & found
    return None if chosen is None else sorted(chosen)


async def pairing_projects(conn: asyncpg.Connection, pairing_id: str) -> list[str]:
    """The projects started under the pairing by one of its members."""
    members = sorted(await pairing_members(conn, pairing_id))
    rows = await conn.fetch(
        "SELECT project_id FROM current_projects WHERE pairing_id = $1"
        " AND agency_id = ANY($2::text[])",
        pairing_id,
        members,
    )
    return [r["project_id"] for r in rows]


async def pairing_sides(conn: asyncpg.Connection, pairing_id: str) -> set[str]:
    """The assisting and the assisted agency: the agencies that read the pairing's scope."""
    row = await conn.fetchrow(
        "SELECT assisting_agency_id, assisted_agency_id FROM current_pairings"
        " WHERE pairing_id = $1",
        pairing_id,
    )
    return set(row.values()) if row else set()


async def pairing_members(conn: asyncpg.Connection, pairing_id: str) -> set[str]:
    """The assisting and assisted agencies and the agencies the pairing incubated (only a
    pairing that exists incubates: retracting it leaves none)."""
    rows = await conn.fetch(
        "SELECT assisting_agency_id AS a FROM current_pairings WHERE pairing_id = $1"
        " UNION SELECT assisted_agency_id FROM current_pairings WHERE pairing_id = $1"
        " UNION SELECT agency_id FROM current_agencies WHERE incubated_by = $1"
        " AND EXISTS (SELECT 1 FROM current_pairings WHERE pairing_id = $1)",
        pairing_id,
    )
    return {r["a"] for r in rows}


# A pairing's dispatches, trainings and milestones count only when one of its two sides
# reported them (intake refuses others once it knows the pairing; this covers the rest).
_FROM_SIDES = (
    "agency_id IN (SELECT assisting_agency_id FROM current_pairings WHERE pairing_id = $4"
    " UNION SELECT assisted_agency_id FROM current_pairings WHERE pairing_id = $4)"
)

# Every query below takes: $1 agencies (text[] or NULL for all), $2 start, $3 end,
# $4 pairing (or NULL), $5 project (or NULL), $6 the pairing's projects (or NULL).
# PostgreSQL must know each parameter's type even where a query does not use it, hence
# this prefix.
#
# A pairing's scope (SPEC 3.6) is its dispatches, trainings and milestones, the agencies it
# incubated (and their workers), the projects started under it and those projects'
# clients, visits (whoever made them) and activities; never its sides' other work.
_PARAMS = (
    "WITH params AS (SELECT $1::text[] AS agencies, $2::date AS start_on, $3::date AS end_on,"
    " $4::text AS pairing, $5::text AS project, $6::text[] AS projects) "
)
_OF_PROJECTS = "($6::text[] IS NULL OR {col} = ANY($6::text[]))"
_IN_SCOPE = "($1::text[] IS NULL OR {col} = ANY($1::text[]))"


def _agency_filter(col: str = "agency_id") -> str:
    return _IN_SCOPE.format(col=col)


_AGENCIES = f"""
SELECT count(*) FILTER (WHERE role = 'assisting') AS assisting,
       count(*) FILTER (WHERE role = 'assisted') AS assisted,
       count(*) FILTER (WHERE incubated_by IS NOT NULL
                          AND ($4::text IS NULL OR incubated_by = $4)
                          AND EXISTS (SELECT 1 FROM current_pairings p
                                      WHERE p.pairing_id = a.incubated_by
                                        AND p.starts_on <= $3)) AS incubated
FROM current_agencies a
WHERE {_agency_filter()} AND registered_on <= $3
"""

# Active at some time in the period; an open period ("so far") is given its last day as
# its start by `summary`, so a pairing that ended long ago is not active "so far".
_PAIRINGS = f"""
SELECT count(*) AS active FROM current_pairings
WHERE ({_agency_filter("assisting_agency_id")} OR {_agency_filter("assisted_agency_id")})
  AND ($4::text IS NULL OR pairing_id = $4) AND starts_on <= $3
  AND (ends_on IS NULL OR ends_on >= $2)
"""

_WORKERS = f"""
SELECT count(*) AS total,
       count(*) FILTER (WHERE licence <> 'none' OR EXISTS (
           SELECT 1 FROM certification_facts c
           WHERE c.agency_id = w.agency_id AND c.worker_id = w.worker_id AND NOT c.retracted AND c.licence <> 'none'
             AND c.obtained_on <= $3)) AS licensed
FROM current_workers w
WHERE {_agency_filter()} AND registered_on <= $3
  AND ($4::text IS NULL OR agency_id IN (SELECT agency_id FROM current_agencies
                                         WHERE incubated_by = $4))
"""

_CLIENTS = f"""
SELECT count(*) AS registered, count(*) FILTER (WHERE in_difficulty) AS in_difficulty
FROM current_clients
WHERE {_agency_filter()} AND registered_on <= $3 AND ($5::text IS NULL OR project_id = $5)
  AND {_OF_PROJECTS.format(col="project_id")}
"""

# A client is (client's agency, client_id): a visit by another agency's worker to a client
# is that client's, never a second one.
_VISITS_IN_SCOPE = f"""
FROM visit_facts v
WHERE NOT superseded AND {_agency_filter()} AND visited_on BETWEEN $2 AND $3
  AND ($5::text IS NULL OR EXISTS (SELECT 1 FROM current_clients c
                                   WHERE c.agency_id = v.client_agency
                                   AND c.client_id = v.client_id AND c.project_id = $5))
  AND ($6::text[] IS NULL OR EXISTS (SELECT 1 FROM current_clients c
                                     WHERE c.agency_id = v.client_agency
                                     AND c.client_id = v.client_id
                                     AND c.project_id = ANY($6::text[])))
"""
# Distinct clients by hashing (agency, client) per service first: a count(DISTINCT) over a
# row value sorts every visit once per group, several times slower at a million visits.
_VISITS = f"SELECT service, count(*) AS visits, sum(duration_min) AS minutes {_VISITS_IN_SCOPE} GROUP BY service"
_VISIT_CLIENTS = f"""
SELECT service, count(*) AS clients
FROM (SELECT DISTINCT service, client_agency, client_id {_VISITS_IN_SCOPE}) x GROUP BY service
"""
_VISIT_CLIENTS_ANY = f"SELECT count(*) AS clients FROM (SELECT DISTINCT client_agency, client_id {_VISITS_IN_SCOPE}) x"

# The same from the rollups, for a scope with no start date and no project ("so far").
_TOTALS = f"""
SELECT service, sum(visits) AS visits, sum(minutes) AS minutes, max(last_on) AS last_on
FROM visit_totals WHERE {_agency_filter()} GROUP BY service
"""
_FIRST_VISITS = f"""
SELECT service, count(*) AS clients
FROM (SELECT DISTINCT service, client_agency, client_id FROM client_first_visit
      WHERE {_agency_filter()} AND first_on <= $3) x GROUP BY service
"""
_FIRST_VISITS_ANY = f"""
SELECT count(*) AS clients
FROM (SELECT DISTINCT client_agency, client_id FROM client_first_visit
      WHERE {_agency_filter()} AND first_on <= $3) x
"""

_ACTIVITIES = f"""
SELECT kind, count(*) AS held, sum(attendees) AS attendance FROM activity_facts
WHERE NOT superseded AND {_agency_filter()} AND held_on BETWEEN $2 AND $3 AND ($5::text IS NULL OR project_id = $5)
  AND {_OF_PROJECTS.format(col="project_id")}
GROUP BY kind
"""

_TRAININGS = f"""
SELECT kind, count(*) AS held, sum(attendances) AS attendances, sum(hours) AS hours
FROM training_facts
WHERE NOT superseded AND ($4::text IS NOT NULL AND pairing_id = $4 AND {_FROM_SIDES}
                         OR $4::text IS NULL AND {_agency_filter()})
  AND held_on BETWEEN $2 AND $3
GROUP BY kind
"""

# Each (pairing, worker, day) once, however dispatches overlap (SPEC 3.6).
_STAFF_DAYS = f"""
SELECT count(*) AS days FROM (
  SELECT DISTINCT pairing_id, worker_id, day
  FROM dispatch_facts,
       generate_series(greatest(from_date, $2), least(to_date, $3), interval '1 day') AS day
  WHERE NOT superseded AND ($4::text IS NOT NULL AND pairing_id = $4 AND {_FROM_SIDES}
                            OR $4::text IS NULL AND {_agency_filter()})
    AND from_date <= $3 AND to_date >= $2) x
"""

# The pairings whose staff-days target the period shares (shared/programme.py prorates).
_PAIRING_TARGETS = f"""
SELECT starts_on, ends_on, staff_days_per_year FROM current_pairings
WHERE ({_agency_filter("assisting_agency_id")} OR {_agency_filter("assisted_agency_id")})
  AND ($4::text IS NULL OR pairing_id = $4) AND starts_on <= $3
  AND (ends_on IS NULL OR ends_on >= $2)
"""


def staff_days_target(
    pairings: list[tuple[date, date | None, int]], start: date, end: date
) -> float:
    """The staff-days target of [start, end] over pairings (starts_on, ends_on, per year)."""
    total = sum(
        target_between(first, last, per_year, start, end) for first, last, per_year in pairings
    )
    return round(total, 1)


_MILESTONES = f"""
SELECT pairing_id, milestone, reached_on FROM milestone_facts
WHERE NOT superseded AND ($4::text IS NOT NULL AND pairing_id = $4 AND {_FROM_SIDES}
                         OR $4::text IS NULL AND {_agency_filter()})
  AND reached_on BETWEEN $2 AND $3
ORDER BY reached_on, pairing_id, milestone
"""

_SLOTS = f"""
SELECT count(DISTINCT slot_id) FILTER (WHERE kind = 'scheduled') AS scheduled,
       count(DISTINCT slot_id) FILTER (WHERE kind = 'overdue') AS overdue
FROM slot_facts s
WHERE NOT retracted AND {_agency_filter("client_agency")} AND slot_on BETWEEN $2 AND $3
  AND ($5::text IS NULL OR EXISTS (SELECT 1 FROM current_clients c WHERE c.agency_id = s.client_agency
                                   AND c.client_id = s.client_id AND c.project_id = $5))
  AND ($6::text[] IS NULL OR EXISTS (SELECT 1 FROM current_clients c
                                     WHERE c.agency_id = s.client_agency
                                     AND c.client_id = s.client_id
                                     AND c.project_id = ANY($6::text[])))
"""


async def summary(conn: asyncpg.Connection, scope: Scope) -> dict[str, Any]:
    """Every KPI of the registry (services/reporting/kpis.py, SPEC 3.5) for `scope`."""
    start, end = scope.bounds()
    agencies = await scoped_agencies(conn, scope)
    projects = await pairing_projects(conn, scope.pairing) if scope.pairing else None
    args = (agencies, start, end, scope.pairing, scope.project, projects)

    async def fetch(query: str) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await conn.fetch(_PARAMS + query + " ", *args)
        return rows

    ag = (await fetch(_AGENCIES))[0]
    workers = (await fetch(_WORKERS))[0]
    clients = (await fetch(_CLIENTS))[0]
    by_service, served, minutes = await _visits(fetch, scope, end)
    activities = await _totalled(fetch, scope, end, "activity_facts", _ACTIVITIES)
    trainings = await _totalled(fetch, scope, end, "training_facts", _TRAININGS)
    staff_days = await fetch(_STAFF_DAYS)
    slots = (await fetch(_SLOTS))[0]
    watermark = await conn.fetchrow("SELECT recorded_at FROM watermark")
    total, licensed = workers["total"], workers["licensed"]
    figures: dict[str, Any] = {
        "agencies": {
            "assisting": ag["assisting"],
            "assisted": ag["assisted"],
            "incubated": ag["incubated"],
        },
        "pairings_active": (
            await conn.fetch(
                _PARAMS + _PAIRINGS, *(args if scope.start else (agencies, end, *args[2:]))
            )
        )[0]["active"],
        "workers_total": total,
        "workers_licensed": licensed,
        "licensed_rate": round(licensed / total, 4) if total else None,
        "clients_registered": clients["registered"],
        "clients_in_difficulty": clients["in_difficulty"],
        "clients_served": served,
        "clients_served_by_service": {
            s: by_service[s]["clients"] for s in SERVICES if by_service.get(s, {}).get("visits")
        },
        "visits_by_service": {
            s: by_service[s]["visits"] for s in SERVICES if by_service.get(s, {}).get("visits")
        },
        "visit_minutes": minutes,
        "activities_by_kind": {r["kind"]: r["held"] for r in sorted(activities, key=_kind)},
        "activity_attendance_by_kind": {
            r["kind"]: int(r["attendance"]) for r in sorted(activities, key=_kind)
        },
        "trainings_by_kind": {r["kind"]: r["held"] for r in sorted(trainings, key=_kind)},
        "training_attendances": sum(int(r["attendances"]) for r in trainings),
        "training_hours": float(sum(r["hours"] for r in trainings)),
        "staff_days_dispatched": int(staff_days[0]["days"]) if staff_days else 0,
        "staff_days_target": staff_days_target(
            [tuple(r) for r in await fetch(_PAIRING_TARGETS)], start, end
        ),
        "milestones": [
            {
                "pairing_id": r["pairing_id"],
                "milestone": r["milestone"],
                "reached_on": r["reached_on"].isoformat(),
            }
            for r in await fetch(_MILESTONES)
        ],
        "visits_scheduled": slots["scheduled"],
        "visits_overdue": slots["overdue"],
        "as_of": watermark["recorded_at"].isoformat() if watermark else None,
    }
    for kpi in kpis.PLAIN:
        assert kpi.sql is not None
        figures[kpi.name] = int((await fetch(kpi.sql))[0][0] or 0)
    # In the registry's order; a KPI declared without a figure fails here, not in an export.
    return {kpi.name: figures[kpi.name] for kpi in kpis.KPIS}


# The same from fact_totals, for a scope with no start date ("so far"); the names of the
# columns match the queries above.
_FACT_TOTALS = {
    "activity_facts": "SELECT key AS kind, sum(n)::bigint AS held, sum(a) AS attendance,",
    "training_facts": (
        "SELECT key AS kind, sum(n)::bigint AS held, sum(a) AS attendances, sum(b) AS hours,"
    ),
}


async def _totalled(fetch: Any, scope: Scope, end: date, fact: str, facts_query: str) -> list[Any]:
    """Rows of `facts_query`, from the totals when they answer the scope exactly."""
    by_pairing = fact != "activity_facts" and scope.pairing is not None
    by_project = fact == "activity_facts" and (scope.project or scope.pairing) is not None
    if scope.start is None and not by_pairing and not by_project:
        rows = await fetch(
            f"{_FACT_TOTALS[fact]} max(last_on) AS last_on FROM fact_totals"
            f" WHERE fact = '{fact}' AND {_agency_filter()} GROUP BY key"
        )
        if all(r["last_on"] is None or r["last_on"] <= end for r in rows):
            return [r for r in rows if r["held"]]  # kinds whose every fact was retracted drop out
    return list(await fetch(facts_query))


async def _visits(
    fetch: Any, scope: Scope, end: date
) -> tuple[dict[str, dict[str, int]], int, int]:
    """Visits and clients served per service, clients served, visit minutes."""
    by_service: dict[str, dict[str, int]] = {}
    if scope.start is None and scope.project is None and scope.pairing is None:
        totals = await fetch(_TOTALS)
        if all(r["last_on"] <= end for r in totals):  # no visit after the end: totals hold
            for r in totals:
                by_service[r["service"]] = {
                    "visits": int(r["visits"]),
                    "minutes": int(r["minutes"]),
                }
            for r in await fetch(_FIRST_VISITS):
                by_service.setdefault(r["service"], {})["clients"] = r["clients"]
            served = (await fetch(_FIRST_VISITS_ANY))[0]["clients"]
            return by_service, served, sum(v.get("minutes", 0) for v in by_service.values())
    for r in await fetch(_VISITS):
        by_service[r["service"]] = {"visits": r["visits"], "minutes": int(r["minutes"])}
    for r in await fetch(_VISIT_CLIENTS):
        by_service.setdefault(r["service"], {})["clients"] = r["clients"]
    served = (await fetch(_VISIT_CLIENTS_ANY))[0]["clients"]
    return by_service, served, sum(v.get("minutes", 0) for v in by_service.values())


def _kind(row: asyncpg.Record) -> str:
    return str(row["kind"])


def with_region(scope: Scope, region: str) -> Scope:
    return replace(scope, region=region)
