"""Scheduling applies the entity rules of SPEC 3.6 as reporting does, and retracts its own
events when a slot stops being what it said (docs/scheduling.md), against a real NATS
JetStream and a real PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from nats.aio.client import Client

from deploy.stack import Stack
from tests.integration.test_scheduling import (
    Token,
    _call,
    _create_plan,
    _outbox_drained,
    _plan,
    _publish,
    _ready_yanghua,
    _set_clock,
    _start,
    _visits,
    _worker,
)
from tests.support.events import agency, client, envelope, pairing, read_stream, visit
from tests.support.polling import eventually

REPORT_PERIOD = {"region": "2224", "from": "2019-11-01", "to": "2019-12-31"}


def _at(event: dict[str, Any], occurred_at: str, event_id: str) -> dict[str, Any]:
    return {**event, "occurred_at": occurred_at, "event_id": event_id}


def _retraction(target: str, agency_id: str = "yanghua") -> dict[str, Any]:
    return envelope(
        "event-retracted", {"target_event_id": target, "reason": "entered in error"}, agency_id
    )


async def _worker_answer(url: str, token: str, worker_id: str) -> dict[str, Any] | None:
    resp = await _call(url, "GET", f"/v1/workers/{worker_id}/schedule", token)
    return resp.json() if resp.status_code == 200 else None  # type: ignore[no-any-return]


async def test_workers_and_clients_follow_the_registration_in_force(
    stack: Stack, token: Token, tmp_path: Path
) -> None:
    """Retracting the newest registration falls back to the one before; an older one
    arriving late changes nothing; a retraction that came first is applied on arrival."""
    _start(stack, tmp_path, "2019-11-01T08:00:00+08:00")
    url = stack.services["scheduling"].url
    yanghua = await _ready_yanghua(stack, url, token)
    speaks_korean = _at(_worker("jin", ["ko"]), "2019-10-01T09:00:00+08:00", "jin-1")
    speaks_mandarin = _at(_worker("jin", ["zh"]), "2019-10-15T09:00:00+08:00", "jin-2")
    korean = _at(client("c-9", agency_id="yanghua"), "2019-10-01T09:00:00+08:00", "c9-1")
    han = client("c-9", agency_id="yanghua", ethnicity="han")
    await _publish(
        stack,
        [speaks_korean, speaks_mandarin, korean, _at(han, "2019-10-15T09:00:00+08:00", "c9-2")],
        yanghua,
    )

    async def jin_speaks(languages: list[str]) -> bool:
        answer = await _worker_answer(url, yanghua, "jin")
        return answer is not None and answer["languages"] == languages

    await eventually(lambda: jin_speaks(["zh"]), timeout_s=30, what="jin re-registered")
    await _publish(stack, [_retraction("jin-2"), _retraction("c9-2")], yanghua)
    await eventually(lambda: jin_speaks(["ko"]), timeout_s=30, what="jin falls back")
    jin = await _worker_answer(url, yanghua, "jin")
    assert jin is not None and jin["retracted"] is False
    plan = await _create_plan(url, yanghua, _plan("med-c9", "c-9", "09:00", "11:00"))
    assert plan["required_language"] == "ko"  # the client fell back to the Korean elder

    # An older registration arriving late; a retraction arriving before its target.
    older = _at(_worker("jin", ["mn"]), "2019-09-01T09:00:00+08:00", "jin-0")
    ghost = _at(_worker("ghost", ["zh"]), "2019-10-20T09:00:00+08:00", "ghost-1")
    await _publish(stack, [_retraction("ghost-1")], yanghua)
    await _publish(stack, [older, ghost, _worker("marker", ["zh"])], yanghua)
    await eventually(
        lambda: _worker_answer(url, yanghua, "marker"), timeout_s=30, what="batch applied"
    )
    assert await jin_speaks(["ko"])
    ghost_answer = await _worker_answer(url, yanghua, "ghost")
    assert ghost_answer is None or ghost_answer["retracted"] is True


async def _figures(stack: Stack, admin: str) -> tuple[int, int]:
    async with httpx.AsyncClient(base_url=stack.services["reporting"].url, timeout=30) as http:
        resp = await http.get(
            "/v1/reports/summary",
            params=REPORT_PERIOD,
            headers={"Authorization": f"Bearer {admin}"},
        )
    body = resp.json()
    return body["visits_scheduled"], body["visits_overdue"]


async def _report_says(stack: Stack, admin: str, expected: tuple[int, int]) -> None:
    async def matches() -> bool:
        return await _figures(stack, admin) == expected

    await eventually(matches, timeout_s=30, what=f"report (scheduled, overdue) = {expected}")


async def test_retracting_a_clients_only_registration_cancels_its_slots(
    stack: Stack, nc: Client, token: Token, tmp_path: Path, pg_url: str, db_prefix: str
) -> None:
    clock = _start(stack, tmp_path, "2019-11-01T08:00:00+08:00")
    stack.up("reporting")
    url, admin = stack.services["scheduling"].url, token("admin")
    yanghua = await _ready_yanghua(stack, url, token)
    await _publish(stack, [_at(client("c-9", agency_id="yanghua"), "2019-10-01T09:00:00+08:00", "c9-1")], yanghua)  # fmt: skip
    plan = await _create_plan(url, yanghua, _plan("med-c9", "c-9", "09:00", "11:00"))
    _set_clock(clock, "2019-11-12T12:00:00+08:00")  # the windows of 4 and 11 Nov have ended
    await _report_says(stack, admin, (8, 2))

    await _publish(stack, [_retraction("c9-1")], yanghua)

    async def cancelled() -> bool:
        slots = await _visits(url, yanghua, plan="med-c9")
        return {s["status"] for s in slots} == {"cancelled"}

    await eventually(cancelled, timeout_s=30, what="the client's slots cancelled")
    assert await _visits(url, yanghua, status="overdue") == []
    await _report_says(stack, admin, (0, 0))
    await _outbox_drained(pg_url, db_prefix)
    retractions = await read_stream(nc, "events.*.scheduling.event-retracted")
    slots = [s["slot_id"] for s in plan["slots"]]
    assert sorted(r["payload"]["target_event_id"] for r in retractions) == sorted(
        [f"scheduled-{s}" for s in slots] + [f"overdue-{s}" for s in slots[:2]]
    )


async def test_a_late_visit_closes_its_overdue_slot_as_late(
    stack: Stack, nc: Client, token: Token, tmp_path: Path, pg_url: str, db_prefix: str
) -> None:
    """The slot is done (late), no longer overdue here nor in the report; retracting the
    visit makes it overdue again, declared under a new event id."""
    clock = _start(stack, tmp_path, "2019-11-01T08:00:00+08:00")
    stack.up("reporting")
    url, admin = stack.services["scheduling"].url, token("admin")
    yanghua = await _ready_yanghua(stack, url, token)
    plan = await _create_plan(url, yanghua, _plan("med-c1", "c-1", "09:00", "11:00"))
    week1 = plan["slots"][0]["slot_id"]
    _set_clock(clock, "2019-11-04T12:00:00+08:00")
    await _report_says(stack, admin, (8, 1))
    assert [s["slot_id"] for s in await _visits(url, yanghua, status="overdue")] == [week1]

    next_day = visit("c-1", agency_id="yanghua", started_at="2019-11-05T10:00:00+08:00")
    await _publish(stack, [next_day], yanghua)

    async def slot(status: str) -> dict[str, Any] | None:
        found = await _visits(url, yanghua, plan="med-c1", status=status)
        return next((s for s in found if s["slot_id"] == week1), None)

    done = await eventually(lambda: slot("done"), timeout_s=30, what="week 1 closed late")
    assert done["late"] is True and done["visit_id"] == next_day["payload"]["visit_id"]
    assert await _visits(url, yanghua, status="overdue") == []
    await _report_says(stack, admin, (8, 0))

    await _publish(stack, [_retraction(next_day["event_id"])], yanghua)
    await eventually(lambda: slot("overdue"), timeout_s=30, what="week 1 overdue again")
    await _report_says(stack, admin, (8, 1))
    await _outbox_drained(pg_url, db_prefix)
    overdue = await read_stream(nc, "events.*.scheduling.visit-overdue")
    assert [m["event_id"] for m in overdue] == [f"overdue-{week1}", f"overdue-{week1}.2"]
    retracted = await read_stream(nc, "events.*.scheduling.event-retracted")
    assert [m["payload"]["target_event_id"] for m in retracted] == [f"overdue-{week1}"]


async def test_a_pairing_follows_its_establishment_in_force(
    stack: Stack, token: Token, tmp_path: Path
) -> None:
    """Pairings are entities too: the newest establishment counts, an older one arriving
    late changes nothing, retracting the newest falls back to the one before."""
    _start(stack, tmp_path, "2019-11-01T10:00:00+08:00")
    url, province = stack.services["scheduling"].url, token("province", region="22")
    await _publish(stack, [agency("lanxing", "220102", role="assisting")], token("agency", "lanxing"))  # fmt: skip
    await _publish(stack, [agency("wenhua", "222401")], token("agency", "wenhua"))

    def established(target: int, occurred_at: str, event_id: str) -> dict[str, Any]:
        event = pairing("lanxing", "p1")
        event["payload"]["targets"]["staff_days_per_year"] = target
        return _at(event, occurred_at, event_id)

    await _publish(stack, [established(40, "2019-05-01T09:00:00+08:00", "p1-a")], province)
    await _publish(stack, [established(60, "2019-06-01T09:00:00+08:00", "p1-b")], province)
    await _publish(stack, [established(10, "2019-04-01T09:00:00+08:00", "p1-0")], province)

    async def target_is(expected: int) -> bool:
        resp = await _call(url, "GET", "/v1/pairings/p1/dispatch", province)
        return resp.status_code == 200 and resp.json()["staff_days_per_year"] == expected

    marker = client("c-marker", agency_id="wenhua")
    await _publish(stack, [marker], token("agency", "wenhua"))
    await eventually(lambda: _client_known(url, token("agency", "wenhua")), timeout_s=30, what="applied")  # fmt: skip
    assert await target_is(60)
    await _publish(stack, [_retraction("p1-b", agency_id="lanxing")], province)
    await eventually(lambda: target_is(40), timeout_s=30, what="the pairing falls back")


async def _client_known(url: str, token: str) -> bool:
    """c-marker is consumed (a plan can be made for it): everything before it is too."""
    resp = await _call(url, "GET", "/v1/visits", token, client="c-marker")
    plan = _plan("marker", "c-marker", "09:00", "10:00")
    made = await _call(url, "POST", "/v1/care-plans", token, plan)
    return resp.status_code == 200 and made.status_code in (200, 201)
