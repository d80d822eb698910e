"""The KPI summary (SPEC 3.5) for a scope: plain SQL over the relations of basis.py.

Stock figures (agencies, workers, clients) count what stood on the period's end, with
their attributes as they stood then; flow figures (visits, activities, trainings,
staff-days, milestones, slots) count what happened inside the period, placed by their
agency's region and their client's project on the fact's day (SPEC 3.6 "Time",
placement.py). Rates are ratios of sums at the requested level. docs/kpis.md says what
each figure counts.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import asyncpg

from services.reporting import kpis, rollups
from services.reporting.basis import Basis, relations
from services.reporting.placement import (
    FAR_PAST,
    Placed,
    Scope,
    pairing_members,
    pairing_projects,
    pairing_sides,
    place,
    scoped_agencies,
)
from shared.events import SERVICES
from shared.programme import target_between

__all__ = [
    "FAR_PAST",
    "Scope",
    "pairing_members",
    "pairing_projects",
    "pairing_sides",
    "scoped_agencies",
    "staff_days_target",
    "summary",
    "with_region",
    "workers_licensed_on",
]

# A pairing's dispatches, trainings and milestones count only when one of its two sides
# reported them (intake refuses others once it knows the pairing; this covers the rest).
_FROM_SIDES = (
    "agency_id IN (SELECT assisting_agency_id FROM {current_pairings} p WHERE pairing_id = $4"
    " UNION SELECT assisted_agency_id FROM {current_pairings} p WHERE pairing_id = $4)"
)

# Every query below takes: $1 the agencies in scope on the period's end (text[] or NULL for
# all), $2 start, $3 end, $4 pairing (or NULL), $5 project (or NULL), $6 the pairing's
# projects (or NULL), $7 the agencies in scope on every day of the period (or NULL), $8-$10
# the spans (agency, first day, last day) of those in scope on some days only
# (placement.py). PostgreSQL must know each parameter's type even where a query does not
# use it, hence this prefix. {name} is a relation of basis.py.
#
# A pairing's scope (SPEC 3.6) is its dispatches, trainings and milestones, the agencies it
# incubated (and their workers), the projects started under it and those projects'
# clients, visits (whoever made them) and activities; never its sides' other work.
_PARAMS = (
    "WITH params AS (SELECT $1::text[] AS agencies, $2::date AS start_on, $3::date AS end_on,"
    " $4::text AS pairing, $5::text AS project, $6::text[] AS projects, $7::text[] AS whole,"
    " $8::text[] AS span_agencies, $9::date[] AS span_from, $10::date[] AS span_to) "
)
_OF_PROJECTS = "($6::text[] IS NULL OR {col} = ANY($6::text[]))"
_IN_SCOPE = "($1::text[] IS NULL OR {col} = ANY($1::text[]))"


def _agency_filter(col: str = "agency_id") -> str:
    """In scope on the period's end (stock figures)."""
    return _IN_SCOPE.format(col=col)


def _on_the_day(agency: str, day: str) -> str:
    """In scope on `day` (flow facts): all the period, or on a span holding the day."""
    return (
        f"(($7::text[] IS NULL OR {agency} = ANY($7::text[]))"
        f" OR {agency} = ANY($8::text[]) AND EXISTS (SELECT 1 FROM"
        f" unnest($8::text[], $9::date[], $10::date[]) AS span(a, f, t)"
        f" WHERE span.a = {agency} AND {day} BETWEEN span.f AND span.t))"
    )


def _of_pairing(fact: str, day: str) -> str:
    """Where a pairing's training, dispatch or milestone (`fact`, joined to its pairing as
    `pp`) counts on `day` (docs/kpis.md): like the pairing's target, in a scope that held
    either of the pairing's two sides that day (once, however many it holds), when a side
    reported it; in a pairing scope, that pairing's. Until its pairing is known (or once
    that is retracted) it counts for the agency that reported it."""
    sides = "(pp.assisting_agency_id, pp.assisted_agency_id)"
    return f"""(CASE WHEN $4::text IS NOT NULL THEN {fact}.pairing_id = $4 AND {fact}.agency_id IN {sides}
  WHEN pp.pairing_id IS NULL THEN {_on_the_day(fact + ".agency_id", day)}
  ELSE {fact}.agency_id IN {sides} AND ({_on_the_day("pp.assisting_agency_id", day)}
                                        OR {_on_the_day("pp.assisted_agency_id", day)}) END)"""


