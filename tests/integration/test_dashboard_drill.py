"""The dashboard's drill-down adds up (SPEC 3.5, 3.6 "Time"): a region's child lines and a
county's agency lines sum to the card above them for a period in which an agency moved
into the county, one left it and one sits at the county's own 6-digit code; agencies are
named by the registration in force on the period's end. The pages are served in-process
by reporting's dashboard over a real PostgreSQL the events were applied to."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.reporting import projections
from services.reporting.app import MIGRATIONS, SHARED_TABLES
from services.reporting.dashboard import routes
from services.reporting.dashboard.session import SESSION_COOKIE
from services.reporting.usecases import Reports
from shared.clock import FixedClock
from shared.consumer import claim
from shared.db import open_pool
from shared.events import canonical_of, incoming_events
from shared.settings import with_database
from tests.conftest import TEST_SECRET

RECORDED = datetime(2022, 1, 1, tzinfo=UTC)
YEAR_2021 = {"period": "year", "year": "2021"}


def _event(kind: str, agency: str, at: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"event_id": uuid.uuid4().hex, "type": kind, "schema_version": 1,
            "agency_id": agency, "occurred_at": at, "payload": payload}  # fmt: skip


def _registered(agency: str, region: str, day: str, name: str) -> dict[str, Any]:
    return _event(
        "agency-registered",
        agency,
        f"{day}T09:00:00+08:00",
        {"agency_id": agency, "name": name, "region_code": region, "role": "assisted",
         "registered_on": "2019-01-01"},
    )  # fmt: skip


def _visits(agency: str, day: str, count: int) -> list[dict[str, Any]]:
    at = f"{day}T10:00:00+08:00"
    client = _event(
        "client-registered",
        agency,
        f"{day}T08:00:00+08:00",
        {"client_id": f"c-{day}", "name": "n", "birth_year": 1940, "sex": "female", "ethnicity": "han",
         "circumstances": [], "in_difficulty": False},
    )  # fmt: skip
    visit = {"client_id": f"c-{day}", "worker_id": "w1", "service": "home-care",
             "started_at": at, "duration_min": 30}  # fmt: skip
    return [client] + [
        _event("visit-logged", agency, at, {"visit_id": uuid.uuid4().hex, **visit})
        for _ in range(count)
    ]


# Yanbian (2224) in 2021: `county` sits at Longjing's own code 222405, `village` in one of
# its communities; `mover` leaves Antu (222426) for Longjing on 2021-07-01 (and takes a new
# name); `leaver` leaves Longjing for Changchun (220102) on 2021-05-01.
HISTORY = [
    _registered("county", "222405", "2019-01-01", "龙井市社会工作服务中心"),
    _registered("village", "222405100200", "2019-01-01", "村里的站"),
    _registered("mover", "222426", "2019-01-01", "安图旧名"),
    _registered("leaver", "222405", "2019-01-01", "离开的机构"),
    _registered("mover", "222405", "2021-07-01", "龙井新名"),
    _registered("leaver", "220102", "2021-05-01", "长春的机构"),
    *_visits("county", "2021-02-01", 3),
    *_visits("village", "2021-03-01", 2),
    *_visits("mover", "2021-03-15", 5),  # in Antu
    *_visits("mover", "2021-09-15", 7),  # in Longjing
    *_visits("leaver", "2021-02-15", 11),  # in Longjing
    *_visits("leaver", "2021-08-15", 13),  # in Changchun
]


@pytest.fixture
async def dashboard(pg_url: str) -> AsyncIterator[httpx.AsyncClient]:
    url = with_database(pg_url, f"t{uuid.uuid4().hex[:10]}_reporting")
    pool = await open_pool(url, MIGRATIONS, SHARED_TABLES)
    try:
        async with pool.acquire() as conn:
            for i, raw in enumerate(HISTORY):
                event = canonical_of(
                    incoming_events.validate_python(raw), "22", RECORDED + timedelta(seconds=i)
                )
                async with conn.transaction():
                    await projections.apply(conn, await claim(conn, "reporting", [event]))
        app = FastAPI()
        routes.mount(app)
        app.state.reports = Reports(pool, clock=FixedClock(datetime(2022, 6, 1, tzinfo=UTC)))
        app.state.token_secrets = (TEST_SECRET,)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://reporting") as client:
            yield client
    finally:
        await pool.close()


class _Page(HTMLParser):
    """The visits card and the drill-down's rows: {data-code: (shown name, visits, href)}."""

    def __init__(self) -> None:
        super().__init__()
        self.card: str | None = None
        self.rows: dict[str, dict[str, Any]] = {}
        self._in: str | None = None
        self._row: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("data-kpi") == "visits_by_service":
            self._in = "card"
        elif self._in == "card" and a.get("class") == "card-value":
            self._in = "card-value"
        elif tag == "tr" and a.get("data-code"):
            self._row = a["data-code"]
            self.rows[self._row] = {"name": "", "visits": None, "href": None}
        elif self._row and tag == "a":
            self.rows[self._row]["href"] = a["href"]
            self._in = "name"
        elif self._row and a.get("data-key") == "visits":
            self._in = "visits"

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._in == "name":
            self._in = None
        if tag == "tr":
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._in == "card-value":
            self.card, self._in = data.strip(), None
        elif self._in == "name" and self._row:
            self.rows[self._row]["name"] += data
        elif self._in == "visits" and self._row:
            self.rows[self._row]["visits"], self._in = int(data.replace(",", "")), None


