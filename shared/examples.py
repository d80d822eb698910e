"""Examples for the published contracts (OpenAPI, AsyncAPI), taken from the reference
programme of SPEC 1 (deploy/demo.py), so integrators see the programme's real shapes."""

from __future__ import annotations

import functools
from typing import Any

RETRACTION: dict[str, Any] = {
    "event_id": "5d1c9d52-retract-0001",
    "type": "event-retracted",
    "schema_version": 1,
    "agency_id": "yanghua",
    "occurred_at": "2019-11-20T10:00:00+08:00",
    "payload": {"target_event_id": "5d1c9d52-0001", "reason": "entered twice"},
}


@functools.cache
def one_of_each() -> dict[str, dict[str, Any]]:
    """type -> the reference programme's first event of that type (plus a retraction)."""
    from deploy.demo import reference_programme  # the demo is where the programme lives

    found: dict[str, dict[str, Any]] = {}
    for event in [*reference_programme(), RETRACTION]:
        found.setdefault(event["type"], event)
    return found
