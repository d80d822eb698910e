"""Who may say what (SPEC 3.6): each event is authorised by its principal — the agency,
province or admin behind the token — never by the envelope alone. Plain logic: the store
supplies what it knows (`Known`), and events of one request are taken in order, so an
agency registered or a pairing established earlier in the request counts.

The rules, by event type:
- the first registration of an agency: the agency itself, a province whose prefix contains
  its region, admin, or the assisting agency of the pairing named in
  `incubated_by_pairing_id`; a later one: the agency itself, a province containing both its
  current and its new region, admin — never another agency;
- a pairing: a province whose prefix contains both sides, admin; its sides never change;
- workers, projects, clients, visits, activities of agency A: A, a province containing
  A's region, admin; a visit to another agency's client, a client or an activity of
  another agency's project only from an agency that works for it (`works_for`);
- trainings, dispatches and milestones of a pairing: either side, a province containing
  it, admin;
- a certification (obtained or revoked) of a worker of agency A: A, the other side of a
  pairing A belongs to, a province containing A's region, admin. The envelope names A;
  the principal may be A's partner (`CROSS_AGENCY`: the only events an agency sends for
  another agency);
- a retraction: whoever could have sent its target; a retraction is not retractable.
  So a partner may retract a certification of A (its envelope names A, like the
  target's), and nothing else of A's: a target it cannot see is refused, not kept for
  later, since it might turn out to be anything.
"""

from __future__ import annotations

from typing import Any

from services.intake.known import Known
from shared.errors import FieldError, field_error
from shared.events import (
    ActivityHeld,
    AgencyRegistered,
    CertificationObtained,
    CertificationRevoked,
    ClientProfile,
    EventRetracted,
    MilestoneReached,
    PairingEstablished,
    ProjectStarted,
    StaffDispatched,
    TrainingCompleted,
    VisitLogged,
    WorkerRegistered,
)
from shared.tokens import Principal

# The event types an agency may report for another agency (the envelope's agency_id),
# when it is the other side of a pairing with it (SPEC 3.6: a partner who coached a
# worker for the licence reports the certification, or its withdrawal). Every other type
# for another agency is refused for the whole request before anything is read
# (domain.authorize). A retraction passes that door too, and is then allowed only for a
# certification (`_retraction`).
CERTIFICATIONS = frozenset({"certification-obtained", "certification-revoked"})
CROSS_AGENCY = CERTIFICATIONS | {"event-retracted"}

CERTIFICATION = (
    "a certification of a worker of agency {agency!r} comes from that agency, the other side"
    " of a pairing it belongs to, a province containing its region, or admin"
)

PARTNER_RETRACTION = (
    "an agency retracts, for agency {agency!r}, only a certification of one of its workers"
    " that intake holds (sent by either side); anything else of {agency!r}'s is retracted by"
    " that agency, a province containing its region, or admin"
)


def _refuse(path: str, message: str, code: str = "forbidden_reference") -> list[FieldError]:
    return [field_error(path, message, code)]


def decide(principal: Principal, sender: str, payload: object, known: Known) -> list[FieldError]:
    """Errors that refuse one event (empty when the principal may send it)."""
    if isinstance(payload, AgencyRegistered):
        return _registration(principal, sender, payload, known)
    if isinstance(payload, PairingEstablished):
        return _pairing(principal, sender, payload, known)
    if isinstance(payload, (WorkerRegistered, ProjectStarted)):
        return _own_entity(principal, sender, payload, known)
    if isinstance(payload, (ClientProfile, ActivityHeld)):
        return _project_work(sender, payload.project_id, known)
    if isinstance(payload, VisitLogged):
        return _visit(sender, payload, known)
    if isinstance(payload, (TrainingCompleted, StaffDispatched, MilestoneReached)):
        return _pairing_work(principal, sender, payload.pairing_id, known)
    if isinstance(payload, (CertificationObtained, CertificationRevoked)):
        return _certification(principal, sender, known)
    if isinstance(payload, EventRetracted):
        return _retraction(principal, sender, payload, known)
    return []


