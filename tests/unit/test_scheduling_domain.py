"""Scheduling's pure rules: recurrence, assignment without double-booking, closing, pace."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from services.scheduling.domain.assignment import (
    ALL_BUSY,
    DAILY_CAP,
    NO_ELIGIBLE_WORKER,
    Booking,
    Opening,
    Worker,
    assign,
)
from services.scheduling.domain.closing import (
    Slot,
    Visit,
    is_late,
    language_need,
    slot_closed_by,
)
from services.scheduling.domain.pace import Dispatch, pairing_pace
from services.scheduling.domain.recurrence import Recurrence, Window, finished, occurrences
from shared.clock import CHINA, FixedClock, parse_clock_setting, today_in_china

MON = date(2019, 11, 4)
WINDOW = Window(time(9), time(11))


def _openings(days: list[date], window: Window = WINDOW, prefix: str = "p") -> list[Opening]:
    return [Opening(f"{prefix}.{i}", *window.on(d)) for i, d in enumerate(days, start=1)]


# recurrence


def test_weekly_with_a_count_gives_that_many_mondays() -> None:
    days = occurrences(Recurrence("weekly", MON, count=8), until=date(2030, 1, 1))
    assert len(days) == 8
    assert days[0] == MON and days[-1] == date(2019, 12, 23)
    assert {d.weekday() for d in days} == {0}


def test_recurrence_stops_at_end_and_at_the_horizon() -> None:
    fortnightly = Recurrence("weekly", MON, every=2, end=date(2019, 12, 31))
    assert occurrences(fortnightly, until=date(2030, 1, 1)) == [
        MON + timedelta(weeks=2 * n) for n in range(5)
    ]
    assert occurrences(fortnightly, until=date(2019, 11, 20)) == [MON, date(2019, 11, 18)]
    assert not finished(fortnightly, date(2019, 11, 20))
    assert finished(fortnightly, date(2019, 12, 30))


def test_every_n_days_and_monthly_on_a_day_clamped_to_short_months() -> None:
    every3 = occurrences(Recurrence("days", MON, every=3, count=3), until=date(2030, 1, 1))
    assert every3 == [MON, date(2019, 11, 7), date(2019, 11, 10)]
    monthly = Recurrence("monthly", date(2020, 1, 15), day_of_month=31, count=3)
    assert occurrences(monthly, until=date(2030, 1, 1)) == [
        date(2020, 1, 31),
        date(2020, 2, 29),
        date(2020, 3, 31),
    ]
    late_start = Recurrence("monthly", date(2020, 1, 20), day_of_month=5, count=2)
    assert occurrences(late_start, until=date(2030, 1, 1)) == [date(2020, 2, 5), date(2020, 3, 5)]


def test_slot_numbers_do_not_move_as_the_horizon_rolls() -> None:
    rec = Recurrence("weekly", MON, count=20)
    short, long = occurrences(rec, date(2019, 12, 1)), occurrences(rec, date(2020, 3, 1))
    assert long[: len(short)] == short


def test_windows_are_china_time() -> None:
    start, end = WINDOW.on(MON)
    assert start.utcoffset() == timedelta(hours=8)
    assert start.astimezone(CHINA).hour == 9 and (end - start) == timedelta(hours=2)


# assignment

KO = Worker("kim", frozenset({"ko", "zh"}))
KO2 = Worker("park", frozenset({"ko"}))
ZH = Worker("wang", frozenset({"zh"}))


def test_only_workers_speaking_the_language_are_assigned() -> None:
    openings = _openings([MON + timedelta(weeks=n) for n in range(8)])
    result = assign(openings, [ZH, KO], [], language="ko")
    assert {a.worker_id for a in result} == {"kim"}
    assert all(a.conflict is None for a in result)


def test_no_speaker_of_the_language_is_a_conflict_not_a_drop() -> None:
    result = assign(_openings([MON]), [ZH], [], language="ko")
    assert [(a.slot_id, a.worker_id, a.conflict) for a in result] == [
        ("p.1", None, NO_ELIGIBLE_WORKER)
    ]


def test_overlapping_slot_goes_to_another_worker_then_conflicts() -> None:
    first = assign(_openings([MON]), [KO, KO2], [], language="ko", preferred="kim")
    assert first[0].worker_id == "kim"
    booked = [Booking("kim", *WINDOW.on(MON))]
    overlapping = _openings([MON], Window(time(10), time(12)), prefix="q")
    second = assign(overlapping, [KO, KO2], booked, language="ko", preferred="kim")
    assert second[0].worker_id == "park"
    both = [*booked, Booking("park", *WINDOW.on(MON))]
    third = assign(overlapping, [KO, KO2], both, language="ko")
    assert (third[0].worker_id, third[0].conflict) == (None, ALL_BUSY)


def test_back_to_back_visits_do_not_clash() -> None:
    booked = [Booking("kim", *WINDOW.on(MON))]
    result = assign(_openings([MON], Window(time(11), time(12))), [KO], booked, language="ko")
    assert result[0].worker_id == "kim"


def test_daily_cap_holds() -> None:
    hours = [Window(time(h), time(h, 45)) for h in (8, 9, 10)]
    openings = [Opening(f"s{i}", *w.on(MON)) for i, w in enumerate(hours)]
    result = assign(openings, [KO], [], language=None, daily_cap=2)
    assert [a.worker_id for a in result] == ["kim", "kim", None]
    assert result[2].conflict == DAILY_CAP


def test_a_plan_keeps_its_worker_and_no_worker_is_double_booked() -> None:
    days = [MON + timedelta(days=n) for n in range(10)]
    result = assign(_openings(days), [KO, KO2], [], language="ko")
    assert {a.worker_id for a in result} == {"kim"}
    bookings = [Booking("kim", *WINDOW.on(d)) for d in days]
    again = assign(_openings(days, prefix="r"), [KO, KO2], bookings, language="ko")
    assert {a.worker_id for a in again} == {"park"}


# closing


def _slot(day: date, plan: str = "p", status: str = "due") -> Slot:
    return Slot(
        f"{plan}.{day.isoformat()}", plan, "c-1", "home-medication", *WINDOW.on(day), status
    )


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=CHINA)


def test_a_visit_inside_the_window_closes_the_slot() -> None:
    slots = [_slot(MON), _slot(MON + timedelta(weeks=1))]
    visit = Visit("c-1", "home-medication", _at(MON, 10))
    assert slot_closed_by(visit, slots) == slots[0]
    assert slot_closed_by(Visit("c-1", "psychological-comfort", _at(MON, 10)), slots) is None
    assert slot_closed_by(Visit("c-2", "home-medication", _at(MON, 10)), slots) is None
    assert slot_closed_by(Visit("c-1", "home-medication", _at(MON, 8)), slots) is None


def test_a_visit_after_the_window_closes_the_latest_ended_slot_late() -> None:
    slots = [_slot(MON, status="overdue"), _slot(MON + timedelta(weeks=1))]
    next_day = Visit("c-1", "home-medication", _at(MON + timedelta(days=1), 10))
    assert slot_closed_by(next_day, slots) == slots[0]
    assert is_late(next_day, slots[0])
    after_both = Visit("c-1", "home-medication", _at(MON + timedelta(days=8), 10))
    assert slot_closed_by(after_both, slots) == slots[1]
    assert not is_late(Visit("c-1", "home-medication", _at(MON, 10)), slots[0])


def test_a_visit_carrying_the_plan_closes_it_outside_the_window() -> None:
    slots = [_slot(MON, status="overdue"), _slot(MON + timedelta(weeks=1))]
    same_day = Visit("c-1", "home-medication", _at(MON, 15), plan_id="p")
    assert slot_closed_by(same_day, slots) == slots[0]
    late = Visit("c-1", "home-medication", _at(MON + timedelta(days=2), 15), plan_id="p")
    assert slot_closed_by(late, slots) == slots[0]
    assert slot_closed_by(late, [_slot(MON, status="done")]) is None


def test_ethnicity_gives_the_language_need() -> None:
    assert language_need("korean") == "ko"
    assert language_need("Korean") == "ko"
    assert language_need("han") is None
    assert language_need(None) is None


# pace


def test_ten_staff_days_at_mid_year_against_forty_will_miss() -> None:
    dispatches = [
        Dispatch(date(2019, 6, 3), date(2019, 6, 7)),
        Dispatch(date(2019, 9, 2), date(2019, 9, 6)),
    ]
    [year] = pairing_pace(date(2019, 5, 1), None, 40, dispatches, as_of=date(2019, 11, 1))
    assert year.dispatched == 10 and year.target == 40
    assert year.projected < 40 and year.will_miss_target and year.pace == "behind"


def test_on_pace_booked_ahead_met_and_missed() -> None:
    start = date(2019, 5, 1)
    on_pace = [Dispatch(date(2019, 6, 1), date(2019, 6, 25))]
    [year] = pairing_pace(start, None, 40, on_pace, as_of=date(2019, 11, 1))
    assert year.pace == "on_track" and not year.will_miss_target
    booked = [
        Dispatch(date(2019, 6, 1), date(2019, 6, 5)),
        Dispatch(date(2020, 1, 1), date(2020, 2, 9)),
    ]
    [year] = pairing_pace(start, None, 40, booked, as_of=date(2019, 11, 1))
    assert (year.dispatched, year.booked_ahead, year.pace) == (5, 40, "on_track")
    first, second = pairing_pace(start, None, 40, on_pace, as_of=date(2020, 5, 2))
    assert first.pace == "missed" and first.dispatched == 25
    assert second.year == 2 and second.dispatched == 0


# clock


def test_clock_settings() -> None:
    system = datetime(2020, 1, 1, tzinfo=CHINA)
    assert parse_clock_setting("", system) == system
    assert parse_clock_setting("+3600", system) == system + timedelta(hours=1)
    assert parse_clock_setting("2019-11-04T12:00:00+08:00\n", system) == _at(MON, 12)
    with pytest.raises(ValueError):
        parse_clock_setting("2019-11-04T12:00:00", system)
    clock = FixedClock(datetime(2019, 11, 3, 15, 30, tzinfo=UTC))  # 23:30 in China
    assert today_in_china(clock) == date(2019, 11, 3)
    clock.advance(timedelta(hours=1))  # past midnight in China, still the 3rd in UTC
    assert today_in_china(clock) == MON
