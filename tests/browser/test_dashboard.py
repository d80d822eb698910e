"""The dashboard in a real browser: what a province official and an agency director see is
what the JSON summary says, within their read scope, in Chinese with a CJK font."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from typing import Any

import httpx
import openpyxl
from playwright.async_api import Browser, Page

from deploy.demo import PAIRING, PROJECT, reference_programme
from deploy.stack import Stack
from services.reporting.dashboard.views import cards
from tests.browser.conftest import SCREENSHOTS, login
from tests.support.events import envelope
from tests.support.polling import eventually
from tests.support.reports import caught_up
from tests.support.reports import report as api

CARD_KPIS = [card.kpi for card in cards({})]
# The demo agencies' registered names.
NAMES = {
    e["payload"]["agency_id"]: e["payload"]["name"]
    for e in reference_programme()
    if e["type"] == "agency-registered"
}
CJK_FONTS = re.compile(r"WenQuanYi|Noto Sans CJK|Noto Serif CJK|Source Han|Droid Sans Fallback")


def _int(text: str) -> int:
    return int(text.replace(",", "").strip())


async def _card(page: Page, kpi: str) -> str:
    return (await page.inner_text(f'[data-kpi="{kpi}"] .card-value')).strip()


async def _cards_equal_summary(page: Page, body: dict[str, Any]) -> None:
    assert _int(await _card(page, "clients_served")) == body["clients_served"]
    assert _int(await _card(page, "clients_in_difficulty")) == body["clients_in_difficulty"]
    assert _int(await _card(page, "visits_by_service")) == sum(body["visits_by_service"].values())
    lectures = body["activity_attendance_by_kind"].get("health-lecture", 0)
    assert _int(await _card(page, "activity_attendance_by_kind.health-lecture")) == lectures
    assert _int(await _card(page, "trainings_by_kind")) == sum(body["trainings_by_kind"].values())
    days, target = (await _card(page, "staff_days_dispatched")).split("/")
    assert _int(days) == body["staff_days_dispatched"]
    assert float(target.replace(",", "")) == body["staff_days_target"]
    rate = body["licensed_rate"]
    expected = "—" if rate is None else f"{rate * 100:.1f}%"
    assert await _card(page, "licensed_rate") == expected


async def _table(page: Page, selector: str) -> dict[str, dict[str, int]]:
    """{row heading's code or text: {column key: figure}} of one of the page's tables."""
    rows = await page.eval_on_selector_all(
        f"{selector} tbody tr",
        """rows => rows.map(r => [r.dataset.code || r.querySelector('th').innerText,
            Object.fromEntries([...r.querySelectorAll('td[data-key]')]
                .map(td => [td.dataset.key, td.innerText]))])""",
    )
    return {key: {k: _int(v) for k, v in cells.items()} for key, cells in rows}


def _figures(body: dict[str, Any]) -> dict[str, int]:
    return {
        "clients_served": body["clients_served"],
        "visits": sum(body["visits_by_service"].values()),
        "lectures": body["activity_attendance_by_kind"].get("health-lecture", 0),
        "trainings": sum(body["trainings_by_kind"].values()),
        "staff_days_dispatched": body["staff_days_dispatched"],
    }


async def _fonts_used(page: Page, selector: str) -> list[dict[str, Any]]:
    """The fonts chromium actually drew the element's text with (DevTools protocol)."""
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("DOM.enable")
    await cdp.send("CSS.enable")
    root = await cdp.send("DOM.getDocument")
    node = await cdp.send(
        "DOM.querySelector", {"nodeId": root["root"]["nodeId"], "selector": selector}
    )
    fonts = await cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})
    await cdp.detach()
    return list(fonts["fonts"])


