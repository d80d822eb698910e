"""What reporting's HTTP endpoints answer, as models for its OpenAPI document: the KPIs of
SPEC 3.5 (field names binding), a summary's scope and breakdown, a pairing's report. The
handlers build these as plain dicts; tests/contracts checks real answers against them."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, create_model

from services.reporting.kpis import KPIS, Kpi
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


def _kpi_field(kpi: Kpi) -> tuple[Any, Any]:
    """A KPI's type in the document, from its shape in the registry."""
    count: Any = Count if kpi.people or kpi.sums_over else int
    types: dict[str, Any] = {
        "count": count,
        "map": dict[str, count],
        "rate": float | None,
        "number": float,
        "list": list[MilestoneReached],
        "stamp": datetime | None,
    }
    kind = Agencies if kpi.name == "agencies" else types[kpi.shape]
    return kind, Field(description=f"{kpi.counts} ({kpi.label})")


_KPIS_DOC = """The report KPIs of SPEC 3.5 (and those added after it), one field per entry
of the KPI registry (services/reporting/kpis.py). Stocks (agencies, workers, clients) count
what was registered by the end of the period; flows what happened inside it."""

if TYPE_CHECKING:

    class Kpis(Answer):
        """Typed as an Answer here; its fields come from the KPI registry."""

else:
    Kpis = create_model(
        "Kpis", __base__=Answer, __doc__=_KPIS_DOC, **{k.name: _kpi_field(k) for k in KPIS}
    )


class SummaryScope(Answer):
    """What the summary covers, as resolved from the filters."""

    region: str | None = Field(examples=["22"])
    agency: str | None
    pairing: str | None
    project: str | None
    from_: date | None = Field(alias="from")
    to: date
    as_of: datetime | None = Field(
        default=None, description="the moment asked for with ?as_of (SPEC 3.7), if any"
    )


class BreakdownLine(Answer):
    """One line of a breakdown: a period (from/to) or a region."""

    period: str | None = Field(default=None, examples=["2019-Q4"])
    from_: date | None = Field(default=None, alias="from")
    to: date | None = None
    region: str | None = Field(default=None, examples=["2224"])
    summary: Kpis


class ApprovalMark(Answer):
    """The approval in force for exactly this scope and period (SPEC 3.9)."""

    approval_id: str
    approved_at: datetime
    changed_since: int = Field(
        description="events of the scope and period recorded since the approval: when not "
        "0, the figures changed since approval (GET /v1/approvals/{id} says how)"
    )


class Summary(Kpis):
    """The KPIs for the scope, and its breakdown when ?breakdown= asks for one."""

    scope: SummaryScope
    breakdown: list[BreakdownLine] | None = Field(
        default=None, description="Present with ?breakdown=month|quarter|year|region."
    )
    suppression: str | None = Field(
        default=None, description="Present with ?suppress=true: how small counts were hidden."
    )
    approval: ApprovalMark | None = Field(
        default=None, description="Present when this scope and period were approved."
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


class UnassignedAgency(Answer):
    """An agency id with events but no registration in force (SPEC 3.6)."""

    agency_id: str
    events: int = Field(description="its events so far, every type")
    events_by_type: dict[str, int]
    first_seen: datetime = Field(description="intake's recording time of its first event")
    last_seen: datetime = Field(description="and of its newest")


class Unassigned(Answer):
    """Agencies whose events wait for their registration: kept, and placed once it comes."""

    count: int
    agencies: list[UnassignedAgency]


class ReplacedEvent(Answer):
    """An event of the same thing that no longer counts: an earlier version a correction or a
    later registration superseded, or a version taken out by the retractions named."""

    event_id: str
    agency_id: str
    type: str = Field(examples=["visit-logged"])
    occurred_at: datetime
    recorded_at: datetime | None
    how: Literal["superseded", "retracted"]
    retracted_by: list[str] = Field(description="the event-retracted ids that took it out")


class ExplainRow(Answer):
    """One thing a figure counts: the event in force for it and the value it adds."""

    event_id: str
    agency_id: str
    type: str = Field(examples=["visit-logged"])
    occurred_at: datetime
    recorded_at: datetime | None
    cell: str | None = Field(
        description="the map KPI's key this row counts in", examples=["home-medication"]
    )
    counts: str = Field(description="what the row counts", examples=["visit lanxing/v-0001"])
    value: float = Field(description="what this row adds to the figure")
    replaces: list[ReplacedEvent]


class Explanation(Answer):
    """A page of the events behind one figure (SPEC 3.7); the values of every page add up to
    the figure, as `adds` says."""

    kpi: str = Field(examples=["visits_by_service"])
    key: str | None = Field(examples=["home-medication"])
    adds: str = Field(description="how the rows make the figure")
    scope: SummaryScope
    rows: list[ExplainRow]
    next_cursor: str | None = Field(
        description="pass as ?cursor= for the next page; null at the end"
    )