def _with_pairing(relation: str, alias: str) -> str:
    return f"{relation} {alias} LEFT JOIN {{current_pairings}} pp ON pp.pairing_id = {alias}.pairing_id"


# The clause "the client was in the scope's project (or the pairing's projects) on the
# fact's day", by placeholder: `fill` writes it only for a scope with projects, as a plain
# EXISTS PostgreSQL turns into a join (under an OR it would run once per visit).
_IN_PROJECTS = {
    "visit_in_projects": ("v.client_agency", "v.client_id", "v.visited_on"),
    "slot_in_projects": ("s.client_agency", "s.client_id", "s.slot_on"),
}


def _client_of_projects(client_agency: str, client: str, day: str) -> str:
    return (
        "EXISTS (SELECT 1 FROM {client_periods} c"
        f" WHERE c.agency_id = {client_agency} AND c.client_id = {client}"
        f" AND {day} BETWEEN c.valid_from AND c.valid_to"
        " AND ($5::text IS NULL OR c.project_id = $5)"
        f" AND {_OF_PROJECTS.format(col='c.project_id')})"
    )


def fill(query: str, basis: Basis, by_projects: bool) -> str:
    """A summary query's text (or one built on its pieces, as explain's) for `basis`: its
    {relations}, and the project clauses when the scope has projects (`by_projects`)."""
    named = relations(basis)
    for key, (client_agency, client, day) in _IN_PROJECTS.items():
        clause = _client_of_projects(client_agency, client, day) if by_projects else "true"
        query = query.replace("{" + key + "}", clause)
    for name, relation in named.items():
        query = query.replace("{" + name + "}", relation)
    return query


_AGENCIES = f"""
SELECT count(*) FILTER (WHERE role = 'assisting') AS assisting,
       count(*) FILTER (WHERE role = 'assisted') AS assisted,
       count(*) FILTER (WHERE incubated_by IS NOT NULL
                          AND ($4::text IS NULL OR incubated_by = $4)
                          AND EXISTS (SELECT 1 FROM {{current_pairings}} p
                                      WHERE p.pairing_id = g.incubated_by
                                        AND p.starts_on <= $3)) AS incubated
FROM {{agency_periods}} g
WHERE {_agency_filter()} AND $3 BETWEEN valid_from AND valid_to AND registered_on <= $3
"""

# Active at some time in the period; an open period ("so far") is given its last day as
# its start by `summary`, so a pairing that ended long ago is not active "so far".
_PAIRINGS = f"""
SELECT count(*) AS active FROM {{current_pairings}} p
WHERE ({_agency_filter("assisting_agency_id")} OR {_agency_filter("assisted_agency_id")})
  AND ($4::text IS NULL OR pairing_id = $4) AND starts_on <= $3
  AND (ends_on IS NULL OR ends_on >= $2)
"""

_WORKERS = f"""
SELECT count(*) AS total, count(*) FILTER (WHERE licensed) AS licensed
FROM {{worker_licences}} w
WHERE {_agency_filter("worker_agency")} AND first_on <= $3
  AND ($4::text IS NULL OR worker_agency IN (SELECT agency_id FROM {{current_agencies}} g
                                             WHERE incubated_by = $4))
"""

_CLIENTS = f"""
SELECT count(*) AS registered, count(*) FILTER (WHERE in_difficulty) AS in_difficulty
FROM {{client_periods}} c
WHERE {_agency_filter()} AND $3 BETWEEN valid_from AND valid_to AND first_on <= $3
  AND ($5::text IS NULL OR project_id = $5) AND {_OF_PROJECTS.format(col="project_id")}
"""

# A client is (client's agency, client_id): a visit by another agency's worker to a client
# is that client's, never a second one.
_VISITS_IN_SCOPE = f"""
FROM {{visits}} v
WHERE {_on_the_day("v.agency_id", "v.visited_on")} AND visited_on BETWEEN $2 AND $3
  AND {{visit_in_projects}}
"""
# The period's visits are read once (a period's visits are spread over the whole table, so
# each read costs its heap blocks again) and counted three ways. Distinct clients by
# hashing (agency, client) per service first: a count(DISTINCT) over a row value sorts
# every visit once per group, several times slower at a million visits.
_VISITS = f"""
SELECT * FROM (
WITH v AS MATERIALIZED (SELECT service, client_agency, client_id, duration_min
                        {_VISITS_IN_SCOPE}),
per AS (SELECT service, count(*) AS visits, sum(duration_min) AS minutes FROM v
        GROUP BY service),
served AS (SELECT service, count(*) AS clients
           FROM (SELECT DISTINCT service, client_agency, client_id FROM v) x GROUP BY service)
SELECT per.service, per.visits, per.minutes, served.clients,
       (SELECT count(*) FROM (SELECT DISTINCT client_agency, client_id FROM v) x) AS anyone
FROM per JOIN served USING (service)) q
"""

