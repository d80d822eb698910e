"""Reading reports in tests: the summary, and waiting until it covers what was sent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from deploy.demo import reference_programme
from deploy.stack import Stack
from tests.support.polling import eventually


def report(
    stack: Stack, token: str, path: str = "/v1/reports/summary", **params: str
) -> httpx.Response:
    return httpx.get(
        f"{stack.services['reporting'].url}{path}",
        params=params,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def recorded_at(stack: Stack, admin: str) -> str:
    """When intake recorded the newest demo event (the relay publishes in that order)."""
    times = []
    for agency in dict.fromkeys(e["agency_id"] for e in reference_programme()):
        last = [e for e in reference_programme() if e["agency_id"] == agency][-1]
        resp = httpx.get(
            f"{stack.services['intake'].url}/v1/events/{last['event_id']}",
            params={"agency": agency},
            headers={"Authorization": f"Bearer {admin}"},
        )
        times.append(resp.json()["recorded_at"])
    return max(times)


async def caught_up(stack: Stack, token: Callable[..., str]) -> dict[str, Any]:
    """The province report once its as_of covers the newest demo event."""
    newest = recorded_at(stack, token("admin"))

    def ready() -> dict[str, Any] | None:
        body = report(stack, token("province", region="22"), region="22").json()
        as_of = body.get("as_of")
        return (
            body
            if as_of and datetime.fromisoformat(as_of) >= datetime.fromisoformat(newest)
            else None
        )

    return await eventually(ready, timeout_s=60)
