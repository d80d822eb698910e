"""certification-revoked and retractions of certifications (SPEC 3.2, 3.6) on the real
stack: the principals who may report a certification may revoke it, over HTTP and over
NATS; the partner that reports a certification may retract it, and nothing else of the
side it is paired with; period-approved is reporting's alone; every agency event type has
its spreadsheet template (SPEC 3.8)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import orjson
from nats.aio.client import Client

from deploy.stack import Stack
from services.intake.sheets import reader
from shared.events import AGENCY_EVENT_TYPES
from tests.support.events import agency, envelope
from tests.support.intake import post_events

Token = Callable[..., str]


def _answers(resp: httpx.Response) -> list[dict[str, Any]]:
    assert resp.status_code in (200, 409, 422), resp.text
    body = resp.json()
    return body if isinstance(body, list) else [body]


def _outcomes(resp: httpx.Response) -> list[str]:
    """`accepted`/`duplicate`, or a rejection as `code@path`."""
    return [
        f"{a['errors'][0]['code']}@{a['errors'][0]['path']}" if a["errors"] else a["status"]
        for a in _answers(resp)
    ]


def _revocation(worker_id: str, revoked_on: str = "2020-03-01") -> dict[str, Any]:
    return envelope(
        "certification-revoked",
        {"worker_id": worker_id, "licence": "assistant", "revoked_on": revoked_on,
         "reason": "licence not renewed"},
        agency_id="yanghua",
    )  # fmt: skip


def _retraction(target: dict[str, Any]) -> dict[str, Any]:
    return envelope(
        "event-retracted",
        {"target_event_id": target["event_id"], "reason": "sent by mistake"},
        agency_id=target["agency_id"],
    )


async def test_revocations_and_a_partners_retractions(
    stack: Stack, token: Token, agency_nc: Callable[[str], Awaitable[Client]]
) -> None:
    stack.up("intake")
    jilin, lanxing = token("province", region="22"), token("agency", "lanxing")
    yanghua, evil = token("agency", "yanghua"), token("agency", "evil")
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
        agency("evil", "222401"),
        pairing,
    ]
    assert _outcomes(post_events(stack, registry, jilin)) == ["accepted"] * 4
    worker = envelope(
        "worker-registered",
        {"worker_id": "kim", "agency_id": "yanghua", "role": "social-worker",
         "licence": "assistant", "languages": ["zh", "ko"]},
        agency_id="yanghua",
    )  # fmt: skip
    assert _outcomes(post_events(stack, worker, yanghua)) == ["accepted"]

    # Revocations: the worker's agency, its partner (HTTP and NATS), its province; a
    # stranger is refused per event; an impossible date like any other date.
    assert _outcomes(post_events(stack, _revocation("kim"), yanghua)) == ["accepted"]
    by_partner = _revocation("park")
    assert (
        _outcomes(post_events(stack, [by_partner, _revocation("choi")], lanxing))
        == ["accepted"] * 2
    )
    assert _outcomes(post_events(stack, _revocation("lee"), jilin)) == ["accepted"]
    assert _outcomes(post_events(stack, _revocation("kim"), evil)) == [
        "forbidden_reference@agency_id"
    ]
    assert _outcomes(post_events(stack, _revocation("kim", "9999-01-01"), yanghua)) == [
        "implausible_date@payload.revoked_on"
    ]
    lanxing_nc = await agency_nc("lanxing")
    over_nats = await lanxing_nc.request(
        "intake.lanxing.certification-revoked", orjson.dumps(_revocation("han")), timeout=10
    )
    assert (over_nats.headers or {}).get("Qianshou-Status") == "200", over_nats.data
    assert orjson.loads(over_nats.data)["status"] == "accepted"

    # The partner retracts a certification of yanghua's (its own, over HTTP; one yanghua
    # sent, over NATS), never yanghua's other events nor one intake does not hold.
    coached = envelope(
        "certification-obtained",
        {"worker_id": "kim", "licence": "assistant", "obtained_on": "2019-12-01"},
        agency_id="yanghua",
    )
    assert _outcomes(post_events(stack, coached, lanxing)) == ["accepted"]
    undo = _retraction(coached)
    unknown = {**_retraction(coached), "payload": {"target_event_id": "nope", "reason": "x"}}
    refused = [_retraction(worker), unknown]
    assert _outcomes(post_events(stack, [undo, *refused], lanxing)) == [
        "accepted",
        "forbidden_reference@payload.target_event_id",
        "forbidden_reference@payload.target_event_id",
    ]
    answer = await lanxing_nc.request(
        "intake.lanxing.event-retracted", orjson.dumps(_retraction(by_partner)), timeout=10
    )
    assert orjson.loads(answer.data)["status"] == "accepted", answer.data
    # A retraction stays not retractable; a stranger learns nothing (refused before the
    # log is read, even under the id the partner used).
    assert _outcomes(post_events(stack, _retraction(undo), lanxing)) == [
        "not_retractable@payload.target_event_id"
    ]
    assert (
        _outcomes(post_events(stack, [_retraction(coached), {**undo}], evil))
        == ["forbidden_reference@agency_id"] * 2
    )
    # yanghua itself still retracts its own events, pending ones included.
    assert (
        _outcomes(post_events(stack, [_retraction(worker), unknown], yanghua)) == ["accepted"] * 2
    )

    # period-approved is reporting's: unknown to agencies' intake, its sender reserved.
    approval = {
        "approval_id": "a1", "scope": {"region": "22"}, "from": "2019-01-01",
        "to": "2019-12-31", "fingerprint": "0" * 64, "figures": {}, "stream_seq": 1,
        "watermark": "2019-12-31T00:00:00+08:00", "approver": "province:22",
    }  # fmt: skip
    approved = envelope("period-approved", approval, agency_id="yanghua")
    assert _outcomes(post_events(stack, approved, yanghua)) == ["unknown_type@type"]
    forged = {**approved, "agency_id": "reporting"}
    assert _outcomes(post_events(stack, forged, token("admin"))) == ["unknown_type@type"]
    as_reporting = {**_revocation("kim"), "agency_id": "reporting"}
    assert post_events(stack, as_reporting, token("admin")).status_code == 403

    # A template per agency event type, by its event type name (and by its sheet name).
    for event_type in AGENCY_EVENT_TYPES:
        got = httpx.get(
            f"{stack.services['intake'].url}/v1/imports/templates/{event_type}.xlsx", timeout=30
        )
        assert got.status_code == 200, (event_type, got.text)
        fields = reader.raw_rows(got.content)[1]
        assert "occurred_at" in fields, (event_type, fields)
    rows = reader.raw_rows(
        httpx.get(f"{stack.services['intake'].url}/v1/imports/templates/retractions.xlsx").content
    )
    assert rows[0][:2] == ["撤回的事件编号", "原因"] and rows[1][:2] == [
        "target_event_id",
        "reason",
    ]
