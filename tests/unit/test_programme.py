"""The programme-year rule (shared/programme.py) and the three places that read it:
scheduling's dispatch pace, reporting's pairing report and the summary's target."""

from __future__ import annotations

from datetime import date, timedelta

from services.reporting.pairing_report import year_line
from services.reporting.summary import staff_days_target
from services.scheduling.domain.pace import pairing_pace
from shared.programme import programme_years, target_between

START, CUT = date(2019, 5, 1), date(2021, 10, 31)  # the third year ends after six months


def spans(years: list) -> list[tuple[date, date]]:  # type: ignore[type-arg]
    return [(y.first, y.last) for y in years]


def test_programme_years_run_from_the_start_date() -> None:
    years = programme_years(date(2019, 5, 6), None, date(2020, 6, 1))
    assert spans(years) == [
        (date(2019, 5, 6), date(2020, 5, 5)),
        (date(2020, 5, 6), date(2021, 5, 5)),
    ]


def test_programme_years_and_a_cut_last_year() -> None:
    years = programme_years(date(2019, 5, 1), date(2020, 10, 31), until=date(2021, 1, 1))
    assert spans(years) == [
        (date(2019, 5, 1), date(2020, 4, 30)),
        (date(2020, 5, 1), date(2020, 10, 31)),
    ]
    _, cut = pairing_pace(date(2019, 5, 1), date(2020, 10, 31), 40, [], as_of=date(2020, 6, 1))
    assert cut.target == 20


def test_a_29_february_start_keeps_its_years() -> None:
    years = programme_years(date(2020, 2, 29), None, date(2021, 3, 1), 40)
    assert spans(years) == [
        (date(2020, 2, 29), date(2021, 2, 27)),
        (date(2021, 2, 28), date(2022, 2, 27)),
    ]


def test_pace_pairing_report_and_summary_agree_on_a_cut_last_year() -> None:
    today = date(2022, 1, 1)
    pace = [y.target for y in pairing_pace(START, CUT, 40, [], as_of=today)]
    report = [year_line(y, 0)["target"] for y in programme_years(START, CUT, today, 40)]
    summary_by_year = [
        staff_days_target([(START, CUT, 40)], first, last)
        for first, last in spans(programme_years(START, CUT, today))
    ]
    assert pace == report == [40, 40, 20]
    assert summary_by_year == [40.0, 40.0, 20.0]
    # Over the whole pairing the summary's target is the sum of the years' targets, not
    # 40 * 914 / 365 (= 100.2), which a straight proration would give.
    assert staff_days_target([(START, CUT, 40)], START, today) == 100.0
    assert year_line(programme_years(START, CUT, today, 40)[-1], 20)["met"] is True


def test_a_period_inside_a_year_takes_its_share() -> None:
    # A 30-day month of a year that holds 29 February 2020: 29 February accrues nothing,
    # so the month's share is 40 * 30 / 365 as in any other year.
    share = target_between(START, None, 40, date(2019, 6, 1), date(2019, 6, 30))
    assert round(share, 3) == round(40 * 30 / 365, 3)
    assert target_between(START, None, 40, date(2018, 1, 1), date(2019, 4, 30)) == 0.0


def test_every_year_gets_the_yearly_target_leap_day_or_not() -> None:
    """A calendar year across two programme years, one holding 29 February, used to get
    40.1 (and the year before it 39.9); any span from a day to the day before its
    anniversary now gets exactly the yearly target, and a year's months add up to it."""
    for year in range(2020, 2026):
        calendar = staff_days_target([(START, None, 40)], date(year, 1, 1), date(year, 12, 31))
        assert calendar == 40.0, year
    assert staff_days_target([(START, None, 40)], date(2019, 11, 17), date(2020, 11, 16)) == 40.0
    months = [
        target_between(
            START,
            None,
            40,
            date(2020, m, 1),
            date(2020 + m // 12, m % 12 + 1, 1) - timedelta(days=1),
        )
        for m in range(1, 13)
    ]
    assert round(sum(months), 6) == 40.0
    # a 29 February start: each of its programme years gets 40 too
    leap = date(2020, 2, 29)
    for first, last in spans(programme_years(leap, None, date(2025, 3, 1))):
        assert staff_days_target([(leap, None, 40)], first, last) == 40.0
