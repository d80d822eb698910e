"""The dashboard's pages: login/logout, the overview with its drill-down, a pairing's page
and downloads. Every figure comes from reporting's own use cases (Reports.scope, which
applies the read scopes, then Reports.summary / Reports.pairing); nothing here decides who
may read what."""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

import httpx
import jinja2
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from services.reporting.approvals.usecases import Approvals
from services.reporting.dashboard import drill as drilling
from services.reporting.dashboard import queries, session, views
from services.reporting.dashboard.regions import lineage, region_name
from services.reporting.periods import buckets
from services.reporting.summary import Scope
from services.reporting.usecases import Reports
from shared.errors import Refusal
from shared.http import status_of, token_principal
from shared.labels import VALUE_ZH
from shared.tokens import Principal, TokenError, verify

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
ECHARTS = HERE / "node_modules" / "echarts" / "dist" / "echarts.min.js"
REGION = re.compile(r"^[0-9]{2}([0-9]{2}([0-9]{2}([0-9]{6})?)?)?$")
IDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
DEFAULT_REFRESH_S = 30
HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    # ECharts' SVG renderer sets style attributes, hence 'unsafe-inline' for styles only.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
}
MILESTONES = VALUE_ZH["milestone"]

router = APIRouter(prefix="/dashboard", include_in_schema=False)
templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
templates.globals["region_name"] = region_name
templates.globals["service_labels"] = views.SERVICE_LABELS
templates.globals["columns"] = views.COLUMNS
templates.globals["agency_label"] = views.agency_label


def mount(app: FastAPI) -> None:
    """Add the dashboard's routes and files to reporting's app."""
    if not ECHARTS.exists():
        log.warning("dashboard charts unavailable: %s missing (run ./deploy/dev)", ECHARTS)
    from services.reporting.dashboard import explain_page  # it uses this module's helpers

    app.include_router(router)
    app.include_router(explain_page.router)
    app.mount("/dashboard/static", StaticFiles(directory=HERE / "static"), name="dashboard-static")


class Page(Exception):
    """Stop and answer with a page (an error or a redirect)."""

    def __init__(self, response: Response):
        self.response = response


# -- rendering ---------------------------------------------------------------------------


def _csrf(request: Request) -> tuple[str, bool]:
    value = request.cookies.get(session.CSRF_COOKIE)
    return (value, False) if value else (session.new_csrf(), True)


def _set_cookie(response: Response, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=session.COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=False,  # the local stack is plain HTTP; behind TLS the proxy adds Secure
    )


