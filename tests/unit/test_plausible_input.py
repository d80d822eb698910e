"""Text without control characters and plausible dates, in every field of every event
type: a NUL or year 9999 is refused with its own code and the field's path, never passed
on to a database that cannot store it or a service that cannot convert it."""

from __future__ import annotations

import copy
import re
from datetime import date
from typing import Any

import pytest

from shared.events import AGENCY_EVENT_TYPES, EARLIEST_DATE, canonical_events
from shared.validation import validate_incoming
from tests.support.examples import one_of_each

TODAY = date(2026, 11, 29)
EXAMPLES = one_of_each()
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _fields(event: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(type, path, value) of every string field of an example event."""
    out = [(event["type"], k, v) for k, v in event.items() if isinstance(v, str)]
    out += [
        (event["type"], f"payload.{k}", v)
        for k, v in event["payload"].items()
        if isinstance(v, str)
    ]
    return out


STRINGS = [f for t in AGENCY_EVENT_TYPES for f in _fields(EXAMPLES[t])]
DATES = [f for f in STRINGS if _DATE.match(f[2])]
TEXTS = [f for f in STRINGS if not _DATE.match(f[2]) and f[1] != "type"]


def _with(event_type: str, path: str, value: Any) -> dict[str, Any]:
    event = copy.deepcopy(EXAMPLES[event_type])
    *parents, key = path.split(".")
    target = event
    for part in parents:
        target = target[part]
    target[key] = value
    return event


@pytest.mark.parametrize("control", ["\x00", "\x07", "\x1b", "\x7f", "\x85"])
@pytest.mark.parametrize(("event_type", "path", "value"), TEXTS, ids=lambda x: str(x)[:30])
def test_a_control_character_in_any_text_field_is_refused_at_its_path(
    event_type: str, path: str, value: str, control: str
) -> None:
    event = _with(event_type, path, value[:1] + control + value[1:])
    parsed, errors = validate_incoming(event, today=TODAY)
    assert parsed is None
    assert path in {e["path"] for e in errors}, errors
    assert {e["code"] for e in errors if e["path"] == path} <= {
        "control_character",
        "invalid",
        "invalid_value",
    }


def test_free_text_names_the_control_character() -> None:
    event = _with("activity-held", "payload.title", "Health\x00lecture")
    _, errors = validate_incoming(event, today=TODAY)
    assert errors == [
        {
            "code": "control_character",
            "path": "payload.title",
            "message": "control character U+0000 at position 6: not allowed in text",
        }
    ]


@pytest.mark.parametrize(("event_type", "path", "value"), DATES, ids=lambda x: str(x)[:30])
@pytest.mark.parametrize("year", ["9999", "0001", "1899", "2037"])
def test_an_implausible_date_in_any_date_field_is_refused_at_its_path(
    event_type: str, path: str, value: str, year: str
) -> None:
    event = _with(event_type, path, year + value[4:])
    # A pairing that ends before it starts would be refused for that instead.
    if path.endswith("starts_on") and event["payload"].get("ends_on"):
        del event["payload"]["ends_on"]
    if path.endswith("from_date"):
        event["payload"]["to_date"] = year + event["payload"]["to_date"][4:]
    parsed, errors = validate_incoming(event, today=TODAY)
    assert parsed is None
    assert "implausible_date" in {e["code"] for e in errors if e["path"] == path}, errors


@pytest.mark.parametrize("event_type", AGENCY_EVENT_TYPES)
def test_the_bounds_themselves_are_plausible(event_type: str) -> None:
    for day in (EARLIEST_DATE.isoformat(), "2036-11-28"):
        event = copy.deepcopy(EXAMPLES[event_type])
        for part in (event, event["payload"]):
            for key, value in part.items():
                if isinstance(value, str) and _DATE.match(value):
                    part[key] = day + value[10:]
        parsed, errors = validate_incoming(event, today=TODAY)
        assert errors == [] and parsed is not None


def test_the_future_bound_moves_with_the_clock() -> None:
    event = _with("visit-logged", "payload.started_at", "2040-01-01T09:00:00+08:00")
    assert validate_incoming(event, today=TODAY)[0] is None
    assert validate_incoming(event, today=date(2031, 1, 1))[0] is not None


def test_the_stream_refuses_what_no_service_could_apply() -> None:
    """Decoding the stream has no clock, but year 9999 (accepted by older intakes) is an
    event that cannot be applied: it is poison, parked with its reason."""
    event = {
        **_with("visit-logged", "payload.started_at", "9999-12-31T23:00:00-05:00"),
        "region_code": "222405",
        "recorded_at": "2026-11-29T10:00:00+08:00",
    }
    with pytest.raises(ValueError, match="implausible"):
        canonical_events.validate_python(event)
