"""Reporting periods: calendar months, quarters and years in China time."""

from __future__ import annotations

import re
from datetime import date, timedelta

_PERIOD = re.compile(r"^(\d{4})(?:-(?:Q([1-4])|(\d{2})))?$")


def period_range(period: str) -> tuple[date, date]:
    """`2019` / `2019-Q4` / `2019-11` -> its first and last day; ValueError otherwise."""
    match = _PERIOD.match(period)
    if not match:
        raise ValueError("a period is YYYY, YYYY-Qn or YYYY-MM")
    year = int(match.group(1))
    if match.group(2):
        first_month = 3 * (int(match.group(2)) - 1) + 1
        return date(year, first_month, 1), _month_end(year, first_month + 2)
    if match.group(3):
        month = int(match.group(3))
        if not 1 <= month <= 12:
            raise ValueError("a month is 01 to 12")
        return date(year, month, 1), _month_end(year, month)
    return date(year, 1, 1), date(year, 12, 31)


def _month_end(year: int, month: int) -> date:
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def buckets(start: date, end: date, size: str) -> list[tuple[str, date, date]]:
    """The months, quarters or years that [start, end] touches, clipped to it."""
    out = []
    cursor = start
    while cursor <= end:
        if size == "month":
            label = f"{cursor.year}-{cursor.month:02d}"
        elif size == "quarter":
            label = f"{cursor.year}-Q{(cursor.month - 1) // 3 + 1}"
        else:
            label = str(cursor.year)
        first, last = period_range(label)
        out.append((label, max(first, start), min(last, end)))
        cursor = last + timedelta(days=1)
    return out


def child_length(region: str) -> int | None:
    """GB/T 2260 levels: province (2) -> prefecture (4) -> county (6) -> community (12)."""
    return {0: 2, 2: 4, 4: 6, 6: 12}.get(len(region))
