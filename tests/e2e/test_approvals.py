"""Approving a period (SPEC 3.9) on the demo: Jilin approves Yanbian's (2224) 2020 Q2,
seven home-medication visits for that quarter arrive late and are counted (never
blocked), the approval shows the approved figure, today's and exactly those seven events;
a rebuild leaves the approved figures byte for byte; only a province over the region (or
admin) approves; a later approval supersedes the earlier one, whose history stays."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx
import orjson
from nats.aio.client import Client

from deploy.demo import PAIRING, reference_programme
from deploy.stack import Stack
from services.reporting.approvals.schemas import ApprovalDetail, Approvals, Published
from services.reporting.dashboard.session import SESSION_COOKIE
from services.reporting.schemas import Summary
from shared.settings import with_database
from tests.contracts.test_answers import conforms
from tests.support.events import envelope, read_stream, visit
from tests.support.polling import eventually
from tests.support.reports import caught_up, report

Token = Callable[..., str]
Q2 = {"from": "2020-04-01", "to": "2020-06-30"}
YANBIAN_Q2 = {"scope": {"region": "2224"}, **Q2}


def _approvals(stack: Stack) -> str:
    return f"{stack.services['reporting'].url}/v1/approvals"


def _approve(stack: Stack, token: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        _approvals(stack), json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )


def _get(stack: Stack, token: str, path: str = "", **params: str) -> httpx.Response:
    return httpx.get(
        _approvals(stack) + path,
        params=params,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def _late_visits(n: int) -> list[dict[str, Any]]:
    """Home-medication visits of Wenhua's elders (yanghua, Longjing 222405) in May 2020."""
    return [
        visit(
            f"wh-e{k:03d}",
            agency_id="yanghua",
            worker_id=f"yh-w{k % 5}",
            started_at=f"2020-05-{10 + k:02d}T09:00:00+08:00",
        )
        for k in range(n)
    ]


async def _stored_figures(stack: Stack, pg_url: str, approval_id: str) -> bytes:
    conn = await asyncpg.connect(with_database(pg_url, f"{stack.db_prefix}_reporting"))
    try:
        text = await conn.fetchval(
            "SELECT figures FROM approvals WHERE approval_id = $1", approval_id
        )
    finally:
        await conn.close()
    return str(text).encode()


