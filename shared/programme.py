"""The programme year, once: what a pairing's year is and what its staff-days target is.

Programme year n runs from the pairing's start plus n-1 years to the day before the next
one, cut at `ends_on`. A cut year's target is the yearly target prorated by its share of a
full year, rounded to whole staff-days (SPEC: "40+ staff-days a year"). Scheduling's pace,
reporting's pairing report and the summary's `staff_days_target` all read these functions,
so they cannot disagree about whether a pairing met its target.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class ProgrammeYear:
    number: int  # 1 for the first year
    first: date
    last: date  # inclusive; the pairing's ends_on when that cuts the year short
    target: int  # staff-days, prorated for a cut year

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def add_years(day: date, years: int) -> date:
    """The same calendar day `years` later (28 February for a 29 February start)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def year_target(target_per_year: int, first: date, last: date) -> int:
    """The staff-days target of a programme year that runs [first, last]."""
    full = (add_years(first, 1) - first).days
    return round(target_per_year * ((last - first).days + 1) / full)


def programme_years(
    starts_on: date, ends_on: date | None, until: date, target_per_year: int = 0
) -> list[ProgrammeYear]:
    """The programme years that have begun by `until` (and by `ends_on`), oldest first."""
    years: list[ProgrammeYear] = []
    n = 0
    while True:
        first = add_years(starts_on, n)
        if first > until or (ends_on is not None and first > ends_on):
            return years
        last = add_years(starts_on, n + 1) - timedelta(days=1)
        if ends_on is not None:
            last = min(last, ends_on)
        years.append(ProgrammeYear(n + 1, first, last, year_target(target_per_year, first, last)))
        n += 1


def target_between(
    starts_on: date, ends_on: date | None, target_per_year: int, start: date, end: date
) -> float:
    """A pairing's staff-days target over the period [start, end]: each programme year's
    target, in the share of that year the period covers."""
    total = 0.0
    for year in programme_years(starts_on, ends_on, end, target_per_year):
        overlap = (min(year.last, end) - max(year.first, start)).days + 1
        if overlap > 0:
            total += year.target * overlap / year.days
    return total
