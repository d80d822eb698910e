"""The KPI registry is what the exports, the dashboard and suppression read: a KPI that
counts people is hidden when small, wherever it is declared."""

from __future__ import annotations

from services.reporting import kpis
from services.reporting.export import ZH, flatten
from services.reporting.suppression import HIDDEN, suppress_kpis


def test_every_kpi_is_declared_once_with_a_label() -> None:
    names = [k.name for k in kpis.KPIS]
    assert len(names) == len(set(names))
    assert all(k.label and k.counts for k in kpis.KPIS)
    assert all(k.cells for k in kpis.KPIS if k.shape == "map")


def test_every_people_count_is_suppressed_and_others_are_not() -> None:
    for kpi in kpis.KPIS:
        if kpi.shape == "count":
            out = suppress_kpis({kpi.name: 3})
            assert (out[kpi.name] == HIDDEN) is kpi.people, kpi.name
        elif kpi.shape == "map":
            key = next(iter(kpi.cells))
            out = suppress_kpis({kpi.name: {key: 3}})
            assert (out[kpi.name][key] == HIDDEN) is kpi.people, kpi.name


def test_rates_fall_with_their_parts() -> None:
    for rate in kpis.RATES:
        assert rate.rate_of is not None
        out = suppress_kpis({rate.rate_of[0]: 2, rate.rate_of[1]: 40, rate.name: 0.05})
        assert out[rate.name] is None


def test_csv_columns_and_zh_headers_come_from_the_registry() -> None:
    row = flatten("all", {"agencies": {"assisting": 1}, "visits_by_service": {}, "as_of": None})
    assert row["agencies.incubated"] == 0 and row["as_of"] == ""
    assert {f"visits_by_service.{s}" for s in kpis.MAPS["visits_by_service"]} <= set(row)
    assert ZH["visits_by_service.home-medication"] == "上门次数:上门用药"
    assert kpis.label("clients_served") == "已服务对象数" == ZH["clients_served"]
    assert kpis.label("no_such_kpi") == "no_such_kpi"
