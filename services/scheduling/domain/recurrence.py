"""Turning a care plan's recurrence into visit dates and time windows (Asia/Shanghai).

Kinds: `weekly` (every `every` weeks on the start date's weekday), `days` (every `every`
days), `monthly` (on `day_of_month`; in a shorter month, on its last day). A recurrence
stops at `end` (inclusive) or after `count` visits, whichever comes first.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

from shared.clock import CHINA

Kind = Literal["weekly", "days", "monthly"]
MAX_OCCURRENCES = 1000  # a plan of more visits than this is a typo, not a plan


@dataclass(frozen=True)
class Recurrence:
    kind: Kind
    start: date
    every: int = 1
    end: date | None = None
    count: int | None = None
    day_of_month: int | None = None


@dataclass(frozen=True)
class Window:
    """A visit's time of day, local (Asia/Shanghai); it ends on the same day."""

    opens: time
    closes: time

    def on(self, day: date) -> tuple[datetime, datetime]:
        return (
            datetime.combine(day, self.opens, tzinfo=CHINA),
            datetime.combine(day, self.closes, tzinfo=CHINA),
        )


def _month_day(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _nth(rec: Recurrence, n: int) -> date:
    if rec.kind == "weekly":
        return rec.start + timedelta(weeks=n * rec.every)
    if rec.kind == "days":
        return rec.start + timedelta(days=n * rec.every)
    months = rec.start.month - 1 + n * rec.every
    day = rec.day_of_month or rec.start.day
    return _month_day(rec.start.year + months // 12, months % 12 + 1, day)


def occurrences(rec: Recurrence, until: date) -> list[date]:
    """Every visit date from the start up to `until` (inclusive), in order.

    The n-th date never depends on `until`, so a slot's number is stable as the horizon
    rolls forward.
    """
    out: list[date] = []
    limit = min(rec.count or MAX_OCCURRENCES, MAX_OCCURRENCES)
    for n in range(MAX_OCCURRENCES + 1):  # bounded even without an end or a count
        if len(out) >= limit:
            break
        day = _nth(rec, n)
        if rec.kind == "monthly" and day < rec.start:
            continue  # day_of_month before the start day in the first month
        if day > until or (rec.end is not None and day > rec.end):
            break
        out.append(day)
    return out


def finished(rec: Recurrence, through: date) -> bool:
    """True when no visit dates remain after `through`."""
    upcoming = occurrences(rec, date.max)
    return not upcoming or upcoming[-1] <= through
