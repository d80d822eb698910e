"""Scheduling's Prometheus metrics. Counters count what this process did; the gauge is
refreshed from the database by the sweeper, so every process reports the same totals."""

from prometheus_client import Counter, Gauge

SLOTS_SCHEDULED = Counter(
    "qianshou_scheduling_slots_scheduled_total",
    "Visit slots made from care plans, by whether a worker was assigned",
    ["assigned"],
)
CONFLICTS = Counter(
    "qianshou_scheduling_conflicts_total",
    "Slots no worker could take, by reason",
    ["reason"],
)
VISITS_OVERDUE = Counter(
    "qianshou_scheduling_visits_overdue_total",
    "Slots whose window ended without a logged visit (turned overdue by this process)",
)
SLOTS = Gauge(
    "qianshou_scheduling_slots",
    "Visit slots by status: due, unassigned, overdue, done",
    ["status"],
)
