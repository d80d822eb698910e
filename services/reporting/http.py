"""Reporting's HTTP routes: the summary (JSON and CSV), a pairing's report, publishing."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import AwareDatetime

from services.reporting import export, workbook
from services.reporting.approvals.usecases import Approvals
from services.reporting.explain.answer import Filters, explanation
from services.reporting.schemas import Explanation, PairingReport, Summary, Unassigned
from services.reporting.summary import Scope
from services.reporting.suppression import suppress_report
from services.reporting.usecases import Reports
from shared.errors import Forbidden, Invalid, NotFound, field_error
from shared.events import IDENT_PATTERN, REGION_PREFIX_PATTERN, canonical_model
from shared.http import bearer_principal, json_response
from shared.openapi import AUTHENTICATED, error_responses
from shared.tokens import Principal

router = APIRouter(
    prefix="/v1/reports", tags=["reports"], responses=error_responses(*AUTHENTICATED)
)

Region = Annotated[
    str | None,
    Query(
        pattern=REGION_PREFIX_PATTERN,
        description="GB/T 2260 prefix: 22, 2224, 222405",
    ),
]
Ident = Annotated[str | None, Query(pattern=IDENT_PATTERN)]
Suppress = Annotated[
    bool, Query(description="hide counts of 1 to 4 (and what would reveal them): for exports")
]
Breakdown = Annotated[Literal["month", "quarter", "year", "region"] | None, Query()]
AsOf = Annotated[
    AwareDatetime | None,
    Query(
        description="the figures as they stood when intake had recorded the events up to this"
        " moment (with its offset, + written %2B); the answer's as_of is never later than"
        " what reporting has applied (docs/kpis.md)",
    ),
]


def _caller(request: Request) -> tuple[Reports, Principal]:
    return request.app.state.reports, bearer_principal(request, request.app.state.token_secrets)


def _dates(start: date | None, end: date | None) -> None:
    for name, day in (("from", start), ("to", end)):
        if day is not None and not 1900 <= day.year <= 2100:
            raise Invalid(
                f"{name} is out of range", [field_error(name, "a year from 1900 to 2100")]
            )
    if start and end and start > end:
        raise Invalid("from is after to", [field_error("from", "from is after to")])


@dataclass
class SummaryQuery:
    """The filters both summary endpoints take."""

    region: Region = None
    agency: Ident = None
    pairing: Ident = None
    project: Ident = None
    start: Annotated[date | None, Query(alias="from")] = None
    end: Annotated[date | None, Query(alias="to")] = None
    breakdown: Breakdown = None
    suppress: Suppress = False
    as_of: AsOf = None

    async def answer(self, request: Request) -> tuple[Scope, dict[str, Any]]:
        """The authorized scope and its summary (suppressed if asked)."""
        reports, principal = _caller(request)
        _dates(self.start, self.end)
        scope = await reports.scope(
            principal, self.region, self.agency, self.pairing, self.project, self.start, self.end
        )
        scope = replace(scope, as_of=self.as_of)
        body = await reports.summary(scope, self.breakdown)
        return scope, suppress_report(body) if self.suppress else body


@router.get(
    "/summary",
    summary="The KPIs of SPEC 3.5 for a region, agency, pairing or project",
    response_model=Summary,
    responses=error_responses(403),
)
async def get_summary(request: Request, query: Annotated[SummaryQuery, Depends()]) -> Response:
    scope, body = await query.answer(request)
    # A period approved for exactly this scope says so, with the events since (SPEC 3.9).
    if mark := await Approvals(request.app.state.reports).mark(scope):
        body["approval"] = mark
    return json_response(body)


@router.get(
    "/summary.csv",
    summary="The same summary as CSV (UTF-8 with BOM)",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV"},
        **error_responses(403),
    },
)
async def get_summary_csv(
    request: Request,
    query: Annotated[SummaryQuery, Depends()],
    lang: Annotated[Literal["en", "zh-CN"], Query()] = "en",
) -> Response:
    scope, body = await query.answer(request)
    rows = [export.flatten(_label(scope.region, scope.agency, scope.pairing), body)]
    rows += [
        export.flatten(line.get("period") or line.get("region", ""), line["summary"])
        for line in body.get("breakdown", [])
    ]
    return Response(
        export.to_csv(rows, chinese=lang == "zh-CN"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="summary.csv"'},
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get(
    "/summary.xlsx",
    summary="The same summary as an Excel workbook (a sheet per breakdown)",
    response_class=Response,
    operation_id="getSummaryXlsx",
    responses={200: {"content": {XLSX: {}}, "description": "the workbook"}},
)
async def summary_xlsx(
    request: Request,
    query: Annotated[SummaryQuery, Depends()],
    lang: Annotated[Literal["en", "zh-CN"], Query()] = "zh-CN",
) -> Response:
    scope, body = await query.answer(request)
    label = _label(scope.region, scope.agency, scope.pairing)
    content = workbook.summary_workbook(label, body, query.breakdown, chinese=lang == "zh-CN")
    return Response(
        content,
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="summary.xlsx"'},
    )


@router.get(
    "/explain",
    summary="The events behind one figure of the summary (SPEC 3.7), a page at a time",
    response_model=Explanation,
    responses=error_responses(403),
)
async def get_explanation(
    request: Request,
    kpi: Annotated[
        str, Query(pattern=r"^[a-z_]+(\.[a-z-]+)?$", examples=["visits_by_service.home-medication"])
    ],
    region: Region = None,
    agency: Ident = None,
    pairing: Ident = None,
    project: Ident = None,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
    as_of: AsOf = None,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    reports, principal = _caller(request)
    _dates(start, end)
    filters = Filters(region, agency, pairing, project, start, end, as_of)
    return json_response(await explanation(reports, principal, kpi, filters, cursor, limit))


def _label(*parts: str | None) -> str:
    return "/".join(p for p in parts if p) or "all"


@router.get(
    "/pairings/{pairing_id}.xlsx",
    summary="A pairing's report as an Excel workbook",
    response_class=Response,
    operation_id="getPairingReportXlsx",
    responses={200: {"content": {XLSX: {}}, "description": "the workbook"}},
)
async def pairing_xlsx(request: Request, pairing_id: str, as_of: AsOf = None) -> Response:
    reports, principal = _caller(request)
    if not re.fullmatch(IDENT_PATTERN, pairing_id):
        raise NotFound("no such pairing")
    report = await reports.pairing(principal, pairing_id, as_of)
    return Response(
        workbook.pairing_workbook(report),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="pairing-{pairing_id}.xlsx"'},
    )


@router.get(
    "/pairings/{pairing_id}",
    summary="A pairing's targets against its actuals",
    response_model=PairingReport,
    responses=error_responses(403, 404),
)
async def get_pairing_report(request: Request, pairing_id: str, as_of: AsOf = None) -> Response:
    reports, principal = _caller(request)
    if not re.fullmatch(IDENT_PATTERN, pairing_id):
        raise NotFound("no such pairing")
    return json_response(await reports.pairing(principal, pairing_id, as_of))


@router.get(
    "/unassigned",
    summary="Agency ids with events but no registration (admin): counts by type, first/last seen",
    response_model=Unassigned,
    responses=error_responses(403),
)
async def get_unassigned(request: Request) -> Response:
    reports, principal = _caller(request)
    return json_response(await reports.unassigned(principal))


@router.post(
    "/publish",
    status_code=201,
    summary="Publish a region's report for a period on NATS (reports.<region>.<period>)",
    response_model=canonical_model("report-published"),
    responses=error_responses(403),
)
async def publish_report(
    request: Request,
    region: Annotated[str, Query(pattern=REGION_PREFIX_PATTERN)],
    period: Annotated[str, Query(pattern=r"^(19|20)[0-9]{2}(-(Q[1-4]|(0[1-9]|1[0-2])))?$")],
) -> Response:
    reports, principal = _caller(request)
    if principal.role not in ("province", "admin"):
        raise Forbidden("only a province or an administrator publishes reports")
    event: dict[str, Any] = await reports.publish(principal, region, period)
    return json_response(event, 201)
