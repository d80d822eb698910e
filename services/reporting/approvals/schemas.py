"""What the approval endpoints answer, as models for reporting's OpenAPI document."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.reporting.schemas import ExplainRow
from shared.answers import Answer
from shared.events import ApprovalScope, Day


class ApprovalRequest(BaseModel):
    """Approve a region's (prefix) or a pairing's figures for [from, to]."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    scope: ApprovalScope = Field(examples=[{"region": "2224"}])
    from_: Day = Field(alias="from", examples=["2020-04-01"])
    to: Day = Field(examples=["2020-06-30"])


class ApprovedScope(Answer):
    region: str | None = Field(default=None, examples=["2224"])
    pairing: str | None = None


class Approval(Answer):
    """An approval as listed: what was approved, by whom, when, and what replaced it."""

    approval_id: str
    scope: ApprovedScope
    from_: date = Field(alias="from")
    to: date
    approver: str = Field(description="the province's region prefix, or admin")
    approved_at: datetime
    fingerprint: str = Field(description="sha256 of the approved figures' canonical JSON")
    stream_seq: int = Field(description="the EVENTS sequence the figures reflect")
    watermark: datetime | None = Field(
        description="intake's newest recording time the figures reflect; events of the "
        "scope and period recorded after it are late"
    )
    supersedes: str | None
    superseded_by: str | None
    superseded: bool


class Approvals(Answer):
    approvals: list[Approval]


class Published(Answer):
    """The period-approved payload as published on EVENTS."""

    approval_id: str
    scope: ApprovedScope
    from_: date = Field(alias="from")
    to: date
    fingerprint: str
    figures: dict[str, Any]
    stream_seq: int
    watermark: datetime | None
    approver: str
    supersedes: str | None
    approved_at: datetime


class LateEvent(Answer):
    """An event of the scope and period recorded after the approval's watermark, or a
    retraction recorded after it of an event of the scope and period."""

    event_id: str
    agency_id: str
    type: str
    occurred_at: datetime | None = Field(description="none for a retraction")
    recorded_at: datetime
    retracted: bool = Field(description="retracted since")
    retracts: str | None = Field(description="a retraction's target event id")


class ExplainedChange(Answer):
    kpi: str = Field(examples=["visits_by_service"])
    adds: str = Field(description="how the rows add up (as GET /v1/reports/explain says)")
    rows: list[ExplainRow] = Field(description="the first 100")
    more: bool = Field(description="more rows than these: page with GET /v1/reports/explain")


class ApprovalDetail(Approval):
    """An approval against today's figures."""

    approved: dict[str, Any] = Field(description="the figures as approved (byte for byte)")
    today: dict[str, Any] = Field(description="the same figures computed now")
    today_as_of: datetime | None
    difference: dict[str, Any] = Field(
        description="per KPI that changed: today's minus the approved figure (per key for "
        "maps; milestones added and removed)"
    )
    late_events: int = Field(description="events of the scope and period since the approval")
    events: list[LateEvent] = Field(description="those events, oldest first (the first 1000)")
    explained: list[ExplainedChange] = Field(
        description="per KPI that changed: the events counting in it now that were recorded "
        "after the approval (GET /v1/reports/explain's rows)"
    )
