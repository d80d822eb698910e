"""Scheduling against a real NATS JetStream and a real PostgreSQL (issue 5).

Time is moved with the clock file (QIANSHOU_CLOCK_FILE) the services read, never slept."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from nats.aio.client import Client

from deploy.natsserver import free_port
from deploy.stack import ServiceProcess, Stack
from shared.settings import with_database
from tests.support.events import agency, client, envelope, read_stream, visit
from tests.support.polling import eventually

Token = Callable[..., str]
KOREAN_SPEAKERS = {"kim", "park"}


def _set_clock(path: Path, iso: str) -> None:
    """Atomically, so a service never reads a half-written file."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(iso)
    os.replace(tmp, path)


def _start(stack: Stack, tmp_path: Path, at: str, grace_s: int = 0) -> Path:
    """Intake and scheduling on a clock file; no grace before a slot is overdue unless
    asked (tests/integration/test_scheduling_overdue.py)."""
    clock = tmp_path / "clock"
    _set_clock(clock, at)
    stack.extra_env.update(
        {
            "QIANSHOU_CLOCK_FILE": str(clock),
            "SCHEDULING_SWEEP_INTERVAL_S": "0.2",
            "SCHEDULING_OVERDUE_GRACE_S": str(grace_s),
        }
    )
    stack.up("intake", "scheduling")
    return clock


def _worker(worker_id: str, languages: list[str], agency_id: str = "yanghua") -> dict[str, Any]:
    payload = {
        "worker_id": worker_id,
        "agency_id": agency_id,
        "role": "social-worker",
        "licence": "assistant",
        "languages": languages,
    }
    return envelope("worker-registered", payload, agency_id=agency_id)


def _yanghua() -> list[dict[str, Any]]:
    return [
        agency("yanghua", "222405"),
        _worker("kim", ["ko", "zh"]),
        _worker("park", ["ko"]),
        _worker("wang", ["zh"]),
        client("c-1", agency_id="yanghua"),
        client("c-2", agency_id="yanghua"),
        client("c-3", agency_id="yanghua"),
    ]


async def _publish(stack: Stack, events: list[dict[str, Any]], token: str) -> None:
    async with httpx.AsyncClient(base_url=stack.services["intake"].url, timeout=30) as http:
        resp = await http.post(
            "/v1/events", content=orjson.dumps(events), headers={"Authorization": f"Bearer {token}"}
        )
    assert resp.status_code == 200, resp.text
    assert {r["status"] for r in resp.json()} == {"accepted"}, resp.text


