"""What intake knows when it decides who may say what (authority.py): agencies' regions
and incubators, pairings' sides, projects' owners and retractions' targets, as the store
loaded them, plus what the earlier events of the same request established. Plain data and
the relations the rules ask of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.events import AgencyRegistered, PairingEstablished, ProjectStarted
from shared.tokens import Principal


@dataclass(frozen=True)
class Pairing:
    assisting: str
    assisted: str

    def sides(self) -> tuple[str, str]:
        return self.assisting, self.assisted


@dataclass(frozen=True)
class Target:
    """A retraction's target as the log holds it: its type and payload."""

    type: str
    payload: Any


@dataclass
class Known:
    """What intake knows when it decides: agencies' regions (in force) and who incubated
    them, pairings' sides, projects' owners, and the targets of the request's retractions."""

    regions: dict[str, str] = field(default_factory=dict)
    incubated_by: dict[str, str | None] = field(default_factory=dict)
    pairings: dict[str, Pairing] = field(default_factory=dict)
    projects: dict[str, str] = field(default_factory=dict)
    targets: dict[tuple[str, str], Target] = field(default_factory=dict)

    def learn(self, sender: str, payload: object) -> None:
        """An accepted event's effect on what later events of the request may say."""
        if isinstance(payload, AgencyRegistered):
            self.regions[payload.agency_id] = payload.region_code
            self.incubated_by[payload.agency_id] = payload.incubated_by_pairing_id
        elif isinstance(payload, PairingEstablished):
            self.pairings.setdefault(
                payload.pairing_id,
                Pairing(payload.assisting_agency_id, payload.assisted_agency_id),
            )
        elif isinstance(payload, ProjectStarted):
            self.projects.setdefault(payload.project_id, payload.agency_id)

    def covers(self, principal: Principal, agency_id: str) -> bool:
        """A province (or admin) over the agency's region in force."""
        return principal.covers_region(self.regions.get(agency_id))

    def acts_for(self, principal: Principal, agency_id: str) -> bool:
        return principal.is_agency(agency_id) or self.covers(principal, agency_id)

    def works_for(self, sender: str, agency_id: str) -> bool:
        """The sender is the agency, the other side of a pairing with it, or the assisting
        agency of the pairing that incubated it (SPEC 3.6, cross-agency visits)."""
        if sender == agency_id:
            return True
        if any({sender, agency_id} == set(p.sides()) for p in self.pairings.values()):
            return True
        incubator = self.pairings.get(self.incubated_by.get(agency_id) or "")
        return incubator is not None and incubator.assisting == sender

    def partner(self, principal: Principal, agency_id: str) -> bool:
        """The principal is an agency on the other side of a pairing with `agency_id`."""
        me = principal.agency_id if principal.role == "agency" else None
        return (
            me is not None
            and me != agency_id
            and any({me, agency_id} == set(p.sides()) for p in self.pairings.values())
        )
