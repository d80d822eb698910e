"""Intake's Prometheus metrics."""

from prometheus_client import Counter

EVENTS = Counter(
    "qianshou_intake_events_total",
    "Events received by intake, by outcome",
    ["type", "agency", "status"],
)

REJECTIONS = Counter(
    "qianshou_intake_rejections_total",
    "Events refused by intake, by error code (an event with several codes counts once per code)",
    ["code"],
)
