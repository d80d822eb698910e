"""explain ≡ summary over random histories (SPEC 3.7): for every figure, the rows explain
lists, paged through, add up to what the summary says, after corrections, re-registrations,
overlapping dispatches and retractions (real PostgreSQL, reporting's own projection code,
hypothesis)."""

from __future__ import annotations

import asyncio
import copy
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deploy.demo import PAIRING, PROJECT, reference_programme
from services.reporting import projections
from services.reporting.explain import explain
from services.reporting.summary import Scope, summary
from shared.consumer import claim
from shared.events import (
    Canonical,
    VisitOverdue,
    VisitScheduled,
    canonical_of,
    incoming_events,
    service_event,
)
from tests.support.explained import added, figure, figures

REGIONS = {"lanxing": "220102", "wenhua": "222405", "yanghua": "222405", "pugongying": "222405"}
RECORDED = datetime(2026, 1, 1, tzinfo=UTC)  # intake recorded event i at this + i s
HALFWAY = RECORDED + timedelta(seconds=40)
TODAY = date(2021, 3, 31)  # the demo pairing is still active
SCOPES = [
    Scope(region="22"),
    Scope(region="2224", start=date(2019, 12, 1), end=date(2020, 2, 29)),
    Scope(agency="yanghua", start=date(2019, 11, 15)),
    Scope(agency="lanxing", end=date(2019, 9, 30)),
    Scope(pairing=PAIRING),
    Scope(pairing=PAIRING, start=date(2020, 1, 1), end=date(2020, 12, 31)),
    Scope(project=PROJECT, start=date(2019, 11, 20), end=date(2020, 2, 10)),
]


def _base() -> list[dict[str, Any]]:
    """A slice of the reference programme with every type of event in it."""
    limits = {"client-registered": 10, "visit-logged": 24, "worker-registered": 8}
    chosen, seen = [], dict[str, int]()
    for raw in reference_programme():
        seen[raw["type"]] = seen.get(raw["type"], 0) + 1
        if seen[raw["type"]] <= limits.get(raw["type"], 99):
            chosen.append(raw)
    return chosen


BASE = _base()


def _shift(day: str, days: int) -> str:
    return (date.fromisoformat(day[:10]) + timedelta(days=days)).isoformat()


def _changed(raw: dict[str, Any], v: int) -> dict[str, Any]:
    """Another version of the same thing (same business key, other values)."""
    e = copy.deepcopy(raw)
    p = e["payload"]
    match e["type"]:
        case "visit-logged":
            p["service"] = ["home-medication", "proxy-shopping", "health-check"][v % 3]
            p["duration_min"] += 5 * v
            p["started_at"] = datetime.fromisoformat(p["started_at"]) + timedelta(days=9 * v)
            p["started_at"] = p["started_at"].isoformat()
        case "activity-held":
            p["attendees"] += v
            p["held_on"] = _shift(p["held_on"], 20 * v)
        case "training-completed":
            p["hours"] = 1.25 * (v + 1)
            p["attendee_worker_ids"] = p["attendee_worker_ids"][: v + 1]
        case "staff-dispatched":
            p["to_date"] = _shift(p["to_date"], 3 * v)
        case "milestone-reached":
            p["reached_on"] = _shift(p["reached_on"], 60 * v)
        case "worker-registered":
            p["licence"] = ["none", "assistant", "senior"][v % 3]
        case "client-registered":
            p["in_difficulty"] = not p["in_difficulty"]
            p["project_id"] = None if v % 2 else p["project_id"]
        case "pairing-established":
            p["ends_on"] = _shift(p["starts_on"], 200 + 100 * v)
            p["targets"]["staff_days_per_year"] = 30 + v
        case "certification-obtained":
            p["obtained_on"] = _shift(p["obtained_on"], -400 * v)
        case "agency-registered":  # a move (and maybe a new role), from a later day
            p["region_code"] = "220102" if p["region_code"].startswith("2224") else "222405"
            p["role"] = ["assisted", p["role"], "community", p["role"]][v]
        case _:
            return raw
    return e


def _overlapping(raw: dict[str, Any], v: int) -> dict[str, Any]:
    """A second dispatch of the same worker overlapping the first by some days."""
    e = copy.deepcopy(raw)
    e["payload"]["dispatch_id"] += f"-again-{v}"
    e["payload"]["from_date"] = _shift(e["payload"]["from_date"], v)
    e["payload"]["to_date"] = _shift(e["payload"]["to_date"], 2 * v)
    return e


@st.composite
def histories(draw: st.DrawFn) -> list[dict[str, Any]]:
    events = list(BASE)
    versions = st.tuples(st.sampled_from(BASE), st.integers(0, 3), st.sampled_from([-1, 0, 1]))
    for raw, v, later in draw(st.lists(versions, max_size=10), label="other versions"):
        e = _changed(raw, v)
        if e is not raw:
            moved = e["type"] == "agency-registered"  # in the middle of the programme
            at = datetime.fromisoformat(raw["occurred_at"]) + timedelta(
                days=150 * (v + 1) + later if moved else later
            )
            events.append({**e, "event_id": uuid.uuid4().hex, "occurred_at": at.isoformat()})
    dispatches = [e for e in BASE if e["type"] == "staff-dispatched"]
    for raw, v in draw(
        st.lists(st.tuples(st.sampled_from(dispatches), st.integers(0, 4)), max_size=3)
    ):
        events.append({**_overlapping(raw, v), "event_id": uuid.uuid4().hex})
    licences = [e for e in BASE if e["type"] in ("certification-obtained", "worker-registered")]
    for raw, v in draw(
        st.lists(st.tuples(st.sampled_from(licences), st.integers(0, 12)), max_size=3),
        label="revocations",
    ):
        p = raw["payload"]
        on = p.get("obtained_on") or raw["occurred_at"][:10]
        events.append({
            **raw, "event_id": uuid.uuid4().hex, "type": "certification-revoked",
            "payload": {"worker_id": p["worker_id"], "licence": p["licence"],
                        "revoked_on": _shift(on, 30 * v), "reason": "test"},
        })  # fmt: skip
    for target in draw(
        st.lists(st.sampled_from(events), max_size=8, unique_by=lambda e: e["event_id"])
    ):
        events.append(
            {
                "event_id": f"retract-{target['event_id']}",
                "type": "event-retracted",
                "schema_version": 1,
                "agency_id": target["agency_id"],
                "occurred_at": "2021-01-01T00:00:00+08:00",
                "payload": {"target_event_id": target["event_id"], "reason": "test"},
            }
        )
    # intake records them in any order (a retraction before its target, too)
    return draw(st.permutations(events), label="recorded in this order")


