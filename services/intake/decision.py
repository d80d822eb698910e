"""What intake decides about a request's events, from what the store loaded: plain rules,
no I/O. The handler runs one request as load (store) -> decide (here) -> record (store).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.intake import authority
from services.intake.domain import (
    InForce,
    Publication,
    Request,
    Submission,
    content,
    fingerprint,
    publication,
    settle_against_log,
    settle_business_keys,
    settle_repeats_within,
    submitter,
)
from services.intake.known import Known
from shared import regions
from shared.events import AgencyRegistered
from shared.tokens import Principal


@dataclass
class Facts:
    """What the rules need to know about a request's events, as the log holds it now."""

    fingerprints: dict[tuple[str, str], bytes] = field(default_factory=dict)  # ids already used
    known: Known = field(default_factory=Known)
    in_force: dict[tuple[str, str], InForce] = field(default_factory=dict)  # by business key
    registrations: dict[str, regions.Registration] = field(default_factory=dict)  # by agency


Decided = list[tuple[Submission, Publication]]


def prepare(request: Request, key: bytes) -> None:
    """Dump every valid event once, fingerprint it (keyed: the content holds personal
    data) and settle the ids repeated within the request."""
    for sub in request.valid:
        assert sub.event is not None
        sub.dump = sub.event.model_dump(mode="json")
        sub.fingerprint = fingerprint(sub.dump, key)
        sub.content = content(sub.dump, key)
    settle_repeats_within(request)


def decide(principal: Principal, request: Request, facts: Facts, now: datetime) -> Decided:
    """Settle every event that is a repeat, a conflict or not the principal's to send; the
    rest are accepted, each with what goes on EVENTS (pending the store's append)."""
    authority.refuse_strangers(principal, request.submissions, facts.known)
    for sub in request.valid:
        if sub.key in facts.fingerprints:
            settle_against_log(sub, facts.fingerprints[sub.key])
    authority.check(principal, request.valid, facts.known)
    settle_business_keys(request.valid, facts.in_force)
    fresh = request.valid
    # A microsecond apart, in request order: a report's as_of (the newest recorded_at
    # reflected) then tells exactly how far into a request it has got.
    times = [now + timedelta(microseconds=i) for i in range(len(fresh))]
    by = submitter(principal).model_dump(mode="json")
    decided: Decided = []
    for sub, region, at in zip(fresh, regions_for(fresh, times, facts), times, strict=True):
        assert sub.event is not None
        sub.status = "accepted"
        decided.append((sub, publication(sub, region, at, by)))
    return decided


def settle_raced(decided: Decided, raced: dict[tuple[str, str], bytes]) -> None:
    """Events a concurrent request stored first (under the same ids) are settled against
    what it stored: a duplicate or a conflict, not accepted twice."""
    for sub, _ in decided:
        if sub.key in raced:
            settle_against_log(sub, raced[sub.key])


def regions_for(subs: list[Submission], times: list[datetime], facts: Facts) -> list[str | None]:
    """The region each event is published under: its agency's region in force by the one
    rule (shared/regions.py), counting the registrations earlier in this request."""
    current = dict(facts.registrations)
    out: list[str | None] = []
    for sub, at in zip(subs, times, strict=True):
        assert sub.event is not None
        payload = sub.event.payload
        if isinstance(payload, AgencyRegistered):
            mine = regions.Registration(
                payload.agency_id, payload.region_code, sub.event.occurred_at, at,
                sub.event.agency_id, sub.event.event_id,
            )  # fmt: skip
            chosen = regions.in_force(r for r in (current.get(payload.agency_id), mine) if r)
            if chosen is not None:
                current[payload.agency_id] = chosen
        found = current.get(sub.event.agency_id)
        out.append(found.region_code if found else None)
    return out
