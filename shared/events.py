"""The event contract (SPEC 3.1, 3.2): the envelope and every payload, in one place.

Two unions share the payload models:
- `IncomingEvent` is what agencies' frontends send to intake (client-registered carries
  personal data);
- `CanonicalEvent` is what lives on the EVENTS stream: the same envelope plus the agency's
  region and intake's recording time, and client-registered without personal data.
"""

from __future__ import annotations

import functools
import re
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar, Union, cast

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    TypeAdapter,
    ValidationInfo,
    create_model,
    model_validator,
)
from pydantic_core import PydanticCustomError, to_jsonable_python

SCHEMA_VERSION = 1

# The id and region patterns, exported for every other place that checks one (query
# parameters, path segments, request bodies): written here only.
IDENT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
# Agency ids become a NATS subject token, so no dots, wildcards or spaces.
AGENCY_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
# GB/T 2260: 6 digits (province 22xxxx, prefecture 2224xx, county 222405); communities 12.
REGION_CODE_PATTERN = r"^[0-9]{6}([0-9]{6})?$"
# A level of the hierarchy: province 22, prefecture 2224, county 222405, community (12).
REGION_PREFIX_PATTERN = r"^[0-9]{2}([0-9]{2}([0-9]{2}([0-9]{6})?)?)?$"

Ident = Annotated[str, StringConstraints(pattern=IDENT_PATTERN)]
AgencyId = Annotated[str, StringConstraints(pattern=AGENCY_ID_PATTERN)]
RegionCode = Annotated[str, StringConstraints(pattern=REGION_CODE_PATTERN)]
RegionPrefix = Annotated[str, StringConstraints(pattern=REGION_PREFIX_PATTERN)]

# Free text is stored, exported and shown: a NUL cannot even be stored in PostgreSQL, and
# other control characters break CSV lines and terminals. Refused with its own error code.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _printable(value: str) -> str:
    if (found := _CONTROL.search(value)) is not None:
        raise PydanticCustomError(
            "control_character",
            "control character U+{code} at position {position}: not allowed in text",
            {"code": f"{ord(found.group()):04X}", "position": found.start()},
        )
    return value


Printable = AfterValidator(_printable)


# Plausible dates (SPEC 3.6 "Time"): every date and time an agency reports lies between
# EARLIEST_DATE and FUTURE_YEARS after intake's today (China time), which intake passes as
# the validation context `today`; without it (decoding the stream) the fixed LATEST_DATE
# bounds what any service can store and convert. A year 9999 or 0001 is a typing error.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2100, 12, 31)
FUTURE_YEARS = 10


@functools.lru_cache(maxsize=16)
def _latest(today: date | None) -> date:
    """The latest plausible day (cached: every date of a request is judged by one today)."""
    if today is None:
        return LATEST_DATE
    return min(LATEST_DATE, today + timedelta(days=round(365.25 * FUTURE_YEARS)))


def _plausible(value: Any, info: ValidationInfo) -> Any:
    day = value.date() if isinstance(value, datetime) else value
    today = (info.context or {}).get("today")
    latest = _latest(today if isinstance(today, date) else None)
    if day < EARLIEST_DATE or day > latest:
        raise PydanticCustomError(
            "implausible_date",
            "{day} is outside the plausible range {earliest} to {latest}",
            {
                "day": day.isoformat(),
                "earliest": EARLIEST_DATE.isoformat(),
                "latest": latest.isoformat(),
            },
        )
    return value


Day = Annotated[date, AfterValidator(_plausible)]
Moment = Annotated[AwareDatetime, AfterValidator(_plausible)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=500), Printable]
Count = Annotated[StrictInt, Field(ge=0, le=1_000_000)]
# A client id is a pseudonym chosen by the agency; refuse anything shaped like a Chinese
# ID number (17 digits + check) or a mobile number, which would leak personal data.
_ID_NUMBER = re.compile(r"^[0-9]{17}[0-9Xx]$")
_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")


def _not_personal(value: str) -> str:
    if _ID_NUMBER.match(value) or _MOBILE.match(value):
        raise ValueError("client_id looks like an ID number or a phone number; use a pseudonym")
    return value


ClientId = Annotated[Ident, AfterValidator(_not_personal)]

