"""Intake's Prometheus metrics."""

from prometheus_client import Counter

EVENTS = Counter(
    "qianshou_intake_events_total",
    "Events received by intake, by outcome",
    ["type", "agency", "status"],
)
