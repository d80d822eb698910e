"""One example event of every type agencies send (from the demo, plus a retraction)."""

from __future__ import annotations

from typing import Any

from deploy.demo import reference_programme

RETRACTION: dict[str, Any] = {
    "event_id": "r1",
    "type": "event-retracted",
    "schema_version": 1,
    "agency_id": "lanxing",
    "occurred_at": "2019-11-04T09:30:00+08:00",
    "payload": {"target_event_id": "e1", "reason": "entered twice"},
}


def one_of_each() -> dict[str, dict[str, Any]]:
    """type -> an example event of that type (fresh dicts, safe to change)."""
    found: dict[str, dict[str, Any]] = {}
    for event in [*reference_programme(), RETRACTION]:
        found.setdefault(event["type"], event)
    return found