async def _call(
    url: str, method: str, path: str, token: str | None, body: Any = None, **params: Any
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        content = orjson.dumps(body) if body is not None else None
        return await http.request(method, path, content=content, headers=headers, params=params)


def _plan(plan_id: str, client_id: str, opens: str, closes: str, **extra: Any) -> dict[str, Any]:
    return {
        "plan_id": plan_id,
        "client_id": client_id,
        "service": "home-medication",
        "recurrence": {"kind": "weekly", "start": "2019-11-04", "count": 8},
        "window": {"start": opens, "end": closes},
        **extra,
    }


async def _create_plan(url: str, token: str, plan: dict[str, Any]) -> dict[str, Any]:
    """POST the plan, retrying while scheduling has not consumed the client yet."""

    async def created() -> dict[str, Any] | None:
        resp = await _call(url, "POST", "/v1/care-plans", token, plan)
        if resp.status_code == 422 and resp.json()["errors"][0]["code"] == "unknown_client":
            return None
        assert resp.status_code == 201, resp.text
        return resp.json()  # type: ignore[no-any-return]

    return await eventually(created, timeout_s=30, what=f"plan {plan['plan_id']} created")


async def _ready_yanghua(stack: Stack, url: str, token: Token) -> str:
    """Publish yanghua's agency, workers and clients; wait until scheduling has them all."""
    yanghua = token("agency", "yanghua")
    await _publish(stack, _yanghua(), yanghua)

    async def workers_known() -> bool:
        for worker_id in ("kim", "park", "wang"):
            resp = await _call(url, "GET", f"/v1/workers/{worker_id}/schedule", yanghua)
            if resp.status_code != 200:
                return False
        return True

    await eventually(workers_known, timeout_s=30, what="workers consumed")
    return yanghua


async def _visits(url: str, token: str, **params: Any) -> list[dict[str, Any]]:
    resp = await _call(url, "GET", "/v1/visits", token, **params)
    assert resp.status_code == 200, resp.text
    return resp.json()["visits"]  # type: ignore[no-any-return]


async def test_weekly_plan_for_a_korean_elder_and_overlapping_plans(
    stack: Stack, nc: Client, token: Token, tmp_path: Path
) -> None:
    _start(stack, tmp_path, "2019-11-01T08:00:00+08:00")
    url = stack.services["scheduling"].url
    yanghua = await _ready_yanghua(stack, url, token)

    first = await _create_plan(url, yanghua, _plan("med-c1", "c-1", "09:00", "11:00"))
    assert first["required_language"] == "ko"  # from the client's ethnicity
    assert len(first["slots"]) == 8 and first["conflicts"] == []
    assert {s["worker_id"] for s in first["slots"]} <= KOREAN_SPEAKERS
    assert {s["status"] for s in first["slots"]} == {"due"}
    assert first["slots"][0]["window_start"] == "2019-11-04T09:00:00+08:00"
    kim_or_park = first["slots"][0]["worker_id"]

    overlapping = _plan("med-c2", "c-2", "10:00", "12:00", preferred_worker_id=kim_or_park)
    second = await _create_plan(url, yanghua, overlapping)
    assert len(second["slots"]) == 8 and second["conflicts"] == []
    assert {s["worker_id"] for s in second["slots"]} == KOREAN_SPEAKERS - {kim_or_park}

    third = await _create_plan(url, yanghua, _plan("med-c3", "c-3", "09:30", "10:30"))
    assert len(third["conflicts"]) == 8
    assert {c["reason"] for c in third["conflicts"]} == {"all_workers_busy"}
    unassigned = await _visits(url, yanghua, status="unassigned")
    assert {v["slot_id"] for v in unassigned} == {s["slot_id"] for s in third["slots"]}

    again = await _call(
        url, "POST", "/v1/care-plans", yanghua, _plan("med-c1", "c-1", "09:00", "11:00")
    )
    assert again.status_code == 200 and len(again.json()["slots"]) == 8
    changed = await _call(
        url, "POST", "/v1/care-plans", yanghua, _plan("med-c1", "c-1", "08:00", "09:00")
    )
    assert (changed.status_code, changed.json()["code"]) == (409, "conflict")

    async def scheduled_on_stream() -> list[dict[str, Any]] | None:
        found = await read_stream(nc, "events.*.*.visit-scheduled")
        return found if len(found) >= 24 else None

    on_stream = await eventually(scheduled_on_stream, timeout_s=30, what="24 visit-scheduled")
    assert len({m["payload"]["slot_id"] for m in on_stream}) == len(on_stream) == 24
    assert {m["subject"] for m in on_stream} == {"events.222405.scheduling.visit-scheduled"}


async def test_visits_close_slots_and_an_ended_window_is_overdue_exactly_once(
    stack: Stack, nc: Client, token: Token, tmp_path: Path, db_prefix: str, pg_url: str
) -> None:
    clock = _start(stack, tmp_path, "2019-11-01T08:00:00+08:00")
    url = stack.services["scheduling"].url
    yanghua = await _ready_yanghua(stack, url, token)
    plan = await _create_plan(url, yanghua, _plan("med-c1", "c-1", "09:00", "11:00"))
    week1, week2, week3 = (s["slot_id"] for s in plan["slots"][:3])

    second = ServiceProcess(
        name="scheduling",
        port=free_port(),
        env={**stack.service_env("scheduling"), "SCHEDULING_PORT": "0"},
        log_path=tmp_path / "logs" / "scheduling-2.log",
    )
    second.env["SCHEDULING_PORT"] = str(second.port)
    second.start()
    try:
        await eventually(second.ready, timeout_s=60, what="second scheduling process ready")
        in_window = visit("c-1", agency_id="yanghua", started_at="2019-11-04T09:40:00+08:00")
        late_with_plan = visit(
            "c-1", agency_id="yanghua", started_at="2019-11-11T15:00:00+08:00", plan_id="med-c1"
        )
        await _publish(stack, [in_window, late_with_plan], yanghua)

        async def closed() -> bool:
            done = await _visits(url, yanghua, status="done", plan="med-c1")
            return {v["slot_id"] for v in done} == {week1, week2}

        await eventually(closed, timeout_s=30, what="logged visits close their slots")

        _set_clock(clock, "2019-11-18T11:00:01+08:00")  # just past week 3's window

        async def overdue() -> list[dict[str, Any]]:
            return await _visits(url, yanghua, status="overdue")

        found = await eventually(overdue, timeout_s=30, what="week 3 overdue")
        assert [v["slot_id"] for v in found] == [week3]

        _set_clock(clock, "2019-12-24T08:00:00+08:00")  # every remaining window has ended

        async def all_overdue() -> bool:
            return len(await overdue()) == 6

        await eventually(all_overdue, timeout_s=30, what="weeks 3-8 overdue")
        await _outbox_drained(pg_url, db_prefix)
        # Each transition happened in exactly one of the two processes.
        turned = [
            await _metric(p.url, "qianshou_scheduling_visits_overdue_total")
            for p in (stack.services["scheduling"], second)
        ]
        assert sum(turned) == 6
        second.stop()
        stack.services["scheduling"].stop()
        stack.start_service("scheduling")
        stack.wait_ready(("scheduling",))
        await eventually(lambda: _swept_once(url), timeout_s=30, what="a sweep after restart")
        assert await _metric(url, "qianshou_scheduling_visits_overdue_total") == 0
        await _outbox_drained(pg_url, db_prefix)
    finally:
        second.stop()

    overdue_events = await read_stream(nc, "events.*.*.visit-overdue")
    overdue_slots = [m["payload"]["slot_id"] for m in overdue_events]
    assert sorted(overdue_slots) == sorted(s["slot_id"] for s in plan["slots"][2:])
    assert {m["event_id"] for m in overdue_events} == {f"overdue-{s}" for s in overdue_slots}
    statuses = [v["status"] for v in await _visits(url, yanghua, plan="med-c1")]
    assert statuses == ["done", "done"] + ["overdue"] * 6


async def _outbox_drained(pg_url: str, db_prefix: str) -> None:
    conn = await asyncpg.connect(with_database(pg_url, f"{db_prefix}_scheduling"))
    try:

        async def empty() -> bool:
            return await conn.fetchval("SELECT count(*) FROM outbox") == 0  # type: ignore[no-any-return]

        await eventually(empty, timeout_s=30, what="scheduling's outbox published")
    finally:
        await conn.close()


async def _metric(url: str, name: str) -> float:
    async with httpx.AsyncClient(base_url=url) as http:
        text = (await http.get("/metrics")).text
    values = [float(line.split()[-1]) for line in text.splitlines() if line.startswith(name)]
    return sum(values)


async def _swept_once(url: str) -> bool:
    """The gauge is refreshed at the end of every sweep, after the overdue step."""
    return await _metric(url, 'qianshou_scheduling_slots{status="overdue"}') == 6


async def test_dispatch_pace_flags_a_pairing_behind_at_mid_year(
    stack: Stack, token: Token, tmp_path: Path
) -> None:
    _start(stack, tmp_path, "2019-11-01T10:00:00+08:00")  # six months into the programme year
    url = stack.services["scheduling"].url
    lanxing = token("agency", "lanxing")
    pairing = {
        "pairing_id": "jilin-2019",
        "assisting_agency_id": "lanxing",
        "assisted_agency_id": "yanghua",
        "starts_on": "2019-05-01",
        "targets": {
            "staff_days_per_year": 40,
            "agencies_to_incubate": 1,
            "projects_to_undertake": 1,
        },
    }
    five_day_trips = [("2019-06-03", "2019-06-07"), ("2019-09-02", "2019-09-06")]
    dispatches = [
        {"dispatch_id": f"d{n}", "pairing_id": "jilin-2019", "worker_id": "zhao",
         "from_date": start, "to_date": end}
        for n, (start, end) in enumerate(five_day_trips)
    ]  # fmt: skip
    await _publish(stack, [agency("lanxing", "220102", role="assisting")], lanxing)
    await _publish(stack, [agency("yanghua", "222405")], token("agency", "yanghua"))
    # SPEC 3.6: the province pairs agencies (an agency may no longer establish a pairing).
    pairing_event = envelope("pairing-established", pairing, agency_id="lanxing")
    await _publish(stack, [pairing_event], token("province", region="22"))
    await _publish(
        stack, [envelope("staff-dispatched", d, agency_id="lanxing") for d in dispatches], lanxing
    )

    async def pace() -> dict[str, Any] | None:
        resp = await _call(
            url, "GET", "/v1/pairings/jilin-2019/dispatch", token("agency", "yanghua")
        )
        if resp.status_code != 200 or resp.json()["current"]["dispatched"] < 10:
            return None
        return resp.json()  # type: ignore[no-any-return]

    answer = await eventually(pace, timeout_s=30, what="dispatches consumed")
    current = answer["current"]
    assert answer["as_of"] == "2019-11-01"
    assert (current["dispatched"], current["target"]) == (10, 40)
    assert current["will_miss_target"] and current["pace"] == "behind"
    assert answer["will_miss_target"] is True

    province = await _call(
        url, "GET", "/v1/pairings/jilin-2019/dispatch", token("province", region="22")
    )
    assert province.status_code == 200
    stranger = await _call(url, "GET", "/v1/pairings/jilin-2019/dispatch", token("agency", "other"))
    assert (stranger.status_code, stranger.json()["code"]) == (403, "forbidden")


async def test_every_read_and_write_is_scoped_and_validated(
    stack: Stack, token: Token, tmp_path: Path
) -> None:
    _start(stack, tmp_path, "2019-11-01T08:00:00+08:00")
    url = stack.services["scheduling"].url
    yanghua = await _ready_yanghua(stack, url, token)
    await _create_plan(url, yanghua, _plan("med-c1", "c-1", "09:00", "11:00"))

    asyncapi = await _call(url, "GET", "/asyncapi.json", None)
    assert "publishVisitScheduledEvent" in asyncapi.json()["operations"]
    no_token = await _call(url, "GET", "/v1/visits", None)
    assert (no_token.status_code, no_token.json()["code"]) == (401, "unauthorized")
    lanxing = token("agency", "lanxing")
    assert await _visits(url, lanxing) == []
    other = await _call(url, "GET", "/v1/visits", lanxing, agency="yanghua")
    assert (other.status_code, other.json()["code"]) == (403, "forbidden")
    foreign_plan = _plan("x", "c-1", "09:00", "11:00", agency_id="yanghua")
    refused = await _call(url, "POST", "/v1/care-plans", lanxing, foreign_plan)
    assert refused.status_code == 403
    assert len(await _visits(url, token("province", region="2224"))) == 8
    assert await _visits(url, token("province", region="21")) == []
    assert len(await _visits(url, token("admin"), agency="yanghua", status="due")) == 8
    in_range = await _visits(url, yanghua, **{"from": "2019-11-10", "to": "2019-11-20"})
    assert [v["window_start"][:10] for v in in_range] == ["2019-11-11", "2019-11-18"]

    bad = _plan("y", "c-1", "11:00", "09:00", colour="red")
    bad["recurrence"] = {"kind": "weekly", "start": "2019-11-04"}
    invalid = await _call(url, "POST", "/v1/care-plans", yanghua, bad)
    assert invalid.status_code == 422
    paths = {e["path"] for e in invalid.json()["errors"]}
    assert {"colour", "recurrence", "window"} <= paths
    malformed = await _call(url, "POST", "/v1/care-plans", yanghua)
    assert malformed.status_code in (400, 422)
    unknown = await _call(
        url, "POST", "/v1/care-plans", yanghua, _plan("z", "c-404", "09:00", "10:00")
    )
    assert (unknown.status_code, unknown.json()["errors"][0]["path"]) == (422, "client_id")

    schedule = await _call(
        url, "GET", "/v1/workers/kim/schedule", yanghua, **{"from": "2019-11-01"}
    )
    assert schedule.status_code == 200
    assert all(s["worker_id"] == "kim" for s in schedule.json()["slots"])
    hidden = await _call(url, "GET", "/v1/workers/kim/schedule", lanxing)
    assert hidden.status_code == 404


async def test_the_horizon_rolls_forward_as_time_passes(
    stack: Stack, token: Token, tmp_path: Path
) -> None:
    clock = _start(stack, tmp_path, "2019-11-01T08:00:00+08:00")
    url = stack.services["scheduling"].url
    yanghua = await _ready_yanghua(stack, url, token)
    twelve = _plan("comfort-c2", "c-2", "14:00", "15:00", service="psychological-comfort")
    twelve["recurrence"]["count"] = 12
    plan = await _create_plan(url, yanghua, twelve)
    assert len(plan["slots"]) == 8  # eight weeks ahead of 1 November

    _set_clock(clock, "2019-12-01T08:00:00+08:00")

    expected = ["overdue"] * 4 + ["due"] * 8  # the horizon moved on; 4 Mondays have passed

    async def swept() -> list[dict[str, Any]] | None:
        # The sweep extends the horizon and marks missed windows; wait for both.
        found = await _visits(url, yanghua, plan="comfort-c2")
        return found if [s["status"] for s in found] == expected else None

    slots = await eventually(swept, timeout_s=30, what="slots up to the new horizon, 4 overdue")
    assert slots[-1]["window_start"] == "2020-01-20T14:00:00+08:00"


async def test_reporting_counts_scheduled_and_overdue_visits(
    stack: Stack, token: Token, tmp_path: Path
) -> None:
    """visit-scheduled and visit-overdue go through EVENTS into reporting's KPIs."""
    clock = _start(stack, tmp_path, "2019-11-01T08:00:00+08:00")
    stack.up("reporting")
    url = stack.services["scheduling"].url
    yanghua = await _ready_yanghua(stack, url, token)
    plan = await _create_plan(url, yanghua, _plan("med-c1", "c-1", "09:00", "11:00"))
    assert len(plan["slots"]) == 8
    _set_clock(clock, "2019-11-12T12:00:00+08:00")  # two windows (4 and 11 Nov) have ended
    admin = token("admin")

    async def figures() -> tuple[int, int] | None:
        resp = await _call(
            stack.services["reporting"].url,
            "GET",
            "/v1/reports/summary",
            admin,
            region="2224",
            **{"from": "2019-11-01", "to": "2019-12-31"},
        )
        body = resp.json()
        got = (body["visits_scheduled"], body["visits_overdue"])
        return got if got == (8, 2) else None

    assert await eventually(figures, timeout_s=30, what="8 scheduled, 2 overdue in the report")


async def test_two_processes_booking_at_once_never_double_book_a_worker(
    stack: Stack, token: Token, tmp_path: Path, pg_url: str, db_prefix: str
) -> None:
    """Three plans for the same window, posted at the same moment to two scheduling
    processes on one database: the two Korean speakers get one plan each, the third plan
    is left unassigned, and no worker holds two overlapping slots."""
    _start(stack, tmp_path, "2019-11-01T08:00:00+08:00")
    first = stack.services["scheduling"]
    yanghua = await _ready_yanghua(stack, first.url, token)
    second = ServiceProcess(
        name="scheduling",
        port=free_port(),
        env=stack.service_env("scheduling"),
        log_path=tmp_path / "logs" / "scheduling-2.log",
    )
    second.env["SCHEDULING_PORT"] = str(second.port)
    second.start()
    try:
        await eventually(second.ready, timeout_s=60, what="second scheduling process ready")
        await _clients_known(pg_url, db_prefix, 3)  # one database: both processes see them
        plans = [
            (first.url, _plan("p-a", "c-1", "09:00", "11:00")),
            (second.url, _plan("p-b", "c-2", "09:30", "10:30")),
            (first.url, _plan("p-c", "c-3", "10:00", "12:00")),
        ]
        answers = await asyncio.gather(
            *(_call(url, "POST", "/v1/care-plans", yanghua, plan) for url, plan in plans)
        )
        assert [a.status_code for a in answers] == [201, 201, 201], [a.text for a in answers]
        slots = [s for a in answers for s in a.json()["slots"]]
        booked = [s for s in slots if s.get("worker_id")]
        assert len(booked) == 16 and {s["worker_id"] for s in booked} == KOREAN_SPEAKERS
        assert sum(len(a.json()["conflicts"]) for a in answers) == 8
        for worker in KOREAN_SPEAKERS:
            windows = sorted(
                (s["window_start"], s["window_end"]) for s in booked if s["worker_id"] == worker
            )
            assert all(a[1] <= b[0] for a, b in itertools.pairwise(windows)), windows
    finally:
        second.stop()


async def _clients_known(pg_url: str, db_prefix: str, count: int) -> None:
    conn = await asyncpg.connect(with_database(pg_url, f"{db_prefix}_scheduling"))
    try:

        async def known() -> bool:
            return await conn.fetchval("SELECT count(*) FROM clients") == count  # type: ignore[no-any-return]

        await eventually(known, timeout_s=30, what=f"{count} clients consumed")
    finally:
        await conn.close()
