"""Provenance through the public contract (SPEC 3.7): for every figure of the reference
programme, the events GET /v1/reports/explain lists, paged through, add up to the figure
the summary shows, under the same read scope."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
