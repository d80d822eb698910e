"""From canonical events to fact rows: which table, which columns. Plain Python, no I/O."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from shared.clock import china_date
from shared.events import (
    ActivityHeld,
    AgencyRegistered,
    Canonical,
    CertificationObtained,
    ClientProfile,
    MilestoneReached,
    PairingEstablished,
    ProjectStarted,
    StaffDispatched,
    TrainingCompleted,
    VisitLogged,
    VisitOverdue,
    VisitScheduled,
    WorkerRegistered,
)

Row = tuple[Any, ...]


def _agency(e: Canonical, p: AgencyRegistered) -> Row:
    return (p.agency_id, p.region_code, p.role, p.registered_on, p.incubated_by_pairing_id)


def _pairing(e: Canonical, p: PairingEstablished) -> Row:
    t = p.targets
    return (
        p.pairing_id,
        p.assisting_agency_id,
        p.assisted_agency_id,
        p.starts_on,
        p.ends_on,
        t.staff_days_per_year,
        t.agencies_to_incubate,
        t.projects_to_undertake,
    )


def _worker(e: Canonical, p: WorkerRegistered) -> Row:
    return (p.worker_id, p.agency_id, p.role, p.licence, china_date(e.occurred_at))


def _certification(e: Canonical, p: CertificationObtained) -> Row:
    return (p.worker_id, p.licence, p.obtained_on)


def _project(e: Canonical, p: ProjectStarted) -> Row:
    return (p.project_id, p.agency_id, p.pairing_id, p.starts_on)


def _client(e: Canonical, p: ClientProfile) -> Row:
    return (p.client_id, p.project_id, p.in_difficulty, china_date(e.occurred_at))


def _visit(e: Canonical, p: VisitLogged) -> Row:
    return (p.client_id, p.service, china_date(p.started_at), p.duration_min)


def _activity(e: Canonical, p: ActivityHeld) -> Row:
    return (p.project_id, p.kind, p.held_on, p.attendees)


def training_hours(hours: float) -> Decimal:
    """The one numeric rule for training hours: kept to the hundredth of an hour (halves
    up), here, before the fact row, its totals and any retraction of it see the value; so
    "so far" (totals), bounded periods (facts) and retractions all add the same numbers."""
    return Decimal(str(hours)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _training(e: Canonical, p: TrainingCompleted) -> Row:
    hours = training_hours(p.hours)
    return (p.pairing_id, p.kind, p.held_on, hours, len(set(p.attendee_worker_ids)))


def _dispatch(e: Canonical, p: StaffDispatched) -> Row:
    return (p.pairing_id, p.worker_id, p.from_date, p.to_date)


def _milestone(e: Canonical, p: MilestoneReached) -> Row:
    return (p.pairing_id, p.milestone, p.reached_on)


def _scheduled(e: Canonical, p: VisitScheduled) -> Row:
    return ("scheduled", p.agency_id, p.slot_id, p.client_id, p.service, china_date(p.window_start))


def _overdue(e: Canonical, p: VisitOverdue) -> Row:
    return ("overdue", p.agency_id, p.slot_id, p.client_id, p.service, china_date(p.window_end))


@dataclass(frozen=True)
class Fact:
    """Where one event type's facts go: the table, its columns after the event key, whether
    the event's occurred_at is kept (entities: the newest registration wins), and the
    function making a row's values in that column order."""

    table: str
    columns: tuple[str, ...]
    row: Callable[[Canonical, Any], Row]
    keeps_time: bool = False


_SLOT_COLUMNS = ("kind", "client_agency", "slot_id", "client_id", "service", "slot_on")

FACTS: dict[str, Fact] = {
    "agency-registered": Fact(
        "agency_facts",
        ("subject_agency", "region_code", "role", "registered_on", "incubated_by"),
        _agency,
        keeps_time=True,
    ),
    "pairing-established": Fact(
        "pairing_facts",
        (
            "pairing_id",
            "assisting_agency_id",
            "assisted_agency_id",
            "starts_on",
            "ends_on",
            "staff_days_per_year",
            "agencies_to_incubate",
            "projects_to_undertake",
        ),
        _pairing,
        keeps_time=True,
    ),
    "worker-registered": Fact(
        "worker_facts",
        ("worker_id", "worker_agency", "role", "licence", "registered_on"),
        _worker,
        keeps_time=True,
    ),
    "certification-obtained": Fact(
        "certification_facts",
        ("worker_id", "licence", "obtained_on"),
        _certification,
        keeps_time=True,
    ),
    "project-started": Fact(
        "project_facts",
        ("project_id", "project_agency", "pairing_id", "starts_on"),
        _project,
        keeps_time=True,
    ),
    "client-registered": Fact(
        "client_facts",
        ("client_id", "project_id", "in_difficulty", "registered_on"),
        _client,
        keeps_time=True,
    ),
    "visit-logged": Fact(
        "visit_facts", ("client_id", "service", "visited_on", "duration_min"), _visit
    ),
    "activity-held": Fact(
        "activity_facts", ("project_id", "kind", "held_on", "attendees"), _activity
    ),
    "training-completed": Fact(
        "training_facts", ("pairing_id", "kind", "held_on", "hours", "attendances"), _training
    ),
    "staff-dispatched": Fact(
        "dispatch_facts", ("pairing_id", "worker_id", "from_date", "to_date"), _dispatch
    ),
    "milestone-reached": Fact(
        "milestone_facts", ("pairing_id", "milestone", "reached_on"), _milestone
    ),
    "visit-scheduled": Fact("slot_facts", _SLOT_COLUMNS, _scheduled),
    "visit-overdue": Fact("slot_facts", _SLOT_COLUMNS, _overdue),
}
FACT_TABLES = tuple(sorted({fact.table for fact in FACTS.values()}))
CONSUMED_TYPES = (*FACTS, "event-retracted")


def fact_rows(events: list[Canonical], retracted: set[tuple[str, str]]) -> dict[str, list[Row]]:
    """Rows to add per table; `retracted` names event keys already retracted."""
    out: dict[str, list[Row]] = {}
    for e in events:
        fact = FACTS.get(e.type)
        if fact is None:
            continue
        key: Row = (e.agency_id, e.event_id, (e.agency_id, e.event_id) in retracted)
        if fact.keeps_time:
            key += (e.occurred_at,)
        out.setdefault(fact.table, []).append(key + fact.row(e, e.payload))
    return out


def columns(event_type: str) -> tuple[str, ...]:
    fact = FACTS[event_type]
    kept = ("occurred_at",) if fact.keeps_time else ()
    return ("agency_id", "event_id", "retracted", *kept, *fact.columns)


def table_columns() -> dict[str, tuple[str, ...]]:
    return {fact.table: columns(t) for t, fact in FACTS.items()}
