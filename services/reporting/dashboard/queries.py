"""The look-ups the dashboard needs beside the summaries: which agencies a county held over
a period (the drill-down's last level), agencies' registered names, and which pairings a
scope's agencies are sides of. They run only on a scope that reporting's access rules
already authorized."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

import asyncpg

from services.reporting.basis import Basis, agency_periods
from services.reporting.snapshot import snapshot
from services.reporting.summary import Scope, scoped_agencies


async def agencies_in(pool: asyncpg.Pool, scope: Scope) -> list[str]:
    """The agencies in the scope's region on some day of its period, as placement.py
    places them: one that has since left still has its days here, one that arrived counts
    only from its move, so the agencies' lines add up to the region's figures."""
    start, end = scope.bounds()
    async with pool.acquire() as conn, snapshot(conn):  # several tables: snapshot.py
        rows = await conn.fetch(
            "SELECT DISTINCT agency_id"
            f" FROM {agency_periods(scope.basis)} p"
            " WHERE region_code LIKE $1 AND valid_from <= $3 AND valid_to >= $2"
            " ORDER BY agency_id",
            (scope.region or "") + "%",
            start,
            end,
        )
    return [str(r["agency_id"]) for r in rows]


async def agency_names(
    pool: asyncpg.Pool, agency_ids: Iterable[str], on: date, basis: Basis = Basis()
) -> dict[str, str]:
    """Each agency's registered name by the registration in force on `on` (its first
    registration's, before that day); agencies without a known name are left out, and
    pages show their id instead."""
    async with pool.acquire() as conn, snapshot(conn):  # several tables: snapshot.py
        rows = await conn.fetch(
            "SELECT DISTINCT ON (p.agency_id) p.agency_id, f.name"
            f" FROM {agency_periods(basis)} p"
            " JOIN agency_facts f ON f.agency_id = p.event_agency AND f.event_id = p.event_id"
            " WHERE p.agency_id = ANY($1::text[]) AND p.valid_from <= $2 AND f.name IS NOT NULL"
            " ORDER BY p.agency_id, p.valid_from DESC",
            sorted(set(agency_ids)),
            on,
        )
    return {str(r["agency_id"]): str(r["name"]) for r in rows}


async def agency_region(pool: asyncpg.Pool, agency_id: str) -> str | None:
    value = await pool.fetchval(
        "SELECT region_code FROM current_agencies WHERE agency_id = $1", agency_id
    )
    return str(value) if value else None


async def pairings_of(pool: asyncpg.Pool, scope: Scope) -> list[dict[str, Any]]:
    """Pairings with a side among the scope's agencies (all pairings for an open scope)."""
    async with pool.acquire() as conn, snapshot(conn):  # several tables: snapshot.py
        agencies = await scoped_agencies(conn, scope)
        rows = await conn.fetch(
            "SELECT pairing_id, assisting_agency_id, assisted_agency_id, starts_on, ends_on"
            " FROM current_pairings WHERE $1::text[] IS NULL"
            " OR assisting_agency_id = ANY($1::text[]) OR assisted_agency_id = ANY($1::text[])"
            " ORDER BY starts_on, pairing_id",
            agencies,
        )
    return [dict(r) for r in rows]


async def as_of(pool: asyncpg.Pool) -> str | None:
    """When intake recorded the newest event reporting has applied (the summaries' as_of):
    figures computed at the same watermark are the same figures."""
    value = await pool.fetchval("SELECT recorded_at FROM watermark")
    return value.isoformat() if value else None
