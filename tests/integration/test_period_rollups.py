"""A period's visit figures from the period rollups (migration 020, rollups.py) equal those
the facts give, after a retraction, a correction that moves a visit to another year, a
second visit on a client's day taken out, and a late event landing in an old period; and
the rollups equal what the migration would make from the facts that count."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from services.reporting import projections, rollups
from services.reporting.summary import Scope, summary
from shared.consumer import claim
from shared.events import Canonical, canonical_of, incoming_events

TODAY = date(2022, 6, 30)
RECORDED = datetime(2026, 1, 1, tzinfo=UTC)
# as_of after every recording: the same events, read from the facts (basis.py).
EVERYTHING = datetime(2030, 1, 1, tzinfo=UTC)
VISIT_FIGURES = ("visits_by_service", "visit_minutes", "clients_served",
                 "clients_served_by_service")  # fmt: skip


def _event(kind: str, agency: str, at: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"event_id": uuid.uuid4().hex, "type": kind, "schema_version": 1,
            "agency_id": agency, "occurred_at": at, "payload": payload}  # fmt: skip


def _agency(agency: str, region: str) -> dict[str, Any]:
    return _event(
        "agency-registered", agency, "2019-01-01T09:00:00+08:00",
        {"agency_id": agency, "name": "n", "region_code": region, "role": "assisted",
         "registered_on": "2019-01-01"},
    )  # fmt: skip


def _visit(
    agency: str,
    client: str,
    day: str,
    service: str = "home-care",
    minutes: int = 30,
    visit_id: str | None = None,
    client_agency: str | None = None,
    at: str | None = None,
) -> dict[str, Any]:
    payload = {"visit_id": visit_id or uuid.uuid4().hex, "client_id": client,
               "worker_id": "w1", "service": service,
               "started_at": f"{day}T10:00:00+08:00", "duration_min": minutes,
               "client_agency_id": client_agency}  # fmt: skip
    return _event("visit-logged", agency, at or f"{day}T10:00:00+08:00", payload)


def _retraction(target: dict[str, Any]) -> dict[str, Any]:
    payload = {"target_event_id": target["event_id"], "reason": "logged by mistake"}
    return _event("event-retracted", target["agency_id"], "2022-01-01T09:00:00+08:00", payload)


RETRACTED = _visit("a1", "c2", "2020-05-05", "health-check", 45)
DOUBLED = _visit("a1", "c1", "2020-02-10", "home-care", 20)  # c1 is visited twice that day
MOVED = _visit("a1", "c3", "2020-12-30", "home-care", 60, visit_id="moved")
HISTORY = [
    _agency("a1", "222405"),
    _agency("a2", "220102"),
    _agency("a3", "110101"),  # another province
    _visit("a1", "c1", "2019-12-31"),
    _visit("a1", "c1", "2020-01-01", "health-check"),
    _visit("a1", "c1", "2020-02-10"),
    DOUBLED,
    _visit("a2", "c1", "2020-02-11", client_agency="a1"),  # a1's client, one client
    _visit("a2", "c9", "2020-02-29", "other", 15),
    _visit("a3", "c1", "2020-03-01", client_agency="a1"),  # outside the province
    RETRACTED,
    _visit("a1", "c2", "2021-05-05", "health-check", 45),
    MOVED,
    _visit("a1", "c4", "2020-12-31", "crisis-support", 90),
    _visit("a1", "c4", "2021-01-01", "crisis-support", 90),
    _retraction(RETRACTED),
    _retraction(DOUBLED),
    # A correction of MOVED (newer occurrence, same visit): it happened in 2021 instead.
    _visit(
        "a1", "c3", "2021-01-02", "home-care", 50, visit_id="moved", at="2021-01-03T09:00:00+08:00"
    ),
    # Recorded last, it lands in a period long closed.
    _visit("a2", "c5", "2019-06-01", "proxy-shopping", 25),
]


def _canonical(raws: list[dict[str, Any]]) -> list[Canonical]:
    return [
        canonical_of(incoming_events.validate_python(raw), "22", RECORDED + timedelta(seconds=i))
        for i, raw in enumerate(raws)
    ]


PERIODS = [
    (date(2019, 1, 1), date(2019, 12, 31)),
    (date(2020, 1, 1), date(2020, 12, 31)),
    (date(2020, 1, 1), date(2020, 3, 31)),
    (date(2020, 2, 10), date(2020, 2, 10)),
    (date(2019, 12, 31), date(2021, 1, 1)),
    (date(2020, 12, 31), date(2021, 12, 31)),
    (date(2019, 6, 1), date(2021, 6, 1)),
    (date(2020, 5, 5), date(2020, 5, 5)),
]
PLACES: list[dict[str, Any]] = [{}, {"region": "22"}, {"region": "2224"}, {"agency": "a2"}]


async def _check(url: str, events: list[Canonical]) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(url)
    try:
        await projections.reset(conn)
        for e in events:  # one at a time, in the order given
            async with conn.transaction():
                await projections.apply(conn, await claim(conn, "reporting", [e]))
        answers = []
        for place in PLACES:
            for start, end in [*PERIODS, (None, None)]:
                scope = Scope(today=TODAY, start=start, end=end, **place)
                live = await summary(conn, scope)
                facts = await summary(conn, replace(scope, as_of=EVERYTHING))
                got = {k: live[k] for k in VISIT_FIGURES}
                assert got == {k: facts[k] for k in VISIT_FIGURES}, (place, start, end)
                answers.append({"place": place, "start": start, "end": end, **got})
        await _rollups_match_the_facts(conn)
        return answers
    finally:
        await conn.close()


async def _rollups_match_the_facts(conn: asyncpg.Connection) -> None:
    """What add and take_out kept equals what migration 020 makes from the facts."""
    counting = "FROM visit_facts WHERE NOT retracted AND NOT superseded"
    for table, unit, of in (
        ("visit_days", "day", "visited_on"),
        ("visit_months", "month", "date_trunc('month', visited_on)::date"),
    ):
        made = await conn.fetch(
            f"SELECT agency_id, {of}, service, count(*), sum(duration_min) {counting}"
            " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
        )
        kept = await conn.fetch(
            f"SELECT agency_id, {unit}, service, visits, minutes FROM {table}"
            " WHERE visits <> 0 ORDER BY 1, 2, 3"
        )
        assert [tuple(r) for r in kept] == [tuple(r) for r in made], table
    visits = await conn.fetch(
        f"SELECT agency_id, client_agency, client_id, service, visited_on {counting}"
    )
    made_years: dict[tuple[Any, ...], set[int]] = {}
    for v in visits:
        key = (v["agency_id"], v["visited_on"].year, v["client_agency"], v["client_id"])
        made_years.setdefault(key, set()).add(rollups.day_bit(v["service"], v["visited_on"]))
    kept_years = {
        tuple(r)[:4]: {i for i, bit in enumerate(r["days"]) if bit == "1"}
        for r in await conn.fetch(
            "SELECT agency_id, year, client_agency, client_id, days::text AS days"
            " FROM client_visit_years"
        )
    }
    assert kept_years == made_years


def test_period_rollups_answer_as_the_facts_do(database: str) -> None:
    answers = asyncio.run(_check(database, _canonical(HISTORY)))
    by = {(str(a["place"]), a["start"], a["end"]): a for a in answers}
    province_2020 = by[(str({"region": "22"}), date(2020, 1, 1), date(2020, 12, 31))]
    # c1 (a1's, visited by a1 and a2), c9, c3's first visit moved to 2021, c4; the doubled
    # visit and c2's retracted one are out.
    assert province_2020["visits_by_service"] == {
        "crisis-support": 1, "health-check": 1, "home-care": 2, "other": 1,
    }  # fmt: skip
    assert province_2020["clients_served"] == 3
    assert province_2020["visit_minutes"] == 90 + 30 + 30 + 30 + 15
    one_day = by[(str({"region": "22"}), date(2020, 2, 10), date(2020, 2, 10))]
    assert one_day["visits_by_service"] == {"home-care": 1}
    assert one_day["clients_served"] == 1 and one_day["visit_minutes"] == 30
    assert by[(str({"region": "22"}), date(2020, 5, 5), date(2020, 5, 5))]["clients_served"] == 0
    late = by[(str({"agency": "a2"}), date(2019, 1, 1), date(2019, 12, 31))]
    assert late["visits_by_service"] == {"proxy-shopping": 1} and late["clients_served"] == 1


def test_the_same_events_in_another_order_keep_the_same_rollups(database: str) -> None:
    """Retractions before their targets, the correction before the visit it corrects."""
    events = _canonical(HISTORY)
    reordered = [*events[:3], *reversed(events[3:])]
    assert asyncio.run(_check(database, reordered)) == asyncio.run(_check(database, events))
