"""Which agency may say what about whom: the references inside payloads.

The envelope's agency_id is checked against the caller's credentials; this module checks
what the payload claims, so no agency can write into another agency's or another
pairing's figures:
- an agency registers itself, its workers and its projects (payload agency_id = sender);
  only a pairing's assisting agency registers the agencies that pairing incubated;
- a pairing is established by one of its two sides, and a pairing id or project id
  belongs to the agency that used it first;
- staff dispatches, trainings and milestones of a known pairing come from one of its sides.
Plain logic: the store supplies what it knows of the pairings and projects.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.intake.domain import Submission
from shared.errors import FieldError, field_error
from shared.events import (
    AgencyRegistered,
    MilestoneReached,
    PairingEstablished,
    ProjectStarted,
    StaffDispatched,
    TrainingCompleted,
    WorkerRegistered,
)


@dataclass(frozen=True)
class Owner:
    """Who holds a pairing id or a project id (and, for a pairing, its two sides)."""

    agency_id: str
    assisting: str | None = None
    assisted: str | None = None

    def sides(self) -> tuple[str | None, str | None]:
        return self.assisting, self.assisted


Owners = dict[tuple[str, str], Owner]  # ("pairing" | "project", id) -> owner


def claimed_ids(subs: list[Submission]) -> list[tuple[str, str]]:
    """The pairing and project ids a request mentions (to look up, and lock, first)."""
    found: set[tuple[str, str]] = set()
    for sub in subs:
        payload = sub.event.payload if sub.event else None
        pairing = getattr(payload, "pairing_id", None) or getattr(
            payload, "incubated_by_pairing_id", None
        )
        if pairing:
            found.add(("pairing", pairing))
        if isinstance(payload, ProjectStarted):
            found.add(("project", payload.project_id))
    return sorted(found)


def check(subs: list[Submission], owners: Owners) -> Owners:
    """Reject (in place) the events whose payload claims what the sender may not claim;
    returns the new ids the accepted ones claim. Events are taken in order, so a pairing
    established earlier in the same request counts."""
    known: Owners = dict(owners)
    claimed: Owners = {}
    for sub in subs:
        assert sub.event is not None
        errors, claim = _errors(sub.event.agency_id, sub.event.payload, known)
        if errors:
            sub.status, sub.errors = "rejected", errors
        elif claim is not None:
            key, owner = claim
            known.setdefault(key, owner)
            if key not in owners:
                claimed.setdefault(key, owner)
    return claimed


def _error(path: str, message: str, code: str = "forbidden_reference") -> list[FieldError]:
    return [field_error(path, message, code)]


def _errors(
    sender: str, payload: object, known: Owners
) -> tuple[list[FieldError], tuple[tuple[str, str], Owner] | None]:
    if isinstance(payload, AgencyRegistered):
        if payload.incubated_by_pairing_id:
            pairing = known.get(("pairing", payload.incubated_by_pairing_id))
            if pairing is None:
                return _error(
                    "payload.incubated_by_pairing_id",
                    "unknown pairing: establish it before registering the agencies it incubates",
                    "unknown_reference",
                ), None
            if sender != pairing.assisting:
                return _error(
                    "payload.incubated_by_pairing_id",
                    "only the pairing's assisting agency registers the agencies it incubates",
                ), None
        elif payload.agency_id != sender:
            return _error("payload.agency_id", "an agency registers itself"), None
        return [], None
    if isinstance(payload, (WorkerRegistered, ProjectStarted)) and payload.agency_id != sender:
        return _error("payload.agency_id", "only the agency itself registers this"), None
    if isinstance(payload, PairingEstablished):
        if sender not in (payload.assisting_agency_id, payload.assisted_agency_id):
            return _error("agency_id", "a pairing is established by one of its two sides"), None
        key = ("pairing", payload.pairing_id)
        owner = known.get(key)
        if owner is not None and owner.agency_id != sender:
            return _error("payload.pairing_id", "this pairing id belongs to another agency"), None
        return [], (key, Owner(sender, payload.assisting_agency_id, payload.assisted_agency_id))
    if isinstance(payload, ProjectStarted):
        key = ("project", payload.project_id)
        owner = known.get(key)
        if owner is not None and owner.agency_id != sender:
            return _error("payload.project_id", "this project id belongs to another agency"), None
        return [], (key, Owner(sender))
    if isinstance(payload, (StaffDispatched, TrainingCompleted, MilestoneReached)):
        pairing = known.get(("pairing", payload.pairing_id))
        if pairing is not None and sender not in pairing.sides():
            return _error("payload.pairing_id", "only the pairing's two sides report on it"), None
    return [], None
