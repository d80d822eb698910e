"""When scheduling calls a slot overdue (docs/scheduling.md): a grace period after its window,
and only once its consumer has applied the visits waiting in EVENTS, against a real NATS
JetStream and a real PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nats.aio.client import Client

from deploy.stack import Stack
from tests.integration.test_scheduling import (
    Token,
    _create_plan,
    _outbox_drained,
    _plan,
    _publish,
    _ready_yanghua,
    _set_clock,
    _start,
    _visits,
)
from tests.support.events import read_stream, visit
from tests.support.polling import eventually


async def _statuses(url: str, token: str, plan: str) -> list[str]:
    return [s["status"] for s in await _visits(url, token, plan=plan)]


async def test_overdue_waits_for_the_grace_period_and_for_the_consumer(
    stack: Stack, nc: Client, token: Token, tmp_path: Path, pg_url: str, db_prefix: str
) -> None:
    clock = _start(stack, tmp_path, "2019-11-01T08:00:00+08:00", grace_s=3600)
    url = stack.services["scheduling"].url
    yanghua = await _ready_yanghua(stack, url, token)
    early = await _create_plan(url, yanghua, _plan("early", "c-1", "07:00", "08:00"))
    plan = await _create_plan(url, yanghua, _plan("med-c2", "c-2", "09:00", "11:00"))

    # 11:30: the early window ended 3.5 h ago, med-c2's half an hour ago (inside the grace).
    _set_clock(clock, "2019-11-04T11:30:00+08:00")

    async def early_overdue() -> bool:
        return (await _statuses(url, yanghua, "early"))[0] == "overdue"

    await eventually(early_overdue, timeout_s=30, what="the early slot overdue")
    assert (await _statuses(url, yanghua, "med-c2"))[0] == "due"  # the same sweep spared it

    # Scheduling is down while seven of med-c2's eight visits are logged; when it comes
    # back every window has long ended, and the visits are still waiting in the stream.
    stack.services["scheduling"].stop()
    visits = [
        visit("c-2", agency_id="yanghua", started_at=s["window_start"].replace("T09:00", "T09:40"))
        for s in plan["slots"][:7]
    ]
    await _publish(stack, visits, yanghua)

    async def on_stream() -> list[dict[str, Any]] | None:
        found = await read_stream(nc, "events.*.yanghua.visit-logged")
        return found if len(found) == 7 else None

    await eventually(on_stream, timeout_s=30, what="the visits on EVENTS")
    _set_clock(clock, "2019-12-24T08:00:00+08:00")
    stack.start_service("scheduling")
    stack.wait_ready(("scheduling",))

    async def settled() -> bool:
        return await _statuses(url, yanghua, "med-c2") == ["done"] * 7 + ["overdue"]

    await eventually(settled, timeout_s=30, what="seven slots done, the eighth overdue")
    await _outbox_drained(pg_url, db_prefix)
    declared = await read_stream(nc, "events.*.scheduling.visit-overdue")
    of_plan = {m["payload"]["slot_id"] for m in declared if m["payload"]["plan_id"] == "med-c2"}
    assert of_plan == {plan["slots"][7]["slot_id"]}  # no slot was called overdue falsely
    assert len(early["slots"]) == 8 and len(declared) == 8 + 1
