"""Live staff-days, activities and trainings come from the days and months the consumer
keeps (day_totals.py); as of a moment they come from the facts. On overlapping dispatches,
both sides and an outsider reporting, a pairing not yet known, retractions, corrections,
redelivery and an agency that moves region mid-period, both give the same figures for
every scope and period (real PostgreSQL)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.reporting import projections
from services.reporting.summary import Scope, summary
from shared.consumer import claim
from shared.events import Canonical, canonical_of, incoming_events
from tests.support.events import agency, envelope, pairing

PAIRING = "lx-yh"
REGIONS = {"lanxing": "220102", "yanghua": "222405", "heshan": "222406"}
LATER = datetime(2030, 1, 1, tzinfo=UTC)  # as of then: the facts path, everything recorded


def _dispatch(sender: str, dispatch_id: str, first: str, last: str, **extra: Any) -> dict[str, Any]:
    worker = extra.pop("worker", "zhao")
    pairing_id = extra.pop("pairing", PAIRING)
    return envelope(
        "staff-dispatched",
        {"dispatch_id": dispatch_id, "pairing_id": pairing_id, "worker_id": worker,
         "from_date": first, "to_date": last},
        agency_id=sender, event_id=f"ev-{dispatch_id}-{sender}", **extra,
    )  # fmt: skip


def _activity(
    sender: str, activity_id: str, day: str, attendees: int, **extra: Any
) -> dict[str, Any]:
    payload = {"activity_id": activity_id, "kind": extra.pop("kind", "health-lecture"),
               "title": "Lecture", "held_on": day, "attendees": attendees}  # fmt: skip
    return envelope("activity-held", payload, agency_id=sender, **extra)


def _training(
    sender: str, training_id: str, day: str, hours: float, **extra: Any
) -> dict[str, Any]:
    payload = {"training_id": training_id, "pairing_id": extra.pop("pairing", PAIRING),
               "kind": extra.pop("kind", "supervision"), "held_on": day, "hours": hours,
               "trainer_agency_id": "lanxing", "attendee_worker_ids": ["kim", "zhao"]}  # fmt: skip
    return envelope("training-completed", payload, agency_id=sender, **extra)


def _retraction(target: dict[str, Any]) -> dict[str, Any]:
    return envelope(
        "event-retracted",
        {"target_event_id": target["event_id"], "reason": "test"},
        agency_id=target["agency_id"],
        occurred_at="2020-12-01T09:00:00+08:00",
    )


PAIRED = {
    **pairing()["payload"],
    "pairing_id": PAIRING,
    "assisted_agency_id": "yanghua",
    "starts_on": "2019-05-01",
}
CORRECTED = _dispatch(
    "lanxing", "d-7", "2020-07-03", "2020-07-04", occurred_at="2020-07-06T09:00:00+08:00"
) | {"event_id": "ev-d-7-fix"}


def _history() -> list[Canonical]:
    retracted = _dispatch("lanxing", "d-6", "2020-06-20", "2020-06-25", worker="kim")
    lecture = _activity("yanghua", "a-2", "2020-06-30", 9)
    training = _training("lanxing", "t-2", "2020-07-31", 1.25)
    raw = [
        agency("lanxing", "220102", role="assisting"),
        agency("yanghua", "222405"),
        agency("heshan", "222406"),
        pairing("lanxing", PAIRING) | {"payload": PAIRED},
        _dispatch("lanxing", "d-1", "2020-06-03", "2020-06-07"),
        _dispatch("lanxing", "d-2", "2020-06-05", "2020-06-09"),  # overlaps d-1
        _dispatch("yanghua", "d-3", "2020-06-08", "2020-06-10"),  # the other side, overlapping
        _dispatch("heshan", "d-4", "2020-06-01", "2020-06-02"),  # not a side: counts nowhere
        _dispatch("heshan", "d-5", "2020-06-01", "2020-06-03", pairing="zz"),  # unknown pairing
        retracted,
        _dispatch("lanxing", "d-7", "2020-07-01", "2020-07-05"),
        CORRECTED,  # d-7 again, later: fewer days
        # Yanghua moves to Changchun on 9 June: in the county before, in the city after
        agency("yanghua", "220103") | {"occurred_at": "2020-06-09T08:00:00+08:00"},
        _activity("yanghua", "a-1", "2020-06-01", 12),
        lecture,
        _activity("yanghua", "a-3", "2020-07-15", 5, kind="group-activity"),
        _activity("lanxing", "a-4", "2020-07-01", 7),
        _activity("heshan", "a-5", "2020-08-31", 4),
        _activity("yanghua", "a-3", "2020-08-01", 6, occurred_at="2020-08-02T09:00:00+08:00"),
        _training("lanxing", "t-1", "2020-06-08", 3),
        training,
        _training("yanghua", "t-3", "2020-08-15", 2.5, kind="thematic-training"),
        _training("heshan", "t-4", "2020-06-15", 4),  # not a side: counts nowhere
        _training("heshan", "t-5", "2020-07-10", 6, pairing="zz"),  # pairing unknown
        _training("lanxing", "t-1", "2020-06-09", 3.5, occurred_at="2020-06-10T09:00:00+08:00"),
        _retraction(retracted),
        _retraction(lecture),
        _retraction(training),
    ]
    base = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        canonical_of(
            incoming_events.validate_python(e),
            REGIONS[e["agency_id"]],
            base + timedelta(seconds=i),
        )
        for i, e in enumerate(raw)
    ]


HISTORY = _history()
TODAY = date(2021, 1, 1)
PERIODS = [
    (None, None),
    (date(2020, 6, 1), date(2020, 6, 8)),
    (date(2020, 6, 9), date(2020, 12, 31)),
    (date(2020, 6, 4), date(2020, 6, 4)),
    (date(2020, 6, 1), date(2020, 7, 31)),  # whole months
    (date(2020, 6, 15), date(2020, 8, 14)),  # a whole month between two edges
    (date(2019, 5, 1), None),
]
FIGURES = (
    "staff_days_dispatched",
    "activities_by_kind",
    "activity_attendance_by_kind",
    "trainings_by_kind",
    "training_attendances",
    "training_hours",
)
SCOPES = [
    Scope(region=region, agency=agency_id, pairing=pairing, start=start, end=end, today=TODAY)
    for region, agency_id, pairing in [
        (None, None, None),
        ("22", None, None),
        ("2224", None, None),
        ("2201", None, None),
        (None, "lanxing", None),
        (None, "yanghua", None),
        (None, "heshan", None),
        ("2224", "yanghua", None),
        (None, None, PAIRING),
        (None, None, "zz"),
    ]
    for start, end in PERIODS
]


async def _apply(url: str, deliveries: list[list[Canonical]]) -> asyncpg.Connection:
    conn = await asyncpg.connect(url)
    await projections.reset(conn)
    for batch in deliveries:
        async with conn.transaction():
            await projections.apply(conn, await claim(conn, "reporting", batch))
    return conn


async def _both(conn: asyncpg.Connection) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    out = []
    for scope in SCOPES:
        live = await summary(conn, scope)
        facts = await summary(conn, replace(scope, as_of=LATER))
        out.append(({k: live[k] for k in FIGURES}, {k: facts[k] for k in FIGURES}))
    return out


# What migration 021 fills its tables with, from the facts that count.
_DAYS_FROM_FACTS = """
SELECT pairing_id, worker_id, day::date AS day, agency_id, count(*)::int AS dispatches
FROM dispatch_facts, generate_series(from_date, to_date, interval '1 day') AS day
WHERE NOT superseded GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
"""
_COUNTS_FROM_DAYS = """
SELECT pairing_id, reporters, day, count(*)::int AS workers
FROM (SELECT pairing_id, worker_id, day, array_agg(agency_id ORDER BY agency_id COLLATE "C")
             AS reporters FROM dispatch_days GROUP BY 1, 2, 3) x
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""