def _slots() -> list[Canonical]:
    """Scheduling's slots for a few demo clients, one slot both scheduled and overdue."""
    out = []
    for n, kind in enumerate([VisitScheduled, VisitScheduled, VisitOverdue, VisitScheduled]):
        at = datetime(2019, 12, 2 + 7 * (n % 3), 1, tzinfo=UTC)
        slot = {"agency_id": "yanghua", "slot_id": f"slot-{n % 3}", "plan_id": "plan-1",
                "client_id": f"wh-e00{n}", "service": "home-medication", "worker_id": None,
                "window_end": at + timedelta(hours=8)}  # fmt: skip
        payload = kind(**slot, window_start=at) if kind is VisitScheduled else kind(**slot)
        out.append(service_event(f"slot-event-{n}", payload, "scheduling", "222405", at))
    return out


def _canonical(events: list[dict[str, Any]]) -> list[Canonical]:
    base = RECORDED
    return [
        canonical_of(
            incoming_events.validate_python(raw),
            REGIONS[raw["agency_id"]],
            base + timedelta(seconds=i),
        )
        for i, raw in enumerate(events)
    ] + _slots()


async def _explained(conn: asyncpg.Connection, scope: Scope, name: str, key: str | None,
                     limit: int, after: datetime | None = None) -> list[dict[str, Any]]:  # fmt: skip
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await explain(
            conn, scope, name, key, recorded_after=after, cursor=cursor, limit=limit
        )
        rows += page.rows
        if page.next_cursor is None:
            return rows
        cursor = page.next_cursor


async def _differences(
    url: str, events: list[Canonical], scopes: list[Scope], limit: int, cut: int | None
) -> list[str]:
    as_of = None if cut is None else RECORDED + timedelta(seconds=cut)
    conn = await asyncpg.connect(url)
    try:
        await projections.reset(conn)
        async with conn.transaction():
            await projections.apply(conn, await claim(conn, "reporting", events))
        wrong = []
        for scope in scopes:
            scope = Scope(**{**scope.__dict__, "today": TODAY, "as_of": as_of})
            report = await summary(conn, scope)
            for name, key in figures():
                rows = await _explained(conn, scope, name, key, limit)
                if added(name, rows) != figure(report, name, key):
                    wrong.append(
                        f"{scope} {name}.{key}: {added(name, rows)} != {figure(report, name, key)}"
                    )
                # what approvals ask: the rows whose event intake recorded after a moment
                late = await _explained(conn, scope, name, key, limit, HALFWAY)
                if late != [r for r in rows if r["recorded_at"] > HALFWAY]:
                    wrong.append(f"{scope} {name}.{key}: recorded_after")
        return wrong
    finally:
        await conn.close()


def test_the_slice_moves_every_figure(database: str) -> None:
    """Guards the property below against a history too thin to show anything."""

    async def check() -> dict[str, Any]:
        conn = await asyncpg.connect(database)
        try:
            await projections.reset(conn)
            async with conn.transaction():
                await projections.apply(conn, await claim(conn, "reporting", _canonical(BASE)))
            return await summary(conn, Scope(today=TODAY))
        finally:
            await conn.close()

    report = asyncio.run(check())
    moved = {name for name, key in figures() if key is None and figure(report, name, key)}
    assert moved == {name for name, _ in figures()}, set(n for n, _ in figures()) - moved


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    history=histories(),
    scopes=st.lists(st.sampled_from(SCOPES), min_size=1, max_size=2, unique=True),
    limit=st.integers(1, 40),
    cut=st.none() | st.integers(0, len(BASE) + 20),
)
def test_explain_adds_up_to_every_figure(
    database: str, history: list[dict[str, Any]], scopes: list[Scope], limit: int,
    cut: int | None,
) -> None:  # fmt: skip
    """Live, or as of the moment intake had recorded the first `cut` events (SPEC 3.7)."""
    events = _canonical(history)
    assert asyncio.run(_differences(database, events, scopes, limit, cut)) == []


def test_a_moment_before_the_end_shows_less(database: str) -> None:
    """Guards the as_of half of the property: halfway through, fewer events are reflected."""

    async def both() -> tuple[dict[str, Any], dict[str, Any]]:
        conn = await asyncpg.connect(database)
        try:
            await projections.reset(conn)
            async with conn.transaction():
                await projections.apply(conn, await claim(conn, "reporting", _canonical(BASE)))
            halfway = Scope(today=TODAY, as_of=RECORDED + timedelta(seconds=len(BASE) // 2))
            return await summary(conn, Scope(today=TODAY)), await summary(conn, halfway)
        finally:
            await conn.close()

    live, halfway = asyncio.run(both())
    assert figure(live, "visits_by_service", None) > figure(halfway, "visits_by_service", None)
