"""Figures as they stood (SPEC 3.6 "Time", 3.7 as_of) on a real PostgreSQL: later
registrations do not rewrite past periods (licence, difficulty, project, region), licences
go down (a certification of `none`), and the plain recomputation agrees on every scope."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from services.reporting import projections
from services.reporting.basis import Basis
from services.reporting.pairing_report import pairing_report
from services.reporting.reconcile.plain import History, kpis
from services.reporting.reconcile.plain import Scope as PlainScope
from services.reporting.reconcile.run import reconcile
from services.reporting.summary import Scope, summary
from shared.consumer import claim
from shared.events import Canonical, canonical_of, incoming_events

TODAY = date(2023, 6, 30)
RECORDED = datetime(2026, 1, 1, tzinfo=UTC)
Y2019 = {"start": date(2019, 1, 1), "end": date(2019, 12, 31)}
Y2021 = {"start": date(2021, 1, 1), "end": date(2021, 12, 31)}


def _event(kind: str, agency: str, at: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4().hex,
        "type": kind,
        "schema_version": 1,
        "agency_id": agency,
        "occurred_at": at,
        "payload": payload,
    }


def _agency(region: str, at: str, agency: str = "mover") -> dict[str, Any]:
    return _event(
        "agency-registered",
        agency,
        at,
        {"agency_id": agency, "name": "n", "region_code": region, "role": "assisted",
         "registered_on": at[:10] if agency == "other" else "2019-01-01"},
    )  # fmt: skip


def _worker(licence: str, at: str) -> dict[str, Any]:
    return _event(
        "worker-registered",
        "mover",
        at,
        {"worker_id": "w1", "agency_id": "mover", "role": "social-worker", "licence": licence,
         "languages": ["zh"]},
    )  # fmt: skip


def _certification(licence: str, on: str) -> dict[str, Any]:
    payload = {"worker_id": "w1", "licence": licence, "obtained_on": on}
    return _event("certification-obtained", "mover", f"{on}T09:00:00+08:00", payload)


def _client(at: str, in_difficulty: bool, project: str | None) -> dict[str, Any]:
    return _event(
        "client-registered",
        "mover",
        at,
        {"client_id": "c1", "project_id": project, "name": "n", "birth_year": 1940,
         "sex": "female", "ethnicity": "han", "circumstances": [],
         "in_difficulty": in_difficulty},
    )  # fmt: skip


def _visit(day: str) -> dict[str, Any]:
    return _event(
        "visit-logged",
        "mover",
        f"{day}T10:00:00+08:00",
        {"visit_id": uuid.uuid4().hex, "client_id": "c1", "worker_id": "w1",
         "service": "home-care", "started_at": f"{day}T10:00:00+08:00", "duration_min": 30},
    )  # fmt: skip


def _canonical(raws: list[dict[str, Any]]) -> list[Canonical]:
    return [
        canonical_of(incoming_events.validate_python(raw), "22", RECORDED + timedelta(seconds=i))
        for i, raw in enumerate(raws)
    ]


def _project(project_id: str) -> dict[str, Any]:
    return _event(
        "project-started",
        "mover",
        "2019-01-02T09:00:00+08:00",
        {"project_id": project_id, "agency_id": "mover", "name": "n", "target_group": "elders",
         "starts_on": "2019-01-02"},
    )  # fmt: skip


# 2019: in Longjing (222405), a worker without a licence who gets one in 2019 and loses it
# in 2020 (a certification of `none`), a client in difficulty in project j1, six visits.
# 2021: the agency moves to Changchun (220102), the worker is re-registered licensed, the
# client re-registered out of difficulty in project j2, two visits.
HISTORY = [
    _agency("222405", "2019-01-01T09:00:00+08:00"),
    _agency("220102", "2021-01-05T09:00:00+08:00", agency="other"),
    _project("j1"),
    _project("j2"),
    _worker("none", "2019-01-10T09:00:00+08:00"),
    _client("2019-01-10T09:00:00+08:00", True, "j1"),
    *(_visit(f"2019-0{m}-15") for m in range(1, 7)),
    _certification("assistant", "2019-06-01"),
    _certification("none", "2020-03-01"),
    _agency("220102", "2021-01-05T09:00:00+08:00"),
    _worker("senior", "2021-01-06T09:00:00+08:00"),
    _client("2021-01-06T09:00:00+08:00", False, "j2"),
    _visit("2021-02-01"),
    _visit("2021-03-01"),
]


async def _apply(url: str, events: list[Canonical]) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    assert pool is not None
    async with pool.acquire() as conn:
        await projections.reset(conn)
        for e in events:  # one at a time, in the order given
            async with conn.transaction():
                await projections.apply(conn, await claim(conn, "reporting", [e]))
    return pool


async def _figures(url: str, events: list[Canonical], scopes: list[Scope]) -> list[dict[str, Any]]:
    pool = await _apply(url, events)
    try:
        async with pool.acquire() as conn:
            return [await summary(conn, s) for s in scopes]
    finally:
        await pool.close()


def _served(database: str, events: list[Canonical], **scope: Any) -> dict[str, Any]:
    [figures] = asyncio.run(_figures(database, events, [Scope(today=TODAY, **scope)]))
    return figures


def test_later_registrations_do_not_rewrite_past_periods(database: str) -> None:
    events = _canonical(HISTORY)
    y2019 = _served(database, events, **Y2019)
    assert (y2019["workers_total"], y2019["workers_licensed"]) == (1, 1)
    assert (y2019["clients_registered"], y2019["clients_in_difficulty"]) == (1, 1)
    y2020 = _served(database, events, start=date(2020, 1, 1), end=date(2020, 12, 31))
    assert y2020["workers_licensed"] == 0  # the certification of `none` lowered it
    y2021 = _served(database, events, **Y2021)
    assert (y2021["workers_licensed"], y2021["clients_in_difficulty"]) == (1, 0)
    # the client's project as it stood: its 2019 visits are j1's, its 2021 ones j2's
    j1 = _served(database, events, project="j1")
    j2 = _served(database, events, project="j2")
    assert (j1["visits_by_service"], j2["visits_by_service"]) == (
        {"home-care": 6},
        {"home-care": 2},
    )
    assert (j1["clients_registered"], j2["clients_registered"]) == (0, 1)


def test_history_stays_where_it_happened_after_a_region_move(database: str) -> None:
    events = _canonical(HISTORY)
    longjing_2019 = _served(database, events, region="2224", **Y2019)
    changchun_2019 = _served(database, events, region="2201", **Y2019)
    assert longjing_2019["visits_by_service"] == {"home-care": 6}
    assert longjing_2019["clients_served"] == 1 and longjing_2019["workers_total"] == 1
    assert changchun_2019["visits_by_service"] == {}
    assert changchun_2019["agencies"] == {"assisting": 0, "assisted": 0, "incubated": 0}
    # "so far": each region keeps its own days (the rollups cannot split an agency)
    longjing = _served(database, events, region="2224")
    changchun = _served(database, events, region="2201")
    assert longjing["visits_by_service"] == {"home-care": 6}
    assert changchun["visits_by_service"] == {"home-care": 2}
    assert (longjing["workers_total"], changchun["workers_total"]) == (0, 1)
    assert changchun["agencies"]["assisted"] == 2


def test_the_plain_recomputation_follows_the_same_rules(database: str) -> None:
    events = _canonical(HISTORY)
    history = History(events)
    scope = PlainScope(region="2224", start=date(2019, 1, 1), end=date(2019, 12, 31))
    assert kpis(history, scope, TODAY)["visits_by_service"] == {"home-care": 6}

    async def run() -> list[str]:
        pool = await _apply(database, events)
        try:
            outcome = await reconcile(pool, events, TODAY)
        finally:
            await pool.close()
        assert outcome.scopes > 20
        return [d.line() for d in outcome.differences]

    assert asyncio.run(run()) == []


def _revocation(licence: str, on: str) -> dict[str, Any]:
    payload = {"worker_id": "w1", "licence": licence, "revoked_on": on, "reason": "expired"}
    return _event("certification-revoked", "mover", f"{on}T09:00:00+08:00", payload)


def test_a_revocation_takes_the_licence_away_from_its_day(database: str) -> None:
    events = _canonical(
        [
            _agency("222405", "2019-01-01T09:00:00+08:00"),
            _worker("none", "2019-01-10T09:00:00+08:00"),
            _certification("assistant", "2019-06-01"),
            _revocation("intermediate", "2020-01-01"),  # not the licence held: no effect
            _revocation("assistant", "2020-06-01"),
            _certification("intermediate", "2021-06-01"),  # a new licence counts again
        ]
    )
    licensed = {
        year: _served(database, events, start=date(year, 1, 1), end=date(year, 12, 31))[
            "workers_licensed"
        ]
        for year in (2019, 2020, 2021)
    }
    assert licensed == {2019: 1, 2020: 0, 2021: 1}
    y2020 = PlainScope(start=date(2020, 1, 1), end=date(2020, 5, 31))
    assert kpis(History(events), y2020, TODAY)["workers_licensed"] == 1  # before revoked_on
    [before] = asyncio.run(
        _figures(database, events, [Scope(start=date(2020, 1, 1), end=date(2020, 5, 31))])
    )
    assert before["workers_licensed"] == 1


def test_on_one_day_the_later_statement_holds_whether_registration_or_certification(
    database: str,
) -> None:
    """A worker's registration and a certification of the same day: the licence is the one
    stated later that day (migration 022 reads the newest of each kind, then the newer of
    the two), and the plain recomputation agrees."""
    day = "2019-03-01"
    cert_then_registration = [
        _agency("222405", "2019-01-01T09:00:00+08:00"),
        _event(
            "certification-obtained",
            "mover",
            f"{day}T08:00:00+08:00",
            {"worker_id": "w1", "licence": "assistant", "obtained_on": day},
        ),
        _worker("none", f"{day}T10:00:00+08:00"),
    ]
    registration_then_cert = [
        _agency("222405", "2019-01-01T09:00:00+08:00"),
        _worker("none", f"{day}T08:00:00+08:00"),
        _event(
            "certification-obtained",
            "mover",
            f"{day}T10:00:00+08:00",
            {"worker_id": "w1", "licence": "assistant", "obtained_on": day},
        ),
    ]
    for raws, licensed in ((cert_then_registration, 0), (registration_then_cert, 1)):
        events = _canonical(raws)
        figures = _served(database, events, **Y2019)
        assert (figures["workers_total"], figures["workers_licensed"]) == (1, licensed)
        assert kpis(History(events), PlainScope(**Y2019), TODAY)["workers_licensed"] == licensed


def test_a_pairings_licence_rate_at_start_is_as_it_stood_then(database: str) -> None:
    """The assisted side's worker was unlicensed when the pairing started (2019-05-06);
    re-registered licensed in 2021, the rate "at start" stays 0 and "now" is 1. As of a
    moment before the re-registration was recorded, "now" is 0 as well."""
    pairing = _event(
        "pairing-established",
        "helper",
        "2019-05-06T09:00:00+08:00",
        {"pairing_id": "p1", "assisting_agency_id": "helper", "assisted_agency_id": "mover",
         "starts_on": "2019-05-06",
         "targets": {"staff_days_per_year": 40, "agencies_to_incubate": 1,
                     "projects_to_undertake": 1}},
    )  # fmt: skip
    events = _canonical(
        [
            _agency("222405", "2019-01-01T09:00:00+08:00"),
            pairing,
            _worker("none", "2019-01-10T09:00:00+08:00"),
            _worker("senior", "2021-01-06T09:00:00+08:00"),
        ]
    )

    async def rates(basis: Basis) -> tuple[Any, Any]:
        pool = await _apply(database, events)
        try:
            async with pool.acquire() as conn:
                body = await pairing_report(conn, "p1", TODAY, basis)
        finally:
            await pool.close()
        assert body is not None
        rate = body["assisted_licence_rate"]
        return rate["at_start"]["licensed"], rate["now"]["licensed"]

    assert asyncio.run(rates(Basis())) == (0, 1)
    assert asyncio.run(rates(Basis(events[-1].recorded_at - timedelta(seconds=1)))) == (0, 0)


def test_figures_as_of_each_moment_agree_with_the_plain_recomputation(database: str) -> None:
    """As of every moment of a history with retractions (each recorded after its target),
    what reporting serves equals the plain recomputation of the events recorded by then."""
    raws = list(HISTORY)
    retract = [raws[6], raws[12], raws[16]]  # a 2019 visit, a certification, the 2021 client
    raws += [
        _event(
            "event-retracted",
            t["agency_id"],
            "2022-01-01T09:00:00+08:00",
            {"target_event_id": t["event_id"], "reason": "test"},
        )
        for t in retract
    ]
    events = _canonical(raws)
    moments = [events[i].recorded_at for i in (5, 13, 18, 19, 21)]

    async def run() -> list[str]:
        pool = await _apply(database, events)
        try:
            found = []
            for moment in moments:
                outcome = await reconcile(pool, events, TODAY, as_of=moment)
                found += [f"as of {moment}: {d.line()}" for d in outcome.differences]
        finally:
            await pool.close()
        return found

    assert asyncio.run(run()) == []
    early = kpis(History(events, as_of=moments[0]), PlainScope(), TODAY)
    before = kpis(History(events, as_of=moments[2]), PlainScope(), TODAY)
    after = kpis(History(events, as_of=moments[-1]), PlainScope(), TODAY)
    assert early["visits_by_service"] == {}
    assert (before["visits_by_service"], after["visits_by_service"]) == (
        {"home-care": 8},
        {"home-care": 7},
    )
