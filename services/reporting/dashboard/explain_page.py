"""The dashboard's provenance page (SPEC 3.7): a KPI card's "明细" link lists the events
behind its figure, a page at a time, for the session's principal. It answers exactly what
GET /v1/reports/explain answers (the same use case, the same read scopes)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.reporting.dashboard import views
from services.reporting.dashboard.routes import (
    IDENT,
    REGION,
    Page,
    _api_error,
    _error,
    _link,
    _param,
    _period,
    _principal,
    render,
)
from services.reporting.explain.answer import Filters, explanation
from services.reporting.kpis import label
from shared.errors import Refusal

router = APIRouter(prefix="/dashboard", include_in_schema=False)
PAGE_ROWS = 100
TYPE_LABELS = {
    "agency-registered": "机构登记",
    "pairing-established": "结对",
    "worker-registered": "社工登记",
    "certification-obtained": "取得资格",
    "client-registered": "服务对象登记",
    "visit-logged": "上门服务",
    "activity-held": "活动",
    "training-completed": "培训",
    "staff-dispatched": "派驻",
    "milestone-reached": "里程碑",
    "visit-scheduled": "计划上门",
    "visit-overdue": "逾期上门",
}


def linked(cards: list[views.Card], period: views.Period, **scope: str | None) -> list[views.Card]:
    """The cards with a link to the events behind each figure, in the page's scope."""
    return [
        replace(c, href=_link("/dashboard/explain", period, kpi=c.explains or c.kpi, **scope))
        for c in cards
    ]


@router.get("/explain")
async def explain_page(request: Request) -> Response:
    try:
        principal = _principal(request)
        period = _period(request, principal)
        scope = {
            name: _param(request, principal, name, pattern)
            for name, pattern in (
                ("region", REGION), ("agency", IDENT), ("pairing", IDENT), ("project", IDENT),
            )
        }  # fmt: skip
        kpi = request.query_params.get("kpi", "")
        if not kpi or len(kpi) > 80:
            raise _error(request, principal, 400, "缺少指标参数 kpi")
        cursor = request.query_params.get("cursor") or None
        filters = Filters(
            scope["region"], scope["agency"], scope["pairing"], scope["project"],
            period.start, period.end,
        )  # fmt: skip
        try:
            body = await explanation(
                request.app.state.reports, principal, kpi, filters, cursor, PAGE_ROWS
            )
        except Refusal as exc:
            raise _api_error(request, principal, exc) from exc
        more = body["next_cursor"]
        return render(
            request,
            "explain.html",
            principal,
            title=f"指标明细：{label(kpi)}",
            period=period,
            kpi=kpi,
            adds=body["adds"],
            rows=[_row(r) for r in body["rows"]],
            total=sum(r["value"] for r in body["rows"]),
            back=_link("/dashboard", period, region=scope["region"], agency=scope["agency"]),
            next_href=_link("/dashboard/explain", period, kpi=kpi, cursor=more, **scope)
            if more
            else None,
        )
    except Page as page:
        return page.response


def _row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "type_label": TYPE_LABELS.get(row["type"], row["type"]),
        "occurred": row["occurred_at"].isoformat()[:19].replace("T", " "),
        "replaced": "，".join(
            f"{r['event_id']}（{'已撤回' if r['how'] == 'retracted' else '被更正'}）"
            for r in row["replaces"]
        ),
    }
