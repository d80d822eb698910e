"""Small-cell suppression: no count of 1 to 4 can be worked out from what is shown, by any
subtraction a reader would do (tests/support/subtraction.py plays that reader)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.reporting.suppression import HIDDEN, suppress_kpis, suppress_report
from tests.support.subtraction import attack

SERVICES = ("home-medication", "proxy-shopping", "crisis-support")
KINDS = ("health-lecture", "group-activity")


def test_small_counts_are_hidden_and_zero_is_kept() -> None:
    out = suppress_kpis(
        {
            "clients_served": 3,
            "clients_registered": 0,
            "workers_total": 4,
            "workers_licensed": 2,
            "licensed_rate": 0.5,
            "visit_minutes": 3,
        }
    )
    assert out["clients_served"] == HIDDEN and out["clients_registered"] == 0
    assert out["workers_total"] == HIDDEN and out["licensed_rate"] is None
    assert out["visit_minutes"] == 3  # minutes alone, without visits, are not people


def test_workers_minus_licensed_is_not_given_away() -> None:
    """12 workers, 10 licensed: 2 without a licence, by subtraction."""
    out = suppress_kpis({"workers_total": 12, "workers_licensed": 10, "licensed_rate": 0.8333})
    assert HIDDEN in (out["workers_total"], out["workers_licensed"])
    assert out["licensed_rate"] is None  # 0.8333 of 12 would give 10 back


def test_registered_minus_in_difficulty_is_not_given_away() -> None:
    out = suppress_kpis({"clients_registered": 30, "clients_in_difficulty": 27})
    assert HIDDEN in (out["clients_registered"], out["clients_in_difficulty"])
    fine = suppress_kpis({"clients_registered": 30, "clients_in_difficulty": 20})
    assert fine == {"clients_registered": 30, "clients_in_difficulty": 20}


def test_a_lone_hidden_service_takes_a_second_one_with_it() -> None:
    """Clients per service add up to the clients served (each had one service)."""
    out = suppress_kpis(
        {
            "clients_served": 51,
            "clients_served_by_service": {"home-medication": 40, "proxy-shopping": 2, "x": 9},
        }
    )
    assert out["clients_served_by_service"]["proxy-shopping"] == HIDDEN
    assert list(out["clients_served_by_service"].values()).count(HIDDEN) >= 2


def test_visit_minutes_of_a_few_visits_are_hidden() -> None:
    out = suppress_kpis({"visits_by_service": {"home-medication": 2}, "visit_minutes": 95})
    assert out["visit_minutes"] == HIDDEN
    many = suppress_kpis({"visits_by_service": {"home-medication": 12}, "visit_minutes": 360})
    assert many["visit_minutes"] == 360


def test_minutes_of_a_line_cannot_be_recovered_from_the_others() -> None:
    body = {
        "visits_by_service": {"home-care": 32},
        "visit_minutes": 900,
        "breakdown": [
            {"region": "2201", "summary": {"visits_by_service": {"home-care": 2}, "visit_minutes": 80}},
            {"region": "2202", "summary": {"visits_by_service": {"home-care": 30}, "visit_minutes": 820}},
        ],
    }  # fmt: skip
    minutes = [line["summary"]["visit_minutes"] for line in suppress_report(body)["breakdown"]]
    assert minutes == [HIDDEN, HIDDEN]


def test_lines_of_a_breakdown_protect_each_other() -> None:
    body = {
        "clients_served": 60,
        "breakdown": [
            {"region": "2201", "summary": {"clients_served": 3}},
            {"region": "2224", "summary": {"clients_served": 50}},
            {"region": "2202", "summary": {"clients_served": 7}},
        ],
    }
    out = suppress_report(body)
    served = [line["summary"]["clients_served"] for line in out["breakdown"]]
    assert served == [HIDDEN, 50, HIDDEN]  # 60 - 50 - 7 would have given the 3 away
    assert body["breakdown"][0]["summary"]["clients_served"] == 3  # the input is untouched


def test_two_ones_beside_a_shown_total_are_not_left_alone() -> None:
    """52 = 1 + 50 + 1: the two hidden cells add up to 2, so each is 1."""
    body = {
        "clients_served": 52,
        "breakdown": [
            {"region": r, "summary": {"clients_served": v}}
            for r, v in (("2201", 1), ("2202", 50), ("2224", 1))
        ],
    }
    out = suppress_report(body)
    assert [line["summary"]["clients_served"] for line in out["breakdown"]] == [HIDDEN] * 3


def test_two_fours_are_not_left_to_a_reader_who_believes_the_marker() -> None:
    """58 = 4 + 50 + 4: hidden cells adding up to 8, each "<5", can only be 4 and 4."""
    body = {
        "clients_served": 58,
        "breakdown": [
            {"region": r, "summary": {"clients_served": v}}
            for r, v in (("2201", 4), ("2202", 50), ("2224", 4))
        ],
    }
    out = suppress_report(body)
    assert [line["summary"]["clients_served"] for line in out["breakdown"]] == [HIDDEN] * 3


def test_a_stock_by_month_does_not_give_away_the_month_s_new_ones() -> None:
    """Workers are counted by the end of each month: 10 then 12 shows 2 new workers."""
    body = {
        "workers_total": 12,
        "breakdown": [
            {"period": "2020-01", "summary": {"workers_total": 10}},
            {"period": "2020-02", "summary": {"workers_total": 12}},
        ],
    }
    out = suppress_report(body)
    shown = [out["workers_total"], *(line["summary"]["workers_total"] for line in out["breakdown"])]
    assert HIDDEN in shown[1:]
    assert shown[0] == shown[2]  # the report's own figure is the last month's: same fate


def test_a_stock_by_month_is_not_summed_across_months() -> None:
    body = {
        "workers_total": 30,
        "breakdown": [
            {"period": "2020-01", "summary": {"workers_total": 20}},
            {"period": "2020-02", "summary": {"workers_total": 30}},
        ],
    }
    assert suppress_report(body)["breakdown"][0]["summary"]["workers_total"] == 20


# --- a reader who subtracts, against random reports -------------------------------------

small = st.one_of(st.integers(0, 5), st.integers(0, 5), st.integers(0, 40))


@st.composite
def _line(draw: st.DrawFn) -> dict[str, int | dict[str, int]]:
    """The independent parts of one line; every published figure is a sum of them."""
    return {
        "licensed": draw(small),
        "unlicensed": draw(small),
        "in_difficulty": draw(small),
        "not_in_difficulty": draw(small),
        "overdue": draw(small),
        "on_time": draw(small),
        "trainings": draw(small),
        "clients": {s: draw(small) for s in SERVICES},
        "more_visits": {s: draw(small) for s in SERVICES},
        "minutes": draw(st.integers(1, 90)),
        "attendance": {k: draw(small) for k in KINDS},
    }


def _summary(stock: dict[str, Any], flow: dict[str, Any]) -> dict[str, Any]:
    visits = {s: c + flow["more_visits"][s] for s, c in flow["clients"].items()}
    workers = stock["licensed"] + stock["unlicensed"]
    return {
        "workers_total": workers,
        "workers_licensed": stock["licensed"],
        "licensed_rate": round(stock["licensed"] / workers, 4) if workers else None,
        "clients_registered": stock["in_difficulty"] + stock["not_in_difficulty"],
        "clients_in_difficulty": stock["in_difficulty"],
        "clients_served": sum(flow["clients"].values()),
        "clients_served_by_service": {s: v for s, v in flow["clients"].items() if v},
        "visits_by_service": {s: v for s, v in visits.items() if v},
        "visit_minutes": sum(visits.values()) * flow["minutes"],
        "activity_attendance_by_kind": {k: v for k, v in flow["attendance"].items() if v},
        "training_attendances": flow["trainings"],
        "visits_scheduled": flow["overdue"] + flow["on_time"],
        "visits_overdue": flow["overdue"],
    }


def _added(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Parts added up, maps key by key; minutes per visit averaged away (kept as one)."""
    total: dict[str, Any] = {}
    for key, value in parts[0].items():
        if isinstance(value, dict):
            total[key] = {k: sum(p[key][k] for p in parts) for k in value}
        else:
            total[key] = sum(p[key] for p in parts)
    total["minutes"] = 1
    return total


