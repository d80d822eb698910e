"""Posting events to intake over HTTP, as the integration and end-to-end tests do."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from deploy.stack import Stack


def post_events(stack: Stack, body: Any, token: str) -> httpx.Response:
    """POST /v1/events with one envelope or a list of them, as `token`'s bearer."""
    return httpx.post(
        f"{stack.services['intake'].url}/v1/events",
        content=orjson.dumps(body),
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def answers(stack: Stack, body: Any, token: str) -> list[dict[str, Any]]:
    """The per-event answers of a request that intake took as a whole (200)."""
    resp = post_events(stack, body, token)
    assert resp.status_code == 200, resp.text
    found: list[dict[str, Any]] = resp.json()
    return found


def post_accepted(stack: Stack, body: Any, token: str) -> None:
    """Post events that must all be accepted."""
    resp = post_events(stack, body, token)
    assert resp.status_code == 200, resp.text
    assert {r["status"] for r in resp.json()} == {"accepted"}, resp.text