# The same from the rollups, for a live scope with no start date, no project and no agency
# that changed region ("so far").
_WHOLE = "($7::text[] IS NULL OR agency_id = ANY($7::text[]))"
_TOTALS = f"""
SELECT service, sum(visits) AS visits, sum(minutes) AS minutes, max(last_on) AS last_on
FROM visit_totals WHERE {_WHOLE} GROUP BY service
"""
_FIRST_VISITS = f"""
SELECT service, count(*) AS clients
FROM (SELECT DISTINCT service, client_agency, client_id FROM client_first_visit
      WHERE {_WHOLE} AND first_on <= $3) x GROUP BY service
"""
_FIRST_VISITS_ANY = f"""
SELECT count(*) AS clients
FROM (SELECT DISTINCT client_agency, client_id FROM client_first_visit
      WHERE {_WHOLE} AND first_on <= $3) x
"""

# The same from the period rollups (migration 020), for a live scope without project or
# pairing whose agencies were in scope on every day of the period, whatever the period:
# counts summed over its whole months and the days of the months it holds in part ($11-$12
# its whole months, $13 the last day before them, $14 the first after: rollups.month_split);
# distinct clients from the bitmaps of its years ($11-$12 its first and last year, $13-$14
# its days in those: rollups.year_masks), each client once however many agencies saw it.
_VISIT_DAYS = f"""
SELECT service, sum(visits)::bigint AS visits, sum(minutes)::bigint AS minutes FROM (
  SELECT service, visits, minutes FROM visit_months
  WHERE {_WHOLE} AND month BETWEEN $11::date AND $12::date
  UNION ALL
  SELECT service, visits, minutes FROM visit_days
  WHERE {_WHOLE} AND (day BETWEEN $2 AND $13::date OR day BETWEEN $14::date AND $3)) x
GROUP BY service HAVING sum(visits) > 0
"""
_MET = f"bit({rollups.BITS})"
_SERVED = [
    (f"substring(met FROM {i * rollups.DAYS_IN_A_YEAR + 1} FOR {rollups.DAYS_IN_A_YEAR})"
     f" <> 0::bit({rollups.DAYS_IN_A_YEAR})", service)
    for i, service in enumerate(rollups.SERVICES_IN_BITMAPS)
]  # fmt: skip
# Each row's days met once (OFFSET 0 keeps the subquery: inlined, the CASE would run once
# per test), then per client what it was served (small booleans to group, not bitmaps).
_CLIENT_YEARS = f"""
SELECT * FROM (
WITH c AS (
  SELECT bool_or(met <> 0::{_MET}) AS anyone,
         {", ".join(f'bool_or({test}) AS "{service}"' for test, service in _SERVED)}
  FROM (SELECT client_agency, client_id,
               CASE WHEN year = $11::int THEN days & $13::text::{_MET}
                    WHEN year = $12::int THEN days & $14::text::{_MET} ELSE days END AS met
        FROM client_visit_years WHERE {_WHOLE} AND year BETWEEN $11::int AND $12::int
        OFFSET 0) r
  GROUP BY client_agency, client_id)
SELECT count(*) FILTER (WHERE anyone) AS anyone,
       {", ".join(f'count(*) FILTER (WHERE "{service}") AS "{service}"' for _, service in _SERVED)}
FROM c) q
"""

_ACTIVITIES = f"""
SELECT kind, count(*) AS held, sum(attendees) AS attendance FROM {{activities}} a
WHERE {_on_the_day("agency_id", "held_on")} AND held_on BETWEEN $2 AND $3
  AND ($5::text IS NULL OR project_id = $5) AND {_OF_PROJECTS.format(col="project_id")}
GROUP BY kind
"""