def render(
    request: Request,
    name: str,
    principal: Principal | None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    csrf, fresh = _csrf(request)
    html = templates.get_template(name).render(
        request_path=request.url.path,
        csrf=csrf,
        who=_who(principal) if principal else None,
        **context,
    )
    response = HTMLResponse(html, status, headers=HEADERS)
    if fresh:
        _set_cookie(response, session.CSRF_COOKIE, csrf)
    return response


def _who(principal: Principal) -> str:
    if principal.role == "agency":
        return f"机构 {principal.agency_id}"
    if principal.role == "province":
        region = principal.region or ""
        return f"省级 {region_name(region)}（{region}）"
    return "管理员（全国）"


def _error(request: Request, principal: Principal | None, status: int, message: str) -> Page:
    return Page(render(request, "error.html", principal, status, title="出错了", message=message))


def _api_error(request: Request, principal: Principal, exc: Refusal) -> Page:
    titles = {403: "无权查看：", 404: "未找到：", 422: "请求有误：", 429: "请求过于频繁：", 503: ""}
    return _error(request, principal, status_of(exc), titles.get(status_of(exc), "") + exc.message)


# -- session -----------------------------------------------------------------------------


def _to_login(request: Request) -> Page:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    response = RedirectResponse(f"/dashboard/login?next={quote(target)}", 303, headers=HEADERS)
    response.delete_cookie(session.SESSION_COOKIE, path=session.COOKIE_PATH)
    return Page(response)


def _principal(request: Request) -> Principal:
    """The session's principal; an absent, expired or revoked token goes back to login."""
    token = request.cookies.get(session.SESSION_COOKIE)
    if not token:
        raise _to_login(request)
    try:
        return token_principal(request, token, request.app.state.token_secrets)
    except Refusal as exc:
        if status_of(exc) == 401:
            raise _to_login(request) from exc
        raise _error(request, None, status_of(exc), exc.message) from exc


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > session.MAX_FORM_BYTES:
        raise _error(request, None, 413, "表单过大")
    parsed = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {k: v[0] for k, v in parsed.items()}


def _check_csrf(request: Request, form: dict[str, str]) -> None:
    if not session.same_origin(request.headers.get("origin"), request.headers.get("host")):
        raise _error(request, None, 403, "来源不符，请从本站页面提交")
    if not session.csrf_ok(request.cookies.get(session.CSRF_COOKIE), form.get("csrf")):
        raise _error(request, None, 403, "表单已失效，请刷新页面后重试")


@router.get("/login")
async def login_page(request: Request, next: str | None = None) -> Response:
    return render(
        request, "login.html", None, title="登录", next=session.safe_next(next), message=None
    )


@router.post("/login")
async def login(request: Request) -> Response:
    try:
        form = await _form(request)
        _check_csrf(request, form)
    except Page as page:
        return page.response
    token = form.get("token", "").strip()
    target = session.safe_next(form.get("next"))
    try:
        verify(token, request.app.state.token_secrets)
        token_principal(request, token, request.app.state.token_secrets)  # revoked, rate
    except (TokenError, Refusal) as exc:
        message = exc.message if isinstance(exc, Refusal) else str(exc)
        return render(
            request,
            "login.html",
            None,
            401,
            title="登录",
            next=target,
            message=f"令牌无效：{message}",
        )
    response = RedirectResponse(target, 303, headers=HEADERS)
    _set_cookie(response, session.SESSION_COOKIE, token, session.session_seconds(token))
    _set_cookie(response, session.CSRF_COOKIE, session.new_csrf())  # a new one per session
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    try:
        _check_csrf(request, await _form(request))
    except Page as page:
        return page.response
    response = RedirectResponse("/dashboard/login", 303, headers=HEADERS)
    response.delete_cookie(session.SESSION_COOKIE, path=session.COOKIE_PATH)
    return response


# -- the period and the links ------------------------------------------------------------


def _today(request: Request) -> date:
    """Today in China by reporting's clock (tests move it without sleeping)."""
    reports: Reports = request.app.state.reports
    return reports.today()


def _now(request: Request) -> datetime:
    reports: Reports = request.app.state.reports
    return reports.clock.now()


def _period(request: Request, principal: Principal) -> views.Period:
    q = request.query_params
    try:
        year = int(q["year"]) if q.get("year") else None
        start = date.fromisoformat(q["from"]) if q.get("from") else None
        end = date.fromisoformat(q["to"]) if q.get("to") else None
        return views.choose_period(q.get("period"), year, start, end, _today(request))
    except ValueError as exc:
        message = str(exc) if "期" in str(exc) or "年" in str(exc) else "日期格式应为 YYYY-MM-DD"
        raise _error(request, principal, 400, message) from exc


def _period_params(period: views.Period) -> dict[str, str]:
    params = {"period": period.kind}
    if period.kind not in ("all", "custom"):
        params["year"] = str(period.year)
    if period.kind == "custom" and period.start and period.end:
        params["from"], params["to"] = period.start.isoformat(), period.end.isoformat()
    return params


def _link(path: str, period: views.Period, **params: str | None) -> str:
    query = {**_period_params(period), **{k: v for k, v in params.items() if v}}
    return f"{path}?{urlencode(query)}"


def _param(
    request: Request, principal: Principal, name: str, pattern: re.Pattern[str]
) -> str | None:
    value = request.query_params.get(name) or None
    if value is not None and not pattern.fullmatch(value):
        raise _error(request, principal, 400, f"参数 {name} 格式不对")
    return value


def _refresh(request: Request) -> int:
    try:
        return max(2, min(3600, int(request.query_params.get("refresh", DEFAULT_REFRESH_S))))
    except ValueError:
        return DEFAULT_REFRESH_S


def _crumbs(
    principal: Principal,
    period: views.Period,
    region: str | None,
    agency: str | None,
    names: dict[str, str],
) -> list[dict[str, str]]:
    """province → prefecture → county → agency, from the principal's own level down."""
    crumbs: list[dict[str, str]] = []
    if principal.role == "admin":
        crumbs.append({"name": "全国", "href": _link("/dashboard", period)})
    if region and principal.role != "agency":
        top = len(principal.region or "")
        for code in lineage(region):
            if len(code) >= top:
                crumbs.append(
                    {"name": region_name(code), "href": _link("/dashboard", period, region=code)}
                )
    if agency:
        crumbs.append(
            {
                "name": f"机构 {views.agency_label(names, agency)}",
                "href": _link("/dashboard", period, agency=agency),
            }
        )
    return crumbs


# -- pages -------------------------------------------------------------------------------


@router.get("")
async def overview(request: Request) -> Response:
    try:
        return await _overview(request)
    except Page as page:
        return page.response


async def _overview(request: Request) -> Response:
    principal = _principal(request)
    reports: Reports = request.app.state.reports
    period = _period(request, principal)
    region = _param(request, principal, "region", REGION)
    agency = _param(request, principal, "agency", IDENT)
    try:
        scope = await reports.scope(principal, region, agency, None, None, period.start, period.end)
        drill = drilling.level(scope)
        # Independent reads, each on its own pooled connection: the page waits for the
        # slowest, not for their sum. The trend (one summary per month or year) comes
        # separately from /dashboard/trend, so the cards do not wait for it.
        lines = await drilling.lines(reports, scope, drill)
        limit = asyncio.Semaphore(SUMMARY_CONCURRENCY)

        async def summary_of(part: Scope) -> dict[str, Any]:
            async with limit:
                return await reports.summary(part)

        body, pairings, approval, *parts = await asyncio.gather(
            summary_of(scope),
            queries.pairings_of(reports.pool, scope),
            Approvals(reports).mark(scope),  # "changed since approval" (SPEC 3.9)
            *(summary_of(line.scope) for line in lines),
        )
        children: list[dict[str, Any]] = [
            {
                "code": line.code,
                "name": line.name,
                "href": _link("/dashboard", period, **line.params),
                "figures": views.figures(part),
            }
            for line, part in zip(lines, parts, strict=True)
        ]
    except Refusal as exc:
        raise _api_error(request, principal, exc) from exc
    here = scope.region
    if scope.agency and principal.role != "agency" and not region:
        here = await queries.agency_region(reports.pool, scope.agency)
    shown = {scope.agency} if scope.agency else set()
    for p in pairings:
        shown |= {p["assisting_agency_id"], p["assisted_agency_id"]}
    names = await queries.agency_names(reports.pool, shown, scope.bounds()[1])
    child_rows = [c["figures"] for c in children]
    return render(
        request,
        "overview.html",
        principal,
        title=_title(scope, names),
        scope=scope,
        keep={"region": region, "agency": agency},
        period=period,
        period_kinds=views.PERIOD_KINDS,
        kpis=body,
        approval=approval,
        cards=_explained(views.cards(body), period, region=region, agency=agency),
        crumbs=_crumbs(principal, period, here, scope.agency, names),
        names=names,
        drill=drill,
        children=children,
        child_chart={
            **views.chart([c["name"] for c in children], child_rows, ["clients_served", "visits"]),
            "links": [c["href"] for c in children],
        },
        trend_src=_link("/dashboard/trend", period, region=region, agency=agency),
        pairings=[
            {**p, "href": _link(f"/dashboard/pairings/{p['pairing_id']}", period)} for p in pairings
        ],
        seconds=views.seconds_since(body.get("as_of"), _now(request)),
        refresh=_refresh(request),
        downloads=_downloads(period, scope, drill, principal),
        today=_today(request),
    )


# Trend lines by (scope, step, watermark, today): figures at the same watermark are the
# same, so a page refreshing itself while nothing new arrived costs one small query.
_TRENDS: OrderedDict[tuple[Any, ...], list[dict[str, Any]]] = OrderedDict()
TREND_CACHE_SIZE = 256
TREND_CONCURRENCY = 4  # of the pool's 10 connections
SUMMARY_CONCURRENCY = 4


async def _trend_lines(request: Request, scope: Scope, step: str) -> list[dict[str, Any]]:
    reports: Reports = request.app.state.reports
    key = (scope, step, await queries.as_of(reports.pool), reports.today())
    if key in _TRENDS:
        _TRENDS.move_to_end(key)
        return _TRENDS[key]
    # One summary per month or year, several at a time on their own pooled connections
    # (each its own snapshot; the API's breakdown keeps one snapshot and takes their sum).
    limit = asyncio.Semaphore(TREND_CONCURRENCY)
    assert scope.start is not None and scope.end is not None

    async def line(label: str, first: date, last: date) -> dict[str, Any]:
        async with limit:
            kpis = await reports.summary(replace(scope, start=first, end=last))
        return {"period": label, "from": first.isoformat(), "to": last.isoformat(), "summary": kpis}

    lines = list(await asyncio.gather(*(line(*b) for b in buckets(scope.start, scope.end, step))))
    _TRENDS[key] = lines
    while len(_TRENDS) > TREND_CACHE_SIZE:
        _TRENDS.popitem(last=False)
    return lines


@router.get("/trend")
async def trend(request: Request) -> Response:
    """The scope's trend (by month, or by year for "so far"): a chart and its table. The
    overview loads it into its page; without the script it opens as a page of its own."""
    try:
        principal = _principal(request)
        reports: Reports = request.app.state.reports
        period = _period(request, principal)
        region = _param(request, principal, "region", REGION)
        agency = _param(request, principal, "agency", IDENT)
        try:
            scope = await reports.scope(
                principal, region, agency, None, None, period.trend_start, period.trend_end
            )
            lines = await _trend_lines(request, scope, period.trend_step)
            names = await queries.agency_names(
                reports.pool, [scope.agency] if scope.agency else [], period.trend_end
            )
        except Refusal as exc:
            raise _api_error(request, principal, exc) from exc
    except Page as page:
        return page.response
    rows = [views.figures(line["summary"]) for line in lines]
    return render(
        request,
        "trend.html",
        principal,
        title=f"{_title(scope, names)} · 趋势",
        period=period,
        back=_link("/dashboard", period, region=region, agency=agency),
        trend=[
            {"label": line["period"], "figures": f} for line, f in zip(lines, rows, strict=True)
        ],
        trend_chart=views.chart(
            [line["period"] for line in lines],
            rows,
            ["clients_served", "visits", "lectures", "staff_days_dispatched"],
        ),
    )


def _title(scope: Scope, names: dict[str, str]) -> str:
    if scope.agency:
        return f"机构 {views.agency_label(names, scope.agency)}"
    if scope.region:
        return region_name(scope.region)
    return "全国"


def _downloads(
    period: views.Period, scope: Scope, drill: str | None, principal: Principal
) -> list[dict[str, str]]:
    """Links to the summary exports of what the page shows: the scope with its breakdown
    by child region (if any), and the trend by month or year."""
    base = {"region": scope.region, "agency": scope.agency}
    if principal.role == "agency":
        base["region"] = None  # an agency's own scope; naming a region is refused
    out = []
    for what, breakdown, p in (
        (
            "汇总" + ("（按下级地区）" if drill == "region" else ""),
            "region" if drill == "region" else None,
            period,
        ),
        (
            "趋势（按" + ("月" if period.trend_step == "month" else "年") + "）",
            period.trend_step,
            None,
        ),
    ):
        for ext in ("csv", "xlsx"):
            params = {**base, "breakdown": breakdown}
            if p is None:  # the trend's own range
                params.update(
                    {
                        "period": "custom",
                        "from": period.trend_start.isoformat(),
                        "to": period.trend_end.isoformat(),
                    }
                )
                href = f"/dashboard/download/summary.{ext}?" + urlencode(
                    {k: v for k, v in params.items() if v}
                )
            else:
                href = _link(f"/dashboard/download/summary.{ext}", period, **params)
            out.append({"what": what, "ext": ext.upper(), "href": href})
    return out


@router.get("/pairings/{pairing_id}")
async def pairing_page(request: Request, pairing_id: str) -> Response:
    try:
        return await _pairing(request, pairing_id)
    except Page as page:
        return page.response


async def _pairing(request: Request, pairing_id: str) -> Response:
    principal = _principal(request)
    if not IDENT.fullmatch(pairing_id):
        raise _error(request, principal, 404, "未找到该结对")
    reports: Reports = request.app.state.reports
    period = _period(request, principal)
    try:
        report = await reports.pairing(principal, pairing_id)  # 403/404 before anything else

        async def figures_of(project: str | None) -> dict[str, Any]:
            scope = await reports.scope(
                principal, None, None, pairing_id, project, period.start, period.end
            )
            return await reports.summary(scope)

        projects_listed = report["projects_undertaken"]["projects"]
        body, *per_project = await asyncio.gather(
            figures_of(None), *(figures_of(p["project_id"]) for p in projects_listed)
        )
        projects = [
            {
                **project,
                "figures": views.figures(figures),
                "in_difficulty": figures.get("clients_in_difficulty") or 0,
            }
            for project, figures in zip(projects_listed, per_project, strict=True)
        ]
    except Refusal as exc:
        raise _api_error(request, principal, exc) from exc
    incubated = report["agencies_incubated"]["agencies"]
    names = await queries.agency_names(
        reports.pool,
        [
            report["assisting_agency_id"],
            report["assisted_agency_id"],
            *(a["agency_id"] for a in incubated),
            *(p["agency_id"] for p in projects_listed),
        ],
        period.end or _today(request),
    )
    years = views.pace(report["staff_days_by_programme_year"], _today(request))
    timeline = sorted(
        [
            *(
                {
                    "on": m["reached_on"],
                    "what": "里程碑：" + MILESTONES.get(m["milestone"], m["milestone"]),
                }
                for m in report["milestones"]
            ),
            *(
                {
                    "on": a["registered_on"],
                    "what": f"孵化机构 {views.agency_label(names, a['agency_id'])} 登记",
                }
                for a in incubated
            ),
            *(
                {
                    "on": p["starts_on"],
                    "what": f"项目 {p['project_id']} 启动，承办机构 "
                    + views.agency_label(names, p["agency_id"]),
                }
                for p in projects_listed
            ),
            {"on": report["starts_on"], "what": "结对开始"},
        ],
        key=lambda item: item["on"],
    )
    pace_chart = {
        "categories": [f"第{i + 1}年" for i in range(len(years))],
        "series": [
            {"name": "派驻人日", "data": [y["staff_days"] for y in years]},
            {"name": "应达进度", "data": [y["expected"] for y in years]},
            {"name": "年度目标", "data": [y["target"] for y in years]},
        ],
    }
    return render(
        request,
        "pairing.html",
        principal,
        title=f"结对 {pairing_id}",
        report=report,
        names=names,
        period=period,
        period_kinds=views.PERIOD_KINDS,
        kpis=body,
        cards=_explained(views.cards(body), period, pairing=pairing_id),
        years=years,
        pace_chart=pace_chart,
        timeline=timeline,
        projects=projects,
        crumbs=[{"name": f"结对 {pairing_id}", "href": _link(request.url.path, period)}],
        seconds=views.seconds_since(body.get("as_of"), _now(request)),
        refresh=_refresh(request),
        downloads=[
            *(
                {
                    "what": "结对汇总",
                    "ext": ext.upper(),
                    "href": _link(f"/dashboard/download/summary.{ext}", period, pairing=pairing_id),
                }
                for ext in ("csv", "xlsx")
            ),
            {
                "what": "结对报告（派驻、孵化、项目）",
                "ext": "XLSX",
                "href": f"/dashboard/download/pairings/{pairing_id}.xlsx",
            },
        ],
        today=_today(request),
    )


def _explained(cards: list[views.Card], period: views.Period, **scope: str | None) -> list[Any]:
    """Each card links to the events behind its figure (SPEC 3.7)."""
    from services.reporting.dashboard.explain_page import linked

    return linked(cards, period, **scope)


# -- downloads ---------------------------------------------------------------------------


@router.get("/download/summary.{ext}")
async def download(request: Request, ext: str) -> Response:
    """The API's own export (/v1/reports/summary.csv or .xlsx) for the session's principal,
    so a download holds exactly the figures, filters and suppression of the API. Small
    cells are hidden by default for province and admin; `suppress=0` shows them."""
    try:
        principal = _principal(request)
        if ext not in ("csv", "xlsx"):
            raise _error(request, principal, 404, "未知的下载格式")
        period = _period(request, principal)
        params: dict[str, str] = {}
        for name, pattern in (
            ("region", REGION),
            ("agency", IDENT),
            ("pairing", IDENT),
            ("project", IDENT),
        ):
            value = _param(request, principal, name, pattern)
            if value:
                params[name] = value
        breakdown = request.query_params.get("breakdown")
        if breakdown in ("month", "quarter", "year", "region"):
            params["breakdown"] = breakdown
        if period.start and period.end:
            params["from"], params["to"] = period.start.isoformat(), period.end.isoformat()
        hide = principal.role in ("province", "admin")
        if request.query_params.get("suppress") in ("0", "false"):
            hide = False
        elif request.query_params.get("suppress") in ("1", "true"):
            hide = True
        params["suppress"] = "true" if hide else "false"
        if ext == "csv":
            params["lang"] = "zh-CN"
        return await _forward(request, principal, f"/v1/reports/summary.{ext}", params)
    except Page as page:
        return page.response


@router.get("/download/pairings/{pairing_id}.xlsx")
async def download_pairing(request: Request, pairing_id: str) -> Response:
    """The API's workbook of a pairing's report (/v1/reports/pairings/{id}.xlsx)."""
    try:
        principal = _principal(request)
        if not IDENT.fullmatch(pairing_id):
            raise _error(request, principal, 404, "未找到该结对")
        return await _forward(request, principal, f"/v1/reports/pairings/{pairing_id}.xlsx", {})
    except Page as page:
        return page.response


async def _forward(
    request: Request, principal: Principal, path: str, params: dict[str, str]
) -> Response:
    """Ask reporting's own API, in-process, with the session's token; pass the file on."""
    token = request.cookies.get(session.SESSION_COOKIE, "")
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://reporting") as client:
        answer = await client.get(path, params=params, headers={"Authorization": f"Bearer {token}"})
    if answer.status_code != 200:
        message = (
            answer.json().get("message", "")
            if answer.headers.get("content-type", "").startswith("application/json")
            else ""
        )
        raise _error(request, principal, answer.status_code, f"下载失败：{message}")
    headers = {
        k: v
        for k, v in answer.headers.items()
        if k.lower() in ("content-type", "content-disposition")
    }
    return Response(answer.content, 200, headers={**headers, "Cache-Control": "no-store"})


@router.get("/vendor/echarts.min.js")
async def echarts() -> Response:
    """Apache ECharts from the npm package `./deploy/dev` installs (never committed)."""
    if not ECHARTS.exists():
        return Response(
            "/* echarts not installed: run ./deploy/dev */", 404, media_type="text/javascript"
        )
    return FileResponse(
        ECHARTS, media_type="text/javascript", headers={"Cache-Control": "max-age=3600"}
    )
