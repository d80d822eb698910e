"""One pairing's targets against its actuals: staff-days per programme year, agencies
incubated, projects undertaken, milestones, and the assisted side's licence rate."""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg

from services.reporting.basis import Basis, relations
from services.reporting.summary import workers_licensed_on
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


async def pairing_report(
    conn: asyncpg.Connection, pairing_id: str, today: date, basis: Basis = Basis()
) -> dict[str, Any] | None:
    """The pairing's figures as they stand on `today` (a China date), or None if unknown.
    An ended pairing's figures stop at its `ends_on`: what its agencies do afterwards is
    no longer the pairing's work. `basis`: as of a moment (SPEC 3.7), else live."""
    r = relations(basis)
    pairing = await conn.fetchrow(
        f"SELECT * FROM {r['current_pairings']} p WHERE pairing_id = $1", pairing_id
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
            f"SELECT count(DISTINCT (worker_id, day)) FROM {r['dispatches']} d,"
            " generate_series(greatest(from_date, $2), least(to_date, $3), interval '1 day') day"
            " WHERE pairing_id = $1 AND agency_id = ANY($4)"
            " AND from_date <= $3 AND to_date >= $2",
            pairing_id,
            first,
            last,
            sides,
        )
        years.append(year_line(year, int(days)))
    incubated = await conn.fetch(
        f"SELECT agency_id, registered_on FROM {r['current_agencies']} g WHERE incubated_by = $1"
        " AND registered_on <= $2 ORDER BY registered_on",
        pairing_id,
        today,
    )
    projects = await conn.fetch(
        f"SELECT project_id, agency_id, starts_on FROM {r['current_projects']} j"
        " WHERE pairing_id = $1"
        " AND starts_on <= $2 ORDER BY starts_on",
        pairing_id,
        today,
    )
    milestones = await conn.fetch(
        f"SELECT milestone, reached_on FROM {r['milestones']} m"
        " WHERE pairing_id = $1 AND agency_id = ANY($2) AND reached_on <= $3 ORDER BY reached_on",
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
            "at_start": await _licence_rate(conn, assisted, pairing["starts_on"], basis),
            "now": await _licence_rate(conn, assisted, today, basis),
        },
    }


async def _licence_rate(
    conn: asyncpg.Connection, agencies: list[str], as_of: date, basis: Basis
) -> dict[str, Any]:
    """Licences as they stood on `as_of` (summary.workers_licensed_on, SPEC 3.6 "Time")."""
    total, licensed = await workers_licensed_on(conn, agencies, as_of, basis)
    return {
        "as_of": as_of.isoformat(),
        "workers": total,
        "licensed": licensed,
        "rate": round(licensed / total, 4) if total else None,
    }