Licence = Literal["none", "assistant", "intermediate", "senior"]
Service = Literal[
    "home-medication",
    "psychological-comfort",
    "proxy-shopping",
    "crisis-support",
    "home-care",
    "health-check",
    "other",
]
SERVICES: tuple[str, ...] = Service.__args__  # type: ignore[attr-defined]
ActivityKind = Literal["health-lecture", "group-activity", "community-event"]
TrainingKind = Literal[
    "thematic-training",
    "supervision",
    "experience-sharing",
    "demonstration",
    "online-guidance",
    "field-visit",
    "exam-coaching",
]
ACTIVITY_KINDS: tuple[str, ...] = ActivityKind.__args__  # type: ignore[attr-defined]
TRAINING_KINDS: tuple[str, ...] = TrainingKind.__args__  # type: ignore[attr-defined]
Milestone = Literal[
    "agency-registered", "systems-established", "project-undertaken", "methods-mastered"
]
Circumstance = Literal["living-alone", "left-behind", "disabled", "low-income", "chronic-illness"]


class Contract(BaseModel):
    """Base of every contract model: unknown fields are an error, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class AgencyRegistered(Contract):
    agency_id: AgencyId
    name: Text
    region_code: RegionCode
    role: Literal["assisting", "assisted", "community"]
    registered_on: Day
    incubated_by_pairing_id: Ident | None = None


class PairingTargets(Contract):
    staff_days_per_year: Count
    agencies_to_incubate: Count
    projects_to_undertake: Count


class PairingEstablished(Contract):
    pairing_id: Ident
    assisting_agency_id: AgencyId
    assisted_agency_id: AgencyId
    starts_on: Day
    ends_on: Day | None = None
    targets: PairingTargets

    @model_validator(mode="after")
    def _ends_after_start(self) -> PairingEstablished:
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self


class WorkerRegistered(Contract):
    worker_id: Ident
    agency_id: AgencyId
    role: Literal["social-worker", "volunteer", "manager"]
    licence: Licence
    languages: Annotated[
        list[Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]], Field(max_length=10)
    ]


class CertificationObtained(Contract):
    worker_id: Ident
    licence: Licence
    obtained_on: Day


class CertificationRevoked(Contract):
    """A licence withdrawn (SPEC 3.2, 3.6 "Time"): from revoked_on the worker no longer
    holds it. Sent by the same principals as certification-obtained."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "worker_id": "yh-w-0001",
                    "licence": "assistant",
                    "revoked_on": "2020-03-01",
                    "reason": "licence not renewed",
                }
            ]
        }
    )

    worker_id: Ident
    licence: Licence
    revoked_on: Day
    reason: Text


class ProjectStarted(Contract):
    project_id: Ident
    agency_id: AgencyId
    pairing_id: Ident | None = None
    name: Text
    target_group: Text
    starts_on: Day


class ClientProfile(Contract):
    """client-registered as it leaves intake: the pseudonymous id, no personal data."""

    client_id: ClientId
    project_id: Ident | None = None
    birth_year: Annotated[StrictInt, Field(ge=1890, le=2100)]
    sex: Literal["female", "male", "other", "unknown"]
    ethnicity: Annotated[str, StringConstraints(min_length=1, max_length=40), Printable]
    circumstances: Annotated[list[Circumstance], Field(max_length=10)]
    in_difficulty: StrictBool


PERSONAL_FIELDS = ("name", "id_number", "phone")


