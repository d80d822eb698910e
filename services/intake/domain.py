"""Intake's rules, without I/O: what a request holds, who may send it, what each event's
outcome is, and how the answer is shaped."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import orjson

from services.intake.authority import CROSS_AGENCY
from shared.errors import FieldError, Forbidden, Malformed, TooLarge, field_error
from shared.events import (
    SERVICE_SENDERS,
    AgencyRegistered,
    Envelope,
    Submitter,
    canonical_json,
)
from shared.identity import business_key
from shared.subjects import UNASSIGNED_REGION, event, msg_id
from shared.tokens import Principal
from shared.validation import intake_today, validate_incoming

MAX_BATCH = 1000
Status = Literal["accepted", "duplicate", "conflict", "rejected"]


@dataclass
class Submission:
    """One event of a request: the raw value, the validated event (if valid), the outcome."""

    raw: Any
    event: Envelope | None
    errors: list[FieldError]
    status: Status | None = None
    fingerprint: bytes = b""
    content: bytes = b""  # keyed hash of the payload alone: equal for the same fact re-sent
    # The event's one JSON dump (decision.prepare): its fingerprint, its content hash and
    # its canonical body are all made from it, so a request dumps each event once.
    dump: dict[str, Any] = field(default_factory=dict)
    duplicate_of: tuple[str, str] | None = None  # the event with the same business key

    @property
    def event_id(self) -> str | None:
        if self.event is not None:
            return self.event.event_id
        value = self.raw.get("event_id") if isinstance(self.raw, dict) else None
        return value if isinstance(value, str) else None

    # Computed once (a request asks each event's keys a dozen times; the event never
    # changes). Plain attributes: functools.cached_property takes a lock on every read.
    _key: tuple[str, str] | None = field(default=None, init=False, repr=False)
    _business_key: tuple[str, str] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.event is not None:
            self._key = self.event.agency_id, self.event.event_id
            self._business_key = business_key(self.event.agency_id, self.event.payload)

    @property
    def key(self) -> tuple[str, str]:
        assert self._key is not None, "valid events only"
        return self._key

    @property
    def business_key(self) -> tuple[str, str] | None:
        assert self._key is not None, "valid events only"
        return self._business_key

    def result(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "event_id": self.event_id,
            "status": self.status,
            "errors": self.errors,
        }
        if self.duplicate_of is not None:
            out["duplicate_of"] = {
                "agency_id": self.duplicate_of[0],
                "event_id": self.duplicate_of[1],
            }
        return out


@dataclass
class Request:
    """A decoded request body: one envelope or an array of them."""

    submissions: list[Submission]
    single: bool
    agencies: set[str] = field(default_factory=set)

    @property
    def valid(self) -> list[Submission]:
        return [s for s in self.submissions if s.event is not None and s.status is None]


def parse_request(body: Any) -> Request:
    """Validate every event of a decoded body; the body itself must be an object or array."""
    if isinstance(body, dict):
        items, single = [body], True
    elif isinstance(body, list):
        items, single = body, False
        if not items:
            raise Malformed("an empty array holds no events")
        if len(items) > MAX_BATCH:
            raise TooLarge(f"at most {MAX_BATCH} events per request")
    else:
        raise Malformed("the body must be an event object or an array of them")
    submissions = []
    today = intake_today()  # once per request: every date is judged against the same day
    for raw in items:
        event, errors = validate_incoming(raw, today)
        sub = Submission(raw=raw, event=event, errors=errors)
        if event is None:
            sub.status = "rejected"
        submissions.append(sub)
    request = Request(submissions=submissions, single=single)
    request.agencies = {s.event.agency_id for s in request.valid if s.event}
    return request


def registered_regions(request: Request) -> dict[str, str]:
    """Regions that the request itself registers for its own publishers."""
    out = {}
    for sub in request.valid:
        payload = sub.event.payload if sub.event else None
        if isinstance(payload, AgencyRegistered) and payload.agency_id == sub.event.agency_id:  # type: ignore[union-attr]
            out[payload.agency_id] = payload.region_code
    return out


def authorize(principal: Principal, request: Request, regions: dict[str, str]) -> None:
    """Every event must be the caller's: its own agency, or inside a province's region.
    An agency may also report the `CROSS_AGENCY` types for another agency: whether it is
    that agency's partner is decided per event (authority.py), with the pairings known."""
    for agency_id in sorted(request.agencies):
        if agency_id in SERVICE_SENDERS:
            raise Forbidden(f"{agency_id!r} is reserved for the services")
        if principal.may_act_for(agency_id, regions.get(agency_id)):
            continue
        if principal.role == "agency" and _only_cross_agency(request, agency_id):
            continue
        raise Forbidden(f"not allowed to publish for agency {agency_id!r}")


