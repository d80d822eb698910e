"""One region per agency at any moment (SPEC 3.6), the same in intake, scheduling and
reporting, after a move, a late-arriving older registration, and a retraction; agencies
with events but no registration are visible, never silent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest

from deploy.cli import unassigned_line
from deploy.stack import Stack
from tests.conftest import TEST_SECRET
from tests.support.events import agency, client, envelope
from tests.support.intake import answers
from tests.support.polling import eventually
from tests.support.reports import report

Token = Callable[..., str]


def _registration(region: str, occurred_at: str, event_id: str) -> dict[str, Any]:
    event = agency("mover", region)
    event["event_id"], event["occurred_at"] = event_id, occurred_at
    return event


def _recorded(stack: Stack, token: Token, event: dict[str, Any]) -> dict[str, Any]:
    return httpx.get(
        f"{stack.services['intake'].url}/v1/events/{event['event_id']}",
        params={"agency": event["agency_id"]},
        headers={"Authorization": f"Bearer {token('admin')}"},
    ).json()  # type: ignore[no-any-return]


async def _regions(stack: Stack, token: Token, step: str) -> dict[str, str]:
    """Where each service places `mover` once it has seen everything sent so far:
    intake (the region a new event is published under), scheduling (which province
    may read its visits) and reporting (which prefecture counts its client)."""
    mover = token("agency", "mover")
    probe = envelope(
        "activity-held",
        {"activity_id": f"probe-{step}", "kind": "group-activity", "title": "probe",
         "held_on": "2019-06-01", "attendees": 1},
        agency_id="mover",
    )  # fmt: skip
    assert answers(stack, [probe], mover)[0]["status"] == "accepted"
    recorded = _recorded(stack, token, probe)

    def reflected() -> bool:
        as_of = report(stack, token("admin")).json().get("as_of")
        return bool(as_of) and datetime.fromisoformat(as_of) >= datetime.fromisoformat(
            recorded["recorded_at"]
        )

    await eventually(reflected, timeout_s=30, what=f"reporting caught up ({step})")
    counted = {
        prefix: report(stack, token("admin"), region=prefix).json()["clients_registered"]
        for prefix in ("2201", "2224", "11")
    }
    (reporting,) = [p for p, n in counted.items() if n == 1] or ["none"]

    async def scheduling() -> str | None:
        readers = []
        for prefix in ("2201", "2224", "11"):
            resp = httpx.get(
                f"{stack.services['scheduling'].url}/v1/visits",
                params={"agency": "mover"},
                headers={"Authorization": f"Bearer {token('province', region=prefix)}"},
            )
            if resp.status_code == 200:
                readers.append(prefix)
        return readers[0] if len(readers) == 1 else None

    # scheduling consumes on its own: wait until it places the agency where intake does
    want = recorded["region_code"][: 2 if recorded["region_code"].startswith("11") else 4]
    placed = await eventually(
        lambda: _settled(scheduling, want), timeout_s=30, what=f"scheduling placed ({step})"
    )
    return {"intake": want, "scheduling": placed, "reporting": reporting}


async def _settled(probe: Any, want: str) -> str | None:
    found = await probe()
    return found if found == want else None


async def test_the_three_services_agree_on_an_agencys_region(stack: Stack, token: Token) -> None:
    stack.up("intake", "scheduling", "reporting")
    mover = token("agency", "mover")
    first = _registration("220102", "2019-05-01T09:00:00+08:00", "reg-changchun")
    assert answers(stack, [first, client("elder-1", agency_id="mover")], mover)[0]["status"] == (
        "accepted"
    )
    assert await _regions(stack, token, "registered") == dict.fromkeys(
        ("intake", "scheduling", "reporting"), "2201"
    )
    move = _registration("222405", "2020-03-01T09:00:00+08:00", "reg-longjing")
    assert answers(stack, [move], mover)[0]["status"] == "accepted"
    assert await _regions(stack, token, "moved") == dict.fromkeys(
        ("intake", "scheduling", "reporting"), "2224"
    )
    # A registration that happened before the move, arriving after it, does not undo it.
    older = _registration("110101", "2019-08-01T09:00:00+08:00", "reg-beijing-older")
    assert answers(stack, [older], mover)[0]["status"] == "accepted"
    assert await _regions(stack, token, "older") == dict.fromkeys(
        ("intake", "scheduling", "reporting"), "2224"
    )
    undo = envelope(
        "event-retracted",
        {"target_event_id": "reg-longjing", "reason": "moved by mistake"},
        agency_id="mover",
    )
    assert answers(stack, [undo], mover)[0]["status"] == "accepted"
    # back to the registration in force before the move: the Beijing one (newest left)
    assert await _regions(stack, token, "retracted") == dict.fromkeys(
        ("intake", "scheduling", "reporting"), "11"
    )


async def test_unregistered_agencies_are_visible(
    stack: Stack, token: Token, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack.up("intake", "reporting")
    ghost = token("agency", "ghost")
    sent = [client("g-1", agency_id="ghost"), client("g-2", agency_id="ghost")]
    assert [r["status"] for r in answers(stack, sent, ghost)] == ["accepted", "accepted"]
    url = stack.services["reporting"].url
    admin = {"Authorization": f"Bearer {token('admin')}"}

    def listed() -> dict[str, Any] | None:
        body = httpx.get(f"{url}/v1/reports/unassigned", headers=admin).json()
        return body if body["count"] == 1 else None

    body = await eventually(listed, timeout_s=30, what="ghost listed")
    (line,) = body["agencies"]
    assert (line["agency_id"], line["events_by_type"]) == ("ghost", {"client-registered": 2})
    assert line["first_seen"] <= line["last_seen"]
    metrics = httpx.get(f"{url}/metrics").text
    assert "qianshou_reporting_unassigned_agencies 1.0" in metrics
    monkeypatch.setenv("QIANSHOU_TOKEN_SECRETS", TEST_SECRET)
    assert "ghost" in (unassigned_line(url) or "")
    forbidden = httpx.get(
        f"{url}/v1/reports/unassigned",
        headers={"Authorization": f"Bearer {token('province', region='22')}"},
    )
    assert forbidden.status_code == 403

    assert answers(stack, [agency("ghost", "222405")], ghost)[0]["status"] == "accepted"

    def placed() -> bool:
        body = httpx.get(f"{url}/v1/reports/unassigned", headers=admin).json()
        counted = report(stack, token("admin"), region="2224").json()["clients_registered"]
        return body["count"] == 0 and counted == 2

    await eventually(placed, timeout_s=30, what="ghost placed once registered")
    assert "qianshou_reporting_unassigned_agencies 0.0" in httpx.get(f"{url}/metrics").text
    assert unassigned_line(url) is None