class ClientRegistered(ClientProfile):
    """client-registered as an agency sends it: with personal data, which stays in intake."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=100), Printable]
    id_number: Annotated[str, StringConstraints(pattern=r"^[0-9]{17}[0-9Xx]$")] | None = None
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9][0-9 -]{4,19}$")] | None = None

    def profile(self) -> ClientProfile:
        """The same client without personal data."""
        return ClientProfile.model_validate(self.model_dump(exclude=set(PERSONAL_FIELDS)))


class VisitLogged(Contract):
    visit_id: Ident
    client_id: ClientId
    worker_id: Ident
    service: Service
    started_at: Moment
    duration_min: Annotated[StrictInt, Field(ge=1, le=24 * 60)]
    plan_id: Ident | None = None
    # The client's agency when it is not the sender's (SPEC 3.6: assisting staff visit the
    # assisted side's clients); a client is always (client's agency, client_id).
    client_agency_id: AgencyId | None = None


class ActivityHeld(Contract):
    activity_id: Ident
    project_id: Ident | None = None
    kind: ActivityKind
    title: Text
    held_on: Day
    attendees: Count


class TrainingCompleted(Contract):
    training_id: Ident
    pairing_id: Ident
    kind: TrainingKind
    held_on: Day
    hours: Annotated[float, Field(gt=0, le=1000, strict=False)]
    trainer_agency_id: AgencyId
    attendee_worker_ids: Annotated[list[Ident], Field(max_length=1000)]


class StaffDispatched(Contract):
    dispatch_id: Ident
    pairing_id: Ident
    worker_id: Ident
    from_date: Day
    to_date: Day

    @model_validator(mode="after")
    def _to_after_from(self) -> StaffDispatched:
        if self.to_date < self.from_date:
            raise ValueError("to_date is before from_date")
        return self

    @property
    def staff_days(self) -> int:
        """Inclusive day count: a dispatch from the 1st to the 3rd is 3 staff-days."""
        return (self.to_date - self.from_date).days + 1


class MilestoneReached(Contract):
    pairing_id: Ident
    milestone: Milestone
    reached_on: Day
    agency_id: AgencyId | None = None


class EventRetracted(Contract):
    target_event_id: Ident
    reason: Text


class VisitSlot(Contract):
    """What scheduling says about one visit slot of a care plan."""

    agency_id: AgencyId  # the client's agency (the sender is the scheduling service)
    slot_id: Ident
    plan_id: Ident
    client_id: ClientId
    service: Service
    worker_id: Ident | None
    window_end: AwareDatetime


class VisitScheduled(VisitSlot):
    window_start: AwareDatetime


class VisitOverdue(VisitSlot):
    pass


class ReportPublished(Contract):
    region: RegionPrefix
    period: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}(-(Q[1-4]|[0-9]{2}))?$")]
    published_by: Annotated[str, StringConstraints(min_length=1, max_length=80), Printable]
    summary: dict[str, Any]


Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class ApprovalScope(Contract):
    """What an approval covers: a region (prefix) or a pairing, exactly one."""

    region: RegionPrefix | None = None
    pairing: Ident | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ApprovalScope:
        if (self.region is None) == (self.pairing is None):
            raise ValueError("name exactly one of region and pairing")
        return self


class PeriodApproved(Contract):
    """A province (or admin) approved a scope's figures for a period (SPEC 3.9); emitted
    by reporting under its reserved sender. `figures` is the approved summary (no personal
    data), `fingerprint` the sha256 of its canonical JSON, `stream_seq` and `watermark`
    the EVENTS position and the newest recorded_at the figures reflect."""

    # `from` and `to` are Python keywords: the fields are from_/to_ in code, from/to on
    # the wire (both accepted when read).
    model_config = ConfigDict(
        validate_by_name=True, validate_by_alias=True, serialize_by_alias=True
    )

    approval_id: Ident
    scope: ApprovalScope
    from_: Day = Field(alias="from")
    to_: Day = Field(alias="to")
    fingerprint: Sha256Hex
    figures: dict[str, Any]
    stream_seq: Annotated[StrictInt, Field(ge=0)]
    watermark: AwareDatetime | None
    approver: Annotated[str, StringConstraints(min_length=1, max_length=80), Printable]
    supersedes: Ident | None = None

    @model_validator(mode="after")
    def _to_after_from(self) -> PeriodApproved:
        if self.to_ < self.from_:
            raise ValueError("to is before from")
        return self


# type name -> payload model, for what agencies send and for what services emit.
AGENCY_PAYLOADS: dict[str, type[Contract]] = {
    "agency-registered": AgencyRegistered,
    "pairing-established": PairingEstablished,
    "worker-registered": WorkerRegistered,
    "certification-obtained": CertificationObtained,
    "certification-revoked": CertificationRevoked,
    "project-started": ProjectStarted,
    "client-registered": ClientRegistered,
    "visit-logged": VisitLogged,
    "activity-held": ActivityHeld,
    "training-completed": TrainingCompleted,
    "staff-dispatched": StaffDispatched,
    "milestone-reached": MilestoneReached,
    "event-retracted": EventRetracted,
}
SERVICE_PAYLOADS: dict[str, type[Contract]] = {
    "visit-scheduled": VisitScheduled,
    "visit-overdue": VisitOverdue,
    "report-published": ReportPublished,
    "period-approved": PeriodApproved,
}
AGENCY_EVENT_TYPES = tuple(AGENCY_PAYLOADS)
# Senders reserved for the services' own events: no agency may use these ids, so no agency
# can forge, pre-empt (same event id) or retract what the services emit.
SERVICE_SENDERS = ("scheduling", "reporting", "intake")
EVENT_TYPES = AGENCY_EVENT_TYPES + tuple(SERVICE_PAYLOADS)


class Envelope(Contract):
    """SPEC 3.1. `event_id` is the publisher's idempotency key, unique per agency."""

    event_id: Ident
    type: str
    schema_version: Literal[1]
    agency_id: AgencyId
    occurred_at: Moment
    payload: Contract


