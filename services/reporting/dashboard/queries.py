"""The two look-ups the dashboard needs beside the summaries: which agencies a county
holds (the drill-down's last level) and which pairings a scope's agencies are sides of.
Both run only on a scope that reporting's access rules already authorized."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.reporting.summary import Scope, scoped_agencies


async def agencies_in(pool: asyncpg.Pool, region: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT agency_id, region_code, role FROM current_agencies"
        " WHERE region_code LIKE $1 ORDER BY agency_id",
        region + "%",
    )
    return [dict(r) for r in rows]


async def agency_region(pool: asyncpg.Pool, agency_id: str) -> str | None:
    value = await pool.fetchval(
        "SELECT region_code FROM current_agencies WHERE agency_id = $1", agency_id
    )
    return str(value) if value else None


async def pairings_of(pool: asyncpg.Pool, scope: Scope) -> list[dict[str, Any]]:
    """Pairings with a side among the scope's agencies (all pairings for an open scope)."""
    async with pool.acquire() as conn:
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