def _only_cross_agency(request: Request, agency_id: str) -> bool:
    return all(
        s.event.type in CROSS_AGENCY
        for s in request.valid
        if s.event is not None and s.event.agency_id == agency_id
    )


def fingerprint(dump: dict[str, Any], key: bytes) -> bytes:
    """A keyed hash of the event's content (its JSON dump): equal for a re-sent event,
    different for a changed one. Keyed, because the content includes personal data."""
    content = orjson.dumps(dump, option=orjson.OPT_SORT_KEYS)
    return hmac.digest(key, content, hashlib.sha256)


def content(dump: dict[str, Any], key: bytes) -> bytes:
    """A keyed hash of the payload alone: what makes a re-sent fact or entity the same
    one under a new event id (SPEC 3.6, business identity)."""
    body = orjson.dumps(dump["payload"], option=orjson.OPT_SORT_KEYS)
    return hmac.digest(key, dump["type"].encode() + b"\0" + body, hashlib.sha256)


@dataclass(frozen=True)
class InForce:
    """The event in force for a business key: its key and content hash."""

    agency_id: str
    event_id: str
    content: bytes


def settle_business_keys(subs: list[Submission], in_force: dict[tuple[str, str], InForce]) -> None:
    """An event whose business key names something with identical content is a duplicate
    naming the event it repeats; different content goes on (a correction or a change).
    Taken in order, so a fact repeated within one request counts once too."""
    current = dict(in_force)
    for sub in subs:
        key = sub.business_key
        if key is None:
            continue
        found = current.get(key)
        if found is not None and hmac.compare_digest(found.content, sub.content):
            sub.status, sub.duplicate_of = "duplicate", (found.agency_id, found.event_id)
        else:
            current[key] = InForce(sub.key[0], sub.key[1], sub.content)


def settle_repeats_within(request: Request) -> None:
    """An id that occurs twice in one request: the first counts, the others are repeats."""
    seen: dict[tuple[str, str], bytes] = {}
    for sub in request.valid:
        first = seen.get(sub.key)
        if first is None:
            seen[sub.key] = sub.fingerprint
        else:
            sub.status = "duplicate" if first == sub.fingerprint else "conflict"
            if sub.status == "conflict":
                sub.errors = [_conflict_error()]


def settle_against_log(sub: Submission, stored_fingerprint: bytes) -> None:
    """The event id is already in the log: the same content is a duplicate, else a conflict."""
    if hmac.compare_digest(stored_fingerprint, sub.fingerprint):
        sub.status = "duplicate"
    else:
        sub.status = "conflict"
        sub.errors = [_conflict_error()]


def _conflict_error() -> FieldError:
    return field_error(
        "event_id", "this event id was already used with different content", "conflict"
    )


@dataclass(frozen=True)
class Publication:
    """What the log and the outbox hold for one accepted event: the incoming event (personal
    data included: it never leaves intake), where it was placed, and its canonical body."""

    event: Envelope
    region_code: str
    recorded_at: datetime
    subject: str
    msg_id: str
    body: bytes  # the canonical event's JSON (shared/events.py canonical_json)


def submitter(principal: Principal) -> Submitter:
    kind, ident = principal.kind_and_id
    return Submitter(kind=kind, id=ident)


def publication(
    sub: Submission,
    region_code: str | None,
    recorded_at: datetime,
    submitted_by: dict[str, Any] | None = None,
) -> Publication:
    """The canonical form of an accepted event (from its one dump) and where it goes on
    EVENTS; `submitted_by` is the submitter's JSON (one dump for the whole request)."""
    incoming = sub.event
    assert incoming is not None and sub.dump, "prepared submissions only"
    region = region_code or UNASSIGNED_REGION
    body = orjson.dumps(canonical_json(sub.dump, region, recorded_at, submitted_by))
    return Publication(
        event=incoming,
        region_code=region,
        recorded_at=recorded_at,
        subject=event(region, incoming.agency_id, incoming.type),
        msg_id=msg_id(incoming.agency_id, incoming.event_id),
        body=body,
    )


def response_status(request: Request) -> int:
    """422 when nothing in the request was valid; 409 for a lone conflict; else 200."""
    statuses = {s.status for s in request.submissions}
    if statuses == {"rejected"}:
        return 422
    if request.single and statuses == {"conflict"}:
        return 409
    return 200


def answer(request: Request) -> tuple[int, Any]:
    """The status and body both front doors answer a settled request with."""
    return response_status(request), response_body(request)


def response_body(request: Request) -> Any:
    results = [s.result() for s in request.submissions]
    return results[0] if request.single else results


def require_type(request: Request, subject_type: str) -> None:
    """Over NATS the subject names the type; an event of another type is rejected."""
    for sub in request.valid:
        if sub.event is not None and sub.event.type != subject_type:
            sub.status = "rejected"
            sub.errors = [
                field_error(
                    "type", f"published on the subject of type {subject_type!r}", "subject_mismatch"
                )
            ]