_TRAININGS = f"""
SELECT t.kind, count(*) AS held, sum(t.attendances) AS attendances, sum(t.hours) AS hours
FROM {_with_pairing("{trainings}", "t")}
WHERE {_of_pairing("t", "t.held_on")} AND t.held_on BETWEEN $2 AND $3
GROUP BY t.kind
"""

# Each (pairing, worker, day) once, however dispatches overlap (SPEC 3.6).
_STAFF_DAYS = f"""
SELECT count(*) AS days FROM (
  SELECT DISTINCT d.pairing_id, d.worker_id, day
  FROM {_with_pairing("{dispatches}", "d")},
       generate_series(greatest(d.from_date, $2), least(d.to_date, $3), interval '1 day') AS day
  WHERE {_of_pairing("d", "day::date")} AND d.from_date <= $3 AND d.to_date >= $2) x
"""


# The same, live, from the days the consumer keeps (day_totals.py): per (pairing, day,
# reporting agencies) the workers covered, counted where `_of_pairing` places them: a side
# among the reporters (a pairing's), or while the pairing is unknown, a reporter in scope
# that day. Where no agency is in scope on some days only, where they count does not
# depend on the day: the period's days are added up per (pairing, reporters) first, so the
# placement is decided once per group, not once per day.
def _staff_day_counts(per_day: bool) -> str:
    source = "(SELECT pairing_id, reporters, day, workers"
    if not per_day:
        source = "(SELECT pairing_id, reporters, $3::date AS day, sum(workers) AS workers"
    source += " FROM staff_day_counts WHERE day BETWEEN $2 AND $3"
    source += ")" if per_day else " GROUP BY pairing_id, reporters)"
    return f"""
SELECT coalesce(sum(s.workers), 0) AS days
FROM {source} s LEFT JOIN {{current_pairings}} pp ON pp.pairing_id = s.pairing_id
WHERE CASE
  WHEN $4::text IS NOT NULL THEN s.pairing_id = $4
       AND s.reporters && ARRAY[pp.assisting_agency_id, pp.assisted_agency_id]
  WHEN pp.pairing_id IS NULL THEN EXISTS (SELECT 1 FROM unnest(s.reporters) AS r(agency_id)
                                          WHERE {_on_the_day("r.agency_id", "s.day")})
  ELSE s.reporters && ARRAY[pp.assisting_agency_id, pp.assisted_agency_id]
       AND ({_on_the_day("pp.assisting_agency_id", "s.day")}
            OR {_on_the_day("pp.assisted_agency_id", "s.day")}) END
"""


_STAFF_DAY_COUNTS = {per_day: _staff_day_counts(per_day) for per_day in (False, True)}

# The pairings whose staff-days target the period shares (shared/programme.py prorates).
_PAIRING_TARGETS = f"""
SELECT starts_on, ends_on, staff_days_per_year FROM {{current_pairings}} p
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
SELECT m.pairing_id, m.milestone, m.reached_on FROM {_with_pairing("{milestones}", "m")}
WHERE {_of_pairing("m", "m.reached_on")} AND m.reached_on BETWEEN $2 AND $3
ORDER BY m.reached_on, m.pairing_id, m.milestone
"""

_SLOTS = f"""
SELECT count(DISTINCT slot_id) FILTER (WHERE kind = 'scheduled') AS scheduled,
       count(DISTINCT slot_id) FILTER (WHERE kind = 'overdue') AS overdue
FROM {{slots}} s
WHERE {_on_the_day("client_agency", "slot_on")} AND slot_on BETWEEN $2 AND $3
  AND {{slot_in_projects}}
"""


