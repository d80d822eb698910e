"""As of a moment (SPEC 3.7) on the real stack: the summary, its CSV and XLSX give the
figures as they stood when intake had recorded the events up to that moment, before and
after a retraction; the answer's as_of is never later than what reporting has applied."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from openpyxl import load_workbook

from deploy.stack import Stack
from tests.support.events import agency, client, envelope, visit
from tests.support.intake import post_accepted
from tests.support.polling import eventually
from tests.support.reports import report

Token = Callable[..., str]


def _recorded(stack: Stack, admin: str, event: dict[str, Any]) -> datetime:
    resp = httpx.get(
        f"{stack.services['intake'].url}/v1/events/{event['event_id']}",
        params={"agency": event["agency_id"]},
        headers={"Authorization": f"Bearer {admin}"},
    )
    return datetime.fromisoformat(resp.json()["recorded_at"])


async def _reflected(stack: Stack, admin: str, moment: datetime) -> None:
    def done() -> bool:
        as_of = report(stack, admin).json().get("as_of")
        return bool(as_of) and datetime.fromisoformat(as_of) >= moment

    await eventually(done, timeout_s=30, what="reporting caught up")


def _visits(stack: Stack, admin: str, **params: str) -> tuple[int, str | None]:
    body = report(stack, admin, region="2224", **params).json()
    return sum(body["visits_by_service"].values()), body["as_of"]


async def test_as_of_before_and_after_a_retraction(stack: Stack, token: Token) -> None:
    stack.up("intake", "reporting")
    admin, wenhua = token("admin"), token("agency", "wenhua")
    post_accepted(stack, [agency("wenhua", "222405")], token("province", region="22"))
    visits = [visit("elder-1", agency_id="wenhua") for _ in range(3)]
    post_accepted(stack, [client("elder-1", agency_id="wenhua"), *visits], wenhua)
    before = _recorded(stack, admin, visits[-1])
    retraction = envelope(
        "event-retracted",
        {"target_event_id": visits[0]["event_id"], "reason": "logged twice"},
        agency_id="wenhua",
    )
    post_accepted(stack, [retraction], wenhua)
    after = _recorded(stack, admin, retraction)
    assert after > before
    await _reflected(stack, admin, after)

    assert _visits(stack, admin)[0] == 2
    then, as_of = _visits(stack, admin, as_of=before.isoformat())
    assert then == 3 and as_of is not None and datetime.fromisoformat(as_of) == before
    assert _visits(stack, admin, as_of=after.isoformat())[0] == 2
    # before anything was recorded: nothing
    assert _visits(stack, admin, as_of=(before - timedelta(days=1)).isoformat())[0] == 0
    # later than what reporting has applied: the newest figures, saying how far they go
    later, as_of = _visits(stack, admin, as_of=(after + timedelta(days=365)).isoformat())
    assert later == 2 and as_of is not None and datetime.fromisoformat(as_of) == after
    # a moment without its offset is refused, naming the field
    naive = report(stack, admin, region="2224", as_of="2026-01-01T00:00:00")
    assert naive.status_code == 422, naive.text

    # the exports take it too
    csv = report(stack, admin, "/v1/reports/summary.csv", region="2224", as_of=before.isoformat())
    header, line = csv.content.decode("utf-8-sig").splitlines()[:2]
    assert dict(zip(header.split(","), line.split(","), strict=True))["visit_minutes"] == "90"
    xlsx = report(
        stack, admin, "/v1/reports/summary.xlsx", region="2224", as_of=before.isoformat(),
        lang="en",
    )  # fmt: skip
    sheet = load_workbook(io.BytesIO(xlsx.content)).worksheets[0]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    [minutes] = [row[1] for row in rows if row[0] == "visit_minutes"] or [
        dict(zip(rows[0], rows[1], strict=False)).get("visit_minutes")
    ]
    assert minutes == 90, rows[:3]
