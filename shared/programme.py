"""The programme year, once: what a pairing's year is and what its staff-days target is.

Programme year n runs from the pairing's start plus n-1 years to the day before the next
one, cut at `ends_on`. A full year's target is the yearly target (SPEC: "40+ staff-days a
year"); a cut year's is the yearly target prorated by its share of a full year, rounded to
whole staff-days. Scheduling's pace, reporting's pairing report and the summary's
`staff_days_target` all read these functions, so they cannot disagree about whether a
pairing met its target.

Inside a year the target accrues evenly over its days other than 29 February: a year from
any day to the day before its anniversary has 365 such days whether or not it holds a
leap day, so a full programme year and a calendar year both get exactly the yearly target
(prorating by 366 days in leap years gave a calendar year 39.9 or 40.1), and the months of
a year add up to it.
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


def accruing_days(first: date, last: date) -> int:
    """The days of [first, last] over which a target accrues: all but 29 February."""
    if last < first:
        return 0
    leap_days = sum(
        1
        for year in range(first.year, last.year + 1)
        if _is_leap(year) and first <= date(year, 2, 29) <= last
    )
    return (last - first).days + 1 - leap_days


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def year_target(target_per_year: int, first: date, last: date) -> int:
    """The staff-days target of a programme year that runs [first, last]."""
    full = accruing_days(first, add_years(first, 1) - timedelta(days=1))
    # A year of a 29 February start can run a day past its first day's anniversary.
    return round(target_per_year * min(accruing_days(first, last), full) / full)


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
    target, in the share of that year's accruing days the period covers."""
    total = 0.0
    for year in programme_years(starts_on, ends_on, end, target_per_year):
        whole = accruing_days(year.first, year.last)
        covered = accruing_days(max(year.first, start), min(year.last, end))
        if covered and whole:
            total += year.target * covered / whole
    return total
