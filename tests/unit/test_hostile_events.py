"""Valid and near-valid events of every type: the valid ones pass, each near-miss is
refused with the path of the field that was spoiled, and nothing raises."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.events import AGENCY_EVENT_TYPES, AGENCY_PAYLOADS
from shared.validation import decode_json, validate_incoming
from tests.support.examples import one_of_each

EXAMPLES = one_of_each()

ids = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._:-]{0,40}\Z")
offsets = st.sampled_from(["+08:00", "+00:00", "Z", "-05:00"])


@st.composite
def valid_events(draw: st.DrawFn) -> dict[str, Any]:
    """An example of some type with a fresh id and another (aware) timestamp."""
    event = copy.deepcopy(EXAMPLES[draw(st.sampled_from(AGENCY_EVENT_TYPES))])
    event["event_id"] = draw(ids)
    moment = draw(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2030, 1, 1)))
    event["occurred_at"] = moment.replace(microsecond=0).isoformat() + draw(offsets)
    return event


@st.composite
def near_valid_events(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """A valid event with one field spoiled; returns it and the spoiled field's path."""
    event = draw(valid_events())
    how = draw(st.sampled_from(["unknown field", "missing field", "wrong type", "naive", "enum"]))
    payload = event["payload"]
    model = AGENCY_PAYLOADS[event["type"]]
    required = [k for k, f in model.model_fields.items() if f.is_required()]
    if how == "unknown field":
        payload["surprise"] = 1
        return event, "payload.surprise"
    if how == "naive":
        event["occurred_at"] = event["occurred_at"][:19]
        return event, "occurred_at"
    if how == "enum":
        event["schema_version"] = 99
        return event, "schema_version"
    if how == "missing field":
        key = draw(st.sampled_from(required))
        del payload[key]
    else:
        key = draw(st.sampled_from(sorted(model.model_fields)))
        payload[key] = {"not": "this"}
    return event, f"payload.{key}"


@settings(max_examples=300)
@given(valid_events())
def test_valid_events_of_every_type_pass(event: dict[str, Any]) -> None:
    parsed, errors = validate_incoming(event)
    assert errors == [] and parsed is not None and parsed.type == event["type"]


@settings(max_examples=500)
@given(near_valid_events())
def test_each_near_miss_is_refused_naming_its_field(case: tuple[dict[str, Any], str]) -> None:
    event, path = case
    parsed, errors = validate_incoming(event)
    assert parsed is None
    assert path in {e["path"] for e in errors} or any(e["path"].startswith(path) for e in errors)


@given(st.binary(max_size=300))
def test_random_bytes_never_raise_anything_but_a_clear_error(body: bytes) -> None:
    try:
        value = decode_json(body)
    except ValueError as exc:
        assert "malformed JSON" in str(exc)
        return
    validate_incoming(value)  # any decoded JSON: a verdict, never an exception
