"""The JSON answers every service shares, as models for the published contracts (OpenAPI
and AsyncAPI): a field error, an error of a whole request, and intake's per-event result.

These models document what the handlers build as plain dicts; tests check real answers
against them (nothing undeclared, nothing missing), so the documents cannot drift."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.errors import Refusal


class Answer(BaseModel):
    """Base of the documented answers. Extra keys are kept (not dropped) so that a test can
    see an answer carrying something its model does not declare."""

    model_config = ConfigDict(extra="allow")


class FieldError(Answer):
    """One problem, with the field it concerns."""

    code: str = Field(
        description="Machine-readable: unknown_field, missing_field, naive_timestamp, "
        "invalid_value, unknown_type, subject_mismatch, conflict, forbidden_reference, "
        "not_retractable, invalid…",
        examples=["naive_timestamp"],
    )
    path: str = Field(
        description="The field path in the request (payload.started_at, [3].event_id); "
        "empty for the value as a whole.",
        examples=["payload.started_at"],
    )
    message: str = Field(examples=["Input should have timezone info"])


class ErrorAnswer(Answer):
    """An error of the request as a whole: a code, a message and the field errors."""

    code: str = Field(
        description="Machine-readable, from the one error vocabulary: "
        + ", ".join(kind.code for kind in Refusal.__subclasses__())
        + " (or a more precise code such as backlogged); each answer lists its codes.",
        examples=["unauthorized"],
    )
    message: str = Field(examples=["missing bearer token"])
    errors: list[FieldError] = Field(default_factory=list)


EventStatus = Literal["accepted", "duplicate", "conflict", "rejected"]


class EventKey(Answer):
    """An event, by its key: the agency it was reported for and its id."""

    agency_id: str
    event_id: str


class EventResult(Answer):
    """What became of one submitted event (SPEC 3.1, 3.4)."""

    event_id: str | None = Field(
        description="The event's id (null when the submitted value had none).",
        examples=["b2f5c6de-0001"],
    )
    status: EventStatus = Field(
        description="accepted: stored and queued for EVENTS; duplicate: the same id with the "
        "same content was already stored, or the same fact with the same content under "
        "another id (duplicate_of; counted once); conflict: the id was used with "
        "other content (nothing changed); rejected: invalid or refused (see errors)."
    )
    errors: list[FieldError] = Field(default_factory=list)
    duplicate_of: EventKey | None = Field(
        default=None,
        description="For a duplicate by business key (SPEC 3.6: the same visit, training, "
        "client… re-sent under a new event id with identical content): the event it repeats.",
    )


class Health(Answer):
    status: Literal["ok"]


class Readiness(Answer):
    status: Literal["ready", "not ready"]
    checks: dict[str, bool] = Field(
        description="Each dependency and whether it answers.",
        examples=[{"database": True, "nats": True}],
    )
