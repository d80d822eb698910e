"""Intake's recording time orders EVENTS (issue #13, "as_of never ahead of what is
applied"): reporting's `as_of` is the newest recorded_at it applied, which is only honest
if nothing recorded earlier can still arrive after it. A request that took its recording
time and is slow to commit must therefore not be overtaken by one that recorded later."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

import asyncpg
import httpx
import orjson
from nats.aio.client import Client

from deploy.stack import Stack
from shared.settings import with_database
from tests.support.events import agency, envelope, read_stream, visit
from tests.support.polling import eventually


async def _post(stack: Stack, body: Any, token: str) -> list[str]:
    async with httpx.AsyncClient(base_url=stack.services["intake"].url, timeout=60) as http:
        resp = await http.post(
            "/v1/events", content=orjson.dumps(body), headers={"Authorization": f"Bearer {token}"}
        )
    assert resp.status_code == 200, resp.text
    answers = resp.json() if isinstance(resp.json(), list) else [resp.json()]
    return [a["status"] for a in answers]


async def _waiting(conn: asyncpg.Connection, wait_event: str, query: str) -> bool:
    """Whether some backend of intake waits on a lock of this kind, running this query."""
    found = await conn.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        " AND wait_event = $1 AND query LIKE $2",
        wait_event,
        query,
    )
    return bool(found)


async def test_a_later_recording_never_overtakes_an_earlier_one_on_events(
    stack: Stack, nc: Client, pg_url: str, db_prefix: str, token: Callable[..., str]
) -> None:
    stack.up("intake")
    lanxing = token("agency", "lanxing")
    assert await _post(stack, agency("lanxing", "220102", role="assisting"), lanxing) == [
        "accepted"
    ]
    slow = envelope(
        "project-started",
        {"project_id": "p-slow", "agency_id": "lanxing", "name": "Home medication",
         "target_group": "elders", "starts_on": "2019-05-01"},
        agency_id="lanxing",
    )  # fmt: skip
    quick = visit("c-1", agency_id="lanxing")
    db = await asyncpg.connect(with_database(pg_url, f"{db_prefix}_intake"))
    holder = await asyncpg.connect(with_database(pg_url, f"{db_prefix}_intake"))
    try:
        # Hold the project id in an open transaction, so the slow request blocks after it
        # took its recording time, on claiming the id, until this one rolls back.
        hold = holder.transaction()
        await hold.start()
        await holder.execute(
            "INSERT INTO owned_ids (kind, id, agency_id) VALUES ('project', 'p-slow', 'lanxing')"
        )
        first = asyncio.create_task(_post(stack, slow, lanxing))
        await eventually(lambda: _waiting(db, "transactionid", "%owned_ids%"), timeout_s=30)
        second = asyncio.create_task(_post(stack, quick, lanxing))

        async def overtook_or_queued() -> bool:
            return second.done() or await _waiting(db, "advisory", "%advisory%")

        await eventually(overtook_or_queued, timeout_s=30)
        await hold.rollback()
        assert await first == ["accepted"] and await second == ["accepted"]
    finally:
        await holder.close()
        await db.close()

    async def both_published() -> bool:
        return (await nc.jetstream().stream_info("EVENTS")).state.messages >= 3

    await eventually(both_published, timeout_s=30)
    order = [
        (m["event_id"], datetime.fromisoformat(m["recorded_at"])) for m in await read_stream(nc)
    ]
    assert [event_id for event_id, _ in order][1:] == [slow["event_id"], quick["event_id"]], order
    stamps = [stamp for _, stamp in order]
    assert stamps == sorted(stamps), order
