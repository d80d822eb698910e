"""Intake's accept path without I/O: each event is dumped once, and what it publishes from
that dump is exactly the canonical event of the contract (#19)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from services.intake import decision, domain
from services.intake.decision import Facts
from shared.events import (
    AGENCY_EVENT_TYPES,
    PERSONAL_FIELDS,
    Submitter,
    canonical_events,
    canonical_json,
    canonical_of,
    incoming_events,
)
from shared.tokens import Principal
from tests.support.examples import one_of_each

KEY = b"k" * 32
AT = datetime(2026, 1, 5, 9, 30, 0, 123456, tzinfo=UTC)


@pytest.mark.parametrize("event_type", AGENCY_EVENT_TYPES)
@pytest.mark.parametrize("by", [None, Submitter(kind="province", id="22")])
@pytest.mark.parametrize("at", [AT, AT.astimezone(timezone(timedelta(hours=8)))])
def test_the_canonical_body_from_the_one_dump_is_the_canonical_event(
    event_type: str, by: Submitter | None, at: datetime
) -> None:
    event = incoming_events.validate_python(one_of_each()[event_type])
    expected = canonical_of(event, "222405", at, by).model_dump(mode="json")
    by_json = None if by is None else by.model_dump(mode="json")
    assert canonical_json(event.model_dump(mode="json"), "222405", at, by_json) == expected


def test_a_request_publishes_valid_canonical_events_without_personal_data() -> None:
    raw = list(one_of_each().values())
    request = domain.parse_request(orjson.loads(orjson.dumps(raw)))
    decision.prepare(request, KEY)
    decided = decision.decide(Principal(role="admin"), request, Facts(), AT)
    # (the demo's project is started by an agency a pairing incubated, which this request
    # does not register: refused here, and beside the point)
    assert {sub.event.type for sub, _ in decided} >= set(AGENCY_EVENT_TYPES) - {"project-started"}  # type: ignore[union-attr]
    for sub, pub in decided:
        published = canonical_events.validate_json(pub.body)
        assert (published.event_id, published.type) == (sub.event_id, sub.event.type)  # type: ignore[union-attr]
        assert (published.recorded_at, published.region_code) == (pub.recorded_at, pub.region_code)
        assert published.submitted_by == Submitter(kind="admin", id="admin")
        if published.type == "client-registered":
            assert not set(PERSONAL_FIELDS) & set(orjson.loads(pub.body)["payload"])


def test_fingerprints_are_those_of_the_events_already_stored() -> None:
    # A re-sent event is a duplicate only if its fingerprint equals the one stored when it
    # was first accepted: the hash of the event's sorted JSON dump, keyed, as always.
    event = incoming_events.validate_python(one_of_each()["visit-logged"])
    dump = event.model_dump(mode="json")
    sorted_json = orjson.dumps(dump, option=orjson.OPT_SORT_KEYS)
    assert domain.fingerprint(dump, KEY) == hmac.new(KEY, sorted_json, hashlib.sha256).digest()
    payload = orjson.dumps(dump["payload"], option=orjson.OPT_SORT_KEYS)
    expected = hmac.new(KEY, b"visit-logged\0" + payload, hashlib.sha256).digest()
    assert domain.content(dump, KEY) == expected
