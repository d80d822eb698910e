"""The database refuses work for a while without being gone: read-only (as after a failover
to a standby) or a lock held past lock_timeout. The consumer holds its batch and waits it
out; nothing goes to DEADLETTER; once the trouble is lifted every event is applied once."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable

import asyncpg
import httpx
import pytest
from nats.aio.client import Client

from deploy.stack import Stack
from services.reporting.handlers import CONSUMER
from shared.settings import with_database
from tests.support.events import agency, visit
from tests.support.intake import post_accepted
from tests.support.polling import eventually
from tests.support.reports import report

# The old path dead-lettered after 5 deliveries nak'ed 2, 4, 6 and 8 s apart (~20 s); this
# many waits (0.5 + 1 + 2 + 4 + 5 + 5 + 5 + 5 s) outlast that.
WAITS_PAST_DEAD_LETTERING = 8


def _waits(stack: Stack) -> float:
    text = httpx.get(f"{stack.services['reporting'].url}/metrics", timeout=10).text
    pattern = rf'^qianshou_consumer_database_waits_total{{consumer="{CONSUMER.durable}"}} (\S+)$'
    match = re.search(pattern, text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


async def _dead_lettered(nc: Client) -> int:
    return int((await nc.jetstream().stream_info("DEADLETTER")).state.messages)


@pytest.fixture
async def superuser(pg_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(with_database(pg_url, "postgres"))
    try:
        yield conn
    finally:
        await conn.close()


async def _reconnect_everyone(conn: asyncpg.Connection, database: str) -> None:
    """Terminate the sessions on `database` so that the services reconnect with its new
    settings (as they would after a failover)."""
    await conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = $1 AND pid <> pg_backend_pid()",
        database,
    )


@pytest.mark.parametrize("trouble", ["read_only", "lock_timeout"])
async def test_database_refusing_work_is_waited_out_never_dead_lettered(
    trouble: str,
    stack: Stack,
    nc: Client,
    pg_url: str,
    db_prefix: str,
    superuser: asyncpg.Connection,
    token: Callable[..., str],
) -> None:
    stack.up("intake", "reporting")
    yanghua, admin = token("agency", "yanghua"), token("admin")
    database = f"{db_prefix}_reporting"

    def counted(n: int) -> Callable[[], bool]:
        def check() -> bool:
            body = report(stack, admin, region="22").json()
            return bool(body.get("visits_by_service", {}).get("home-medication") == n)

        return check

    post_accepted(
        stack,
        [agency("yanghua", "222405"), *[visit(f"a-{n}", agency_id="yanghua") for n in range(10)]],
        yanghua,
    )
    await eventually(counted(10), timeout_s=60, what="the first 10 visits counted")

    holder: asyncpg.Connection | None = None
    if trouble == "read_only":
        await superuser.execute(
            f'ALTER DATABASE "{database}" SET default_transaction_read_only = on'
        )
    else:
        await superuser.execute(f"ALTER DATABASE \"{database}\" SET lock_timeout = '100ms'")
    await _reconnect_everyone(superuser, database)
    if trouble == "lock_timeout":
        holder = await asyncpg.connect(with_database(pg_url, database))
        await holder.execute("SET lock_timeout = 0")  # the holder itself waits for its lock
    tx = None
    if holder is not None:
        tx = holder.transaction()
        await tx.start()
        await holder.execute("LOCK TABLE visit_facts IN ACCESS EXCLUSIVE MODE")
    try:
        post_accepted(stack, [visit(f"b-{n}", agency_id="yanghua") for n in range(40)], yanghua)
        await eventually(
            lambda: _waits(stack) >= WAITS_PAST_DEAD_LETTERING,
            timeout_s=120,
            interval_s=0.5,
            what="the consumer holding its batch while the database refuses work",
        )
        assert await _dead_lettered(nc) == 0
    finally:
        if tx is not None and holder is not None:
            await tx.rollback()
            await holder.close()
        setting = "default_transaction_read_only" if trouble == "read_only" else "lock_timeout"
        await superuser.execute(f'ALTER DATABASE "{database}" RESET {setting}')
        await _reconnect_everyone(superuser, database)

    await eventually(counted(50), timeout_s=90, what="all 50 visits counted, each once")
    assert await _dead_lettered(nc) == 0
