"""One consistent read of reporting's tables for a summary and whatever is read beside it.

Why a lock first: a rebuild's swap (rebuild.py) and every consumer transaction lock
processed_events before any projection table. A reader that took its tables in the order
its queries name them could hold a table the swap has yet to lock while asking for one
the swap holds already: a deadlock, which PostgreSQL breaks by failing one side (a 503 to
the reader). Taking processed_events first puts every reader in the same queue: one that
began before a swap holds the swap at its first lock until it is done; one that begins
during it waits, and since a repeatable-read snapshot is taken at the first query, not at
BEGIN, it then sees the swapped figures. ACCESS SHARE is allowed in a read-only
transaction and conflicts only with ACCESS EXCLUSIVE, so readers never wait for the live
consumer or for each other.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import asyncpg


@contextlib.asynccontextmanager
async def snapshot(conn: asyncpg.Connection) -> AsyncIterator[asyncpg.Connection]:
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        await conn.execute("LOCK TABLE processed_events IN ACCESS SHARE MODE")
        yield conn
