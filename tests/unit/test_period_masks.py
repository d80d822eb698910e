"""How a period reads the period rollups (migration 020): the clients' yearly bitmaps
(rollups.year_masks: per service, bit (day of year - 1), the first and last years masked,
the years between whole) and the counts (rollups.month_split: whole months, and the days of
the months held in part)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from services.reporting.rollups import (
    BITS,
    DAYS_IN_A_YEAR,
    SERVICES_IN_BITMAPS,
    day_bit,
    month_split,
    year_masks,
)
from shared.events import SERVICES

MIGRATION = Path(__file__).parents[2] / "services/reporting/migrations/020_period_rollups.sql"


def _days(year: int, mask: str) -> list[date]:
    """The days of the mask, the same for every service."""
    assert len(mask) == BITS and set(mask) <= {"0", "1"}
    block = mask[:DAYS_IN_A_YEAR]
    assert mask == block * len(SERVICES_IN_BITMAPS)
    return [date(year, 1, 1) + timedelta(days=i) for i, bit in enumerate(block) if bit == "1"]


def _asked(start: date, end: date, visit: date) -> bool:
    """Would a visit on `visit` meet the period, read as summary._CLIENT_YEARS reads it."""
    first, last, first_mask, last_mask = year_masks(start, end)
    if not first <= visit.year <= last:
        return False
    bit = day_bit("other", visit)
    return (visit.year > first or first_mask[bit] == "1") and (
        visit.year < last or last_mask[bit] == "1"
    )


def test_a_period_inside_one_year_masks_its_days_only() -> None:
    first, last, first_mask, last_mask = year_masks(date(2020, 3, 1), date(2020, 3, 31))
    assert (first, last) == (2020, 2020) and first_mask == last_mask
    assert _days(2020, first_mask) == [date(2020, 3, d) for d in range(1, 32)]


def test_a_leap_years_last_day_and_a_common_years_are_both_in_the_bitmap() -> None:
    _, _, mask, _ = year_masks(date(2020, 12, 31), date(2020, 12, 31))
    assert mask.index("1") == 365 == day_bit(SERVICES_IN_BITMAPS[0], date(2020, 12, 31))
    _, _, mask, _ = year_masks(date(2021, 12, 31), date(2021, 12, 31))
    assert mask.index("1") == 364 and mask.count("1") == len(SERVICES_IN_BITMAPS)


def test_a_period_over_years_masks_its_ends_and_keeps_the_years_between_whole() -> None:
    first, last, first_mask, last_mask = year_masks(date(2019, 11, 15), date(2022, 2, 3))
    assert (first, last) == (2019, 2022)
    assert _days(2019, first_mask)[0] == date(2019, 11, 15)
    assert _days(2019, first_mask)[-1] == date(2019, 12, 31)
    assert _days(2022, last_mask) == [date(2022, 1, 1) + timedelta(days=i) for i in range(34)]


def test_every_day_is_asked_exactly_when_it_is_inside_the_period() -> None:
    periods = [
        (date(2019, 5, 1), date(2019, 5, 1)),
        (date(2019, 12, 31), date(2020, 1, 1)),
        (date(2020, 2, 28), date(2020, 3, 1)),
        (date(2019, 7, 1), date(2021, 6, 30)),
        (date(2020, 1, 1), date(2020, 12, 31)),
    ]
    day = date(2019, 1, 1)
    while day <= date(2022, 1, 31):
        for start, end in periods:
            assert _asked(start, end, day) == (start <= day <= end), (start, end, day)
        day += timedelta(days=1)


def test_each_service_has_its_own_days_in_the_order_the_migration_backfilled() -> None:
    assert SERVICES_IN_BITMAPS == SERVICES and BITS == int(
        MIGRATION.read_text().split("bit(")[1].split(")")[0]
    )
    spelled = MIGRATION.read_text().split("ARRAY[")[1].split("]")[0]
    assert [s.strip().strip("'") for s in spelled.replace("\n", " ").split(",")] == list(SERVICES)
    bits = {day_bit(s, date(2020, 1, 1)) for s in SERVICES}
    assert bits == {i * DAYS_IN_A_YEAR for i in range(len(SERVICES))}


def test_a_period_is_read_by_whole_months_and_the_days_around_them() -> None:
    assert month_split(date(2020, 1, 1), date(2020, 12, 31)) == (
        date(2020, 1, 1), date(2020, 12, 1), None, None,
    )  # fmt: skip
    assert month_split(date(2020, 1, 15), date(2020, 2, 10)) == (
        None,
        None,
        date(2020, 2, 10),
        None,
    )
    assert month_split(date(2020, 2, 1), date(2020, 2, 28)) == (None, None, date(2020, 2, 28), None)
    assert month_split(date(2020, 2, 1), date(2020, 2, 29)) == (
        date(2020, 2, 1), date(2020, 2, 1), None, None,
    )  # fmt: skip
    assert month_split(date(2019, 11, 15), date(2021, 1, 3)) == (
        date(2019, 12, 1), date(2020, 12, 1), date(2019, 11, 30), date(2021, 1, 1),
    )  # fmt: skip


def _counted(start: date, end: date, visit: date) -> int:
    """How many times a visit on `visit` is summed, read as summary._VISIT_DAYS reads."""
    first, last, head, tail = month_split(start, end)
    by_month = first is not None and last is not None and first <= visit.replace(day=1) <= last
    by_day = (head is not None and start <= visit <= head) or (
        tail is not None and tail <= visit <= end
    )
    return int(by_month) + int(by_day)


def test_every_day_is_summed_once_exactly_when_it_is_inside_the_period() -> None:
    periods = [
        (date(2019, 5, 1), date(2019, 5, 1)),
        (date(2019, 12, 31), date(2020, 1, 1)),
        (date(2020, 1, 31), date(2020, 3, 1)),
        (date(2020, 2, 1), date(2020, 3, 31)),
        (date(2019, 7, 2), date(2021, 6, 29)),
        (date(2020, 1, 1), date(2020, 12, 31)),
    ]
    day = date(2019, 1, 1)
    while day <= date(2022, 1, 31):
        for start, end in periods:
            assert _counted(start, end, day) == int(start <= day <= end), (start, end, day)
        day += timedelta(days=1)
