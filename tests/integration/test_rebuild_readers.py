"""A summary read while a rebuild swaps its tables in answers: readers take reporting's
tables in the swap's order (services/reporting/snapshot.py), so the two never deadlock
(PostgreSQL would fail one side, and a failed reader is a 503 "database unavailable")."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg

from deploy.stack import Stack
from services.reporting.snapshot import snapshot
from services.reporting.summary import Scope, summary
from shared.settings import with_database
from tests.integration.test_rebuild import SMALL_BATCH, _figures, _history
from tests.support.polling import eventually
from tests.support.rebuilds import start_rebuild

# Waiting for a lock: AccessExclusiveLock is taken only by the swap (and migrations).
SWAP_WAITS = (
    "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
    " WHERE d.datname = $1 AND l.locktype = 'relation' AND NOT l.granted"
    " AND l.mode = 'AccessExclusiveLock'"
)


async def test_a_summary_read_while_a_rebuild_swaps_answers(
    stack: Stack, pg_url: str, db_prefix: str, token: Callable[..., str]
) -> None:
    stack.up("intake", "reporting")
    admin = token("admin")
    expected = await _history(stack, token)
    before = _figures(stack, admin)
    database = f"{db_prefix}_reporting"
    reader = await asyncpg.connect(with_database(pg_url, database))
    watcher = await asyncpg.connect(with_database(pg_url, database))
    env = stack.service_env("reporting")
    env["REPORTING_REBUILD_BATCH"] = SMALL_BATCH
    rebuilding: asyncio.subprocess.Process | None = None
    try:
        # Were there a deadlock, the reader would find it first (and fail, as the benchmark
        # saw), and quickly: the swap waits a second before it looks.
        await reader.execute("SET deadlock_timeout = '100ms'")
        async with snapshot(reader):
            # The reader has read the table the swap locks last...
            await reader.fetchval("SELECT count(*) FROM approvals")
            rebuilding = await start_rebuild(env)
            # ...the swap has locked what it could and waits for the reader...
            await eventually(
                lambda: watcher.fetchval(SWAP_WAITS, database),
                timeout_s=120,
                what="the rebuild's swap waiting for a lock the reader holds",
            )
            # ...and the reader goes on to the tables a summary reads.
            body = await summary(reader, Scope(region="22"))
        out, err = await asyncio.wait_for(rebuilding.communicate(), 300)
    finally:
        if rebuilding is not None and rebuilding.returncode is None:
            rebuilding.kill()
            await rebuilding.wait()
        await reader.close()
        await watcher.close()
    assert sum(body["visits_by_service"].values()) == expected
    assert rebuilding.returncode == 0, (out + err[-2000:]).decode()
    assert b"swap attempt" not in err, err[-2000:].decode()  # no deadlock on its side either
    assert _figures(stack, admin) == before
