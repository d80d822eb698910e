"""The days a period asks of the clients' yearly bitmaps (rollups.year_masks): bit (day of
year - 1) of each year, the first and last years masked, the years between whole."""

from __future__ import annotations

from datetime import date, timedelta

from services.reporting.rollups import DAYS_IN_A_YEAR, year_masks


def _days(year: int, mask: str) -> list[date]:
    assert len(mask) == DAYS_IN_A_YEAR and set(mask) <= {"0", "1"}
    return [date(year, 1, 1) + timedelta(days=i) for i, bit in enumerate(mask) if bit == "1"]


def _asked(start: date, end: date, visit: date) -> bool:
    """Would a visit on `visit` meet the period, read as summary._CLIENT_YEARS reads it."""
    first, last, first_mask, last_mask = year_masks(start, end)
    if not first <= visit.year <= last:
        return False
    bit = visit.timetuple().tm_yday - 1
    return (visit.year > first or first_mask[bit] == "1") and (
        visit.year < last or last_mask[bit] == "1"
    )


def test_a_period_inside_one_year_masks_its_days_only() -> None:
    first, last, first_mask, last_mask = year_masks(date(2020, 3, 1), date(2020, 3, 31))
    assert (first, last) == (2020, 2020) and first_mask == last_mask
    assert _days(2020, first_mask) == [date(2020, 3, d) for d in range(1, 32)]


def test_a_leap_years_last_day_and_a_common_years_are_both_in_the_bitmap() -> None:
    _, _, mask, _ = year_masks(date(2020, 12, 31), date(2020, 12, 31))
    assert mask.index("1") == 365 and mask.count("1") == 1
    _, _, mask, _ = year_masks(date(2021, 12, 31), date(2021, 12, 31))
    assert mask.index("1") == 364 and mask.count("1") == 1


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
