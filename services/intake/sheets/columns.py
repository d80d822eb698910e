"""The columns of each spreadsheet type, derived from the contract's payload models
(shared/events.py) so that a new field appears in its template and importer by itself.

Flattening: a nested model becomes one column per field with a dotted name
(`targets.staff_days_per_year`); a list becomes one cell holding its items separated by
、 (or , ; and spaces). Besides the payload's fields every sheet has `occurred_at`, the
envelope's time: optional where the payload has a date of its own (the event happened
then), required for registrations of workers and clients, which have none. Fields naming
the sender's own agency (`agency_id` of a worker, project, or agency registration) may be
left empty: the import's agency fills them."""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel

from shared.events import AGENCY_PAYLOADS, PERSONAL_FIELDS
from shared.labels import field_label, value_labels

Kind = Literal["text", "int", "float", "bool", "date", "datetime", "enum", "list", "enum-list"]
OCCURRED_AT = "occurred_at"


@dataclass(frozen=True)
class Column:
    path: str  # the contract's field (dotted when nested); also the row-2 header
    label: str  # zh-CN, the row-1 header
    kind: Kind
    required: bool
    choices: tuple[str, ...] = ()  # contract values of an enumeration
    choice_labels: dict[str, str] = field(default_factory=dict)  # value -> zh-CN
    personal: bool = False  # never echoed back in an error message
    own_agency: bool = False  # empty means the import's agency


@dataclass(frozen=True)
class SheetType:
    """One kind of spreadsheet: its name in URLs, the event type its rows become, its
    columns, the fields of its business key (SPEC 3.6) and the payload date that stands
    for occurred_at when that column is empty."""

    name: str
    event_type: str
    title: str  # zh-CN, for the sheet tab and instructions
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    date_field: str | None

    def column(self, path: str) -> Column | None:
        return next((c for c in self.columns if c.path == path), None)


# name in URLs -> (event type, zh-CN title, business key, payload date for occurred_at)
_TYPES: dict[str, tuple[str, str, tuple[str, ...], str | None]] = {
    "registrations": ("agency-registered", "机构登记", ("agency_id",), "registered_on"),
    "pairings": ("pairing-established", "结对关系", ("pairing_id",), "starts_on"),
    "workers": ("worker-registered", "社工登记", ("worker_id",), None),
    "certifications": (
        "certification-obtained",
        "职业资格取得",
        ("worker_id", "licence"),
        "obtained_on",
    ),
    "projects": ("project-started", "项目启动", ("project_id",), "starts_on"),
    "clients": ("client-registered", "服务对象登记", ("client_id",), None),
    "visits": ("visit-logged", "上门服务记录", ("visit_id",), "started_at"),
    "activities": ("activity-held", "活动签到", ("activity_id",), "held_on"),
    "trainings": ("training-completed", "培训记录", ("pairing_id", "training_id"), "held_on"),
    "dispatches": ("staff-dispatched", "人员派驻", ("pairing_id", "dispatch_id"), "from_date"),
    "milestones": ("milestone-reached", "里程碑", ("pairing_id", "milestone"), "reached_on"),
    "revocations": (
        "certification-revoked",
        "职业资格撤销",
        ("worker_id", "licence"),
        "revoked_on",
    ),
    # A correction (SPEC 3.2): no date of its own, so occurred_at (when it was decided) is
    # required; a target retracted twice from one file is a repeated row.
    "retractions": ("event-retracted", "撤回更正", ("target_event_id",), None),
}
# Payload fields that name the sending agency itself.
_OWN_AGENCY = {
    ("agency-registered", "agency_id"),
    ("worker-registered", "agency_id"),
    ("project-started", "agency_id"),
}


def _unwrap(tp: Any) -> tuple[Any, bool]:
    """(the type without Annotated/Optional, whether None is allowed)."""
    optional = False
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            optional = optional or len(args) < len(typing.get_args(tp))
            if len(args) != 1:
                raise TypeError(f"no spreadsheet column for the union {tp!r}")
            tp = args[0]
        else:
            return tp, optional


def _scalar(tp: Any) -> tuple[Kind, tuple[str, ...]]:
    if typing.get_origin(tp) is Literal:
        return "enum", tuple(typing.get_args(tp))
    if tp is AwareDatetime or tp is datetime:
        return "datetime", ()
    if tp is date:
        return "date", ()
    if tp is bool:
        return "bool", ()
    if tp is int:
        return "int", ()
    if tp is float:
        return "float", ()
    if tp is str:
        return "text", ()
    raise TypeError(f"no spreadsheet column for {tp!r}")


def _columns(event_type: str, model: type[BaseModel], prefix: str = "") -> list[Column]:
    out: list[Column] = []
    for name, info in model.model_fields.items():
        path = prefix + name
        tp, optional = _unwrap(info.annotation)
        required = info.is_required() and not optional
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            out += _columns(event_type, tp, path + ".")
            continue
        if typing.get_origin(tp) is list:
            item, _ = _unwrap(typing.get_args(tp)[0])
            kind, choices = _scalar(item)
            kind = "enum-list" if kind == "enum" else "list"
        else:
            kind, choices = _scalar(tp)
        own = (event_type, path) in _OWN_AGENCY
        out.append(
            Column(
                path=path,
                label=field_label(event_type, path),
                kind=kind,
                required=required and not own,
                choices=choices,
                choice_labels=value_labels(choices) if choices else {},
                personal=path in PERSONAL_FIELDS and event_type == "client-registered",
                own_agency=own,
            )
        )
    return out


def _sheet_type(name: str) -> SheetType:
    event_type, title, key, date_field = _TYPES[name]
    columns = _columns(event_type, AGENCY_PAYLOADS[event_type])
    columns.append(
        Column(
            path=OCCURRED_AT,
            label=field_label(event_type, OCCURRED_AT),
            kind="datetime",
            required=date_field is None,
        )
    )
    return SheetType(name, event_type, title, tuple(columns), key, date_field)


# A sheet per agency event type (SPEC 3.8); a type leaving the contract leaves here too.
SHEET_TYPES: dict[str, SheetType] = {
    name: _sheet_type(name) for name, spec in _TYPES.items() if spec[0] in AGENCY_PAYLOADS
}


def sheet_type(name: str) -> SheetType | None:
    """By its URL name (`visits`) or by its event type (`visit-logged`)."""
    found = SHEET_TYPES.get(name)
    return found or next((s for s in SHEET_TYPES.values() if s.event_type == name), None)
