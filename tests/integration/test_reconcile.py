"""The plain recomputation (services/reporting/reconcile) agrees with what reporting serves
for every scope, on the demo programme and on random histories applied in any order with
repeats (real PostgreSQL, hypothesis); a corrupted fact row is found and named."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deploy.demo import reference_programme
from services.reporting import projections
from services.reporting.reconcile.plain import IMPLEMENTED, SPEC, History, Rules, Scope, kpis
from services.reporting.reconcile.run import Outcome, reconcile
from shared.consumer import claim
from shared.events import Canonical, canonical_of, incoming_events

TODAY = date(2023, 6, 30)
BASE = datetime(2026, 1, 1, tzinfo=UTC)


def _canonical(raws: list[dict[str, Any]]) -> list[Canonical]:
    return [
        canonical_of(incoming_events.validate_python(raw), "220102", BASE + timedelta(seconds=i))
        for i, raw in enumerate(raws)
    ]


def _retraction(target: dict[str, Any], n: int) -> dict[str, Any]:
    return {
        "event_id": f"retract-{n}-{target['event_id']}",
        "type": "event-retracted",
        "schema_version": 1,
        "agency_id": target["agency_id"],
        "occurred_at": "2021-01-01T00:00:00+08:00",
        "payload": {"target_event_id": target["event_id"], "reason": "test"},
    }


def _demo() -> list[Canonical]:
    raws = reference_programme()
    retract = [e for e in raws if e["type"] not in ("pairing-established",)][5::23]
    return _canonical(raws + [_retraction(t, i) for i, t in enumerate(retract)])


async def _apply_and_reconcile(
    url: str,
    deliveries: list[list[Canonical]],
    corrupt: str | None = None,
    as_of: datetime | None = None,
) -> Outcome:
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    assert pool is not None
    try:
        async with pool.acquire() as conn:
            await projections.reset(conn)
            for batch in deliveries:
                async with conn.transaction():
                    await projections.apply(conn, await claim(conn, "reporting", batch))
            if corrupt:
                await conn.execute(corrupt)
        events = [e for batch in deliveries for e in batch]
        return await reconcile(pool, events, TODAY, as_of=as_of)
    finally:
        await pool.close()


def _show(outcome: Outcome) -> str:
    return "\n".join(d.line() for d in outcome.differences[:20])


def test_the_demo_programme_reconciles(database: str) -> None:
    history = _demo()
    outcome = asyncio.run(_apply_and_reconcile(database, [history[:200], history[200:]]))
    assert outcome.scopes > 50
    assert outcome.differences == [], _show(outcome)
    assert outcome.unchecked == []  # every KPI reporting serves is recomputed


def test_a_corrupted_fact_row_is_found_and_named(database: str) -> None:
    corrupt = (
        "UPDATE visit_facts SET duration_min = duration_min + 7"
        " WHERE event_id = (SELECT min(event_id) FROM visit_facts WHERE NOT retracted)"
    )
    outcome = asyncio.run(_apply_and_reconcile(database, [_demo()], corrupt))
    lines = [d.line() for d in outcome.differences]
    assert any("visit_minutes: served" in line and "from=" in line for line in lines), lines
    assert all("visit_minutes" in d.kpi for d in outcome.differences), _show(outcome)


def test_the_plain_figures_move_with_the_history() -> None:
    """Guards the property tests against a recomputation that says the same whatever."""
    demo = _demo()
    full = kpis(History(demo), Scope(region="22"), TODAY)
    fewer = kpis(History([e for e in demo if e.type != "visit-logged"]), Scope(region="22"), TODAY)
    assert full["visits_by_service"] and not fewer["visits_by_service"]
    assert full["staff_days_dispatched"] and full["milestones"] and full["workers_licensed"]
    assert full["agencies"]["incubated"] >= 1 and full["training_hours"] > 0


# --- random histories ---------------------------------------------------------------------

AGENCIES = {"a1": "220102", "a2": "222405", "a3": "222401", "a4": "220104"}
REGIONS = sorted(set(AGENCIES.values()))
days = st.dates(date(2018, 6, 1), date(2024, 3, 31))  # some after TODAY: the facts path
ids = st.sampled_from(["x1", "x2", "x3"])
agency_ids = st.sampled_from(sorted(AGENCIES))


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    """One event of some type, with few enough ids that they collide (re-registrations,
    several facts on one client, certifications of registered workers)."""
    sender = draw(agency_ids)
    kind = draw(
        st.sampled_from(
            [
                "agency-registered",
                "pairing-established",
                "worker-registered",
                "certification-obtained",
                "certification-revoked",
                "project-started",
                "client-registered",
                "visit-logged",
                "visit-logged",
                "activity-held",
                "training-completed",
                "staff-dispatched",
                "milestone-reached",
            ]
        )
    )
    day = draw(days)
    payload: dict[str, Any]
    if kind == "agency-registered":
        payload = {
            "agency_id": sender,
            "name": "n",
            "region_code": draw(st.sampled_from(REGIONS)),  # a move, sometimes
            "role": draw(st.sampled_from(["assisting", "assisted", "community"])),
            "registered_on": day.isoformat(),
            "incubated_by_pairing_id": draw(st.sampled_from([None, "p1", "p2"])),
        }
    elif kind == "pairing-established":
        ends = draw(st.one_of(st.none(), st.dates(day, date(2025, 12, 31))))
        payload = {
            "pairing_id": draw(st.sampled_from(["p1", "p2"])),
            "assisting_agency_id": sender,
            "assisted_agency_id": draw(agency_ids),
            "starts_on": day.isoformat(),
            "ends_on": ends.isoformat() if ends else None,
            "targets": {
                "staff_days_per_year": draw(st.integers(0, 60)),
                "agencies_to_incubate": 1,
                "projects_to_undertake": 1,
            },
        }
    elif kind == "worker-registered":
        payload = {
            "worker_id": draw(ids),
            "agency_id": sender,
            "role": "social-worker",
            "licence": draw(st.sampled_from(["none", "assistant", "senior"])),
            "languages": ["zh"],
        }
    elif kind == "certification-obtained":
        licence = draw(st.sampled_from(["none", "assistant", "intermediate"]))
        payload = {"worker_id": draw(ids), "licence": licence, "obtained_on": day.isoformat()}
    elif kind == "certification-revoked":
        licence = draw(st.sampled_from(["assistant", "intermediate", "senior"]))
        payload = {"worker_id": draw(ids), "licence": licence, "revoked_on": day.isoformat(),
                   "reason": "r"}  # fmt: skip
    elif kind == "project-started":
        payload = {
            "project_id": draw(st.sampled_from(["j1", "j2"])),
            "agency_id": sender,
            "pairing_id": draw(st.sampled_from([None, "p1"])),
            "name": "n",
            "target_group": "elderly",
            "starts_on": day.isoformat(),
        }
    elif kind == "client-registered":
        payload = {
            "client_id": draw(ids),
            "project_id": draw(st.sampled_from([None, "j1", "j2"])),
            "name": "n",
            "birth_year": 1950,
            "sex": "female",
            "ethnicity": "han",
            "circumstances": [],
            "in_difficulty": draw(st.booleans()),
        }
    elif kind == "visit-logged":
        hour = draw(st.integers(0, 23))
        payload = {
            "visit_id": draw(st.sampled_from(["v1", "v2", "v3", "v4"])),
            "client_id": draw(ids),
            "worker_id": draw(ids),
            "service": draw(st.sampled_from(["home-care", "health-check", "other"])),
            "started_at": f"{day.isoformat()}T{hour:02d}:30:00+0{draw(st.sampled_from([0, 8]))}:00",
            "duration_min": draw(st.integers(1, 240)),
            # sometimes another agency's client (SPEC 3.6 cross-agency visits)
            "client_agency_id": draw(st.sampled_from([None, None, *sorted(AGENCIES)])),
        }
    elif kind == "activity-held":
        payload = {
            "activity_id": draw(ids),
            "project_id": draw(st.sampled_from([None, "j1"])),
            "kind": draw(st.sampled_from(["health-lecture", "group-activity"])),
            "title": "t",
            "held_on": day.isoformat(),
            "attendees": draw(st.integers(0, 50)),
        }
    elif kind == "training-completed":
        payload = {
            "training_id": draw(ids),
            "pairing_id": draw(st.sampled_from(["p1", "p2"])),
            "kind": draw(st.sampled_from(["supervision", "field-visit"])),
            "held_on": day.isoformat(),
            "hours": draw(st.sampled_from([1, 1.5, 1.333, 2.25, 0.005])),
            "trainer_agency_id": sender,
            "attendee_worker_ids": draw(st.lists(ids, max_size=3)),
        }
    elif kind == "staff-dispatched":
        length = draw(st.integers(0, 20))
        payload = {
            "dispatch_id": draw(ids),
            "pairing_id": draw(st.sampled_from(["p1", "p2"])),
            "worker_id": draw(ids),
            "from_date": day.isoformat(),
            "to_date": (day + timedelta(days=length)).isoformat(),
        }
    else:
        payload = {
            "pairing_id": draw(st.sampled_from(["p1", "p2"])),
            "milestone": draw(st.sampled_from(["systems-established", "methods-mastered"])),
            "reached_on": day.isoformat(),
        }
    moment = datetime(2018, 1, 1, tzinfo=UTC) + timedelta(seconds=draw(st.integers(0, 10**8)))
    return {
        "event_id": uuid.UUID(int=draw(st.integers(0, 2**64))).hex,
        "type": kind,
        "schema_version": 1,
        "agency_id": sender,
        "occurred_at": moment.isoformat(),
        "payload": payload,
    }


@st.composite
def histories(draw: st.DrawFn) -> list[list[Canonical]]:
    """Events, retractions of some of them, repeats, in any order, cut into batches."""
    raws = draw(st.lists(events(), min_size=5, max_size=60, unique_by=lambda e: e["event_id"]))
    targets = draw(st.lists(st.sampled_from(raws), max_size=8, unique_by=lambda e: e["event_id"]))
    raws += [_retraction(t, i) for i, t in enumerate(targets)]
    canonical = _canonical(raws)
    repeats = draw(st.lists(st.sampled_from(canonical), max_size=10))
    order = draw(st.permutations(canonical + repeats))
    cuts = sorted(draw(st.sets(st.integers(1, len(order) - 1), max_size=5)))
    bounds = [0, *cuts, len(order)]
    return [order[a:b] for a, b in itertools.pairwise(bounds)]


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(deliveries=histories(), cut=st.integers(0, 70))
def test_random_histories_reconcile(
    database: str, deliveries: list[list[Canonical]], cut: int
) -> None:
    outcome = asyncio.run(_apply_and_reconcile(database, deliveries))
    assert outcome.differences == [], _show(outcome)
    # and as of a moment (SPEC 3.7): only the events recorded by then, retractions included
    moment = BASE + timedelta(seconds=cut)
    then = asyncio.run(_apply_and_reconcile(database, deliveries, as_of=moment))
    assert then.differences == [], f"as of {moment}:\n" + _show(then)


def test_the_spec_rules_are_switches_of_the_recomputation() -> None:
    """With the SPEC's business keys (which reporting implements) a corrected visit is one
    visit; with the switch off it would be two."""
    first = {
        "event_id": "e1",
        "type": "visit-logged",
        "schema_version": 1,
        "agency_id": "a1",
        "occurred_at": "2019-11-04T09:30:00+08:00",
        "payload": {
            "visit_id": "v1",
            "client_id": "c1",
            "worker_id": "w1",
            "service": "home-care",
            "started_at": "2019-11-04T09:30:00+08:00",
            "duration_min": 30,
        },
    }
    corrected = {
        **first,
        "event_id": "e2",
        "occurred_at": "2019-11-05T09:30:00+08:00",
        "payload": {**first["payload"], "duration_min": 45},
    }
    history = _canonical([first, corrected])
    assert kpis(History(history, Rules()), Scope(agency="a1"), TODAY)["visit_minutes"] == 75
    assert kpis(History(history, SPEC), Scope(agency="a1"), TODAY)["visit_minutes"] == 45
    assert IMPLEMENTED == SPEC
