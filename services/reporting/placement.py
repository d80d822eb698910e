"""Which agencies a summary covers, and on which days (SPEC 3.6 "Time").

A scope names a region, an agency, a pairing, a project (their intersection). All but the
region name the same agencies whatever the day. A region does not: an agency that moved
counts in its old region for the days before the move's registration and in its new one
from then on. So a scope resolves to
- `stock`: the agencies in scope as they stood on the period's end (for agencies,
  workers, clients, pairings: stock figures count what stood then);
- `whole`: the agencies in scope on every day of the period (for flow facts: visits,
  activities, trainings, dispatches, milestones, slots);
- `partial`: (agency, first day, last day) spans of agencies in scope on some days of the
  period only: a flow fact of theirs counts when its day falls in one of their spans.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import asyncpg

from services.reporting.basis import Basis, agency_periods, relations
from shared.clock import SystemClock, today_in_china

FAR_PAST = date(1900, 1, 1)


@dataclass(frozen=True)
class Scope:
    """What a report covers, over which days, as of when (None: everything applied)."""

    region: str | None = None
    agency: str | None = None
    pairing: str | None = None
    project: str | None = None
    start: date | None = None
    end: date | None = None
    today: date | None = None  # an open end runs to this day (reporting's clock)
    as_of: datetime | None = None  # SPEC 3.7: as intake had recorded events up to then
    # Only agencies at `region` itself, not below it: a region breakdown's line for the
    # agencies at a county's own code (else the total minus the lines would show them).
    region_exact: bool = False

    def bounds(self) -> tuple[date, date]:
        return self.start or FAR_PAST, self.end or self.today or today_in_china(SystemClock())

    @property
    def basis(self) -> Basis:
        return Basis(self.as_of)


@dataclass(frozen=True)
class Placed:
    stock: list[str] | None  # None: every agency
    whole: list[str] | None
    partial: list[tuple[str, date, date]] = field(default_factory=list)


async def pairing_members(
    conn: asyncpg.Connection, pairing_id: str, basis: Basis = Basis()
) -> set[str]:
    """The assisting and assisted agencies and the agencies the pairing incubated (only a
    pairing that exists incubates: retracting it leaves none)."""
    r = relations(basis)
    rows = await conn.fetch(
        f"SELECT assisting_agency_id AS a FROM {r['current_pairings']} p WHERE pairing_id = $1"
        f" UNION SELECT assisted_agency_id FROM {r['current_pairings']} p WHERE pairing_id = $1"
        f" UNION SELECT agency_id FROM {r['current_agencies']} g WHERE incubated_by = $1"
        f" AND EXISTS (SELECT 1 FROM {r['current_pairings']} p WHERE pairing_id = $1)",
        pairing_id,
    )
    return {r["a"] for r in rows}


async def pairing_sides(
    conn: asyncpg.Connection, pairing_id: str, basis: Basis = Basis()
) -> set[str]:
    """The assisting and the assisted agency: the agencies that read the pairing's scope."""
    row = await conn.fetchrow(
        "SELECT assisting_agency_id, assisted_agency_id"
        f" FROM {relations(basis)['current_pairings']} p WHERE pairing_id = $1",
        pairing_id,
    )
    return set(row.values()) if row else set()


async def pairing_projects(
    conn: asyncpg.Connection, pairing_id: str, basis: Basis = Basis()
) -> list[str]:
    """The projects started under the pairing by one of its members."""
    members = sorted(await pairing_members(conn, pairing_id, basis))
    rows = await conn.fetch(
        f"SELECT project_id FROM {relations(basis)['current_projects']} p WHERE pairing_id = $1"
        " AND agency_id = ANY($2::text[])",
        pairing_id,
        members,
    )
    return [r["project_id"] for r in rows]


async def named_agencies(conn: asyncpg.Connection, scope: Scope) -> set[str] | None:
    """The agencies the scope names apart from its region, or None for all."""
    chosen: set[str] | None = None
    basis = scope.basis
    if scope.agency:
        chosen = {scope.agency}
    if scope.pairing:
        members = await pairing_members(conn, scope.pairing, basis)
        chosen = members if chosen is None else chosen & members
    if scope.project:
        owner = await conn.fetchval(
            f"SELECT agency_id FROM {relations(basis)['current_projects']} p WHERE project_id = $1",
            scope.project,
        )
        found = {owner} if owner else set()
        chosen = found if chosen is None else chosen & found
    return chosen


async def place(conn: asyncpg.Connection, scope: Scope) -> Placed:
    """The scope's agencies at the period's end and over its days (see the module doc)."""
    named = await named_agencies(conn, scope)
    if not scope.region and named is not None:
        agencies = sorted(named)
        return Placed(agencies, agencies)
    # A scope naming nothing is the nation: every region, so an agency without a
    # registration (never registered, or retracted) counts in it no more than in any region
    # (SPEC 3.6 "Unregistered agencies"), and the provinces add up to the nation.
    region = scope.region or ""
    start, end = scope.bounds()
    rows = await conn.fetch(
        "SELECT agency_id, inside, valid_from, valid_to FROM ("
        " SELECT agency_id, valid_from, valid_to, region_code LIKE $1 AS inside,"
        " bool_or(region_code LIKE $1) OVER (PARTITION BY agency_id) AS ever"
        f" FROM {agency_periods(scope.basis)} p) x WHERE ever",
        region if scope.region_exact else region + "%",
    )
    spans: dict[str, list[tuple[bool, date, date]]] = {}
    for r in rows:
        if named is None or r["agency_id"] in named:
            first, last = max(r["valid_from"], start), min(r["valid_to"], end)
            if first <= last:
                spans.setdefault(r["agency_id"], []).append((r["inside"], first, last))
    stock = sorted(
        a for a, found in spans.items() if any(inside and last == end for inside, _, last in found)
    )
    whole = sorted(a for a, found in spans.items() if all(inside for inside, _, _ in found))
    partial = [
        (a, first, last)
        for a, found in sorted(spans.items())
        if a not in whole
        for inside, first, last in found
        if inside
    ]
    return Placed(stock, whole, partial)


async def scoped_agencies(conn: asyncpg.Connection, scope: Scope) -> list[str] | None:
    """The agencies a scope covers as they stood on its end, or None when it covers all."""
    return (await place(conn, scope)).stock
