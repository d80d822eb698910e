"""Reporting's database settings: its sessions read without JIT compilation (migration
017), which cost a period summary about a second per statement whose estimate passed
jit_above_cost, for work of tens of milliseconds, and plan each statement for its own
parameters (migration 023): a generic plan chosen from the scopes asked first made a
project's summary four times slower from its sixth execution (docs/performance.md)."""

from __future__ import annotations

import uuid

import asyncpg

from services.reporting.app import MIGRATIONS, SHARED_TABLES
from shared.db import open_pool
from shared.settings import with_database


async def test_reporting_sessions_run_without_jit(pg_url: str) -> None:
    url = with_database(pg_url, f"t{uuid.uuid4().hex[:10]}_reporting")
    pool = await open_pool(url, MIGRATIONS, SHARED_TABLES)
    try:
        async with pool.acquire() as conn:
            assert await conn.fetchval("SHOW jit") == "off"
            assert await conn.fetchval("SHOW plan_cache_mode") == "force_custom_plan"
        # And every later session, as a restarted service's pool or the rebuild's.
        conn = await asyncpg.connect(url)
        try:
            assert await conn.fetchval("SHOW jit") == "off"
            assert await conn.fetchval("SHOW plan_cache_mode") == "force_custom_plan"
        finally:
            await conn.close()
    finally:
        await pool.close()