FIRST_REGISTRATION = (
    "the first registration of an agency comes from the agency itself, a province whose"
    " prefix contains its region_code, admin, or the assisting agency of the pairing named"
    " in incubated_by_pairing_id"
)


def _registration(
    principal: Principal, sender: str, p: AgencyRegistered, known: Known
) -> list[FieldError]:
    pairing = known.pairings.get(p.incubated_by_pairing_id or "")
    if p.incubated_by_pairing_id and pairing is None:
        return _refuse(
            "payload.incubated_by_pairing_id",
            "unknown pairing: establish it before registering the agencies it incubates",
            "unknown_reference",
        )
    incubator = pairing.assisting if pairing else None
    if sender not in (p.agency_id, incubator):
        return _refuse(
            "payload.agency_id",
            "an agency's registration is reported for the agency itself (or, the first time,"
            " by the assisting agency of the pairing that incubated it)",
        )
    current = known.regions.get(p.agency_id)
    if current is None:
        allowed = (
            principal.is_agency(p.agency_id)
            or principal.covers_region(p.region_code)
            or (incubator is not None and principal.is_agency(incubator))
        )
        return [] if allowed else _refuse("payload.agency_id", FIRST_REGISTRATION)
    if principal.is_agency(p.agency_id) or (
        principal.covers_region(current) and principal.covers_region(p.region_code)
    ):
        return []
    return _refuse(
        "payload.agency_id",
        f"agency {p.agency_id!r} is registered (region {current}): a change comes from the"
        " agency itself, a province whose prefix contains both its current and its new"
        " region, or admin; never from another agency",
    )


def _pairing(
    principal: Principal, sender: str, p: PairingEstablished, known: Known
) -> list[FieldError]:
    sides = (p.assisting_agency_id, p.assisted_agency_id)
    if not all(known.covers(principal, side) for side in sides):
        return _refuse(
            "payload.pairing_id",
            "a pairing is established by a province whose prefix contains both sides (both"
            " registered) or by admin; agencies cannot pair themselves",
        )
    existing = known.pairings.get(p.pairing_id)
    if existing is not None and existing.sides() != sides:
        path = "payload.assisting_agency_id"
        if existing.assisting == p.assisting_agency_id:
            path = "payload.assisted_agency_id"
        return _refuse(
            path,
            f"pairing {p.pairing_id!r} is between {existing.assisting!r} and"
            f" {existing.assisted!r}: the sides of a pairing never change (a province over"
            " both sides, or admin, may establish a new pairing)",
        )
    if sender not in sides:
        return _refuse("agency_id", "a pairing is reported for one of its two sides")
    return []


def _own_entity(
    principal: Principal, sender: str, p: WorkerRegistered | ProjectStarted, known: Known
) -> list[FieldError]:
    if p.agency_id != sender or not known.acts_for(principal, p.agency_id):
        return _refuse(
            "payload.agency_id",
            "an agency's workers and projects come from the agency itself, a province"
            " containing its region, or admin",
        )
    if isinstance(p, WorkerRegistered):
        return []
    owner = known.projects.get(p.project_id)
    if owner is not None and owner != p.agency_id:
        return _refuse("payload.project_id", f"project {p.project_id!r} is agency {owner!r}'s")
    pairing = known.pairings.get(p.pairing_id or "")
    if pairing is not None and not (
        p.agency_id in pairing.sides() or known.incubated_by.get(p.agency_id) == p.pairing_id
    ):
        return _refuse(
            "payload.pairing_id",
            "a project is started under a pairing by one of its sides or an agency it incubated",
        )
    return []


def _project_work(sender: str, project_id: str | None, known: Known) -> list[FieldError]:
    owner = known.projects.get(project_id or "")
    if owner is not None and not known.works_for(sender, owner):
        return _refuse(
            "payload.project_id",
            f"project {project_id!r} is agency {owner!r}'s: its clients and activities come"
            " from that agency, the other side of a pairing with it, or the assisting agency"
            " of the pairing that incubated it",
        )
    return []