E = TypeVar("E", bound="Envelope")


class Submitter(Contract):
    """Who submitted an event (SPEC 3.6): an agency (its id), a province (its region
    prefix), admin, or a service emitting its own events (its name)."""

    kind: Literal["agency", "province", "admin", "service"]
    id: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class Canonical(Envelope):
    """An event as stored and published by intake (or emitted by a service)."""

    region_code: RegionPrefix | Literal["unassigned"]
    recorded_at: AwareDatetime
    # Absent only on events recorded before intake kept it.
    submitted_by: Submitter | None = None


def _variant(base: type[E], type_name: str, payload: type[Contract]) -> type[E]:
    name = "".join(part.title() for part in type_name.split("-")) + base.__name__
    fields: dict[str, Any] = {"type": (Literal[type_name], ...), "payload": (payload, ...)}
    return cast(type[E], create_model(name, __base__=base, **fields))


_INCOMING = {t: _variant(Envelope, t, p) for t, p in AGENCY_PAYLOADS.items()}
_CANONICAL_PAYLOADS: dict[str, type[Contract]] = {
    **AGENCY_PAYLOADS,
    "client-registered": ClientProfile,
    **SERVICE_PAYLOADS,
}
_CANONICAL = {t: _variant(Canonical, t, p) for t, p in _CANONICAL_PAYLOADS.items()}

# Discriminated on `type`: validation goes straight to the one model the tag names, and
# errors are reported under that model's field paths.
IncomingEvent: Any = Annotated[Union[tuple(_INCOMING.values())], Field(discriminator="type")]  # noqa: UP007
CanonicalEvent: Any = Annotated[Union[tuple(_CANONICAL.values())], Field(discriminator="type")]  # noqa: UP007

incoming_events: TypeAdapter[Envelope] = TypeAdapter(IncomingEvent)
canonical_events: TypeAdapter[Canonical] = TypeAdapter(CanonicalEvent)


def canonical_model(type_name: str) -> type[Canonical]:
    """The canonical envelope model of one type (for documents that name one)."""
    return _CANONICAL[type_name]


def canonical_of(
    event: Envelope, region_code: str, recorded_at: datetime, submitted_by: Submitter | None = None
) -> Canonical:
    """The canonical form of an accepted incoming event: personal data removed."""
    payload = event.payload
    if isinstance(payload, ClientRegistered):
        payload = payload.profile()
    model = _CANONICAL[event.type]
    return model(
        event_id=event.event_id,
        type=event.type,
        schema_version=event.schema_version,
        agency_id=event.agency_id,
        occurred_at=event.occurred_at,
        payload=payload,
        region_code=region_code,
        recorded_at=recorded_at,
        submitted_by=submitted_by,
    )


def canonical_json(
    incoming: dict[str, Any],
    region_code: str,
    recorded_at: datetime,
    submitted_by: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`canonical_of(...).model_dump(mode="json")`, built from the incoming event's own JSON
    dump (`model_dump(mode="json")` of a validated event) and the submitter's, instead of a
    second model: intake dumps each event once for its fingerprint, content hash and
    canonical body, and the submitter once per request (#19)."""
    payload = incoming["payload"]
    if incoming["type"] == "client-registered":
        payload = {k: v for k, v in payload.items() if k not in PERSONAL_FIELDS}
    return {
        **incoming,
        "payload": payload,
        "region_code": region_code,
        "recorded_at": to_jsonable_python(recorded_at),
        "submitted_by": submitted_by,
    }


def service_event(
    event_id: str, payload: Contract, agency_id: str, region_code: str, at: datetime
) -> Canonical:
    """A canonical event emitted by a service itself (visit-scheduled, visit-overdue…)."""
    type_name = next(t for t, p in SERVICE_PAYLOADS.items() if isinstance(payload, p))
    return _CANONICAL[type_name](
        event_id=event_id,
        type=type_name,
        schema_version=SCHEMA_VERSION,
        agency_id=agency_id,
        occurred_at=at,
        payload=payload,
        region_code=region_code,
        recorded_at=at,
        submitted_by=Submitter(kind="service", id=agency_id),
    )


def upcast(raw: dict[str, Any]) -> dict[str, Any]:
    """Bring an older schema_version up to the current one before validation.

    Version 1 is the only version so far; a future version adds its step here, tested
    against stored examples of the old shape.
    """
    return raw