async def _page(
    client: httpx.AsyncClient, token: str, **params: str
) -> tuple[int, dict[str, dict[str, Any]]]:
    client.cookies.set(SESSION_COOKIE, token)
    answer = await client.get("/dashboard", params=params)
    assert answer.status_code == 200, answer.text
    page = _Page()
    page.feed(answer.text)
    assert page.card is not None
    return int(page.card.replace(",", "")), page.rows


async def test_the_drill_down_adds_up_to_the_card_above(
    dashboard: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    admin = token("admin")
    yanbian, counties = await _page(dashboard, admin, region="2224", **YEAR_2021)
    # Antu keeps mover's visits before its move; Longjing holds the rest of Yanbian's.
    assert yanbian == 3 + 2 + 5 + 7 + 11
    assert {c: r["visits"] for c, r in counties.items()} == {"222405": 3 + 2 + 7 + 11, "222426": 5}

    longjing, agencies = await _page(dashboard, admin, region="222405", **YEAR_2021)
    assert longjing == counties["222405"]["visits"]
    # Each agency for its days in Longjing: leaver until May, mover from July.
    visits = {a: r["visits"] for a, r in agencies.items()}
    assert visits == {"county": 3, "leaver": 11, "mover": 7, "village": 2}
    assert sum(visits.values()) == longjing

    jilin, prefectures = await _page(dashboard, admin, region="22", **YEAR_2021)
    assert sum(r["visits"] for r in prefectures.values()) == jilin == yanbian + 13

    # Named by the registration in force on the period's end, the id beside it.
    assert agencies["mover"]["name"] == "龙井新名"
    assert agencies["county"]["name"] == "龙井市社会工作服务中心"
    _, in_2020 = await _page(dashboard, admin, region="222405", period="year", year="2020")
    assert set(in_2020) == {"county", "leaver", "village"}  # mover was still in Antu
    assert in_2020["leaver"]["name"] == "离开的机构"

    # An agency's line leads to its page within the county, whose card is the line's figure.
    href = agencies["mover"]["href"]
    assert re.search(r"region=222405", href) and re.search(r"agency=mover", href)
    answer = await dashboard.get(href)
    assert "龙井新名" in answer.text
    mover_here, _ = await _page(dashboard, admin, region="222405", agency="mover", **YEAR_2021)
    assert mover_here == 7
