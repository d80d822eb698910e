"""The reference programme through the public contract: intake in, reporting out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from deploy.cli import publish
from deploy.demo import PAIRING, reference_programme
from deploy.stack import Stack
from tests.support.events import agency, client, visit
from tests.support.polling import eventually
from tests.support.reports import caught_up as _caught_up
from tests.support.reports import report as _report


async def test_demo_report_shows_the_reference_programme(
    demo_stack: Stack, token: Callable[..., str]
) -> None:
    report = await _caught_up(demo_stack, token)
    assert report["clients_served_by_service"]["home-medication"] == 69
    assert report["clients_served_by_service"]["psychological-comfort"] == 48
    assert report["clients_served_by_service"]["proxy-shopping"] == 8
    assert report["activity_attendance_by_kind"]["health-lecture"] >= 200
    assert report["clients_in_difficulty"] == 30
    assert report["staff_days_dispatched"] >= 40
    assert report["agencies"]["incubated"] == 2
    assert report["agencies"] == {"assisting": 1, "assisted": 2, "incubated": 2}
    assert report["as_of"] is not None


async def test_region_roll_ups_partition(demo_stack: Stack, token: Callable[..., str]) -> None:
    admin = token("admin")
    await _caught_up(demo_stack, token)
    province = _report(demo_stack, admin, region="22").json()
    yanbian = _report(demo_stack, admin, region="2224").json()
    changchun = _report(demo_stack, admin, region="2201").json()
    longjing = _report(demo_stack, admin, region="222405").json()
    for kpi in (
        "clients_served",
        "visit_minutes",
        "workers_total",
        "workers_licensed",
        "clients_registered",
    ):
        assert province[kpi] == yanbian[kpi] + changchun[kpi], kpi
        assert longjing[kpi] <= yanbian[kpi], kpi
    # A pairing's figures count in the region of each side, once (docs/kpis.md): the
    # Changchun-Yanbian pairing's in both prefectures, and once in the province.
    for kpi in ("staff_days_dispatched", "training_hours", "staff_days_target", "milestones"):
        assert province[kpi] == yanbian[kpi] == changchun[kpi], kpi
    for service, n in province["visits_by_service"].items():
        assert n == yanbian["visits_by_service"].get(service, 0) + changchun[
            "visits_by_service"
        ].get(service, 0)
    assert changchun["clients_served"] == 0 and changchun["staff_days_dispatched"] >= 40
    assert province["licensed_rate"] == round(
        province["workers_licensed"] / province["workers_total"], 4
    )
    by_region = _report(demo_stack, admin, region="22", breakdown="region").json()["breakdown"]
    assert [line["region"] for line in by_region] == ["2201", "2224"]


async def test_agency_cannot_read_another_agency(
    demo_stack: Stack, token: Callable[..., str]
) -> None:
    await _caught_up(demo_stack, token)
    yanghua = token("agency", "yanghua")
    assert _report(demo_stack, yanghua, agency="lanxing").status_code == 403
    assert _report(demo_stack, yanghua, region="22").status_code == 403
    assert _report(demo_stack, token("province", region="11"), region="22").status_code == 403
    own = _report(demo_stack, yanghua)
    served = {
        e["payload"]["client_id"] for e in reference_programme() if e["type"] == "visit-logged"
    }
    assert own.status_code == 200 and own.json()["clients_served"] == len(served)
    assert _report(demo_stack, token("agency", "outsider"), pairing=PAIRING).status_code == 403
    # SPEC 3.6: a pairing's scope is read by its two sides (Yanghua, which it incubated, is
    # not one), its province and admin.
    assert _report(demo_stack, yanghua, pairing=PAIRING).status_code == 403
    lanxing = token("agency", "lanxing")
    assert _report(demo_stack, lanxing, pairing=PAIRING).status_code == 200
    pairing = _report(demo_stack, lanxing, f"/v1/reports/pairings/{PAIRING}")
    assert pairing.status_code == 200
    assert pairing.json()["agencies_incubated"]["actual"] == 2
    assert pairing.json()["staff_days_by_programme_year"][0]["staff_days"] == 42
    assert (
        _report(
            demo_stack, token("agency", "outsider"), f"/v1/reports/pairings/{PAIRING}"
        ).status_code
        == 403
    )


async def test_csv_has_bom_and_chinese_headers(
    demo_stack: Stack, token: Callable[..., str]
) -> None:
    admin = token("admin")
    await _caught_up(demo_stack, token)
    csv = _report(demo_stack, admin, "/v1/reports/summary.csv", region="22", lang="zh-CN")
    assert csv.content.startswith("\ufeff".encode())
    text = csv.content.decode("utf-8-sig")
    assert "服务对象数:上门用药" in text.splitlines()[0]
    monthly = _report(
        demo_stack,
        admin,
        region="22",
        breakdown="quarter",
        **{"from": "2019-10-01", "to": "2020-03-31"},
    ).json()
    assert [b["period"] for b in monthly["breakdown"]] == ["2019-Q4", "2020-Q1"]
    assert (
        sum(
            b["summary"]["visits_by_service"].get("proxy-shopping", 0) for b in monthly["breakdown"]
        )
        == 16
    )


async def test_suppressed_export_hides_small_cells(
    demo_stack: Stack, token: Callable[..., str]
) -> None:
    """A two-client agency in Jilin city (2202) beside the demo: its count is hidden, and
    so is the one that would give it away (province total minus the other lines)."""
    admin = token("admin")
    tiny = [
        agency("tiny", "220202"),
        client("t-1", agency_id="tiny"),
        client("t-2", agency_id="tiny"),
        visit("t-1", agency_id="tiny"),
        visit("t-2", agency_id="tiny"),
    ]
    publish(demo_stack.services["intake"].url, tiny, lambda p: token(p.role, p.agency_id))
    await _caught_up(demo_stack, token)

    def counted() -> dict[str, Any] | None:
        body = _report(demo_stack, admin, region="22", breakdown="region").json()
        return (
            body if [b["region"] for b in body["breakdown"]] == ["2201", "2202", "2224"] else None
        )

    plain = await eventually(counted, timeout_s=30)
    assert [b["summary"]["clients_served"] for b in plain["breakdown"]] == [0, 2, 77]
    hidden = _report(demo_stack, admin, region="22", breakdown="region", suppress="true").json()
    assert [b["summary"]["clients_served"] for b in hidden["breakdown"]] == [0, "<5", "<5"]
    assert hidden["clients_served"] == 79 and hidden["suppression"]
    csv = _report(
        demo_stack,
        admin,
        "/v1/reports/summary.csv",
        region="22",
        breakdown="region",
        suppress="true",
    )
    assert "<5" in csv.content.decode("utf-8-sig")
