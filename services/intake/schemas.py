"""What intake's HTTP endpoints answer, as models for its OpenAPI document. The handlers
build these answers as plain dicts; tests/contracts checks real answers against them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from shared.answers import Answer, EventResult

# POST /v1/events: one result for one event, an array of results for an array.
EventResults = EventResult | list[EventResult]


class EventRecord(Answer):
    """What intake's log knows of one event, and whether it has reached EVENTS."""

    status: Literal["recorded"]
    event_id: str = Field(examples=["b2f5c6de-0001"])
    agency_id: str = Field(examples=["yanghua"])
    type: str = Field(examples=["visit-logged"])
    occurred_at: datetime
    recorded_at: datetime
    region_code: str | None = Field(
        description="The agency's region when recorded; null until its registration is known.",
        examples=["222405"],
    )
    published: bool = Field(description="Whether the relay has put it on EVENTS yet.")


class PersonalData(Answer):
    """A client's personal data, decrypted for its own agency (the read is audited)."""

    client_id: str = Field(examples=["wh-e001"])
    name: str
    id_number: str | None
    phone: str | None


class Erased(Answer):
    client_id: str = Field(examples=["wh-e001"])
    status: Literal["erased"]
