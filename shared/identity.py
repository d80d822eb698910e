"""Business identity (SPEC 3.6): the key that says which fact or entity an event is about.

An event whose key already names something is not a second one: identical content is a
duplicate; different content is a correction (facts: the newest `occurred_at` wins in every
figure) or a change (entities: it applies from its `occurred_at` on). Every service keys
its rows by these, so a visit re-sent under a new event id still counts once.
"""

from __future__ import annotations

from typing import Any

from shared.events import (
    ActivityHeld,
    AgencyRegistered,
    ClientProfile,
    MilestoneReached,
    PairingEstablished,
    ProjectStarted,
    StaffDispatched,
    TrainingCompleted,
    VisitLogged,
    WorkerRegistered,
)

FACT_KINDS = ("visit", "activity", "training", "dispatch", "milestone")
ENTITY_KINDS = ("agency", "pairing", "worker", "project", "client")


def business_key(sender: str, payload: Any) -> tuple[str, str] | None:
    """(kind, key) of an event reported by `sender`, or None (certifications, retractions
    and the services' own events have none)."""
    if isinstance(payload, VisitLogged):
        return "visit", f"{sender}/{payload.visit_id}"
    if isinstance(payload, ActivityHeld):
        return "activity", f"{sender}/{payload.activity_id}"
    if isinstance(payload, TrainingCompleted):
        return "training", f"{payload.pairing_id}/{payload.training_id}"
    if isinstance(payload, StaffDispatched):
        return "dispatch", f"{payload.pairing_id}/{payload.dispatch_id}"
    if isinstance(payload, MilestoneReached):
        return "milestone", f"{payload.pairing_id}/{payload.milestone}"
    if isinstance(payload, AgencyRegistered):
        return "agency", payload.agency_id
    if isinstance(payload, PairingEstablished):
        return "pairing", payload.pairing_id
    if isinstance(payload, WorkerRegistered):
        return "worker", f"{payload.agency_id}/{payload.worker_id}"
    if isinstance(payload, ProjectStarted):
        return "project", payload.project_id
    if isinstance(payload, ClientProfile):
        return "client", f"{sender}/{payload.client_id}"
    return None


def client_agency(sender: str, visit: VisitLogged) -> str:
    """The agency whose client a visit is for: named, or else the sender's."""
    return visit.client_agency_id or sender