@st.composite
def reports(draw: st.DrawFn) -> dict[str, Any]:
    """A report with a breakdown by region or by month, true to every relation: region
    lines add up; months add up for flows, and stocks grow from month to month."""
    parts = draw(st.lists(_line(), min_size=1, max_size=5))
    if draw(st.booleans()):
        lines = [{"region": f"22{n:02d}", "summary": _summary(p, p)} for n, p in enumerate(parts)]
        top_stock, top_flow = _added(parts), _added(parts)
    else:
        stocks = [_added(parts[: n + 1]) for n in range(len(parts))]
        lines = [
            {"period": f"2020-{n + 1:02d}", "summary": _summary(stocks[n], p)}
            for n, p in enumerate(parts)
        ]
        top_stock, top_flow = stocks[-1], _added(parts)
    body = _summary(top_stock, top_flow)
    # Minutes add up over lines, whatever each line's visits were.
    body["visit_minutes"] = sum(line["summary"]["visit_minutes"] for line in lines)
    return {**body, "breakdown": lines}


@settings(max_examples=300, deadline=None)
@given(reports())
def test_no_subtraction_gives_a_small_count_away(body: dict[str, Any]) -> None:
    out = suppress_report(body)
    assert attack(out, body) == []
    for kpis in [out, *(line["summary"] for line in out["breakdown"])]:
        if kpis["licensed_rate"] is not None:  # rate × workers would give the licensed back
            assert HIDDEN not in (kpis["workers_total"], kpis["workers_licensed"])


@settings(max_examples=100, deadline=None)
@given(_line())
def test_no_subtraction_gives_a_small_count_away_in_one_summary(part: dict[str, Any]) -> None:
    body = _summary(part, part)
    assert attack(suppress_kpis(body), body) == []


def test_the_reader_finds_today_s_leaks() -> None:
    """The reader is not blind: shown unsuppressed, these give cells away."""
    part = {
        "licensed": 10,
        "unlicensed": 2,
        "in_difficulty": 27,
        "not_in_difficulty": 3,
        "overdue": 0,
        "on_time": 0,
        "trainings": 0,
        "clients": dict.fromkeys(SERVICES, 0),
        "more_visits": dict.fromkeys(SERVICES, 0),
        "minutes": 1,
        "attendance": dict.fromkeys(KINDS, 0),
    }
    leaky = _summary(part, part)
    assert {leak.cell[1] for leak in attack(leaky, leaky)} == {
        "workers_total without workers_licensed",
        "clients_registered without clients_in_difficulty",
    }
    assert attack(suppress_kpis(leaky), leaky) == []