async def summary(conn: asyncpg.Connection, scope: Scope) -> dict[str, Any]:
    """Every KPI of the registry (services/reporting/kpis.py, SPEC 3.5) for `scope`."""
    start, end = scope.bounds()
    placed = await place(conn, scope)
    basis = scope.basis
    projects = await pairing_projects(conn, scope.pairing, basis) if scope.pairing else None
    spans = placed.partial
    args = (
        placed.stock, start, end, scope.pairing, scope.project, projects, placed.whole,
        [s[0] for s in spans], [s[1] for s in spans], [s[2] for s in spans],
    )  # fmt: skip
    by_projects = scope.project is not None or projects is not None

    async def fetch(query: str, given: tuple[Any, ...] = args) -> list[asyncpg.Record]:
        text = _PARAMS + fill(query, basis, by_projects) + " "
        rows: list[asyncpg.Record] = await conn.fetch(text, *given)
        return rows

    ag = (await fetch(_AGENCIES))[0]
    workers = (await fetch(_WORKERS))[0]
    clients = (await fetch(_CLIENTS))[0]
    by_service, served, minutes = await _visits(fetch, scope, placed, end)
    activities = await _totalled(fetch, scope, placed, end, "activity_facts", _ACTIVITIES)
    trainings = await _totalled(fetch, scope, placed, end, "training_facts", _TRAININGS)
    # As of a moment the days are those of the facts recorded by then: only the facts say.
    staff_days = await fetch(
        _STAFF_DAYS if scope.as_of else _STAFF_DAY_COUNTS[bool(placed.partial)]
    )
    slots = (await fetch(_SLOTS))[0]
    watermark = await conn.fetchval("SELECT recorded_at FROM watermark")
    if watermark is not None and scope.as_of is not None:
        watermark = min(watermark, scope.as_of)  # never ahead of what is applied
    total, licensed = workers["total"], workers["licensed"]
    figures: dict[str, Any] = {
        "agencies": {
            "assisting": ag["assisting"],
            "assisted": ag["assisted"],
            "incubated": ag["incubated"],
        },
        "pairings_active": (
            await fetch(_PAIRINGS, args if scope.start else (args[0], end, *args[2:]))
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
        "as_of": watermark.isoformat() if watermark else None,
    }
    for kpi in kpis.PLAIN:
        assert kpi.sql is not None
        figures[kpi.name] = int((await fetch(kpi.sql))[0][0] or 0)
    # In the registry's order; a KPI declared without a figure fails here, not in an export.
    return {kpi.name: figures[kpi.name] for kpi in kpis.KPIS}


# The same from the days and months the consumer keeps (day_totals.py), for live scopes
# whose agencies were in scope on every day: a period's whole months, [_MONTHS_FROM,
# _MONTHS_TO), from fact_months, its other days from fact_days.
_MONTHS_FROM = "(date_trunc('month', $2::date - 1) + interval '1 month')::date"
_MONTHS_TO = "date_trunc('month', $3::date + 1)::date"


def _by_day(fact: str, columns: str) -> str:
    """The period's figures per group (`columns`: the group, then n, a, b), added up first:
    every agency is in scope on every day here, so the placement is decided per group."""
    group = ", ".join(c for c in columns.split(", ") if c not in ("n", "a", "b"))
    sums = ", ".join(f"sum({c}) AS {c}" for c in columns.split(", ") if c in ("n", "a", "b"))
    return f"""(SELECT {group}, {sums}, $3::date AS day FROM (
  SELECT {columns} FROM fact_months
  WHERE fact = '{fact}' AND month >= {_MONTHS_FROM} AND month < {_MONTHS_TO}
  UNION ALL
  SELECT {columns} FROM fact_days WHERE fact = '{fact}' AND day BETWEEN $2 AND $3
    AND NOT (day >= {_MONTHS_FROM} AND day < {_MONTHS_TO})) x GROUP BY {group})"""


_DAY_TOTALS = {
    "activity_facts": f"""
SELECT kind, sum(n)::bigint AS held, sum(a) AS attendance
FROM {_by_day("activity_facts", "agency_id, kind, n, a")} a
WHERE {_WHOLE} GROUP BY kind HAVING sum(n) > 0
""",
    "training_facts": f"""
SELECT t.kind, sum(t.n)::bigint AS held, sum(t.a) AS attendances, sum(t.b) AS hours
FROM {_with_pairing(_by_day("training_facts", "agency_id, pairing_id, kind, n, a, b"), "t")}
WHERE {_of_pairing("t", "t.day")} GROUP BY t.kind HAVING sum(t.n) > 0
""",
}

# The same from fact_totals, for a scope with no start date ("so far"); the names of the
# columns match the queries above.
_FACT_TOTALS = {
    "activity_facts": "SELECT key AS kind, sum(n)::bigint AS held, sum(a) AS attendance,",
    "training_facts": (
        "SELECT key AS kind, sum(n)::bigint AS held, sum(a) AS attendances, sum(b) AS hours,"
    ),
}


def _rollups_answer(scope: Scope, placed: Placed) -> bool:
    """The rollups (all-time totals per agency) answer live "so far" scopes whose agencies
    were in scope on every day; an agency that moved in or out of the region needs the
    facts, day by day."""
    return scope.as_of is None and scope.start is None and not placed.partial


async def _totalled(
    fetch: Any, scope: Scope, placed: Placed, end: date, fact: str, facts_query: str
) -> list[Any]:
    """Rows of `facts_query`, from the totals when they answer the scope exactly."""
    # A pairing's trainings count by its sides' regions, which totals by sender cannot say.
    by_pairing = fact != "activity_facts"
    by_project = fact == "activity_facts" and (scope.project or scope.pairing) is not None
    if _rollups_answer(scope, placed) and not by_pairing and not by_project:
        rows = await fetch(
            f"{_FACT_TOTALS[fact]} max(last_on) AS last_on FROM fact_totals"
            f" WHERE fact = '{fact}' AND {_WHOLE} GROUP BY key"
        )
        if all(r["last_on"] is None or r["last_on"] <= end for r in rows):
            return [r for r in rows if r["held"]]  # kinds whose every fact was retracted drop out
    # Days and months cannot say which project an activity's client was in, nor whether a
    # day fell in an agency's span; as of a moment only the facts recorded by then say.
    if scope.as_of is None and not placed.partial and not by_project:
        return list(await fetch(_DAY_TOTALS[fact]))
    return list(await fetch(facts_query))


async def _visits(
    fetch: Any, scope: Scope, placed: Placed, end: date
) -> tuple[dict[str, dict[str, int]], int, int]:
    """Visits and clients served per service, clients served, visit minutes."""
    by_service: dict[str, dict[str, int]] = {}
    if _rollups_answer(scope, placed) and scope.project is None and scope.pairing is None:
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
    if (
        scope.as_of is None
        and not placed.partial
        and scope.project is None
        and scope.pairing is None
    ):
        return await _visits_by_day(fetch, placed, scope.bounds()[0], end)
    # The facts answer the rest: as_of (the rollups hold only what counts now), a project or
    # a pairing (a visit counts by its client's project on the day, which the rollups do not
    # keep) and agencies in scope on some days only (spans cut days out of an agency's rows).
    rows = await fetch(_VISITS)
    for r in rows:
        by_service[r["service"]] = {
            "visits": r["visits"],
            "minutes": int(r["minutes"]),
            "clients": r["clients"],
        }
    served = int(rows[0]["anyone"]) if rows else 0
    return by_service, served, sum(v.get("minutes", 0) for v in by_service.values())


async def _visits_by_day(
    fetch: Any, placed: Placed, start: date, end: date
) -> tuple[dict[str, dict[str, int]], int, int]:
    """`_visits` from the period rollups (migration 020), for a scope with no pairing, no
    project and no partial span: `summary`'s arguments, then the period split by months
    (counts) or by years (clients)."""
    by_service: dict[str, dict[str, int]] = {}
    if start > end:
        return by_service, 0, 0
    given: tuple[Any, ...] = (placed.stock, start, end, None, None, None, placed.whole)
    given += ([], [], [])
    for r in await fetch(_VISIT_DAYS, (*given, *rollups.month_split(start, end))):
        by_service[r["service"]] = {"visits": int(r["visits"]), "minutes": int(r["minutes"])}
    clients = (await fetch(_CLIENT_YEARS, (*given, *rollups.year_masks(start, end))))[0]
    for service in by_service:
        by_service[service]["clients"] = clients[service]
    served = int(clients["anyone"])
    return by_service, served, sum(v["minutes"] for v in by_service.values())


def _kind(row: asyncpg.Record) -> str:
    return str(row["kind"])


def with_region(scope: Scope, region: str) -> Scope:
    return replace(scope, region=region)


async def workers_licensed_on(
    conn: asyncpg.Connection, agencies: list[str], day: date, basis: Basis = Basis()
) -> tuple[int, int]:
    """The workers of `agencies` registered by `day` and, of them, those holding a licence
    on `day` (SPEC 3.6 "Time": the licence as it stood then, revocations included): the
    licence rate of a pairing's report, at its start and now."""
    row = await conn.fetchrow(
        "WITH params AS (SELECT $1::text[] AS agencies, $2::date AS unused, $3::date AS day)"
        " SELECT count(*) AS total, count(*) FILTER (WHERE licensed) AS licensed"
        f" FROM {relations(basis)['worker_licences']} w"
        " WHERE worker_agency = ANY($1::text[]) AND first_on <= $3",
        agencies,
        day,
        day,
    )
    assert row is not None
    return int(row["total"]), int(row["licensed"])
