"""What scheduling's HTTP endpoints answer, as models for its OpenAPI document. The
handlers build these as plain dicts; tests/contracts checks real answers against them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from shared.answers import Answer

SlotStatus = Literal["due", "unassigned", "done", "overdue", "cancelled"]


class Slot(Answer):
    """One visit slot of a care plan. Times are China time (+08:00)."""

    slot_id: str
    plan_id: str
    seq: int = Field(description="The slot's place in its plan, from 0.")
    agency_id: str = Field(description="The client's agency.")
    client_id: str
    service: str = Field(examples=["home-medication"])
    worker_id: str | None = Field(description="Null while nobody could be assigned.")
    window_start: datetime
    window_end: datetime
    status: SlotStatus
    conflict: str | None = Field(description="Why the slot is unassigned.")
    visit_id: str | None = Field(description="The visit that closed it.")
    late: bool = Field(description="Closed by a visit that started after the window.")
    done_at: datetime | None
    overdue_at: datetime | None


class SlotConflict(Answer):
    slot_id: str
    window_start: datetime
    reason: str | None


class CarePlan(Answer):
    """A care plan and its slots up to the horizon."""

    plan_id: str
    agency_id: str
    client_id: str
    service: str
    required_language: str | None = Field(examples=["ko"])
    preferred_worker_id: str | None
    scheduled_through: date
    slots: list[Slot]
    conflicts: list[SlotConflict] = Field(description="The slots nobody could take, and why.")


class Visits(Answer):
    visits: list[Slot]
    count: int


class WorkerSchedule(Answer):
    """A worker and their slots between from and to (China dates)."""

    agency_id: str
    worker_id: str
    role: str
    languages: list[str]
    retracted: bool
    from_: date = Field(alias="from")
    to: date
    slots: list[Slot]


class YearPace(Answer):
    """Staff-days of one programme year against its target."""

    year: int
    starts_on: date
    ends_on: date
    target: int
    dispatched: int
    booked_ahead: int
    expected_by_now: float
    projected: float
    will_miss_target: bool
    pace: Literal["met", "on_track", "behind", "missed"]


class DispatchPace(Answer):
    pairing_id: str
    assisting_agency_id: str
    assisted_agency_id: str
    staff_days_per_year: int
    as_of: date
    current: YearPace | None
    will_miss_target: bool
    years: list[YearPace]