def _visit(sender: str, p: VisitLogged, known: Known) -> list[FieldError]:
    client_agency = p.client_agency_id or sender
    if not known.works_for(sender, client_agency):
        return _refuse(
            "payload.client_agency_id",
            f"a visit to a client of {client_agency!r} comes from that agency, the other side"
            " of a pairing with it, or the assisting agency of the pairing that incubated it",
        )
    return []


def _pairing_work(
    principal: Principal, sender: str, pairing_id: str, known: Known
) -> list[FieldError]:
    pairing = known.pairings.get(pairing_id)
    if pairing is None:
        return []  # not established yet: kept, and reporting counts only its sides' events
    if sender in pairing.sides() and known.acts_for(principal, sender):
        return []
    return _refuse(
        "payload.pairing_id",
        f"pairing {pairing_id!r}'s trainings, dispatches and milestones come from either side"
        f" ({pairing.assisting!r}, {pairing.assisted!r}), a province containing it, or admin",
    )


def _certification(principal: Principal, sender: str, known: Known) -> list[FieldError]:
    if known.acts_for(principal, sender) or known.partner(principal, sender):
        return []
    return _refuse("agency_id", CERTIFICATION.format(agency=sender))


def refuse_strangers(principal: Principal, subs: list[Any], known: Known) -> None:
    """An agency's events for another agency (the envelope check let only `CROSS_AGENCY`
    types through: certifications and retractions) are refused unless it is that agency's
    partner — before the log is
    consulted, so a stranger never learns from `duplicate` or `conflict` which event ids
    the other agency has used."""
    if principal.role != "agency":
        return
    for sub in subs:
        event = sub.event
        if event is None or sub.status == "rejected" or principal.is_agency(event.agency_id):
            continue
        if not known.partner(principal, event.agency_id):
            says = CERTIFICATION if event.type in CERTIFICATIONS else PARTNER_RETRACTION
            sub.status, sub.errors = (
                "rejected",
                _refuse("agency_id", says.format(agency=event.agency_id)),
            )


def _retraction(
    principal: Principal, sender: str, p: EventRetracted, known: Known
) -> list[FieldError]:
    target = known.targets.get((sender, p.target_event_id))
    if target is not None and isinstance(target.payload, EventRetracted):
        return _refuse(
            "payload.target_event_id",
            "a retraction is not retractable: to restore, send the content again under a new"
            " event id",
            "not_retractable",
        )
    if principal.role == "agency" and not principal.is_agency(sender):
        # A partner, for the agency it is paired with (refuse_strangers let no one else
        # through): only a certification, which it could have sent itself.
        if target is None or target.type not in CERTIFICATIONS:
            return _refuse("payload.target_event_id", PARTNER_RETRACTION.format(agency=sender))
    if target is None:
        return []  # it may arrive later: the consumers apply it then
    if isinstance(target.payload, AgencyRegistered):
        refused = _retract_registration(principal, sender, target.payload, known)
    else:
        refused = decide(principal, sender, target.payload, known)
    if refused:
        return _refuse(
            "payload.target_event_id",
            "an event is retracted by whoever could have sent it: " + refused[0]["message"],
        )
    return []


def _retract_registration(
    principal: Principal, sender: str, p: AgencyRegistered, known: Known
) -> list[FieldError]:
    """The agency itself, a province over the registration's region and the current one,
    admin, or the assisting agency that registered the agency it incubated."""
    current = known.regions.get(p.agency_id, p.region_code)
    if (
        principal.is_agency(p.agency_id)
        or (principal.covers_region(current) and principal.covers_region(p.region_code))
        or (principal.is_agency(sender) and sender != p.agency_id and p.incubated_by_pairing_id)
    ):
        return []
    return _refuse("payload.agency_id", FIRST_REGISTRATION)


def check(principal: Principal, subs: list[Any], known: Known) -> None:
    """Refuse (in place) the events the principal may not send; learn from the others."""
    for sub in subs:
        event = sub.event
        errors = decide(principal, event.agency_id, event.payload, known)
        if errors:
            sub.status, sub.errors = "rejected", errors
        else:
            known.learn(event.agency_id, event.payload)
