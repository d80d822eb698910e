"""What a retraction does to the figures that hang on its target, and the staff-days
target, on real PostgreSQL: reporting's own queries (services/reporting/summary.py,
pairing_report.py) give each figure the rules of docs/kpis.md say, and the plain
recomputation (reconcile) agrees with them in every scope."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.reporting import projections
from services.reporting.national import add_up
from services.reporting.pairing_report import pairing_report
from services.reporting.reconcile.run import reconcile
from services.reporting.summary import Scope, summary
from shared.consumer import claim
from shared.events import Canonical, canonical_of, incoming_events
from tests.support.databases import fresh_reporting_database

TODAY = date(2023, 6, 30)
BASE = datetime(2026, 1, 1, tzinfo=UTC)
PAIRING = "p1"


@pytest.fixture
def database(pg_url: str) -> Iterator[str]:
    """A fresh database for each test here (the conftest's is one per module)."""
    yield fresh_reporting_database(pg_url)


def event(
    kind: str, payload: dict[str, Any], sender: str, event_id: str | None = None
) -> dict[str, Any]:
    return {
        "event_id": event_id or uuid.uuid4().hex,
        "type": kind,
        "schema_version": 1,
        "agency_id": sender,
        "occurred_at": "2019-05-01T09:00:00+08:00",
        "payload": payload,
    }


def registration(agency_id: str, region: str, role: str, **extra: Any) -> dict[str, Any]:
    payload = {
        "agency_id": agency_id,
        "name": agency_id,
        "region_code": region,
        "role": role,
        "registered_on": "2019-05-01",
        **extra,
    }
    return event("agency-registered", payload, agency_id, f"reg-{agency_id}")


def established(
    assisting: str = "lanxing",
    assisted: str = "wenhua",
    starts_on: str = "2019-05-06",
    ends_on: str | None = None,
) -> dict[str, Any]:
    payload = {
        "pairing_id": PAIRING,
        "assisting_agency_id": assisting,
        "assisted_agency_id": assisted,
        "starts_on": starts_on,
        "ends_on": ends_on,
        "targets": {
            "staff_days_per_year": 40,
            "agencies_to_incubate": 1,
            "projects_to_undertake": 1,
        },
    }
    return event("pairing-established", payload, assisting, "pairing")


def retraction(target: dict[str, Any]) -> dict[str, Any]:
    payload = {"target_event_id": target["event_id"], "reason": "entered by mistake"}
    return event("event-retracted", payload, target["agency_id"])


def dispatch(
    n: int, from_date: str, to_date: str, sender: str = "lanxing", pairing_id: str = PAIRING
) -> dict[str, Any]:
    payload = {
        "dispatch_id": f"d{n}",
        "pairing_id": pairing_id,
        "worker_id": "w1",
        "from_date": from_date,
        "to_date": to_date,
    }
    return event("staff-dispatched", payload, sender)


def training(n: int, hours: float, held_on: str = "2019-06-01") -> dict[str, Any]:
    payload = {
        "training_id": f"t{n}",
        "pairing_id": PAIRING,
        "kind": "supervision",
        "held_on": held_on,
        "hours": hours,
        "trainer_agency_id": "lanxing",
        "attendee_worker_ids": ["w1"],
    }
    return event("training-completed", payload, "lanxing")


def milestone(name: str, reached_on: str) -> dict[str, Any]:
    payload = {"pairing_id": PAIRING, "milestone": name, "reached_on": reached_on}
    return event("milestone-reached", payload, "lanxing")


def client(agency_id: str, client_id: str) -> dict[str, Any]:
    payload = {
        "client_id": client_id,
        "name": "n",
        "birth_year": 1940,
        "sex": "female",
        "ethnicity": "han",
        "circumstances": [],
        "in_difficulty": True,
    }
    return event("client-registered", payload, agency_id)


def visit(agency_id: str, client_id: str, minutes: int) -> dict[str, Any]:
    payload = {
        "visit_id": uuid.uuid4().hex[:8],
        "client_id": client_id,
        "worker_id": "w1",
        "service": "home-care",
        "started_at": "2020-03-02T10:00:00+08:00",
        "duration_min": minutes,
    }
    return event("visit-logged", payload, agency_id)


def worker(agency_id: str, worker_id: str, licence: str = "none") -> dict[str, Any]:
    payload = {
        "worker_id": worker_id,
        "agency_id": agency_id,
        "role": "social-worker",
        "licence": licence,
        "languages": ["zh"],
    }
    return event("worker-registered", payload, agency_id)


JILIN = [
    registration("lanxing", "220102", "assisting"),
    registration("wenhua", "222405", "community"),
]


class Reporting:
    """A reporting database the events are applied to (as the consumer does), with
    reporting's own answers and the plain recomputation beside them."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.events: list[Canonical] = []

    async def apply(self, *raws: dict[str, Any]) -> None:
        batch = [
            canonical_of(
                incoming_events.validate_python(raw),
                "220102",
                BASE + timedelta(seconds=len(self.events) + i),
            )
            for i, raw in enumerate(raws)
        ]
        self.events += batch
        conn = await asyncpg.connect(self.url)
        try:
            async with conn.transaction():
                await projections.apply(conn, await claim(conn, "reporting", batch))
        finally:
            await conn.close()

    async def summary(self, **scope: Any) -> dict[str, Any]:
        conn = await asyncpg.connect(self.url)
        try:
            return await summary(conn, Scope(today=TODAY, **scope))
        finally:
            await conn.close()

    async def unassigned(self) -> int:
        conn = await asyncpg.connect(self.url)
        try:
            return int(await conn.fetchval(projections.UNASSIGNED_COUNT))
        finally:
            await conn.close()

    async def pairing(self) -> dict[str, Any] | None:
        conn = await asyncpg.connect(self.url)
        try:
            return await pairing_report(conn, PAIRING, TODAY)
        finally:
            await conn.close()

    async def reconciles(self) -> None:
        """The plain recomputation finds no difference in any scope and period."""
        pool = await asyncpg.create_pool(self.url, min_size=1, max_size=1)
        assert pool is not None
        try:
            outcome = await reconcile(pool, self.events, TODAY)
        finally:
            await pool.close()
        assert outcome.differences == [], "\n".join(d.line() for d in outcome.differences[:20])


def run(test: Any, url: str) -> None:
    asyncio.run(test(Reporting(url)))


def test_a_retracted_pairing_incubates_nothing(database: str) -> None:
    async def go(r: Reporting) -> None:
        pairing = established()
        yanghua = registration("yanghua", "222405", "assisted", incubated_by_pairing_id=PAIRING)
        await r.apply(*JILIN, pairing, yanghua, worker("yanghua", "y1"))
        assert (await r.summary(region="22"))["agencies"]["incubated"] == 1
        assert (await r.summary(pairing=PAIRING))["workers_total"] == 1
        await r.apply(retraction(pairing))
        # Yanghua is still an assisted agency of 2224, but nothing incubated it any more,
        # and a pairing that does not exist has no members.
        assert (await r.summary(region="22"))["agencies"] == {
            "assisting": 1,
            "assisted": 1,
            "incubated": 0,
        }
        assert (await r.summary(pairing=PAIRING))["agencies"]["assisted"] == 0
        assert (await r.summary(pairing=PAIRING))["workers_total"] == 0
        assert await r.pairing() is None
        await r.reconciles()
        # Established again (a new event id): it incubates Yanghua again.
        await r.apply({**pairing, "event_id": "pairing-again"})
        assert (await r.summary(region="2224"))["agencies"]["incubated"] == 1
        await r.reconciles()

    run(go, database)


def test_a_year_holding_29_february_gets_the_yearly_target(database: str) -> None:
    async def go(r: Reporting) -> None:
        await r.apply(*JILIN, established())
        for year in (2020, 2021, 2023, 2024):  # 2020 and 2024 hold 29 February
            figures = await r.summary(start=date(year, 1, 1), end=date(year, 12, 31))
            assert figures["staff_days_target"] == 40.0, year
        whole = await r.summary(start=date(2019, 5, 6), end=date(2020, 5, 5))
        assert whole["staff_days_target"] == 40.0  # the first programme year, 366 days
        await r.reconciles()

    run(go, database)


def test_a_pairing_that_ended_long_ago_is_not_active_so_far(database: str) -> None:
    async def go(r: Reporting) -> None:
        yanghua = registration("yanghua", "222405", "assisted", incubated_by_pairing_id=PAIRING)
        late = {**registration("late", "222405", "assisted", incubated_by_pairing_id=PAIRING)}
        late["payload"] = {**late["payload"], "registered_on": "2022-03-01"}
        await r.apply(
            *JILIN,
            established(ends_on="2021-05-05"),
            yanghua,
            late,
            dispatch(1, "2019-06-01", "2019-06-10"),
            dispatch(2, "2021-05-01", "2021-05-10"),  # runs past the end
            milestone("systems-established", "2019-12-20"),
            milestone("methods-mastered", "2022-01-10"),  # after the pairing ended
        )
        so_far = await r.summary()
        assert so_far["pairings_active"] == 0  # active on the period's last day: no
        assert so_far["staff_days_target"] == 80.0  # its two years' targets, as before
        during = await r.summary(start=date(2021, 1, 1), end=date(2021, 12, 31))
        assert during["pairings_active"] == 1
        assert (await r.summary(end=date(2020, 12, 31)))["pairings_active"] == 1
        # The pairing report stops at ends_on: no agency, milestone or day after it.
        report = await r.pairing()
        assert report is not None
        assert [y["staff_days"] for y in report["staff_days_by_programme_year"]] == [10, 5]
        assert [a["agency_id"] for a in report["agencies_incubated"]["agencies"]] == ["yanghua"]
        assert [m["milestone"] for m in report["milestones"]] == ["systems-established"]
        assert report["assisted_licence_rate"]["now"]["as_of"] == "2021-05-05"
        await r.reconciles()

    run(go, database)


def test_training_hours_agree_so_far_and_in_a_period_after_a_retraction(database: str) -> None:
    async def go(r: Reporting) -> None:
        trainings = [training(n, 1.333) for n in range(3)]
        await r.apply(*JILIN, established(), *trainings)
        assert (await r.summary())["training_hours"] == 3.99  # hundredths: 1.33 each
        await r.apply(retraction(trainings[0]))
        so_far = await r.summary()
        bounded = await r.summary(start=date(2019, 1, 1), end=date(2019, 12, 31))
        assert so_far["training_hours"] == bounded["training_hours"] == 2.66
        await r.reconciles()

    run(go, database)


def _figures(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "as_of"}


def test_the_provinces_add_up_to_the_nation_after_a_registration_is_retracted(
    database: str,
) -> None:
    """SPEC 3.6 "Unregistered agencies": an agency with no registration in force counts in
    no region and not in the national figures either (GET /v1/reports/unassigned lists
    it), so the provinces add up to the nation, before and after the retraction."""

    async def go(r: Reporting) -> None:
        gone = registration("gone", "220104", "assisted")
        beijing = registration("bj", "110101", "assisting")
        await r.apply(*JILIN, beijing, gone, established())
        work = [
            *(client(a, f"c-{a}") for a in ("lanxing", "wenhua", "bj", "gone")),
            *(visit(a, f"c-{a}", 30) for a in ("lanxing", "wenhua", "bj", "gone")),
            *(worker(a, f"w-{a}", "assistant") for a in ("lanxing", "bj", "gone")),
            dispatch(1, "2019-06-01", "2019-06-10"),
            training(1, 2.5),
            milestone("systems-established", "2019-12-20"),
        ]
        await r.apply(*work)

        async def provinces_and_nation() -> tuple[dict[str, Any], dict[str, Any]]:
            provinces = [await r.summary(region=p) for p in ("11", "22")]
            return _figures(add_up(provinces)), _figures(await r.summary())

        summed, nation = await provinces_and_nation()
        assert summed == nation and nation["clients_registered"] == 4
        await r.apply(retraction(gone))
        summed, nation = await provinces_and_nation()
        assert nation["clients_registered"] == 3 and nation["workers_total"] == 2
        assert sum(nation["visits_by_service"].values()) == 3
        assert summed == nation
        assert await r.unassigned() == 1  # visible, never silent
        await r.reconciles()

    run(go, database)


def test_a_pairings_figures_count_in_each_sides_region_once(database: str) -> None:
    """The target, the dispatches, trainings and milestones of a pairing follow one rule:
    they count in every scope that holds either side, once, and once in the nation."""

    async def go(r: Reporting) -> None:
        await r.apply(
            *JILIN,
            established(),
            dispatch(1, "2019-06-01", "2019-06-10"),
            dispatch(2, "2019-06-05", "2019-06-12", sender="wenhua"),  # overlaps: 12 days
            training(1, 1.333),
            milestone("systems-established", "2019-12-20"),
            # a dispatch of a pairing nobody established: its sender's only
            dispatch(3, "2019-07-01", "2019-07-02", sender="wenhua", pairing_id="p9"),
        )
        year = {"start": date(2019, 5, 6), "end": date(2020, 5, 5)}
        for region in ("2201", "2224", "22", None):
            figures = await r.summary(region=region, **year)
            assert figures["pairings_active"] == 1, region
            assert figures["staff_days_target"] == 40.0, region
            # p9's two days are wenhua's (2224), not lanxing's (2201)
            assert figures["staff_days_dispatched"] == (12 if region == "2201" else 14), region
            assert figures["training_hours"] == 1.33, region
            assert [m["pairing_id"] for m in figures["milestones"]] == [PAIRING], region
        so_far = await r.summary(region="2224")
        assert (so_far["training_hours"], so_far["staff_days_dispatched"]) == (1.33, 14)
        await r.reconciles()
        # Retracting the pairing leaves its facts with those who reported them.
        await r.apply(retraction(established()))
        assert (await r.summary(region="2224", **year))["staff_days_dispatched"] == 10
        assert (await r.summary(region="2201", **year))["staff_days_dispatched"] == 10
        await r.reconciles()

    run(go, database)
