"""Staff-dispatch pace: per pairing and programme year, staff-days dispatched so far
against the target (SPEC: "40+ staff-days a year"), and whether the pace will miss it.

Programme years and their targets are shared/programme.py's (cut at `ends_on`, a cut
year's target prorated). Dispatched so far = days of
dispatches on or before `as_of`; booked ahead = days after it within the year. The
projection is the larger of the straight-line pace (so far / elapsed share of the year)
and so far plus booked ahead; the year will miss its target when the projection is below.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from shared.programme import programme_years, year_target

Pace = Literal["met", "on_track", "behind", "missed"]


@dataclass(frozen=True)
class Dispatch:
    from_date: date
    to_date: date
    worker_id: str = ""


@dataclass(frozen=True)
class YearPace:
    year: int
    starts_on: date
    ends_on: date
    target: int
    dispatched: int
    booked_ahead: int
    expected_by_now: float
    projected: float
    will_miss_target: bool
    pace: Pace


def staff_days(dispatches: list[Dispatch], first: date, last: date) -> int:
    """Staff-days in [first, last]: each (worker, day) once, however dispatches overlap
    (SPEC 3.6; the caller gives one pairing's dispatches)."""
    days: set[tuple[str, date]] = set()
    for d in dispatches:
        lo, hi = max(d.from_date, first), min(d.to_date, last)
        days.update((d.worker_id, lo + timedelta(days=n)) for n in range((hi - lo).days + 1))
    return len(days)


def year_pace(
    year: int,
    first: date,
    last: date,
    target_per_year: int,
    dispatches: list[Dispatch],
    as_of: date,
) -> YearPace:
    length = (last - first).days + 1
    target = year_target(target_per_year, first, last)
    elapsed = min(max((as_of - first).days + 1, 0), length)
    share = elapsed / length
    so_far = staff_days(dispatches, first, min(last, as_of))
    ahead = staff_days(dispatches, max(first, as_of + timedelta(days=1)), last)
    straight = so_far / share if share else 0.0
    projected = max(straight, float(so_far + ahead))
    over = as_of >= last
    if so_far >= target:
        pace: Pace = "met"
    elif over:
        pace = "missed"
    else:
        pace = "behind" if projected < target else "on_track"
    return YearPace(
        year=year,
        starts_on=first,
        ends_on=last,
        target=target,
        dispatched=so_far,
        booked_ahead=ahead,
        expected_by_now=round(target * share, 1),
        projected=round(projected, 1),
        will_miss_target=pace in ("behind", "missed"),
        pace=pace,
    )


def pairing_pace(
    starts_on: date,
    ends_on: date | None,
    target_per_year: int,
    dispatches: list[Dispatch],
    as_of: date,
) -> list[YearPace]:
    """Every programme year begun by `as_of`, oldest first."""
    return [
        year_pace(y.number, y.first, y.last, target_per_year, dispatches, as_of)
        for y in programme_years(starts_on, ends_on, as_of)
    ]
