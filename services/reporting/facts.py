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
    CertificationRevoked,
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
from shared.identity import client_agency

Row = tuple[Any, ...]


def _agency(e: Canonical, p: AgencyRegistered) -> Row:
    return (p.agency_id, p.region_code, p.role, p.registered_on, p.incubated_by_pairing_id, p.name)


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


def _revocation(e: Canonical, p: CertificationRevoked) -> Row:
    return (p.worker_id, p.licence, p.revoked_on)


def _project(e: Canonical, p: ProjectStarted) -> Row:
    return (p.project_id, p.agency_id, p.pairing_id, p.starts_on)


def _client(e: Canonical, p: ClientProfile) -> Row:
    return (p.client_id, p.project_id, p.in_difficulty, china_date(e.occurred_at))


def _visit(e: Canonical, p: VisitLogged) -> Row:
    return (
        p.visit_id,
        client_agency(e.agency_id, p),
        p.client_id,
        p.service,
        china_date(p.started_at),
        p.duration_min,
    )


def _activity(e: Canonical, p: ActivityHeld) -> Row:
    return (p.activity_id, p.project_id, p.kind, p.held_on, p.attendees)


def training_hours(hours: float) -> Decimal:
    """The one numeric rule for training hours: kept to the hundredth of an hour (halves
    up), here, before the fact row, its totals and any retraction of it see the value; so
    "so far" (totals), bounded periods (facts) and retractions all add the same numbers."""
    return Decimal(str(hours)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _training(e: Canonical, p: TrainingCompleted) -> Row:
    attendances = len(set(p.attendee_worker_ids))
    hours = training_hours(p.hours)
    return (p.training_id, p.pairing_id, p.kind, p.held_on, hours, attendances)


def _dispatch(e: Canonical, p: StaffDispatched) -> Row:
    return (p.dispatch_id, p.pairing_id, p.worker_id, p.from_date, p.to_date)


def _milestone(e: Canonical, p: MilestoneReached) -> Row:
    return (p.pairing_id, p.milestone, p.reached_on)


def _scheduled(e: Canonical, p: VisitScheduled) -> Row:
    return ("scheduled", p.agency_id, p.slot_id, p.client_id, p.service, china_date(p.window_start))


def _overdue(e: Canonical, p: VisitOverdue) -> Row:
    return ("overdue", p.agency_id, p.slot_id, p.client_id, p.service, china_date(p.window_end))


@dataclass(frozen=True)
class Fact:
    """Where one event type's facts go: the table, its columns after the event key and its
    times (occurred_at, recorded_at: the newest wins), the function making a row's values
    in that column order, and for a fact with a business key (SPEC 3.6) that key's columns:
    one row per key counts, the others are `superseded`."""

    table: str
    columns: tuple[str, ...]
    row: Callable[[Canonical, Any], Row]
    key: tuple[str, str] | None = None


_SLOT_COLUMNS = ("kind", "client_agency", "slot_id", "client_id", "service", "slot_on")

FACTS: dict[str, Fact] = {
    "agency-registered": Fact(
        "agency_facts",
        ("subject_agency", "region_code", "role", "registered_on", "incubated_by", "name"),
        _agency,
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
    ),
    "worker-registered": Fact(
        "worker_facts",
        ("worker_id", "worker_agency", "role", "licence", "registered_on"),
        _worker,
    ),
    "certification-obtained": Fact(
        "certification_facts",
        ("worker_id", "licence", "obtained_on"),
        _certification,
    ),
    "certification-revoked": Fact(
        "revocation_facts",
        ("worker_id", "licence", "revoked_on"),
        _revocation,
    ),
    "project-started": Fact(
        "project_facts",
        ("project_id", "project_agency", "pairing_id", "starts_on"),
        _project,
    ),
    "client-registered": Fact(
        "client_facts",
        ("client_id", "project_id", "in_difficulty", "registered_on"),
        _client,
    ),
    "visit-logged": Fact(
        "visit_facts",
        ("visit_id", "client_agency", "client_id", "service", "visited_on", "duration_min"),
        _visit,
        key=("agency_id", "visit_id"),
    ),
    "activity-held": Fact(
        "activity_facts",
        ("activity_id", "project_id", "kind", "held_on", "attendees"),
        _activity,
        key=("agency_id", "activity_id"),
    ),
    "training-completed": Fact(
        "training_facts",
        ("training_id", "pairing_id", "kind", "held_on", "hours", "attendances"),
        _training,
        key=("pairing_id", "training_id"),
    ),
    "staff-dispatched": Fact(
        "dispatch_facts",
        ("dispatch_id", "pairing_id", "worker_id", "from_date", "to_date"),
        _dispatch,
        key=("pairing_id", "dispatch_id"),
    ),
    "milestone-reached": Fact(
        "milestone_facts",
        ("pairing_id", "milestone", "reached_on"),
        _milestone,
        key=("pairing_id", "milestone"),
    ),
    "visit-scheduled": Fact("slot_facts", _SLOT_COLUMNS, _scheduled),
    "visit-overdue": Fact("slot_facts", _SLOT_COLUMNS, _overdue),
}
FACT_TABLES = tuple(sorted({fact.table for fact in FACTS.values()}))
CONSUMED_TYPES = (*FACTS, "event-retracted", "period-approved")  # approvals: approvals/store.py
# keyed fact table -> its business key's columns (shared/identity.py)
KEYED: dict[str, tuple[str, str]] = {f.table: f.key for f in FACTS.values() if f.key}
_PREFIX = ("agency_id", "event_id", "retracted", "occurred_at", "recorded_at")


def fact_rows(events: list[Canonical], retracted: set[tuple[str, str]]) -> dict[str, list[Row]]:
    """Rows to add per table; `retracted` names event keys already retracted. A keyed fact
    comes in `superseded` (not counted) until the projection settles its key."""
    out: dict[str, list[Row]] = {}
    for e in events:
        fact = FACTS.get(e.type)
        if fact is None:
            continue
        key: Row = (
            e.agency_id,
            e.event_id,
            (e.agency_id, e.event_id) in retracted,
            e.occurred_at,
            e.recorded_at,
        )
        row = key + fact.row(e, e.payload)
        out.setdefault(fact.table, []).append((*row, True) if fact.key else row)
    return out


def columns(event_type: str) -> tuple[str, ...]:
    fact = FACTS[event_type]
    return (*_PREFIX, *fact.columns, *(("superseded",) if fact.key else ()))


def table_columns() -> dict[str, tuple[str, ...]]:
    return {fact.table: columns(t) for t, fact in FACTS.items()}