async def _kept_as_facts_say(conn: asyncpg.Connection) -> None:
    kept = await conn.fetch("SELECT * FROM dispatch_days ORDER BY 1, 2, 3, 4")
    assert [tuple(r) for r in kept] == [tuple(r) for r in await conn.fetch(_DAYS_FROM_FACTS)]
    counts = await conn.fetch(
        "SELECT pairing_id, reporters, day, workers FROM staff_day_counts ORDER BY 1, 2, 3"
    )
    assert [tuple(r) for r in counts] == [tuple(r) for r in await conn.fetch(_COUNTS_FROM_DAYS)]


@pytest.mark.parametrize("cut", [None, 5, 9, 12, 18, 25])
def test_live_figures_equal_the_facts_in_every_scope(database: str, cut: int | None) -> None:
    """In one batch, or cut in two with the first part delivered again in the second."""
    deliveries = [HISTORY] if cut is None else [HISTORY[:cut], HISTORY[: cut - 2] + HISTORY[cut:]]

    async def run() -> list[tuple[dict[str, Any], dict[str, Any]]]:
        conn = await _apply(database, deliveries)
        try:
            await _kept_as_facts_say(conn)
            return await _both(conn)
        finally:
            await conn.close()

    pairs = asyncio.run(run())
    for scope, (live, facts) in zip(SCOPES, pairs, strict=True):
        assert live == facts, scope
    figures = dict(zip(SCOPES, (live["staff_days_dispatched"] for live, _ in pairs), strict=True))
    # 3 to 10 June (zhao, both sides), 3 days of the unknown pairing, d-7's corrected 2
    assert figures[SCOPES[0]] == 8 + 3 + 2
    assert figures[Scope(pairing=PAIRING, today=TODAY)] == 8 + 2
    assert figures[Scope(agency="heshan", today=TODAY)] == 3
    assert len(set(figures.values())) > 4  # the scopes tell the cases apart
    seen = {str(live[k]) for live, _ in pairs for k in FIGURES[1:]}
    assert len(seen) > 10  # and activities and trainings move with them


def test_retracting_everything_leaves_no_day(database: str) -> None:
    dispatches = [e for e in HISTORY if e.type == "staff-dispatched"]
    undo = [
        canonical_of(
            incoming_events.validate_python(_retraction({"event_id": e.event_id,
                                                         "agency_id": e.agency_id})),
            REGIONS[e.agency_id],
            datetime(2027, 1, 1, tzinfo=UTC) + timedelta(seconds=i),
        )
        for i, e in enumerate(dispatches)
    ]  # fmt: skip

    async def run() -> tuple[int, int]:
        conn = await _apply(database, [HISTORY, undo])
        try:
            return (
                await conn.fetchval("SELECT count(*) FROM dispatch_days"),
                await conn.fetchval("SELECT count(*) FROM staff_day_counts"),
            )
        finally:
            await conn.close()

    assert asyncio.run(run()) == (0, 0)
