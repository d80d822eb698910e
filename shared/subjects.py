"""NATS subjects and stream names (SPEC 3.3)."""

from __future__ import annotations

EVENTS_STREAM = "EVENTS"
REPORTS_STREAM = "REPORTS"
DEAD_LETTER_STREAM = "DEADLETTER"
UNASSIGNED_REGION = "unassigned"  # region token for agencies whose registration is not in yet

INTAKE_ALL = "intake.*.*"


def intake(agency_id: str, event_type: str) -> str:
    """Where a frontend publishes one event by request/reply."""
    return f"intake.{agency_id}.{event_type}"


def inbox_prefix(agency_id: str) -> str:
    """The reply inbox of an agency's client (nats.connect(inbox_prefix=...)): its NATS user
    may subscribe only there, and intake answers only there."""
    return f"_INBOX_{agency_id}"


def event(region_code: str, agency_id: str, event_type: str) -> str:
    """Where a canonical event lives on the EVENTS stream."""
    return f"events.{region_code}.{agency_id}.{event_type}"


def events_of_type(event_type: str, region: str = "*") -> str:
    """A consumer filter: one type, from every region (or one region token)."""
    return f"events.{region}.*.{event_type}"


def report(region_code: str, period: str) -> str:
    """Where a published provincial report goes out."""
    return f"reports.{region_code}.{period}"


def dead_letter(service: str, event_type: str) -> str:
    return f"deadletter.{service}.{event_type}"


def msg_id(agency_id: str, event_id: str) -> str:
    """The Nats-Msg-Id of an event: agency and id, so one agency cannot squat another's id."""
    return f"{agency_id}:{event_id}"
