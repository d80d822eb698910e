"""Fixtures for the integration tests that drive reporting's projections directly."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from services.reporting.app import MIGRATIONS, SHARED_TABLES
from shared.db import open_pool
from shared.settings import with_database


@pytest.fixture(scope="module")
def database(pg_url: str) -> Iterator[str]:
    """A fresh reporting database with every migration applied, one per test module (its
    tests share it, each on agencies or histories of its own)."""
    url = with_database(pg_url, f"t{uuid.uuid4().hex[:10]}_reporting")

    async def create() -> None:
        pool = await open_pool(url, MIGRATIONS, SHARED_TABLES)
        await pool.close()

    asyncio.run(create())
    yield url
