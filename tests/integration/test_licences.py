"""Licences over time on the real stack (SPEC 3.6 "Time"): a certification the partner
reports counts for the assisted side's worker from its obtained_on, a revocation takes it
away from its revoked_on, and neither rewrites the years before."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import httpx

from deploy.stack import Stack
from tests.support.events import agency, envelope
from tests.support.intake import post_accepted
from tests.support.polling import eventually
from tests.support.reports import report

Token = Callable[..., str]


def _licensed(stack: Stack, admin: str, year: int) -> int:
    body = report(stack, admin, region="2224", **{"from": f"{year}-01-01", "to": f"{year}-12-31"})
    return int(body.json()["workers_licensed"])


async def test_a_partners_certification_and_a_revocation(stack: Stack, token: Token) -> None:
    stack.up("intake", "reporting")
    admin, yanghua = token("admin"), token("agency", "yanghua")
    pairing = envelope(
        "pairing-established",
        {"pairing_id": "lx-yh", "assisting_agency_id": "lanxing",
         "assisted_agency_id": "yanghua", "starts_on": "2019-05-01",
         "targets": {"staff_days_per_year": 40, "agencies_to_incubate": 1,
                     "projects_to_undertake": 1}},
        agency_id="lanxing",
    )  # fmt: skip
    registry = [agency("lanxing", "220102", role="assisting"), agency("yanghua", "222405")]
    post_accepted(stack, [*registry, pairing], token("province", region="22"))
    worker = envelope(
        "worker-registered",
        {"worker_id": "kim", "agency_id": "yanghua", "role": "social-worker",
         "licence": "none", "languages": ["zh"]},
        agency_id="yanghua",
        occurred_at="2019-06-01T09:00:00+08:00",
    )  # fmt: skip
    post_accepted(stack, [worker], yanghua)
    coached = envelope(
        "certification-obtained",
        {"worker_id": "kim", "licence": "assistant", "obtained_on": "2019-12-01"},
        agency_id="yanghua",  # the worker's agency, reported by the partner
    )
    post_accepted(stack, [coached], token("agency", "lanxing"))
    revoked = envelope(
        "certification-revoked",
        {"worker_id": "kim", "licence": "assistant", "revoked_on": "2020-06-01",
         "reason": "licence not renewed"},
        agency_id="yanghua",
    )  # fmt: skip
    post_accepted(stack, [revoked], yanghua)
    recorded = httpx.get(
        f"{stack.services['intake'].url}/v1/events/{revoked['event_id']}",
        params={"agency": "yanghua"},
        headers={"Authorization": f"Bearer {admin}"},
    ).json()["recorded_at"]

    def reflected() -> bool:
        as_of = report(stack, admin).json().get("as_of")
        return bool(as_of) and datetime.fromisoformat(as_of) >= datetime.fromisoformat(recorded)

    await eventually(reflected, timeout_s=30, what="reporting caught up")
    assert [_licensed(stack, admin, y) for y in (2019, 2020)] == [1, 0]
    half = report(stack, admin, region="2224", **{"from": "2020-01-01", "to": "2020-05-31"})
    assert half.json()["workers_licensed"] == 1  # before revoked_on
