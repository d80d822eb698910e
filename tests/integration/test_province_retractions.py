"""A province retracts what it could have sent (SPEC 3.6: "whoever could have sent the
target"): a pairing it established is judged by the pairing's sides, which the request
itself does not name, so intake must look them up from the target."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import orjson

from deploy.stack import Stack
from tests.support.events import agency, envelope

Token = Callable[..., str]


def _send(stack: Stack, body: Any, token: str) -> list[str]:
    resp = httpx.post(
        f"{stack.services['intake'].url}/v1/events",
        content=orjson.dumps(body),
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    if resp.status_code == 403:  # the whole request: not the principal's agency at all
        return [resp.json()["code"]]
    assert resp.status_code in (200, 422), resp.text
    answers = resp.json() if isinstance(resp.json(), list) else [resp.json()]
    return [a["errors"][0]["code"] if a["errors"] else a["status"] for a in answers]


def _retraction(target: dict[str, Any]) -> dict[str, Any]:
    return envelope(
        "event-retracted",
        {"target_event_id": target["event_id"], "reason": "paired by mistake"},
        agency_id=target["agency_id"],
    )


def test_a_province_retracts_the_pairing_it_established(stack: Stack, token: Token) -> None:
    stack.up("intake")
    jilin, beijing = token("province", region="22"), token("province", region="11")
    pairing = envelope(
        "pairing-established",
        {"pairing_id": "p-retract", "assisting_agency_id": "lanxing",
         "assisted_agency_id": "wenhua", "starts_on": "2019-05-01",
         "targets": {"staff_days_per_year": 40, "agencies_to_incubate": 1,
                     "projects_to_undertake": 1}},
        agency_id="lanxing",
    )  # fmt: skip
    setup = [agency("lanxing", "220102", role="assisting"), agency("wenhua", "222401"), pairing]
    assert _send(stack, setup, jilin) == ["accepted"] * 3

    # Another province could not have paired them, so it cannot unpair them either; an
    # agency cannot pair itself, so neither side may retract it.
    assert _send(stack, _retraction(pairing), beijing) == ["forbidden"]
    assert _send(stack, _retraction(pairing), token("agency", "lanxing")) == ["forbidden_reference"]
    assert _send(stack, _retraction(pairing), jilin) == ["accepted"]
