"""What a consumer subscribes to is derived from what it can apply: an event type gets a
handler (scheduling) or a fact (reporting), and its events are delivered."""

from __future__ import annotations

from services.reporting.facts import FACTS
from services.reporting.handlers import CONSUMER as REPORTING
from services.scheduling.app import CONSUMER as SCHEDULING
from services.scheduling.handlers import HANDLERS
from shared.events import canonical_events
from shared.subjects import events_of_type


def test_scheduling_subscribes_to_exactly_what_it_handles() -> None:
    assert tuple(SCHEDULING.event_types) == tuple(HANDLERS)
    assert SCHEDULING.config().filter_subjects == [events_of_type(t) for t in HANDLERS]


def test_reporting_subscribes_to_its_facts_retractions_and_approvals() -> None:
    assert set(REPORTING.event_types) == {*FACTS, "event-retracted", "period-approved"}


def test_every_registered_type_is_a_contract_type() -> None:
    schema = canonical_events.json_schema()
    known = {
        variant["properties"]["type"]["const"]
        for variant in schema["$defs"].values()
        if "type" in variant.get("properties", {}) and "const" in variant["properties"]["type"]
    }
    assert set(HANDLERS) <= known and set(FACTS) <= known