async def test_late_visits_show_against_an_approved_quarter_and_survive_a_rebuild(
    demo_stack: Stack, nc: Client, pg_url: str, token: Token
) -> None:
    await caught_up(demo_stack, token)
    jilin = token("province", region="22")

    approved = _approve(demo_stack, jilin, YANBIAN_Q2)
    conforms(Published, approved, 201)
    approval = approved.json()
    approval_id = approval["approval_id"]
    assert approval["approver"] == "22" and approval["supersedes"] is None
    assert (
        approval["fingerprint"]
        == hashlib.sha256(
            orjson.dumps(approval["figures"], option=orjson.OPT_SORT_KEYS)
        ).hexdigest()
    )
    before = report(demo_stack, jilin, region="2224", **Q2).json()
    assert approval["figures"] == {
        k: v for k, v in before.items() if k not in ("as_of", "scope", "approval")
    }
    [published] = [
        m
        for m in await read_stream(nc, "events.*.reporting.period-approved")
        if m["event_id"] == approval_id
    ]
    assert published["subject"] == "events.2224.reporting.period-approved"
    assert published["submitted_by"] == {"kind": "service", "id": "reporting"}
    assert published["headers"]["Nats-Msg-Id"] == f"reporting:{approval_id}"
    assert published["payload"]["stream_seq"] > 0

    listed = await eventually(
        lambda: _get(demo_stack, jilin, region="2224").json()["approvals"], what="listed"
    )
    assert [a["approval_id"] for a in listed] == [approval_id]

    late = _late_visits(7)
    sent = httpx.post(
        f"{demo_stack.services['intake'].url}/v1/events",
        content=orjson.dumps(late),
        headers={"Authorization": f"Bearer {token('agency', agency_id='yanghua')}"},
        timeout=30,
    )
    assert sent.status_code in (200, 202), sent.text
    assert [r["status"] for r in sent.json()] == ["accepted"] * 7

    def counted() -> dict[str, Any] | None:
        body = _get(demo_stack, jilin, f"/{approval_id}").json()
        return body if body["late_events"] == 7 else None

    shown = await eventually(counted, timeout_s=60, what="the 7 late visits counted")
    home_then = shown["approved"]["visits_by_service"].get("home-medication", 0)
    assert shown["approved"] == approval["figures"]
    assert shown["today"]["visits_by_service"]["home-medication"] == home_then + 7
    assert shown["difference"]["visits_by_service"] == {"home-medication": 7}
    assert {e["event_id"] for e in shown["events"]} == {e["event_id"] for e in late}
    assert {e["type"] for e in shown["events"]} == {"visit-logged"}
    by_kpi = {x["kpi"]: x for x in shown["explained"]}
    assert {r["event_id"] for r in by_kpi["visits_by_service"]["rows"]} == {
        e["event_id"] for e in late
    }

    summary = conforms(Summary, report(demo_stack, jilin, region="2224", **Q2)).model_dump(
        by_alias=True, mode="json"
    )
    assert summary["approval"]["approval_id"] == approval_id
    assert summary["approval"]["changed_since"] == 7
    assert "approval" not in report(demo_stack, jilin, region="2224").json()
    # As the summary stood at the approval: approved, nothing since; before it: no approval.
    at = datetime.fromisoformat(approval["approved_at"])
    then = report(demo_stack, jilin, region="2224", as_of=at.isoformat(), **Q2).json()
    assert then["approval"]["changed_since"] == 0
    before_it = (at - timedelta(seconds=1)).isoformat()
    assert "approval" not in report(demo_stack, jilin, region="2224", as_of=before_it, **Q2).json()
    page = httpx.get(
        f"{demo_stack.services['reporting'].url}/dashboard",
        params={"region": "2224", "period": "q2", "year": "2020"},
        cookies={SESSION_COOKIE: jilin},
        timeout=30,
    )
    assert page.status_code == 200
    assert f'data-approval="{approval_id}" data-changed-since="7"' in page.text
    assert "审定后有变化" in page.text

    stored = await _stored_figures(demo_stack, pg_url, approval_id)
    subprocess.run(
        [sys.executable, "-m", "deploy.cli", "reporting", "rebuild"],
        env=demo_stack.service_env("reporting"),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert await _stored_figures(demo_stack, pg_url, approval_id) == stored
    # Approvals on the stream change no figure the plain recomputation checks.
    reconciled = subprocess.run(
        [sys.executable, "-m", "deploy.cli", "reporting", "reconcile", "--region", "2224"],
        env=demo_stack.service_env("reporting"),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert reconciled.returncode == 0, reconciled.stdout[-3000:] + reconciled.stderr[-3000:]
    rebuilt = _get(demo_stack, jilin, f"/{approval_id}").json()
    assert rebuilt == shown

    again = _approve(demo_stack, token("admin"), YANBIAN_Q2)
    assert again.status_code == 201, again.text
    assert again.json()["supersedes"] == approval_id

    def both() -> list[dict[str, Any]] | None:
        found = _get(demo_stack, jilin, region="2224").json()["approvals"]
        return found if len(found) == 2 else None

    newest, older = await eventually(both, what="the second approval listed")
    conforms(Approvals, _get(demo_stack, jilin, region="2224"))
    conforms(ApprovalDetail, _get(demo_stack, jilin, f"/{approval_id}"))
    assert newest["approval_id"] == again.json()["approval_id"] and not newest["superseded"]
    assert older["approval_id"] == approval_id and older["superseded_by"] == newest["approval_id"]
    assert _get(demo_stack, jilin, f"/{newest['approval_id']}").json()["late_events"] == 0
    assert report(demo_stack, jilin, region="2224", **Q2).json()["approval"]["changed_since"] == 0


async def test_only_a_province_over_the_region_or_admin_approves(
    demo_stack: Stack, token: Token
) -> None:
    await caught_up(demo_stack, token)
    refusals = [
        (token("agency", agency_id="yanghua"), YANBIAN_Q2),
        (token("province", region="21"), YANBIAN_Q2),
        (token("province", region="2224"), {**YANBIAN_Q2, "scope": {"region": "22"}}),
        (token("province", region="2201"), YANBIAN_Q2),
    ]
    for who, body in refusals:
        refused = _approve(demo_stack, who, body)
        assert refused.status_code == 403, refused.text
        answer = refused.json()
        assert answer["code"] == "forbidden" and answer["message"]
        assert answer["errors"][0]["path"] in ("scope", "scope.region")
    assert _get(demo_stack, token("admin"), region="22").json()["approvals"] == []
    assert _get(demo_stack, token("agency", agency_id="yanghua"), region="2224").status_code == 403

    yanbian = token("province", region="2224")
    own = _approve(demo_stack, yanbian, YANBIAN_Q2)
    assert own.status_code == 201, own.text
    await eventually(lambda: _get(demo_stack, yanbian, region="2224").json()["approvals"])
    again = _approve(demo_stack, yanbian, YANBIAN_Q2)  # a retry: nothing changed since
    assert again.status_code == 200 and again.json() == own.json()
    assert len(_get(demo_stack, yanbian, region="2224").json()["approvals"]) == 1
    bad = _approve(
        demo_stack,
        token("admin"),
        {"scope": {"region": "2224"}, "from": "2020-07-01", "to": "2020-06-30"},
    )
    assert bad.status_code == 422


async def test_a_pairing_is_approved_by_its_province_and_read_by_its_sides(
    demo_stack: Stack, token: Token
) -> None:
    await caught_up(demo_stack, token)
    body = {"scope": {"pairing": PAIRING}, "from": "2020-01-01", "to": "2020-12-31"}
    outside = _approve(demo_stack, token("province", region="2224"), body)  # lanxing: 220102
    assert outside.status_code == 403 and outside.json()["errors"][0]["path"] == "scope.pairing"
    approved = _approve(demo_stack, token("province", region="22"), body)
    assert approved.status_code == 201, approved.text
    approval_id = approved.json()["approval_id"]
    assert approved.json()["figures"]["staff_days_dispatched"] > 0

    side = token("agency", agency_id="lanxing")
    listed = await eventually(
        lambda: _get(demo_stack, side, pairing=PAIRING).json()["approvals"], what="listed"
    )
    assert [a["approval_id"] for a in listed] == [approval_id]
    shown = _get(demo_stack, side, f"/{approval_id}").json()
    assert shown["approved"] == shown["today"] and shown["difference"] == {}
    assert shown["late_events"] == 0
    marked = report(demo_stack, side, pairing=PAIRING, **{"from": "2020-01-01", "to": "2020-12-31"})
    assert marked.json()["approval"] == {
        "approval_id": approval_id,
        "approved_at": shown["approved_at"],
        "changed_since": 0,
    }
    stranger = token("agency", agency_id="yanghua")  # not a side of the pairing
    assert _get(demo_stack, stranger, pairing=PAIRING).status_code == 403
    assert _get(demo_stack, stranger, f"/{approval_id}").status_code == 404


async def test_a_late_retraction_of_an_approved_event_is_counted(
    demo_stack: Stack, token: Token
) -> None:
    await caught_up(demo_stack, token)
    year = {"scope": {"region": "2224"}, "from": "2020-01-01", "to": "2020-12-31"}
    approved = _approve(demo_stack, token("admin"), year)
    assert approved.status_code == 201, approved.text
    approval_id = approved.json()["approval_id"]
    await eventually(lambda: _get(demo_stack, token("admin"), f"/{approval_id}").status_code == 200)
    client = next(
        e
        for e in reference_programme()
        if e["type"] == "client-registered" and e["payload"]["client_id"] == "wh-e068"
    )
    retraction = envelope(
        "event-retracted",
        {"target_event_id": client["event_id"], "reason": "registered twice"},
        agency_id=client["agency_id"],
    )
    sent = httpx.post(
        f"{demo_stack.services['intake'].url}/v1/events",
        content=orjson.dumps([retraction]),
        headers={"Authorization": f"Bearer {token('agency', agency_id=client['agency_id'])}"},
        timeout=30,
    )
    assert [r["status"] for r in sent.json()] == ["accepted"], sent.text

    def counted() -> dict[str, Any] | None:
        body = _get(demo_stack, token("admin"), f"/{approval_id}").json()
        return body if body["late_events"] == 1 else None

    shown = await eventually(counted, timeout_s=60, what="the late retraction counted")
    [event] = shown["events"]
    assert event["event_id"] == retraction["event_id"] and event["type"] == "event-retracted"
    assert event["retracts"] == client["event_id"]
    assert shown["difference"]["clients_registered"] == -1
