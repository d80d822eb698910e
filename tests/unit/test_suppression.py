"""Small-cell suppression: no hidden count can be recovered from what is shown."""

from __future__ import annotations

from services.reporting.suppression import HIDDEN, suppress_kpis, suppress_report


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
    assert out["visit_minutes"] == 3  # minutes are not people


def test_a_lone_hidden_cell_takes_a_second_one_with_it() -> None:
    out = suppress_kpis(
        {"visits_by_service": {"home-medication": 40, "proxy-shopping": 2, "crisis-support": 9}}
    )
    assert out["visits_by_service"] == {
        "home-medication": 40,
        "proxy-shopping": HIDDEN,
        "crisis-support": HIDDEN,
    }
    both = suppress_kpis({"visits_by_service": {"a": 2, "b": 3, "c": 50}})
    assert both["visits_by_service"] == {"a": HIDDEN, "b": HIDDEN, "c": 50}


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
