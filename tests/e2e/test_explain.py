"""Provenance through the public contract (SPEC 3.7): for every figure of the reference
programme, the events GET /v1/reports/explain lists, paged through, add up to the figure
the summary shows, under the same read scope."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import httpx

from deploy.demo import PAIRING, PROJECT
from deploy.stack import Stack
from tests.support.explained import added, figure, figures, label
from tests.support.reports import caught_up, report

EXPLAIN = "/v1/reports/explain"


def _all_rows(stack: Stack, token: str, kpi: str, limit: int = 50, **filters: str) -> list[Any]:
    """Every page of the rows behind `kpi`, following next_cursor to the end."""
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"kpi": kpi, "limit": str(limit), **filters}
        if cursor:
            params["cursor"] = cursor
        resp = report(stack, token, EXPLAIN, **params)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        rows += body["rows"]
        cursor = body["next_cursor"]
        if cursor is None:
            return rows


async def test_every_figure_of_the_demo_is_the_sum_of_its_events(
    demo_stack: Stack, token: Callable[..., str]
) -> None:
    await caught_up(demo_stack, token)
    readers = [
        (token("admin"), {"region": "22"}),
        (token("province", region="2224"), {"from": "2019-12-01", "to": "2020-03-31"}),
        (token("agency", "lanxing"), {"pairing": PAIRING}),
        (token("agency", "yanghua"), {}),
        (token("admin"), {"project": PROJECT}),
    ]
    nonzero = set()
    for bearer, filters in readers:
        summary = report(demo_stack, bearer, **filters).json()
        for name, key in figures():
            rows = _all_rows(demo_stack, bearer, label(name, key), **filters)
            wanted = figure(summary, name, key)
            assert added(name, rows) == wanted, (filters, label(name, key))
            assert len({(r["agency_id"], r["event_id"], r["cell"]) for r in rows}) == len(rows)
            if wanted:
                nonzero.add(name)
    # the demo moves every kind of figure, so the equalities above say something
    assert nonzero >= {"visits_by_service", "staff_days_dispatched", "workers_licensed",
                       "milestones", "training_hours", "staff_days_target", "agencies"}  # fmt: skip


async def test_pages_follow_each_other_without_repeats_or_gaps(
    demo_stack: Stack, token: Callable[..., str]
) -> None:
    await caught_up(demo_stack, token)
    admin = token("admin")
    whole = _all_rows(demo_stack, admin, "visits_by_service.home-medication", limit=1000)
    paged = _all_rows(demo_stack, admin, "visits_by_service.home-medication", limit=7)
    assert len(whole) > 7 and paged == whole
    first = report(demo_stack, admin, EXPLAIN, kpi="visit_minutes", limit="3").json()
    assert len(first["rows"]) == 3 and first["next_cursor"]
    assert first["adds"] and all(r["value"] > 0 for r in first["rows"])
    row = first["rows"][0]
    assert {"event_id", "agency_id", "type", "occurred_at", "replaces"} <= set(row)
    bad = report(demo_stack, admin, EXPLAIN, kpi="visit_minutes", cursor="not-a-cursor")
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "cursor"


async def test_explain_answers_within_the_summarys_read_scope(
    demo_stack: Stack, token: Callable[..., str]
) -> None:
    await caught_up(demo_stack, token)
    yanghua = token("agency", "yanghua")
    kpi = "visits_by_service"
    for bearer, filters in [
        (yanghua, {"agency": "lanxing"}),
        (yanghua, {"region": "22"}),
        (yanghua, {"pairing": PAIRING}),  # incubated by it, not a side
        (token("province", region="11"), {"region": "22"}),
        (token("agency", "outsider"), {"pairing": PAIRING}),
    ]:
        assert report(demo_stack, bearer, EXPLAIN, kpi=kpi, **filters).status_code == 403
        assert report(demo_stack, bearer, **filters).status_code == 403
    own = _all_rows(demo_stack, yanghua, kpi)
    assert own and {r["agency_id"] for r in own} == {"yanghua"}
    for wrong in ("nonsense", "licensed_rate", "visits_by_service.teleport", "visit_minutes.x"):
        resp = report(demo_stack, yanghua, EXPLAIN, kpi=wrong)
        assert resp.status_code == 422 and resp.json()["errors"][0]["path"] == "kpi", wrong


async def test_the_dashboards_cards_link_to_the_events_behind_them(
    demo_stack: Stack, token: Callable[..., str]
) -> None:
    """Each KPI card's 明细 link lists the events whose values add up to the card's figure."""
    await caught_up(demo_stack, token)
    province = token("province", region="22")
    base = demo_stack.services["reporting"].url
    cookies = {"qianshou_session": province}
    overview = httpx.get(f"{base}/dashboard", params={"period": "all"}, cookies=cookies)
    assert overview.status_code == 200, overview.text
    links = dict(re.findall(r'data-kpi="([^"]+)">.*?class="card-explain" href="([^"]+)"',
                            overview.text, re.S))  # fmt: skip
    assert {"visits_by_service", "licensed_rate", "staff_days_dispatched"} <= set(links)
    summary = report(demo_stack, province, region="22").json()
    for card, figure_of in [
        ("visits_by_service", lambda s: sum(s["visits_by_service"].values())),
        ("licensed_rate", lambda s: s["workers_licensed"]),  # its count of licensed workers
        ("staff_days_dispatched", lambda s: s["staff_days_dispatched"]),
        ("clients_served", lambda s: s["clients_served"]),
    ]:
        total, href = 0.0, html.unescape(links[card])
        while href:
            page = httpx.get(f"{base}{href}", cookies=cookies)
            assert page.status_code == 200, page.text
            total += sum(float(v) for v in re.findall(r'data-value="([^"]+)"', page.text))
            found = re.search(r'id="next-page" href="([^"]+)"', page.text)
            href = html.unescape(found.group(1)) if found else ""
        assert total == figure_of(summary), card
    stranger = {"qianshou_session": token("agency", "yanghua")}
    refused = httpx.get(f"{base}/dashboard/explain", params={"kpi": "visit_minutes",
                        "agency": "lanxing"}, cookies=stranger)  # fmt: skip
    assert refused.status_code == 403
