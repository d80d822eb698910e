"""Every KPI of the summary (SPEC 3.5), declared once: its name, its zh-CN label, what it
counts, and whether it counts people (then small cells are suppressed in exports).

The summary's field order, the CSV and XLSX headers, the dashboard's labels and the
suppression rules all read this registry. Adding a KPI is one entry here (with `sql` for a
plain count over one fact table, else its query in summary.py) and, for a new event, its
fact table (docs/adding.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from shared.events import ACTIVITY_KINDS, SERVICES, TRAINING_KINDS
from shared.labels import VALUE_ZH

Shape = Literal["count", "map", "rate", "number", "list", "stamp"]


@dataclass(frozen=True)
class Kpi:
    name: str
    label: str  # zh-CN, as exports and the dashboard show it
    counts: str  # what the figure is, for people reading the code or docs
    shape: Shape = "count"
    people: bool = False  # counts people (or visits to them): 1 to 4 shown as <5
    # Suppression reads these to know what a reader can subtract (suppression.py):
    stock: bool = False  # counts what exists by the period's end, not what happened in it
    part_of: str | None = None  # a subset of this KPI's count (a map: each cell is)
    sums_over: str | None = None  # adds up over what this people map counts (minutes of visits)
    cells: Mapping[str, str] = field(default_factory=dict)  # a map's keys -> zh-CN header
    rate_of: tuple[str, str] | None = None  # (numerator, denominator) of a rate
    # For a count over one fact table in the period: SQL returning one number, taking the
    # summary's parameters ($1 agencies or NULL, $2 start, $3 end, $4 pairing, $5 project).
    sql: str | None = None

    def header(self, key: str = "") -> str:
        """The zh-CN column header of the KPI, or of one cell of a map KPI."""
        return self.cells[key] if key else self.label


def _cells(label: str, values: tuple[str, ...], enumeration: str) -> dict[str, str]:
    """A map KPI's cells: one per contract value, headed `label:value's zh-CN label`."""
    return {v: f"{label}:{VALUE_ZH[enumeration][v]}" for v in values}


KPIS: tuple[Kpi, ...] = (
    Kpi(
        "agencies",
        "机构数",
        "agencies registered by the period's end, by role; incubated ones by their pairing",
        shape="map",
        cells={"assisting": "援助机构数", "assisted": "受援机构数", "incubated": "孵化机构数"},
    ),
    Kpi("pairings_active", "在行结对数", "pairings whose span overlaps the period"),
    Kpi(
        "workers_total",
        "社工总数",
        "workers registered by the period's end",
        people=True,
        stock=True,
    ),
    Kpi(
        "workers_licensed",
        "持证社工数",
        "of them, holding a licence then",
        people=True,
        stock=True,
        part_of="workers_total",
    ),
    Kpi(
        "licensed_rate",
        "持证率",
        "workers_licensed / workers_total",
        shape="rate",
        rate_of=("workers_licensed", "workers_total"),
    ),
    Kpi(
        "clients_registered",
        "登记服务对象数",
        "clients registered by the period's end",
        people=True,
        stock=True,
    ),
    Kpi(
        "clients_in_difficulty",
        "困境服务对象数",
        "of them, in difficulty",
        people=True,
        stock=True,
        part_of="clients_registered",
    ),
    Kpi(
        "clients_served", "已服务对象数", "distinct clients with a visit in the period", people=True
    ),
    Kpi(
        "clients_served_by_service",
        "服务对象数",
        "distinct clients visited, per service",
        shape="map",
        people=True,
        part_of="clients_served",
        cells=_cells("服务对象数", SERVICES, "service"),
    ),
    Kpi(
        "visits_by_service",
        "上门次数",
        "visits logged in the period, per service",
        shape="map",
        people=True,
        cells=_cells("上门次数", SERVICES, "service"),
    ),
    Kpi(
        "visit_minutes",
        "上门服务分钟数",
        "minutes of those visits",
        sums_over="visits_by_service",
    ),
    Kpi(
        "activities_by_kind",
        "活动场次",
        "activities held in the period, per kind",
        shape="map",
        cells=_cells("活动场次", ACTIVITY_KINDS, "activity_kind"),
    ),
    Kpi(
        "activity_attendance_by_kind",
        "活动人次",
        "attendees of those activities, per kind",
        shape="map",
        people=True,
        cells=_cells("活动人次", ACTIVITY_KINDS, "activity_kind"),
    ),
    Kpi(
        "trainings_by_kind",
        "培训次数",
        "trainings held in the period, per kind",
        shape="map",
        cells=_cells("培训次数", TRAINING_KINDS, "training_kind"),
    ),
    Kpi(
        "training_attendances", "培训人次", "distinct workers at each training, summed", people=True
    ),
    Kpi("training_hours", "培训小时数", "hours of those trainings", shape="number"),
    Kpi("staff_days_dispatched", "派驻人日", "staff-days of dispatches inside the period"),
    Kpi(
        "staff_days_target",
        "派驻人日目标",
        "the pairings' yearly targets, each programme year in the share the period covers",
        shape="number",
    ),
    Kpi("milestones", "里程碑", "milestones reached in the period", shape="list"),
    Kpi("visits_scheduled", "计划上门次数", "visit slots scheduled in the period", people=True),
    Kpi(
        "visits_overdue",
        "逾期上门次数",
        "of them, overdue",
        people=True,
        part_of="visits_scheduled",
    ),
    Kpi("as_of", "数据截至", "the newest event the figures reflect", shape="stamp"),
)

BY_NAME: dict[str, Kpi] = {k.name: k for k in KPIS}
# Suppression: counts of people, as single figures and as maps of them.
PEOPLE_COUNTS = tuple(k.name for k in KPIS if k.people and k.shape == "count")
PEOPLE_MAPS = tuple(k.name for k in KPIS if k.people and k.shape == "map")
RATES = tuple(k for k in KPIS if k.rate_of is not None)
# Everything suppression may hide: counts of people, and sums over them (minutes of visits).
SUPPRESSIBLE = tuple(k.name for k in KPIS if k.people or k.sums_over)
MAPS = {k.name: tuple(k.cells) for k in KPIS if k.shape == "map"}
PLAIN = tuple(k for k in KPIS if k.sql is not None)  # counted by their own SQL


def label(column: str) -> str:
    """The zh-CN header of a column: a KPI (`clients_served`) or a cell (`agencies.assisted`)."""
    name, _, key = column.partition(".")
    kpi = BY_NAME.get(name)
    if kpi is None or (key and key not in kpi.cells):
        return column
    return kpi.header(key)