async def test_province_overview_drill_down_pairing_and_downloads(
    demo_stack: Stack, token: Callable[..., str], browser: Browser
) -> None:
    await caught_up(demo_stack, token)
    base = demo_stack.services["reporting"].url
    province = token("province", region="22")
    summary = api(demo_stack, province).json()
    by_region = api(demo_stack, province, breakdown="region").json()["breakdown"]
    assert summary["clients_served"] > 0  # the comparisons below compare something

    context = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = await context.new_page()
    await login(page, base, province)
    assert "吉林省" in await page.inner_text("#page-title")
    await _cards_equal_summary(page, summary)

    # The region breakdown: the table holds the JSON's figures, the SVG chart names the regions.
    table = await _table(page, "#breakdown-table")
    assert table == {line["region"]: _figures(line["summary"]) for line in by_region}
    chart_text = await page.text_content("#breakdown-chart svg") or ""
    assert "延边朝鲜族自治州" in chart_text and "长春市" in chart_text

    # Chinese is drawn with a CJK font, not boxes: ask chromium which font it used.
    fonts = await _fonts_used(page, "#page-title")
    assert any(CJK_FONTS.search(f["familyName"]) and f["glyphCount"] > 0 for f in fonts), fonts

    # "Updated N seconds ago" counts from the summary's as_of.
    updated = await page.inner_text("#updated")
    assert re.fullmatch(r"数据更新于 \d+ 秒前", updated), updated

    await page.wait_for_selector("#trend-chart svg")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "overview.png"), full_page=True)

    # Each KPI card links to the events behind its figure; their values add up to it.
    assert await page.locator(".card a.card-explain").count() == len(CARD_KPIS)
    await page.click('[data-kpi="staff_days_dispatched"] a.card-explain')
    explained = 0.0
    while True:
        await page.wait_for_selector("#explain-table")
        explained += sum(
            await page.eval_on_selector_all(
                "#explain-table td[data-value]", "cells => cells.map(c => Number(c.dataset.value))"
            )
        )
        if await page.locator("#next-page").count() == 0:
            break
        await page.click("#next-page")
    assert explained == summary["staff_days_dispatched"] > 0
    await page.goto(f"{base}/dashboard")

    # Drill down, each level a click: province → prefecture → county → agency.
    await page.click('#breakdown-table a:has-text("延边朝鲜族自治州")')
    await page.wait_for_selector('#page-title:has-text("延边朝鲜族自治州")')
    await page.click('#breakdown-table a:has-text("龙井市")')
    await page.wait_for_selector('#page-title:has-text("龙井市")')
    agencies = await _table(page, "#breakdown-table")
    assert set(agencies) == {"wenhua", "yanghua", "pugongying"}
    assert agencies["yanghua"] == _figures(api(demo_stack, province, agency="yanghua").json())
    # Agencies by their registered name, the id beside it.
    named = await page.inner_text('#breakdown-table tr[data-code="yanghua"] th')
    assert NAMES["yanghua"] in named and "yanghua" in named
    await page.click('#breakdown-table a:has-text("yanghua")')
    await page.wait_for_selector(f'#page-title:has-text("机构 {NAMES["yanghua"]}")')
    await _cards_equal_summary(page, api(demo_stack, province, agency="yanghua").json())
    crumbs = await page.inner_text("nav.crumbs")
    assert all(name in crumbs for name in ("吉林省", "延边朝鲜族自治州", "龙井市", "yanghua"))

    # A quarter: the cards follow the period, the trend is by month.
    await page.goto(f"{base}/dashboard?period=q2&year=2020")
    quarter = api(demo_stack, province, **{"from": "2020-04-01", "to": "2020-06-30"}).json()
    await _cards_equal_summary(page, quarter)
    await page.wait_for_selector("#trend-table")  # the trend arrives after the cards
    months = await _table(page, "#trend-table")
    by_month = api(
        demo_stack, province, breakdown="month", **{"from": "2020-04-01", "to": "2020-06-30"}
    ).json()["breakdown"]
    assert months == {line["period"]: _figures(line["summary"]) for line in by_month}
    assert list(months) == ["2020-04", "2020-05", "2020-06"]
    assert sum(m["visits"] for m in months.values()) == sum(quarter["visits_by_service"].values())
    # Once Yanbian's quarter is approved, its page says so (SPEC 3.9).
    approved = httpx.post(
        f"{base}/v1/approvals",
        json={"scope": {"region": "2224"}, "from": "2020-04-01", "to": "2020-06-30"},
        headers={"Authorization": f"Bearer {province}"},
        timeout=60,
    )
    assert approved.status_code == 201, approved.text

    async def marked() -> bool:
        await page.goto(f"{base}/dashboard?region=2224&period=q2&year=2020")
        return await page.locator("#approval-mark").count() == 1

    await eventually(marked, timeout_s=30, what="the approval mark on the quarter's page")
    assert "本期数据已于" in await page.inner_text("#approval-mark")

    # The pairing page: staff-days per programme year against target, milestones, licence rate.
    await page.goto(f"{base}/dashboard")
    await page.click(f'a:has-text("{PAIRING}")')
    await page.wait_for_selector("#pace-table")
    pairing = api(demo_stack, province, f"/v1/reports/pairings/{PAIRING}").json()
    title = await page.inner_text("#page-title")
    assert NAMES[pairing["assisting_agency_id"]] in title
    assert NAMES[pairing["assisted_agency_id"]] in title
    pace = await _table(page, "#pace-table")
    assert [row["staff_days"] for row in pace.values()] == [
        y["staff_days"] for y in pairing["staff_days_by_programme_year"]
    ]
    timeline = await page.inner_text("#timeline")
    for milestone in pairing["milestones"]:
        assert milestone["reached_on"] in timeline
    assert await page.locator("#pace-chart svg").count() == 1
    await page.screenshot(path=str(SCREENSHOTS / "pairing.png"), full_page=True)

    # Downloads hold the page's figures: suppressed by default for a province, whole on request.
    await page.goto(f"{base}/dashboard")
    href = await page.get_attribute('a[data-format="csv"]', "href")
    assert href is not None
    suppressed = await _csv(await context.request.get(base + href))
    whole = await _csv(await context.request.get(base + href + "&suppress=0"))
    hidden = api(demo_stack, province, breakdown="region", suppress="true").json()
    assert suppressed[0]["已服务对象数"] == str(hidden["clients_served"])
    assert whole[0]["已服务对象数"] == str(summary["clients_served"])
    assert [row["范围"] for row in whole[1:]] == [line["region"] for line in by_region]
    for row, line in zip(whole[1:], by_region, strict=True):
        assert row["已服务对象数"] == str(line["summary"]["clients_served"])
        assert row["派驻人日"] == str(line["summary"]["staff_days_dispatched"])

    # The open page refreshes itself: a lecture reported now shows without a reload.
    await page.goto(f"{base}/dashboard?refresh=2")
    before = _int(await _card(page, "activity_attendance_by_kind.health-lecture"))
    lecture = envelope(
        "activity-held",
        {
            "activity_id": "lecture-extra",
            "project_id": PROJECT,
            "kind": "health-lecture",
            "title": "Health lecture, one more",
            "held_on": "2020-06-01",
            "attendees": 17,
        },
        agency_id="yanghua",
        occurred_at="2020-06-01T10:00:00+08:00",
    )
    sent = httpx.post(
        f"{demo_stack.services['intake'].url}/v1/events",
        json=lecture,
        headers={"Authorization": f"Bearer {token('agency', 'yanghua')}"},
    )
    assert sent.status_code < 300, sent.text

    async def refreshed() -> bool:
        shown = _int(await _card(page, "activity_attendance_by_kind.health-lecture"))
        return shown == before + 17

    await eventually(refreshed, timeout_s=30, what="the page refreshed with the new lecture")
    assert await page.evaluate("Number(document.getElementById('main').dataset.refreshed)") >= 1

    # The XLSX download (reporting's own workbook) holds the same figures.
    xlsx = await page.get_attribute('a[data-format="xlsx"]', "href")
    assert xlsx is not None and "breakdown=region" in xlsx
    answer = await context.request.get(base + xlsx)
    assert answer.status == 200, await answer.text()
    book = openpyxl.load_workbook(io.BytesIO(await answer.body()))
    first = _sheet_rows(book.worksheets[0])
    assert first[0]["已服务对象数"] == hidden["clients_served"]
    assert first[0]["派驻人日"] == hidden["staff_days_dispatched"]
    lines = _sheet_rows(book.worksheets[1])
    assert [r["已服务对象数"] for r in lines] == [
        line["summary"]["clients_served"] for line in hidden["breakdown"]
    ]
    await page.goto(f"{base}/dashboard/pairings/{PAIRING}")
    report_xlsx = await page.get_attribute('a:has-text("结对报告")', "href")
    assert report_xlsx is not None
    answer = await context.request.get(base + report_xlsx)
    assert answer.status == 200
    book = openpyxl.load_workbook(io.BytesIO(await answer.body()))
    staff_days = [row[2].value for row in book["派驻人日"].iter_rows(min_row=2)]
    assert staff_days == [y["staff_days"] for y in pairing["staff_days_by_programme_year"]]

    # At phone width nothing spills sideways.
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.goto(f"{base}/dashboard")
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    await page.wait_for_selector("#trend-chart svg")
    await page.screenshot(path=str(SCREENSHOTS / "overview-phone.png"), full_page=True)
    await context.close()


