"""Certifications reported by a partner (SPEC 3.6) on the real stack: the assisting side
that coached a worker of the assisted side reports the licence for that agency, over HTTP
and over NATS; a stranger is refused per event and changes no figure; any other event
for another agency is still refused for the whole request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import httpx
import orjson
from nats.aio.client import Client

from deploy.stack import Stack
from tests.support.events import agency, envelope, visit
from tests.support.intake import post_events
from tests.support.polling import eventually
from tests.support.reports import report

Token = Callable[..., str]


def _statuses(resp: httpx.Response) -> list[str]:
    assert resp.status_code in (200, 422), resp.text
    body = resp.json()
    return [r["status"] for r in (body if isinstance(body, list) else [body])]


def _worker(worker_id: str) -> dict[str, Any]:
    return envelope(
        "worker-registered",
        {"worker_id": worker_id, "agency_id": "yanghua", "role": "social-worker",
         "licence": "none", "languages": ["zh", "ko"]},
        agency_id="yanghua",
    )  # fmt: skip


def _certification(worker_id: str, agency_id: str = "yanghua") -> dict[str, Any]:
    return envelope(
        "certification-obtained",
        {"worker_id": worker_id, "licence": "assistant", "obtained_on": "2019-12-01"},
        agency_id=agency_id,
    )


def _licensed(stack: Stack, admin: str) -> tuple[int, str | None]:
    resp = report(stack, admin, region="2224")
    assert resp.status_code == 200, resp.text  # a refusal (429, 503) says so when polling ends
    body = resp.json()
    return body["workers_licensed"], body.get("as_of")


async def _figure_once_reflected(stack: Stack, admin: str, event: dict[str, Any]) -> int:
    """workers_licensed of region 2224 once reporting reflects everything up to `event`."""
    recorded = httpx.get(
        f"{stack.services['intake'].url}/v1/events/{event['event_id']}",
        params={"agency": event["agency_id"]},
        headers={"Authorization": f"Bearer {admin}"},
    ).json()["recorded_at"]

    def reflected() -> tuple[int] | None:  # a tuple: a figure of 0 is an answer too
        licensed, as_of = _licensed(stack, admin)
        done = as_of and datetime.fromisoformat(as_of) >= datetime.fromisoformat(recorded)
        return (licensed,) if done else None

    # A deadline for a loaded machine (it once took over 30 s while other suites ran).
    [licensed] = await eventually(reflected, timeout_s=90, what="reporting caught up")
    return licensed  # type: ignore[no-any-return]


async def test_a_partner_reports_a_certification_a_stranger_cannot(
    stack: Stack, token: Token, agency_nc: Callable[[str], Awaitable[Client]]
) -> None:
    stack.up("intake", "reporting")
    admin, jilin = token("admin"), token("province", region="22")
    lanxing, evil = token("agency", "lanxing"), token("agency", "evil")
    pairing = envelope(
        "pairing-established",
        {"pairing_id": "lx-yh", "assisting_agency_id": "lanxing",
         "assisted_agency_id": "yanghua", "starts_on": "2019-05-01",
         "targets": {"staff_days_per_year": 40, "agencies_to_incubate": 1,
                     "projects_to_undertake": 1}},
        agency_id="lanxing",
    )  # fmt: skip
    registry = [
        agency("lanxing", "220102", role="assisting"),
        agency("yanghua", "222405"),
        agency("evil", "222401"),  # in the same prefecture, paired with nobody
        pairing,
    ]
    assert _statuses(post_events(stack, registry, jilin)) == ["accepted"] * 4
    workers = [_worker(w) for w in ("kim", "park", "choi")]
    assert _statuses(post_events(stack, workers, token("agency", "yanghua"))) == ["accepted"] * 3
    assert await _figure_once_reflected(stack, admin, workers[-1]) == 0

    # A stranger: refused per event (path agency_id, saying who may send it), even under
    # an id the worker's agency has used: refused, not `conflict`, so it learns nothing.
    stranger = _certification("choi")
    squatting = {**_certification("choi"), "event_id": workers[0]["event_id"]}
    refused = post_events(stack, [stranger, squatting], evil)
    assert refused.status_code == 422, refused.text
    for answer in refused.json():
        assert answer["status"] == "rejected"
        [error] = answer["errors"]
        assert (error["code"], error["path"]) == ("forbidden_reference", "agency_id")
        assert "the other side of a pairing" in error["message"]
    # Over NATS (the test server has users for lanxing and yanghua only): lanxing for an
    # agency it is not paired with, on its own subject, is refused the same way.
    lanxing_nc = await agency_nc("lanxing")
    over_nats = await lanxing_nc.request(
        "intake.lanxing.certification-obtained",
        orjson.dumps(_certification("x", agency_id="evil")),
        timeout=10,
    )
    assert (over_nats.headers or {}).get("Qianshou-Status") == "422"
    assert orjson.loads(over_nats.data)["errors"][0]["path"] == "agency_id"

    # Anything else for another agency, even a partner: the whole request is refused.
    cross_visit = visit("c-1", agency_id="yanghua")
    assert post_events(stack, cross_visit, lanxing).status_code == 403
    assert post_events(stack, [_certification("kim"), cross_visit], lanxing).status_code == 403

    # The partner: over HTTP, mixed with its own events and a certification for an agency
    # it is not paired with (refused alone); and over NATS, on its own subject.
    coached = _certification("kim")
    mixed = [coached, _certification("x", agency_id="evil")]
    assert _statuses(post_events(stack, mixed, lanxing)) == ["accepted", "rejected"]
    by_nats = _certification("park")
    answer = await lanxing_nc.request(
        "intake.lanxing.certification-obtained", orjson.dumps(by_nats), timeout=10
    )
    assert orjson.loads(answer.data)["status"] == "accepted", answer.data
    wrong = await lanxing_nc.request(
        "intake.lanxing.visit-logged", orjson.dumps(cross_visit), timeout=10
    )
    assert (wrong.headers or {}).get("Qianshou-Status") == "403"

    # Recorded for yanghua (yanghua reads it); counted once each, choi never.
    record = httpx.get(
        f"{stack.services['intake'].url}/v1/events/{coached['event_id']}",
        params={"agency": "yanghua"},
        headers={"Authorization": f"Bearer {token('agency', 'yanghua')}"},
    ).json()
    assert (record["agency_id"], record["type"]) == ("yanghua", "certification-obtained"), record
    assert await _figure_once_reflected(stack, admin, by_nats) == 2
