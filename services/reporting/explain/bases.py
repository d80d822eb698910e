"""What an explain row is for each KPI of the summary (SPEC 3.5, 3.7), and how the rows add
up to the figure. docs/explain.md says the same for people.

Every row carries `value`, what it adds to the figure: the figure is the sum of the values
(of one cell for `kpi.key`, of every cell for a map named without a key), rounded as the
summary rounds it.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.reporting.explain import flows, stocks


@dataclass(frozen=True)
class Rows:
    """The rows behind one KPI: a query over the summary's parameters returning ROW columns."""

    sql: str
    adds: str  # what a reader adds up, in words
    places: int | None = None  # the figure is the sum rounded to this many decimals
    prorated: bool = False  # a row's value is its pairing's share of the target (Python)
    # an open period ("so far") counts what holds on its last day (summary.py)
    on_last_day: bool = False


ONE = "count of rows (each is worth 1)"
SUM = "sum of value"

BASES: dict[str, Rows] = {
    "agencies": Rows(stocks.AGENCIES, ONE),
    "pairings_active": Rows(stocks.PAIRINGS, ONE, on_last_day=True),
    "workers_total": Rows(stocks.WORKERS, ONE),
    "workers_licensed": Rows(stocks.WORKERS_LICENSED, ONE),
    "clients_registered": Rows(stocks.clients(in_difficulty=False), ONE),
    "clients_in_difficulty": Rows(stocks.clients(in_difficulty=True), ONE),
    "clients_served": Rows(flows.clients_served(by_service=False), "count of distinct clients"),
    "clients_served_by_service": Rows(
        flows.clients_served(by_service=True), "count of distinct clients per service"
    ),
    "visits_by_service": Rows(flows.visits("1"), ONE),
    "visit_minutes": Rows(flows.visits("duration_min", cell="''"), "sum of value (minutes)"),
    "activities_by_kind": Rows(flows.activities("1"), ONE),
    "activity_attendance_by_kind": Rows(flows.activities("attendees"), "sum of value (attendees)"),
    "trainings_by_kind": Rows(flows.trainings("1"), ONE),
    "training_attendances": Rows(
        flows.trainings("attendances", cell="''"), "sum of value (distinct attendees)"
    ),
    "training_hours": Rows(flows.trainings("hours", cell="''"), "sum of value (hours)", 2),
    "staff_days_dispatched": Rows(
        flows.STAFF_DAYS, "sum of value (days no earlier dispatch of the worker covered)"
    ),
    "staff_days_target": Rows(
        stocks.PAIRINGS, "sum of value (each pairing's share), to 1 decimal", 1, prorated=True
    ),
    "milestones": Rows(flows.MILESTONES, "count of rows (the list's length)"),
    "visits_scheduled": Rows(flows.slots("scheduled"), "count of distinct slots"),
    "visits_overdue": Rows(flows.slots("overdue"), "count of distinct slots"),
}

# Figures made of others or of no event: explain what they are made of instead.
NOT_EVENTS = {
    "licensed_rate": "a ratio: explain workers_licensed and workers_total",
    "as_of": "the newest recording time, not a count of events",
}