def _sheet_rows(sheet: Any) -> list[dict[str, Any]]:
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


async def _csv(response: Any) -> list[dict[str, str]]:
    assert response.status == 200, response.status
    return list(csv.DictReader(io.StringIO((await response.text()).lstrip("\ufeff"))))


async def test_agency_sees_only_its_scope_and_sessions_end(
    demo_stack: Stack, token: Callable[..., str], browser: Browser
) -> None:
    await caught_up(demo_stack, token)
    base = demo_stack.services["reporting"].url
    dandelion = token("agency", "pugongying")
    yanghua = api(demo_stack, token("agency", "yanghua")).json()
    own = api(demo_stack, dandelion).json()
    assert yanghua["clients_served"] > 0 and yanghua["clients_served"] != own["clients_served"]

    context = await browser.new_context(viewport={"width": 1366, "height": 768})
    page = await context.new_page()
    await login(page, base, dandelion)
    await _cards_equal_summary(page, own)
    assert "pugongying" in await page.inner_text("#page-title")
    assert await page.locator("#breakdown-table").count() == 0  # no regions for an agency

    # Editing the URL does not widen the scope.
    for query in ("agency=yanghua", "region=22", "region=2224"):
        response = await page.goto(f"{base}/dashboard?{query}")
        assert response is not None and response.status == 403, query
        assert "无权查看" in await page.inner_text("main")
    download = await context.request.get(f"{base}/dashboard/download/summary.csv?agency=yanghua")
    assert download.status == 403
    # Nor through the pairing that incubated it: only the pairing's two sides read that.
    response = await page.goto(f"{base}/dashboard/pairings/{PAIRING}")
    assert response is not None and response.status == 403
    assert "qingnuan" not in await page.inner_text("main")
    for path in (f"pairings/{PAIRING}.xlsx", f"summary.csv?pairing={PAIRING}"):
        download = await context.request.get(f"{base}/dashboard/download/{path}")
        assert download.status == 403, path

    # The session cookie is HttpOnly and SameSite=Strict.
    cookie = next(c for c in await context.cookies() if c["name"] == "qianshou_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    # A form without its CSRF value changes nothing.
    forged = await context.request.post(f"{base}/dashboard/logout", form={"csrf": "forged"})
    assert forged.status == 403
    await page.goto(f"{base}/dashboard")
    assert await page.locator("#page-title").count() == 1

    # Logout clears the session: the dashboard sends the browser back to login.
    await page.click("form.logout button")
    await page.wait_for_url(re.compile(r"/dashboard/login"))
    await page.goto(f"{base}/dashboard")
    assert "/dashboard/login" in page.url

    # An expiring token: once it has expired, the page (refreshing itself) goes to login.
    await login(page, base, token("agency", "pugongying", ttl_s=3))
    await page.goto(f"{base}/dashboard?refresh=2")
    await eventually(
        lambda: "/dashboard/login" in page.url, timeout_s=30, what="back to the login page"
    )
    await context.close()


async def test_revoked_token_goes_back_to_login(
    demo_stack: Stack, token: Callable[..., str], browser: Browser
) -> None:
    import subprocess
    import sys

    base = demo_stack.services["reporting"].url
    mine = token("province", region="22")
    context = await browser.new_context()
    page = await context.new_page()
    await login(page, base, mine)
    subprocess.run(
        [sys.executable, "-m", "deploy.cli", "token", "revoke", mine],
        env=demo_stack.service_env("reporting"),
        capture_output=True,
        check=True,
        timeout=60,
    )

    def refused() -> bool:
        resp = httpx.get(f"{base}/dashboard", cookies={"qianshou_session": mine})
        return resp.status_code == 303 and "/dashboard/login" in resp.headers["location"]

    await eventually(refused, timeout_s=20, what="the revoked session refused")
    await page.goto(f"{base}/dashboard")
    assert "/dashboard/login" in page.url
    await context.close()


async def test_prefecture_and_admin_start_at_their_own_level(
    demo_stack: Stack, token: Callable[..., str], browser: Browser
) -> None:
    await caught_up(demo_stack, token)
    base = demo_stack.services["reporting"].url
    context = await browser.new_context()
    page = await context.new_page()

    yanbian = token("province", region="2224")
    await login(page, base, yanbian)
    assert "延边朝鲜族自治州" in await page.inner_text("#page-title")
    assert "吉林省" not in await page.inner_text("nav.crumbs")
    await _cards_equal_summary(page, api(demo_stack, yanbian).json())
    counties = await _table(page, "#breakdown-table")
    assert list(counties) == ["222405"]
    response = await page.goto(f"{base}/dashboard?region=2201")  # Changchun is not Yanbian's
    assert response is not None and response.status == 403

    await page.click("form.logout button")
    await page.wait_for_url(re.compile(r"/dashboard/login"))
    admin = token("admin")
    await login(page, base, admin)
    assert "全国" in await page.inner_text("#page-title")
    provinces = await _table(page, "#breakdown-table")
    assert provinces == {"22": _figures(api(demo_stack, admin, region="22").json())}
    await context.close()
