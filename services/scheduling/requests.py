"""The bodies scheduling's HTTP API accepts, validated by pydantic (unknown fields are an
error). Times of day are local (Asia/Shanghai) and carry no offset."""

from __future__ import annotations

import hashlib
from datetime import date, time
from typing import Annotated, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.scheduling.domain.recurrence import MAX_OCCURRENCES, Recurrence, Window
from shared.events import AgencyId, ClientId, Ident, Service

PlanId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
WorkerId = Ident
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RecurrenceIn(Body):
    """weekly: every `every` weeks on the start's weekday; days: every `every` days;
    monthly: every `every` months on `day_of_month` (default: the start's day)."""

    kind: Literal["weekly", "days", "monthly"]
    start: date
    end: date | None = None
    count: Annotated[int, Field(ge=1, le=MAX_OCCURRENCES)] | None = None
    every: Annotated[int, Field(ge=1, le=366)] = 1
    day_of_month: Annotated[int, Field(ge=1, le=31)] | None = None

    @model_validator(mode="after")
    def _bounded(self) -> RecurrenceIn:
        if self.end is None and self.count is None:
            raise ValueError("give an end date or a count")
        if self.end is not None and self.end < self.start:
            raise ValueError("end is before start")
        if self.day_of_month is not None and self.kind != "monthly":
            raise ValueError("day_of_month is for monthly recurrences only")
        return self

    def domain(self) -> Recurrence:
        return Recurrence(
            kind=self.kind,
            start=self.start,
            every=self.every,
            end=self.end,
            count=self.count,
            day_of_month=self.day_of_month,
        )


class WindowIn(Body):
    """The visit's time window each day it falls on, e.g. 09:00 to 11:00 China time."""

    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> WindowIn:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("times are China time (Asia/Shanghai); give them without an offset")
        if self.end <= self.start:
            raise ValueError("the window must end after it starts, on the same day")
        return self

    def domain(self) -> Window:
        return Window(self.start, self.end)


class CarePlanIn(Body):
    """A care plan. `agency_id` defaults to the caller's agency; `plan_id`, if given, makes
    the request safe to repeat (the same body answers the same plan)."""

    plan_id: PlanId | None = None
    agency_id: AgencyId | None = None
    client_id: ClientId
    service: Service
    recurrence: RecurrenceIn
    window: WindowIn
    preferred_worker_id: WorkerId | None = None
    required_language: Language | None = None

    def fingerprint(self) -> bytes:
        content = self.model_dump(mode="json", exclude={"plan_id"})
        return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).digest()
