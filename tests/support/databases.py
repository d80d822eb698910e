"""A fresh reporting database on a test's PostgreSQL, every migration applied."""

from __future__ import annotations

import asyncio
import uuid

from services.reporting.app import MIGRATIONS, SHARED_TABLES
from shared.db import open_pool
from shared.settings import with_database


def fresh_reporting_database(pg_url: str) -> str:
    """Its URL, for a test or a module that drives reporting's projections directly."""
    url = with_database(pg_url, f"t{uuid.uuid4().hex[:10]}_reporting")

    async def create() -> None:
        pool = await open_pool(url, MIGRATIONS, SHARED_TABLES)
        await pool.close()

    asyncio.run(create())
    return url
