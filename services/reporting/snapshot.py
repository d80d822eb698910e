"""One consistent read of reporting's tables for a summary and whatever is read beside it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import asyncpg


@contextlib.asynccontextmanager
async def snapshot(conn: asyncpg.Connection) -> AsyncIterator[asyncpg.Connection]:
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        yield conn
