"""Examples for the published contracts (OpenAPI, AsyncAPI) and the tests: the reference
programme of SPEC 1 (deploy/demo.py), so integrators see the programme's real shapes; an
event type the programme does not hold is shown by the example its payload model declares
(`json_schema_extra={"examples": [...]}` in shared/events.py)."""

from __future__ import annotations

import functools
from typing import Any

from shared.events import AGENCY_PAYLOADS, SCHEMA_VERSION

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
    for event_type, model in AGENCY_PAYLOADS.items():
        extra = model.model_config.get("json_schema_extra")
        declared = extra.get("examples") if isinstance(extra, dict) else None
        if event_type not in found and isinstance(declared, list) and declared:
            found[event_type] = {
                "event_id": f"example-{event_type}",
                "type": event_type,
                "schema_version": SCHEMA_VERSION,
                "agency_id": "yanghua",
                "occurred_at": "2019-11-20T10:00:00+08:00",
                "payload": declared[0],
            }
    return found
