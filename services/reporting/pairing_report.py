"""One pairing's targets against its actuals: staff-days per programme year, agencies
incubated, projects undertaken, milestones, and the assisted side's licence rate."""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg

from shared.programme import ProgrammeYear, programme_years


def year_line(year: ProgrammeYear, staff_days: int) -> dict[str, Any]:
    """One programme year of the report: its span, staff-days against its target."""
    return {
        "from": year.first.isoformat(),
        "to": year.last.isoformat(),
        "staff_days": staff_days,
        "target": year.target,
        "met": staff_days >= year.target,
    }


_LICENSED_AS_OF = """
SELECT count(*) AS total,
       count(*) FILTER (WHERE licence <> 'none' OR EXISTS (
           SELECT 1 FROM certification_facts c
           WHERE c.agency_id = w.agency_id AND c.worker_id = w.worker_id
             AND NOT c.retracted AND c.licence <> 'none' AND c.obtained_on <= $2)) AS licensed
FROM current_workers w WHERE agency_id = ANY($1::text[]) AND registered_on <= $2
"""


async def pairing_report(
    conn: asyncpg.Connection, pairing_id: str, today: date
) -> dict[str, Any] | None:
    """The pairing's figures as they stand on `today` (a China date), or None if unknown.
    An ended pairing's figures stop at its `ends_on`: what its agencies do afterwards is
    no longer the pairing's work."""
    pairing = await conn.fetchrow(
        "SELECT * FROM current_pairings WHERE pairing_id = $1", pairing_id
    )
    if pairing is None:
        return None
    if pairing["ends_on"] is not None:
        today = min(today, pairing["ends_on"])
    sides = [pairing["assisting_agency_id"], pairing["assisted_agency_id"]]
    years = []
    for year in programme_years(
        pairing["starts_on"], pairing["ends_on"], today, pairing["staff_days_per_year"]
    ):
        first, last = year.first, year.last
        days = await conn.fetchval(
            "SELECT count(DISTINCT (worker_id, day)) FROM dispatch_facts,"
            " generate_series(greatest(from_date, $2), least(to_date, $3), interval '1 day') day"
            " WHERE NOT superseded AND pairing_id = $1 AND agency_id = ANY($4)"
            " AND from_date <= $3 AND to_date >= $2",
            pairing_id,
            first,
            last,
            sides,
        )
        years.append(year_line(year, int(days)))
    incubated = await conn.fetch(
        "SELECT agency_id, registered_on FROM current_agencies WHERE incubated_by = $1"
        " AND registered_on <= $2 ORDER BY registered_on",
        pairing_id,
        today,
    )
    projects = await conn.fetch(
        "SELECT project_id, agency_id, starts_on FROM current_projects WHERE pairing_id = $1"
        " AND starts_on <= $2 ORDER BY starts_on",
        pairing_id,
        today,
    )
    milestones = await conn.fetch(
        "SELECT milestone, reached_on FROM milestone_facts WHERE NOT superseded"
        " AND pairing_id = $1 AND agency_id = ANY($2) AND reached_on <= $3 ORDER BY reached_on",
        pairing_id,
        sides,
        today,
    )
    assisted = [pairing["assisted_agency_id"], *(r["agency_id"] for r in incubated)]
    return {
        "pairing_id": pairing_id,
        "assisting_agency_id": pairing["assisting_agency_id"],
        "assisted_agency_id": pairing["assisted_agency_id"],
        "starts_on": pairing["starts_on"].isoformat(),
        "ends_on": pairing["ends_on"].isoformat() if pairing["ends_on"] else None,
        "staff_days_by_programme_year": years,
        "agencies_incubated": {
            "target": pairing["agencies_to_incubate"],
            "actual": len(incubated),
            "agencies": [
                {"agency_id": r["agency_id"], "registered_on": r["registered_on"].isoformat()}
                for r in incubated
            ],
        },
        "projects_undertaken": {
            "target": pairing["projects_to_undertake"],
            "actual": len(projects),
            "projects": [
                {
                    "project_id": r["project_id"],
                    "agency_id": r["agency_id"],
                    "starts_on": r["starts_on"].isoformat(),
                }
                for r in projects
            ],
        },
        "milestones": [
            {"milestone": r["milestone"], "reached_on": r["reached_on"].isoformat()}
            for r in milestones
        ],
        "assisted_licence_rate": {
            "at_start": await _licence_rate(conn, assisted, pairing["starts_on"]),
            "now": await _licence_rate(conn, assisted, today),
        },
    }


async def _licence_rate(
    conn: asyncpg.Connection, agencies: list[str], as_of: date
) -> dict[str, Any]:
    row = await conn.fetchrow(_LICENSED_AS_OF, agencies, as_of)
    total, licensed = row["total"], row["licensed"]
    return {
        "as_of": as_of.isoformat(),
        "workers": total,
        "licensed": licensed,
        "rate": round(licensed / total, 4) if total else None,
    }
