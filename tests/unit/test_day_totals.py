"""The bookkeeping of day_totals.py: which (pairing, reporters, day) group each covered
worker-day belongs to as dispatches start and stop counting; activities and trainings
added up by day and by month."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.reporting.day_totals import covered_days, moves, sums

D1, D2 = date(2020, 3, 1), date(2020, 3, 2)


def _dispatch(agency: str, first: date, last: date, worker: str = "w") -> dict[str, object]:
    return {"agency_id": agency, "pairing_id": "p", "worker_id": worker,
            "from_date": first, "to_date": last}  # fmt: skip


def test_a_dispatch_covers_each_of_its_days_once() -> None:
    assert covered_days([_dispatch("a", D1, D2)], -1) == {
        (("p", "w", D1), "a"): -1,
        (("p", "w", D2), "a"): -1,
    }


def test_overlapping_dispatches_count_a_worker_day_once() -> None:
    after, counts = moves({}, covered_days([_dispatch("a", D1, D2), _dispatch("a", D2, D2)], 1))
    assert after[("p", "w", D2)] == {"a": 2}
    assert counts == {("p", ("a",), D1): 1, ("p", ("a",), D2): 1}
    # one of them retracted: the day is still covered, no group moves
    after2, counts2 = moves(after, covered_days([_dispatch("a", D2, D2)], -1))
    assert after2[("p", "w", D2)] == {"a": 1} and counts2 == {}
    # the other too: both days go
    _, counts3 = moves(after2, covered_days([_dispatch("a", D1, D2)], -1))
    assert counts3 == {("p", ("a",), D1): -1, ("p", ("a",), D2): -1}


def test_a_second_reporter_moves_the_day_to_the_group_of_both() -> None:
    after, _ = moves({}, covered_days([_dispatch("b", D1, D1)], 1))
    after, counts = moves(after, covered_days([_dispatch("a", D1, D1)], 1))
    assert counts == {("p", ("b",), D1): -1, ("p", ("a", "b"), D1): 1}
    _, counts = moves(after, covered_days([_dispatch("b", D1, D1)], -1))
    assert counts == {("p", ("a", "b"), D1): -1, ("p", ("a",), D1): 1}


def test_workers_are_counted_apart() -> None:
    _, counts = moves({}, covered_days([_dispatch("a", D1, D1), _dispatch("a", D1, D1, "v")], 1))
    assert counts == {("p", ("a",), D1): 2}


def test_taking_out_what_was_never_added_is_refused() -> None:
    with pytest.raises(AssertionError):
        moves({}, covered_days([_dispatch("a", D1, D1)], -1))


def test_activities_and_trainings_add_up_by_day_and_by_month() -> None:
    trainings = [
        {"agency_id": "a", "pairing_id": "p", "kind": "k", "held_on": D1, "attendances": 2,
         "hours": Decimal("1.25")},
        {"agency_id": "a", "pairing_id": "p", "kind": "k", "held_on": D2, "attendances": 3,
         "hours": Decimal("2")},
    ]  # fmt: skip
    by_day, by_month = sums("training_facts", trainings, -1)
    assert by_day[("a", "p", "k", D1)] == [-1, -2, Decimal("-1.25")]
    assert by_month == {("a", "p", "k", date(2020, 3, 1)): [-2, -5, Decimal("-3.25")]}
    activity = {"agency_id": "a", "kind": "k", "held_on": D2, "attendees": 7}
    assert sums("activity_facts", [activity], 1)[1] == {("a", "", "k", date(2020, 3, 1)): [1, 7, 0]}
