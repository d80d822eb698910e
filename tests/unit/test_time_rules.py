"""The plain rules of SPEC 3.6 "Time" (services/reporting/reconcile/plain.py), without I/O:
an entity on a day is its newest registration that happened by then; a worker's licence
on a day is its statements up to then, one after the other."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.reporting.reconcile.plain import History, Scope, kpis
from shared.events import Canonical, canonical_of, incoming_events

RECORDED = datetime(2026, 1, 1, tzinfo=UTC)


def _history(raws: list[dict[str, Any]], as_of: datetime | None = None) -> History:
    events: list[Canonical] = [
        canonical_of(incoming_events.validate_python(raw), "22", RECORDED + timedelta(seconds=i))
        for i, raw in enumerate(raws)
    ]
    return History(events, as_of=as_of)


def _event(n: int, kind: str, at: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"event_id": f"e{n}", "type": kind, "schema_version": 1, "agency_id": "a1",
            "occurred_at": at, "payload": payload}  # fmt: skip


def _agency(n: int, region: str, at: str) -> dict[str, Any]:
    return _event(n, "agency-registered", at, {"agency_id": "a1", "name": "n",
                  "region_code": region, "role": "assisted", "registered_on": "2019-01-01"})  # fmt: skip


def _worker(n: int, licence: str, at: str) -> dict[str, Any]:
    return _event(n, "worker-registered", at, {"worker_id": "w1", "agency_id": "a1",
                  "role": "social-worker", "licence": licence, "languages": ["zh"]})  # fmt: skip


def _statement(n: int, kind: str, licence: str, on: str) -> dict[str, Any]:
    field = "obtained_on" if kind == "certification-obtained" else "revoked_on"
    payload = {"worker_id": "w1", "licence": licence, field: on}
    if kind == "certification-revoked":
        payload["reason"] = "r"
    return _event(n, kind, f"{on}T09:00:00+08:00", payload)


def test_an_agency_is_where_its_registration_then_put_it() -> None:
    history = _history(
        [
            _agency(1, "222405", "2019-03-01T09:00:00+08:00"),
            _agency(2, "220102", "2021-01-05T23:30:00+08:00"),  # a China date, not UTC's
        ]
    )
    on = {d: history.agency_on("a1", d).region_code for d in
          (date(2018, 1, 1), date(2021, 1, 4), date(2021, 1, 5))}  # fmt: skip
    assert on == {date(2018, 1, 1): "222405", date(2021, 1, 4): "222405",
                  date(2021, 1, 5): "220102"}  # fmt: skip
    assert history.agency_on("nobody", date(2021, 1, 5)) is None


def test_a_licence_is_the_statements_up_to_the_day() -> None:
    history = _history(
        [
            _worker(1, "none", "2019-01-10T09:00:00+08:00"),
            _statement(2, "certification-obtained", "assistant", "2019-06-01"),
            _statement(3, "certification-revoked", "senior", "2019-09-01"),  # not held
            _statement(4, "certification-obtained", "none", "2020-03-01"),  # lowers it
            _statement(5, "certification-obtained", "senior", "2021-01-01"),
            _statement(6, "certification-revoked", "senior", "2022-01-01"),
        ]
    )
    days = ("2019-01-10", "2019-06-01", "2019-09-01", "2020-03-01", "2021-01-01", "2022-01-01")
    held = [history.licence_on(("a1", "w1"), date.fromisoformat(d)) for d in days]
    assert held == ["none", "assistant", "assistant", "none", "senior", "none"]


def test_as_of_a_moment_only_what_was_recorded_by_then_counts() -> None:
    raws = [
        _agency(0, "222405", "2019-01-01T09:00:00+08:00"),
        _worker(1, "none", "2019-01-10T09:00:00+08:00"),
        _statement(2, "certification-obtained", "assistant", "2019-06-01"),
        _event(3, "event-retracted", "2019-07-01T09:00:00+08:00",
               {"target_event_id": "e2", "reason": "wrong worker"}),
    ]  # fmt: skip
    year = Scope(start=date(2019, 1, 1), end=date(2019, 12, 31))
    licensed = [
        kpis(_history(raws, RECORDED + timedelta(seconds=s)), year, date(2023, 1, 1))[
            "workers_licensed"
        ]
        for s in (1, 2, 3)
    ]
    assert licensed == [0, 1, 0]
