"""The event contract: every type round-trips, invalid events are refused with field paths."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from shared.events import (
    AGENCY_EVENT_TYPES,
    PeriodApproved,
    VisitOverdue,
    VisitScheduled,
    canonical_events,
    canonical_of,
    incoming_events,
    service_event,
)
from shared.validation import validate_incoming
from tests.support.examples import one_of_each


def test_the_demo_covers_every_agency_event_type() -> None:
    assert set(one_of_each()) == set(AGENCY_EVENT_TYPES)


@pytest.mark.parametrize("event_type", AGENCY_EVENT_TYPES)
def test_every_event_type_round_trips(event_type: str) -> None:
    raw = one_of_each()[event_type]
    event = incoming_events.validate_python(raw)
    again = incoming_events.validate_json(orjson.dumps(event.model_dump(mode="json")))
    assert again == event
    canonical = canonical_of(event, "222405", datetime.now(UTC))
    wire = orjson.dumps(canonical.model_dump(mode="json"))
    assert canonical_events.validate_json(wire) == canonical


def test_service_events_round_trip() -> None:
    at = datetime(2026, 1, 5, 9, tzinfo=UTC)
    for payload in (
        VisitScheduled(
            agency_id="yanghua",
            slot_id="s1",
            plan_id="p1",
            client_id="c1",
            service="home-medication",
            worker_id="w1",
            window_start=at,
            window_end=at,
        ),
        VisitOverdue(
            agency_id="yanghua",
            slot_id="s1",
            plan_id="p1",
            client_id="c1",
            service="home-medication",
            worker_id=None,
            window_end=at,
        ),
    ):
        event = service_event("x1", payload, "scheduling", "222405", at)
        assert canonical_events.validate_json(orjson.dumps(event.model_dump(mode="json"))) == event


def _approval(**changes: Any) -> dict[str, Any]:
    return {
        "approval_id": "appr-1", "scope": {"region": "22"}, "from": "2019-01-01",
        "to": "2019-12-31", "fingerprint": "ab" * 32, "figures": {"visit_minutes": 90},
        "stream_seq": 42, "watermark": "2019-12-31T12:00:00+08:00", "approver": "province:22",
        **changes,
    }  # fmt: skip


def test_period_approved_is_reportings_with_from_and_to_on_the_wire() -> None:
    at = datetime(2026, 1, 5, 9, tzinfo=UTC)
    payload = PeriodApproved.model_validate(_approval())
    event = service_event("appr-1", payload, "reporting", "22", at)
    wire = event.model_dump(mode="json")
    assert (wire["payload"]["from"], wire["payload"]["to"]) == ("2019-01-01", "2019-12-31")
    assert canonical_events.validate_json(orjson.dumps(wire)) == event
    assert wire["submitted_by"] == {"kind": "service", "id": "reporting"}
    for bad in (
        {"scope": {"region": "22", "pairing": "p1"}},  # exactly one of region and pairing
        {"scope": {}},
        {"from": "2020-01-01"},  # after `to`
        {"fingerprint": "not-a-sha256"},
        {"surprise": 1},
    ):
        with pytest.raises(ValueError):
            PeriodApproved.model_validate(_approval(**bad))
    # Not an agency's to send: intake's incoming contract does not know the type.
    raw = {**one_of_each()["visit-logged"], "type": "period-approved", "payload": _approval()}
    assert _errors(raw) == [("unknown_type", "type")]


def _errors(raw: dict[str, Any]) -> list[tuple[str, str]]:
    event, errors = validate_incoming(raw)
    assert event is None
    return [(e["code"], e["path"]) for e in errors]


def _visit() -> dict[str, Any]:
    return copy.deepcopy(one_of_each()["visit-logged"])


def test_unknown_field_is_rejected_with_its_path() -> None:
    raw = _visit()
    raw["payload"]["mood"] = "good"
    assert _errors(raw) == [("unknown_field", "payload.mood")]
    raw = _visit()
    raw["extra"] = 1
    assert _errors(raw) == [("unknown_field", "extra")]


def test_naive_timestamps_are_rejected() -> None:
    raw = _visit()
    raw["occurred_at"] = "2019-11-04T09:30:00"
    raw["payload"]["started_at"] = "2019-11-04T09:30:00"
    assert _errors(raw) == [
        ("naive_timestamp", "occurred_at"),
        ("naive_timestamp", "payload.started_at"),
    ]


def test_wrong_enum_value_is_rejected() -> None:
    raw = _visit()
    raw["payload"]["service"] = "massage"
    assert _errors(raw) == [("invalid_value", "payload.service")]


def test_missing_fields_are_named() -> None:
    raw = _visit()
    del raw["payload"]["client_id"]
    del raw["agency_id"]
    assert sorted(_errors(raw)) == [
        ("missing_field", "agency_id"),
        ("missing_field", "payload.client_id"),
    ]


def test_unknown_type_and_version() -> None:
    raw = _visit()
    raw["type"] = "visit-forgotten"
    assert _errors(raw) == [("unknown_type", "type")]
    raw = _visit()
    raw["schema_version"] = 2
    assert _errors(raw) == [("invalid_value", "schema_version")]


def test_nested_list_paths_carry_the_index() -> None:
    raw = copy.deepcopy(one_of_each()["training-completed"])
    raw["payload"]["attendee_worker_ids"][1] = "bad id with spaces"
    assert _errors(raw) == [("invalid", "payload.attendee_worker_ids[1]")]


def test_no_silent_coercion_of_numbers_and_booleans() -> None:
    raw = _visit()
    raw["payload"]["duration_min"] = "30"
    assert _errors(raw) == [("invalid", "payload.duration_min")]
    client = copy.deepcopy(one_of_each()["client-registered"])
    client["payload"]["in_difficulty"] = "yes"
    assert _errors(client) == [("invalid", "payload.in_difficulty")]


def test_a_client_id_may_not_be_an_id_number_or_phone() -> None:
    client = copy.deepcopy(one_of_each()["client-registered"])
    for leaky in ("22240519400101123X", "13904331234"):
        client["payload"]["client_id"] = leaky
        assert _errors(client) == [("invalid", "payload.client_id")]


def test_dates_must_be_in_order() -> None:
    dispatch = copy.deepcopy(one_of_each()["staff-dispatched"])
    dispatch["payload"]["to_date"] = "2019-01-01"
    assert _errors(dispatch) == [("invalid", "payload")]


def test_canonical_client_carries_no_personal_data() -> None:
    event = incoming_events.validate_python(one_of_each()["client-registered"])
    wire = orjson.dumps(canonical_of(event, "222405", datetime.now(UTC)).model_dump(mode="json"))
    for value in (event.payload.name, event.payload.id_number, event.payload.phone):  # type: ignore[attr-defined]
        assert value and value.encode() not in wire
    with pytest.raises(ValueError):  # the canonical model refuses personal data outright
        canonical_events.validate_json(wire.replace(b'"client_id"', b'"name":"x","client_id"'))


def test_staff_days_are_inclusive() -> None:
    event = incoming_events.validate_python(one_of_each()["staff-dispatched"])
    assert event.payload.staff_days == 6  # type: ignore[attr-defined]
