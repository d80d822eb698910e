"""What reporting's HTTP endpoints answer, as models for its OpenAPI document: the KPIs of
SPEC 3.5 (field names binding), a summary's scope and breakdown, a pairing's report. The
handlers build these as plain dicts; tests/contracts checks real answers against them."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import Field

from shared.answers import Answer


class Hidden(StrEnum):
    """With ?suppress=true, counts of people from 1 to 4 (and what would reveal them) are
    "<5". (An enum rather than a const: generated clients parse int-or-enum unions.)"""

    HIDDEN = "<5"


Count = int | Hidden


class Agencies(Answer):
    assisting: int
    assisted: int
    incubated: int = Field(description="Agencies registered as incubated by a pairing.")


class MilestoneReached(Answer):
    pairing_id: str
    milestone: str = Field(examples=["agency-registered"])
    reached_on: date


class Kpis(Answer):
    """The report KPIs of SPEC 3.5. Stocks (agencies, workers, clients) count what was
    registered by the end of the period; flows (visits, activities, trainings, staff-days,
    milestones, slots) what happened inside it."""

    agencies: Agencies
    pairings_active: int
    workers_total: Count
    workers_licensed: Count
    licensed_rate: float | None = Field(description="workers_licensed / workers_total.")
    clients_registered: Count
    clients_in_difficulty: Count
    clients_served: Count = Field(description="Distinct clients with at least one visit.")
    clients_served_by_service: dict[str, Count] = Field(
        description="service -> distinct clients visited.",
        examples=[{"home-medication": 69, "psychological-comfort": 48, "proxy-shopping": 8}],
    )
    visits_by_service: dict[str, Count] = Field(description="service -> visits.")
    visit_minutes: int
    activities_by_kind: dict[str, int] = Field(examples=[{"health-lecture": 8}])
    activity_attendance_by_kind: dict[str, Count] = Field(
        description="kind -> sum of attendees.", examples=[{"health-lecture": 208}]
    )
    trainings_by_kind: dict[str, int] = Field(examples=[{"thematic-training": 2}])
    training_attendances: Count
    training_hours: float
    staff_days_dispatched: int
    staff_days_target: float = Field(
        description="Each pairing's yearly target times the share of a year the period overlaps it."
    )
    milestones: list[MilestoneReached]
    visits_scheduled: Count
    visits_overdue: Count
    as_of: datetime | None = Field(description="The recording time of the newest event reflected.")


class SummaryScope(Answer):
    """What the summary covers, as resolved from the filters."""

    region: str | None = Field(examples=["22"])
    agency: str | None
    pairing: str | None
    project: str | None
    from_: date | None = Field(alias="from")
    to: date


class BreakdownLine(Answer):
    """One line of a breakdown: a period (from/to) or a region."""

    period: str | None = Field(default=None, examples=["2019-Q4"])
    from_: date | None = Field(default=None, alias="from")
    to: date | None = None
    region: str | None = Field(default=None, examples=["2224"])
    summary: Kpis


class Summary(Kpis):
    """The KPIs for the scope, and its breakdown when ?breakdown= asks for one."""

    scope: SummaryScope
    breakdown: list[BreakdownLine] | None = Field(
        default=None, description="Present with ?breakdown=month|quarter|year|region."
    )
    suppression: str | None = Field(
        default=None, description="Present with ?suppress=true: how small counts were hidden."
    )


class ProgrammeYear(Answer):
    from_: date = Field(alias="from")
    to: date
    staff_days: int
    target: int
    met: bool


class IncubatedAgency(Answer):
    agency_id: str
    registered_on: date


class Incubation(Answer):
    target: int
    actual: int
    agencies: list[IncubatedAgency]


class UndertakenProject(Answer):
    project_id: str
    agency_id: str
    starts_on: date


class Projects(Answer):
    target: int
    actual: int
    projects: list[UndertakenProject]


class PairingMilestone(Answer):
    milestone: str
    reached_on: date


class LicenceRate(Answer):
    as_of: date
    workers: int
    licensed: int
    rate: float | None


class LicenceRates(Answer):
    at_start: LicenceRate
    now: LicenceRate


class PairingReport(Answer):
    """A pairing's targets against its actuals."""

    pairing_id: str = Field(examples=["jl-2019-lanxing-wenhua"])
    assisting_agency_id: str = Field(examples=["lanxing"])
    assisted_agency_id: str = Field(examples=["wenhua"])
    starts_on: date
    ends_on: date | None
    staff_days_by_programme_year: list[ProgrammeYear]
    agencies_incubated: Incubation
    projects_undertaken: Projects
    milestones: list[PairingMilestone]
    assisted_licence_rate: LicenceRates = Field(
        description="Of the assisted agency and the agencies the pairing incubated."
    )
