"""A JavaScript agency frontend (tests/contracts/js/frontend.mjs, the official NATS client
for Node) against the real stack: as Lanxing's NATS user with its inbox prefix it submits
events by request/reply, gets the answers HTTP gives for the same events, and is refused
on Yanghua's subject."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from deploy.demo import reference_programme
from deploy.natsauth import agency_user
from deploy.natsserver import LocalNats
from deploy.stack import Stack
from shared.subjects import inbox_prefix, intake
from tests.contracts.conftest import node


def _first(agency_id: str) -> dict[str, Any]:
    """The agency's own registration, from the reference programme."""
    return next(
        e
        for e in reference_programme()
        if e["type"] == "agency-registered" and e["payload"]["agency_id"] == agency_id
    )


async def test_a_javascript_frontend_gets_the_http_answer_and_only_its_own_subjects(
    stack: Stack, nats_server: LocalNats, token: Callable[..., str], tmp_path: Path
) -> None:
    assert nats_server.users is not None
    stack.up("intake")
    lanxing = _first("lanxing")
    naive = copy.deepcopy(lanxing)  # invalid: a timestamp without its offset
    naive["event_id"], naive["occurred_at"] = "naive-0001", "2019-05-06T09:00:00"
    yanghua = _first("yanghua")
    requests = [
        (intake("lanxing", "agency-registered"), lanxing),  # accepted
        (intake("lanxing", "agency-registered"), lanxing),  # the same again: duplicate
        (intake("lanxing", "agency-registered"), naive),  # rejected, with the field path
        (intake("yanghua", "agency-registered"), yanghua),  # another agency's subject
    ]
    plan = tmp_path / "plan.json"
    plan.write_text(
        json.dumps(
            {
                "servers": nats_server.url,
                "user": agency_user("lanxing"),
                "pass": nats_server.users.add_agency("lanxing"),
                "inboxPrefix": inbox_prefix("lanxing"),
                "requests": [{"subject": s, "event": e} for s, e in requests],
            }
        )
    )
    run = node("frontend.mjs", str(plan), timeout=120)
    print("the JavaScript frontend printed:\n" + run.stdout)
    assert run.returncode == 0, run.stderr
    accepted, duplicate, rejected, other = map(json.loads, run.stdout.splitlines())

    assert (accepted["status"], accepted["body"]["status"]) == (200, "accepted")
    url = f"{stack.services['intake'].url}/v1/events"
    auth = {"Authorization": f"Bearer {token('agency', 'lanxing')}"}
    async with httpx.AsyncClient(timeout=10) as http:
        again = await http.post(url, json=lanxing, headers=auth)
        invalid = await http.post(url, json=naive, headers=auth)
        lookup = await http.get(
            f"{url}/{yanghua['event_id']}",
            params={"agency": "yanghua"},
            headers={"Authorization": f"Bearer {token('admin')}"},
        )
    assert (duplicate["status"], duplicate["body"]) == (again.status_code, again.json())
    assert duplicate["body"]["status"] == "duplicate"
    assert (rejected["status"], rejected["body"]) == (invalid.status_code, invalid.json())
    assert rejected["status"] == 422 and rejected["body"]["status"] == "rejected"
    assert "occurred_at" in {e["path"] for e in rejected["body"]["errors"]}

    assert "status" not in other and "Permissions Violation" in other["refused"], other
    assert lookup.status_code == 404  # nothing of Yanghua's was stored
